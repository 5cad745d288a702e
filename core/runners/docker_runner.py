"""Run the harness inside a Docker container, through the Docker Engine API.

The container gets the harness and the task folders mounted read-only, the
step's scratch folder read-write (at the same paths as on the host, so requests
need no path rewriting), no network unless allowed, and a memory limit. Its
stdout and stderr arrive multiplexed on one attach socket; a thread splits them
into the reply channel and the live task output.
"""

from __future__ import annotations

import os
import struct
import threading
from pathlib import Path

from .. import workspace
from ..runtime import protocol
from .base import RUNTIME_DIR, ReplyChannel, WorkerDied, WorkerSpec, bootstrap_code, task_environment

CONTAINER_RUNTIME = "/opt/taskbench/runtime"
STDOUT, STDERR = 1, 2


def docker_client():
    """A Docker SDK client for the engine of this machine (DOCKER_HOST or the default socket)."""
    import docker

    return docker.from_env(timeout=120)


def _link_targets(folders) -> list[Path]:
    """Folders that symlinks at the top of `folders` point into (a shared helper file), to mount as well."""
    targets = []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            if entry.is_symlink():
                target = entry.resolve().parent
                if not target.is_relative_to(folder.resolve()):
                    targets.append(target)
    return targets


class DockerWorker:
    """A harness process as the main process of a container, removed when the worker closes."""

    def __init__(self, client, image: str, spec: WorkerSpec):
        self._client = client
        volumes = {str(RUNTIME_DIR): {"bind": CONTAINER_RUNTIME, "mode": "ro"}}
        for path in [*spec.read_only, *_link_targets(spec.read_only)]:
            volumes.setdefault(str(path), {"bind": str(path), "mode": "ro"})
        for path in spec.writable:
            volumes[str(path)] = {"bind": str(path), "mode": "rw"}
        env = task_environment({"PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", "HOME": "/tmp", **spec.env})
        limits = {}
        if spec.limits.cpus:
            limits["nano_cpus"] = int(spec.limits.cpus * 1e9)
        if spec.limits.memory:
            # The harness watches each step's memory itself; the container limit is the backstop.
            limits["mem_limit"] = spec.limits.memory + (512 << 20)
            limits["memswap_limit"] = limits["mem_limit"]
        shared = workspace.entered()  # a shared workspace: the group's access and umask inside the container too
        self.container = client.containers.create(
            image,
            command=["python3", "-c", (f"import os; os.umask({workspace.SHARED_UMASK:#o}); " if shared else "")
                     + bootstrap_code(CONTAINER_RUNTIME)],
            entrypoint=[],
            stdin_open=True,
            # Not detached: the engine then sets StdinOnce, so the harness sees end-of-input (and
            # exits) when the attach socket closes, even if this process was killed.
            detach=False,
            auto_remove=True,
            tty=False,
            volumes=volumes,
            environment=env,
            working_dir=str(spec.writable[0]) if spec.writable else "/tmp",
            network_mode="bridge" if spec.network else "none",
            user=f"{os.getuid()}:{os.getgid()}",
            **({"group_add": [str(shared.gid)]} if shared else {}),
            labels={"taskbench": "worker"},
            **limits,
        )
        self._socket = client.api.attach_socket(
            self.container.id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
        )
        self._raw = self._socket._sock
        read_fd, self._reply_fd = os.pipe()
        self._on_output = spec.on_output
        self._demux = threading.Thread(target=self._pump, daemon=True)
        self._demux.start()
        self._replies = ReplyChannel(os.fdopen(read_fd, "rb"), spec.on_output)
        self._lock = threading.Lock()
        self.container.start()
        self.info: dict = {}

    def _pump(self) -> None:
        """Split Docker's multiplexed frames: stdout to the reply pipe, stderr to the task output."""
        try:
            while True:
                header = self._read_exact(8)
                if header is None:
                    break
                stream, size = header[0], struct.unpack(">I", header[4:])[0]
                payload = self._read_exact(size)
                if payload is None:
                    break
                if stream == STDOUT:
                    os.write(self._reply_fd, payload)
                else:
                    self._on_output(payload)
        finally:
            os.close(self._reply_fd)

    def _read_exact(self, n: int) -> bytes | None:
        buf = b""
        while len(buf) < n:
            try:
                chunk = self._raw.recv(n - len(buf))
            except OSError:
                return None
            if not chunk:
                return None
            buf += chunk
        return buf

    def alive(self) -> bool:
        return self._demux.is_alive()

    def wait_ready(self, timeout: float | None = 120) -> dict:
        try:
            self.info = self._replies.wait(None, timeout, self.alive)
        except WorkerDied:
            raise WorkerDied(self._death_reason()) from None
        return self.info

    def request(self, op: str, payload: dict, *, timeout: float | None = None) -> dict:
        with self._lock:
            rid = self._replies.new_id()
            try:
                self._raw.sendall(protocol.request_line(rid, op, payload))
            except OSError:
                raise WorkerDied(self._death_reason()) from None
            try:
                return self._replies.wait(rid, timeout, self.alive)
            except WorkerDied:
                raise WorkerDied(self._death_reason()) from None

    def _death_reason(self) -> str:
        try:
            self.container.reload()
            state = self.container.attrs.get("State", {})
        except Exception:  # noqa: BLE001 - the container may already be gone
            return "the worker container ended unexpectedly"
        if state.get("OOMKilled"):
            return "the worker container ran out of memory and was killed by Docker"
        return f"the worker container ended unexpectedly (exit code {state.get('ExitCode')})"

    def flush_output(self, timeout: float = 5.0) -> None:
        self._demux.join(timeout)

    def close(self) -> None:
        if self.alive():
            try:
                self.request(protocol.EXIT, {}, timeout=5)
            except Exception:  # noqa: BLE001 - closing must never raise
                pass
        self.kill()

    def kill(self) -> None:
        """Kill and remove the container, so none is left behind."""
        try:
            self.container.remove(force=True)
        except Exception:  # noqa: BLE001 - already gone
            pass
        try:
            self._socket.close()
        except Exception:  # noqa: BLE001
            pass
        self.flush_output()


class DockerRunner:
    """Starts workers as containers of one image."""

    name = "docker"

    def __init__(self, image: str, client=None):
        self.image = image
        self.client = client or docker_client()

    def start(self, spec: WorkerSpec) -> DockerWorker:
        return DockerWorker(self.client, self.image, spec)


def remove_stale_workers(client=None) -> int:
    """Remove worker containers that a killed engine left behind; returns how many."""
    client = client or docker_client()
    count = 0
    for container in client.containers.list(all=True, filters={"label": "taskbench=worker"}):
        pid_alive = container.status == "running"
        if not pid_alive:
            try:
                container.remove(force=True)
                count += 1
            except Exception:  # noqa: BLE001
                pass
    return count


__all__ = ["DockerRunner", "DockerWorker", "docker_client", "remove_stale_workers"]
