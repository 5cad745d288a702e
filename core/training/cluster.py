"""Training on a Dask cluster (SPEC §6, `taskbench train --cluster tcp://HOST:PORT`).

The engine keeps all bookkeeping here (job and model rows, the log, where the
artifacts end up); what crosses to the cluster is a self-contained bundle: the
plan, each node's task folder and the project's rows. A Dask worker unpacks it
in a temporary folder and runs the ordinary taskbench worker process there, so
task code never runs inside the Dask worker itself; the task's output streams
back through a Dask queue while it runs, and the fitted artifacts come back as
bytes. Cluster machines need taskbench installed, nothing shared on disk.
Fitted transforms are cached on each cluster machine, as they are locally.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from .. import workspace
from ..errors import TaskbenchError, UsageError
from ..runtime import protocol
from ..runtime.contract import LOCAL_ENV

CONNECT_SECONDS = 10.0
FLUSH_SECONDS = 0.3
REMOTE_ROOT = "taskbench-cluster"


def connect(address: str):
    """A Dask client for `address` (tcp://HOST:PORT), or one clear sentence within CONNECT_SECONDS when nothing
    there answers as a Dask scheduler (a closed port, a silent server, an HTTP server, an unroutable address)."""
    deadline = time.monotonic() + CONNECT_SECONDS  # the announced time starts now, the import of Dask included
    try:
        from distributed import Client
    except ImportError:
        raise UsageError("--cluster needs the Dask distributed package: pip install 'taskbench[cluster]'.") from None
    if "://" not in address:
        address = f"tcp://{address}"
    _probe(address, deadline)
    try:
        client = Client(address, timeout=CONNECT_SECONDS, set_as_default=False)
    except Exception as exc:  # noqa: BLE001 - the probe answered, so this is a scheduler that went away since
        raise _unreachable(address, exc) from None
    if not client.scheduler_info().get("workers"):
        client.wait_for_workers(1, timeout=CONNECT_SECONDS * 3)
    return client


def _unreachable(address: str, exc: BaseException) -> UsageError:
    """The one sentence for an address where no Dask scheduler answered."""
    kinds = [(ConnectionRefusedError, "connection refused"), (TimeoutError, "no answer"), (ValueError, "not a scheduler"),
             (MemoryError, "it answered in another protocol")]
    why = next((text for kind, text in kinds if isinstance(exc, kind)), f"{exc.__class__.__name__}: {exc}")
    return UsageError(f"cannot reach the Dask scheduler at {address}: it did not answer as a Dask scheduler within "
                      f"{CONNECT_SECONDS:.0f} s ({why}); check the address, or drop --cluster.")


def _probe(address: str, deadline: float) -> None:
    """Dial `address` and ask it who it is, all before `deadline` (time.monotonic), before a Client is made.

    Dask's own handshake waits forever on a server that accepts and stays silent, retries a refused port until
    its timeout, and reads another protocol's bytes as a frame length (a MemoryError); this probe runs it under
    one deadline in a loop of its own, so none of that reaches the user or leaves a half-made Client behind.
    """
    import asyncio
    import logging
    import socket

    from distributed.comm import connect as dial
    from distributed.comm import parse_host_port

    try:
        host, port = parse_host_port(address.split("://", 1)[1])
    except ValueError:
        raise UsageError(f"--cluster {address} is not an address; give it as tcp://HOST:PORT.") from None
    try:
        socket.create_connection((host, port), timeout=max(0.1, deadline - time.monotonic())).close()  # a refused port fails at once
    except socket.timeout:
        raise _unreachable(address, TimeoutError()) from None
    except OSError as exc:
        raise _unreachable(address, exc) from None

    async def ask():
        comm = await dial(address, timeout=max(0.1, deadline - time.monotonic()))
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    quiet = logging.getLogger("distributed")
    level, quiet.level = quiet.level, logging.CRITICAL  # Dask logs each failed handshake; the sentence says it
    try:
        answer = asyncio.run(asyncio.wait_for(ask(), max(0.1, deadline - time.monotonic())))
    except (Exception, asyncio.TimeoutError) as exc:  # noqa: BLE001 - garbage bytes can raise anything
        raise _unreachable(address, TimeoutError() if isinstance(exc, asyncio.TimeoutError) else exc) from None
    finally:
        quiet.level = level
    if not isinstance(answer, dict) or answer.get("type") != "Scheduler":
        raise _unreachable(address, ValueError())


def _folder_bytes(folder: Path) -> dict[str, bytes]:
    """Every file of a task folder as {relative posix path: bytes}, by the rule task snapshots are stored with."""
    from ..store.files import walk_files

    return {rel: path.read_bytes() for rel, path in walk_files(folder)}


class ClusterSession:
    """One `train --cluster` command's connection: the client and the project's rows, sent to the cluster once."""

    def __init__(self, address: str):
        self.address = address
        self.client = connect(address)
        self._data: dict[str, object] = {}
        self._lock = threading.Lock()

    def data(self, project):
        """The project's data and partition files, scattered once and shared by every job of this command."""
        with self._lock:
            if project.name not in self._data:
                payload = {"data": Path(project.data_path).read_bytes(), "partition": Path(project.partition_path).read_bytes()}
                self._data[project.name] = self.client.scatter(payload, broadcast=False, hash=False)
            return self._data[project.name]

    def close(self) -> None:
        self.client.close()

    def run(self, project, run, plans: list[dict], score_sets: list[dict]) -> dict:
        """Train `plans` (the model's plan, then any cross-validation folds) on a cluster worker as `run` (a
        core.jobs.JobRun); returns the result.

        Output and engine lines stream to the job's log while it runs; Ctrl-C, or cancelling the job, stops the
        remote worker.
        """
        from distributed import Event, Queue

        for plan in plans:
            others = sorted({n.get("env", LOCAL_ENV) for n in plan["nodes"]} - {LOCAL_ENV})
            if others:
                raise UsageError(f"nodes in environment(s) {', '.join(others)} cannot train on a cluster yet; "
                                 "train this blueprint without --cluster.")
        from ..environments.resolve import task_requirements

        needing = sorted({n["name"] for plan in plans for n in plan["nodes"] if task_requirements(n["task_dir"])})
        if needing:  # a cluster machine would run them without the packages they list
            raise UsageError(f"node(s) {', '.join(map(repr, needing))} use a task with a requirements.txt, which cannot "
                             "be installed on a cluster yet; train this blueprint without --cluster.")
        tasks = {}
        for plan in plans:
            for node in plan["nodes"]:
                tasks.setdefault(node["task_dir"], _folder_bytes(Path(node["task_dir"])))
        name = f"taskbench-{run.id}-{uuid.uuid4().hex[:8]}"
        queue, stop = Queue(name, client=self.client), Event(name, client=self.client)
        bundle = {"name": name, "plans": plans, "score_sets": score_sets, "tasks": tasks}
        future = self.client.submit(train_bundle, bundle, self.data(project), key=f"{name}-train", pure=False)
        remote = run.adopt(_RemoteJob(stop, future))  # the job's cancel stops it like a local worker

        def drain():
            try:
                items = queue.get(batch=True)
            except Exception:  # noqa: BLE001 - a queue that went away has nothing more to say
                return
            for kind, text in items:
                (run.log.output if kind == "out" else run.log.line)(text.encode() if kind == "out" else text)

        try:
            while not future.done():
                drain()
                time.sleep(FLUSH_SECONDS)
            drain()
            result = future.result()
        except BaseException:
            remote.kill()
            raise
        finally:
            run.release(remote)
            try:
                drain()
                queue.close()
            except Exception:  # noqa: BLE001 - cleanup of a cluster queue is best effort
                pass
        if "error" in result:
            raise TaskbenchError(result["error"], details=result.get("details"))
        return result


def train_bundle(bundle: dict, data: dict) -> dict:
    """Run on a Dask worker: unpack the bundle, train its plans in a taskbench worker process, return the results."""
    import socket

    from distributed import Event, Queue, get_client

    from ..runners.base import WorkerSpec
    from ..runners.start import start_worker

    client = get_client()
    queue, stop = Queue(bundle["name"], client=client), Event(bundle["name"], client=client)
    pending: list[tuple[str, str]] = []
    lock = threading.Lock()
    last = [time.monotonic()]

    def flush(force: bool = False) -> None:
        with lock:
            if not pending or (not force and time.monotonic() - last[0] < FLUSH_SECONDS):
                return
            items, pending[:] = list(pending), []
            last[0] = time.monotonic()
        for item in items:
            queue.put(item)

    def emit(kind: str, text: str) -> None:
        with lock:
            pending.append((kind, text))
        flush()

    base = Path(tempfile.gettempdir()) / REMOTE_ROOT
    base.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="job-", dir=base))
    finished = threading.Event()
    worker = None
    try:
        data_path, partition_path = folder / "data.parquet", folder / "partition.npy"
        data_path.write_bytes(data["data"])
        partition_path.write_bytes(data["partition"])
        task_dirs = {}
        for i, (original, files) in enumerate(bundle["tasks"].items()):
            target = folder / "tasks" / str(i)
            for rel, content in files.items():
                (target / rel).parent.mkdir(parents=True, exist_ok=True)
                (target / rel).write_bytes(content)
            task_dirs[original] = str(target)
        emit("line", f"cluster worker {socket.gethostname()} (pid {os.getpid()}, Python {sys.version.split()[0]}) unpacked the job")
        worker = start_worker(
            WorkerSpec(on_output=lambda chunk: emit("out", chunk.decode("utf-8", "replace")), writable=[folder, base])
        )
        threading.Thread(target=_stop_when_set, args=(stop, finished, worker), daemon=True).start()
        replies = []
        for i, (plan, sets) in enumerate(zip(bundle["plans"], bundle["score_sets"])):
            plan = _localise(plan, data_path, partition_path, task_dirs, base)
            model_dir = folder / "model" / str(i)
            model_dir.mkdir(parents=True)
            code_dirs = sorted({n["task_dir"] for n in plan["nodes"]})
            for op, payload in ((protocol.LOAD_PROJECT, {"data": plan["data"], "code_dirs": code_dirs}),
                                (protocol.TRAIN, {**plan, "handoff": [], "model_dir": str(model_dir), "score_sets": sets,
                                           "scratch_dir": str(folder)})):
                reply = worker.request(op, payload)
                if not protocol.succeeded(reply):
                    failure = TaskbenchError(reply.get("message", f"{op} failed"), details=reply.get("details"))
                    if op == protocol.TRAIN:  # named by its node, its traceback in the job log, as locally
                        from .engine import node_failure

                        failure = node_failure(failure, plan["nodes"], model_dir, lambda text: emit("line", text))
                    return {"error": failure.message, "details": failure.details}
            replies.append(reply)
        worker.close()
        worker = None
        files = {}
        main = folder / "model" / "0"
        for path in main.rglob("*"):
            if path.is_file() and "handoff" not in path.relative_to(main).parts:
                files[path.relative_to(main).as_posix()] = path.read_bytes()
        return {"replies": replies, "files": files, "host": socket.gethostname()}
    finally:
        finished.set()
        if worker is not None:
            worker.kill()
        flush(force=True)
        shutil.rmtree(folder, ignore_errors=True)


class _RemoteJob:
    """A job's work on the cluster, seen by its JobRun as a worker: killing it stops the remote worker process."""

    def __init__(self, stop, future):
        self.stop, self.future = stop, future

    def kill(self) -> None:
        try:
            self.stop.set()
            self.future.cancel()
        except Exception:  # noqa: BLE001 - a cluster that went away has nothing left to stop
            pass

    def close(self) -> None:
        """Done: the remote worker ended with its result."""


def _localise(plan: dict, data_path: Path, partition_path: Path, task_dirs: dict, base: Path) -> dict:
    """The plan with this machine's paths: the unpacked data and tasks, and this machine's transform cache."""
    plan = {**plan, "data": {**plan["data"], "path": str(data_path), "partition_path": str(partition_path)}}
    nodes = []
    for node in plan["nodes"]:
        cache = node.get("cache_dir")
        nodes.append({**node, "task_dir": task_dirs[node["task_dir"]],
                      "cache_dir": str(base / workspace.CACHE / Path(cache).name[:2] / Path(cache).name) if cache else None})
    plan["nodes"] = nodes
    return plan


def _stop_when_set(stop, finished: threading.Event, worker) -> None:
    """Kill the job's worker when the engine cancels the job (Ctrl-C there); ends with the job."""
    while not finished.is_set():
        try:
            if stop.wait(timeout=1):
                worker.kill()
                return
        except Exception:  # noqa: BLE001 - the cluster went away: nothing to stop
            return
