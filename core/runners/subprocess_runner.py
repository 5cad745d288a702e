"""Run the harness in a local subprocess: the `python-local` environment, no Docker needed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

from ..runtime import protocol
from ..runtime.sessions import kill_descendants, kill_session_members
from .base import RUNTIME_DIR, ReplyChannel, WorkerDied, WorkerSpec, bootstrap_code, task_environment


def kill_session(sid: int) -> None:
    """SIGKILL the worker `sid` (a session leader), every process below it and the rest of its session.

    The worker is stopped first, so it starts nothing new and, being a subreaper,
    keeps the orphans of what is killed below it until they are found and killed too.
    """
    try:
        os.kill(sid, signal.SIGSTOP)
    except (ProcessLookupError, PermissionError):
        pass
    kill_descendants(sid)
    try:
        os.killpg(sid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    kill_session_members(sid)


class SubprocessWorker:
    """A harness process in its own session, with pipes for requests, replies and task output."""

    def __init__(self, python: str, spec: WorkerSpec):
        env = task_environment({**os.environ, **spec.env})
        env.update({"PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"})
        self._proc = subprocess.Popen(
            [python, "-c", bootstrap_code(str(RUNTIME_DIR))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env=env,
            cwd=str(spec.writable[0]) if spec.writable else None,
        )
        self._lock = threading.Lock()
        self._output = threading.Thread(target=self._pump_output, args=(spec.on_output,), daemon=True)
        self._output.start()
        self._replies = ReplyChannel(self._proc.stdout, spec.on_output)
        self.info: dict = {}

    def _pump_output(self, on_output) -> None:
        stream = self._proc.stderr
        while True:
            chunk = stream.read1(65536)
            if not chunk:
                break
            on_output(chunk)

    def wait_ready(self, timeout: float | None = 120) -> dict:
        self.info = self._replies.wait(None, timeout, self.alive)
        return self.info

    def alive(self) -> bool:
        return self._proc.poll() is None

    def send(self, op: str, payload: dict) -> int:
        """Queue a request without waiting for its reply (the worker answers requests in order)."""
        rid = self._replies.new_id()
        try:
            self._proc.stdin.write(protocol.request_line(rid, op, payload))
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise WorkerDied("the worker process ended unexpectedly") from None
        return rid

    def request(self, op: str, payload: dict, *, timeout: float | None = None) -> dict:
        with self._lock:
            rid = self.send(op, payload)
            return self._replies.wait(rid, timeout, self.alive)

    def flush_output(self, timeout: float = 5.0) -> None:
        """Wait until the task output written so far has been delivered (after the worker exits)."""
        self._output.join(timeout)

    def close(self) -> None:
        if self.alive():
            try:
                self.request(protocol.EXIT, {}, timeout=5)
            except (WorkerDied, Exception):  # noqa: BLE001 - closing must never raise
                pass
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    def kill(self) -> None:
        if self._proc.poll() is None:
            kill_session(self._proc.pid)
        else:  # the worker is gone (and its pid may be reused): only what is left of its session
            kill_session_members(self._proc.pid)
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.flush_output()
        for stream in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            try:
                stream.close()
            except OSError:
                pass


class SubprocessRunner:
    """Starts workers as subprocesses of a given Python (the engine's own by default)."""

    name = "subprocess"

    def __init__(self, python: str | None = None):
        self.python = python or sys.executable

    def start(self, spec: WorkerSpec) -> SubprocessWorker:
        return SubprocessWorker(self.python, spec)
