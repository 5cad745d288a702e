"""The runner interface: how the engine starts a worker and talks to it, whatever hosts it.

A subprocess, a Docker container or a Dask worker all host the same harness
(`core/runtime/worker.py`); a runner only decides where it runs and how its
pipes are connected. The engine speaks one request/reply protocol to all.
"""

from __future__ import annotations

import json
import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

from ..errors import TaskbenchError
from ..runtime import protocol
from ..settings import PREFIX as PRIVATE_PREFIX, task_environment  # noqa: F401 - the runners' filter

RUNTIME_DIR = Path(__file__).resolve().parent.parent / "runtime"

# Imports the harness package from a folder under a private name, so it never
# collides with a task's own modules (a task may ship a `core.py`).
BOOTSTRAP = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location(
    "taskbench_runtime", {init!r}, submodule_search_locations=[{folder!r}])
module = importlib.util.module_from_spec(spec)
sys.modules["taskbench_runtime"] = module
spec.loader.exec_module(module)
from taskbench_runtime.worker import main
main()
"""


def bootstrap_code(runtime_dir: str) -> str:
    """The `python -c` program that starts the harness from `runtime_dir`."""
    return BOOTSTRAP.format(init=f"{runtime_dir}/__init__.py", folder=runtime_dir)


class OutputRelay:
    """Task output sink that can be pointed at a log later; output that arrives before that is kept."""

    def __init__(self):
        self._lock = threading.Lock()
        self._target: Callable[[bytes], None] | None = None
        self._pending: list[bytes] = []

    def __call__(self, chunk: bytes) -> None:
        with self._lock:
            if self._target is None:
                self._pending.append(chunk)
                return
        self._target(chunk)

    def attach(self, target: Callable[[bytes], None]) -> None:
        with self._lock:
            self._target = target
            pending, self._pending = self._pending, []
        for chunk in pending:
            target(chunk)


class WorkerDied(TaskbenchError, RuntimeError):
    """The worker process ended while the engine waited for a reply (exit 1, one sentence)."""


class WorkerTimeout(TaskbenchError, RuntimeError):
    """The worker did not answer in time, even after its own limits should have fired (exit 1, one sentence)."""


@dataclass
class Limits:
    """Per-step limits: wall time in seconds, resident memory in bytes, CPUs (Docker); None = unlimited."""

    timeout: float | None = None
    memory: int | None = None
    cpus: float | None = None


@dataclass
class WorkerSpec:
    """What a runner needs to start a worker."""

    on_output: Callable[[bytes], None]
    env: dict[str, str] = field(default_factory=dict)
    # Host folders (or single files, such as the input) the worker must see, for runners that mount.
    read_only: list[Path] = field(default_factory=list)
    writable: list[Path] = field(default_factory=list)
    network: bool = False
    limits: Limits = field(default_factory=Limits)


class Worker(Protocol):
    """A started worker: send requests, get JSON replies; output goes to the spec's callback."""

    def request(self, op: str, payload: dict, *, timeout: float | None = None) -> dict: ...

    def close(self) -> None: ...

    def kill(self) -> None: ...


def ready(worker):
    """`worker` once it answers; a worker that fails to start is killed (its container removed) before the error."""
    try:
        worker.wait_ready()
    except BaseException:
        worker.kill()
        raise
    return worker


class ReplyChannel:
    """Parses JSON lines from the worker's control stream on a thread and hands them out in order."""

    def __init__(self, stream, on_garbage: Callable[[bytes], None]):
        self._queue: queue.Queue = queue.Queue()
        self._on_garbage = on_garbage
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()
        self._next_id = 0

    def _pump(self, stream) -> None:
        for raw in iter(stream.readline, b""):
            try:
                self._queue.put(json.loads(raw))
            except ValueError:
                self._on_garbage(raw)
        self._queue.put(None)

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def wait(self, want_id, timeout: float | None, alive: Callable[[], bool]) -> dict:
        """The reply with id `want_id` (or the ready event when None)."""
        waited = 0.0
        while True:
            try:
                msg = self._queue.get(timeout=0.25)
            except queue.Empty:
                waited += 0.25
                if timeout is not None and waited > timeout:
                    raise WorkerTimeout(f"the worker did not reply within {timeout:g} s") from None
                if not alive():
                    raise WorkerDied("the worker process ended unexpectedly") from None
                continue
            if msg is None:
                raise WorkerDied("the worker process ended unexpectedly")
            if want_id is None and protocol.is_ready(msg):
                return msg
            if msg.get(protocol.ID) == want_id:
                return msg
