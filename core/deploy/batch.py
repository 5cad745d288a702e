"""Batch predictions (SPEC §9): score a CSV or Parquet file with a trained model, chunk by chunk.

The scoring runs in one process of its own (`core.deploy.score_process`) that
loads every node once (nodes of a Docker environment in a container it starts,
nodes whose task has requirements in a worker of its cached venv or image);
this side resolves those images and venvs (their progress in the job log),
starts it, relays progress and keeps what the task printed in the log of a
`predict` job (core.jobs.JobRun).
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import TaskbenchError, UsageError
from ..joblog import JobLog
from ..runtime import protocol
from .prestart import prestart_scoring, take_scoring  # noqa: F401 - the entry point's early start
from .source import ModelSource

DEFAULT_CHUNK_ROWS = 50_000
STOP_SECONDS = 15  # for the scoring process to remove its containers when interrupted
READABLE = (".csv", ".parquet", ".pq", ".txt")
WRITABLE = (".csv", ".parquet", ".pq")
COMPRESSED = (".gz", ".bz2", ".xz", ".zip")  # CSV only, read through core.runtime.textfile.open_raw


@dataclass
class PredictResult:
    rows: int
    seconds: float
    output: Path
    log: Path
    warnings: list[str] = field(default_factory=list)  # values read as missing, one sentence per column


def check_paths(input_path: Path, output_path: Path) -> None:
    if not input_path.is_file():
        from ..runtime.textfile import not_a_file

        raise UsageError(not_a_file(str(input_path)))
    name = input_path.name.lower()
    compressed_csv = name.endswith(tuple(f"{text}{packed}" for text in (".csv", ".txt") for packed in COMPRESSED))
    if input_path.suffix.lower() not in READABLE and not compressed_csv and not name.endswith(".zip"):
        raise UsageError(f"input file {input_path} is neither CSV nor Parquet; give a .csv or .parquet file "
                         "(a CSV may be compressed: .csv.gz, .csv.bz2, .csv.xz or a .zip of one CSV).")
    if output_path.suffix.lower() not in WRITABLE:
        raise UsageError(f"output file {output_path} must end in .csv or .parquet.")
    if not output_path.parent.is_dir():
        raise UsageError(f"the folder of output file {output_path} does not exist.")
    if not os.access(output_path.parent, os.W_OK | os.X_OK):
        raise UsageError(f"you may not write in {output_path.parent}; give --output a file in a folder of yours.")
    if output_path.resolve() == input_path.resolve():
        raise UsageError("the output file would overwrite the input; choose another name.")


def predict_file(
    root: Path,
    source: ModelSource,
    input_path: Path,
    output_path: Path,
    *,
    include: list[str] | None = None,
    chunk_size: int = DEFAULT_CHUNK_ROWS,
    on_progress: Callable[[int, int, int], None] | None = None,
    encoding: str | None = None,
) -> PredictResult:
    """Score `input_path` into `output_path`; `on_progress(rows, done, total)` after each chunk."""
    check_paths(Path(input_path), Path(output_path))  # its sentences name the paths as the user typed them
    input_path, output_path = Path(input_path).resolve(), Path(output_path).resolve()
    if chunk_size < 1:
        raise UsageError("--chunk-size must be at least 1.")
    from ..jobs import JobRun
    from ..store import Store

    label = f"model {source.info['model']}" if source.info.get("model") is not None else str(source.model_dir)
    store = Store.open(root, check_jobs=False)
    try:
        with JobRun(store, "predict", f"predict {input_path.name} with {label}",
                    {"input": str(input_path), "output": str(output_path), "model": source.info.get("model")}) as run:
            result = _score(run, source, input_path, output_path, include=include, chunk_size=chunk_size,
                            on_progress=on_progress, encoding=encoding)
    finally:
        store.close()
    from .. import workspace

    workspace.hand_over(output_path)
    return PredictResult(rows=result["rows"], seconds=result["seconds"], output=output_path, log=run.log.path,
                         warnings=result.get("warnings", []))


def _score(run, source: ModelSource, input_path: Path, output_path: Path, *, include, chunk_size, on_progress,
           encoding) -> dict:
    """Score in the scoring process, as job `run`: its scratch folder, its log, the process its worker."""
    log = run.log
    scratch = run.scratch("predict")
    result = None
    log.line(f"scoring {input_path} into {output_path} with model {source.info.get('model', source.model_dir)}")
    images = docker_images(run.store.root, source, log.line)
    from .workers import scoring_plan

    request = {**source.request(), "plan": scoring_plan(source.plan), "input": str(input_path),
               "output": str(output_path), "include": include or [], "chunk_size": chunk_size, "scratch_dir": str(scratch), "images": images, "encoding": encoding,
               "home": str(run.store.root)}  # a prestarted process enters it: a shared workspace's umask and group
    proc = take_scoring(str(scratch))
    run.adopt(_ScoringProcess(proc, containers=bool(images)))  # stopped (its containers removed) if the job fails
    pump = threading.Thread(target=_pump, args=(proc.stderr, log), daemon=True)
    pump.start()
    proc.stdin.write((json.dumps(request) + "\n").encode())
    proc.stdin.close()
    for raw in proc.stdout:
        try:
            msg = json.loads(raw)
        except ValueError:
            log.output(raw)
            continue
        if msg.get(protocol.EVENT) == protocol.PROGRESS and on_progress:
            on_progress(msg["rows"], msg["done"], msg["total"])
        elif protocol.is_final(msg):
            result = msg
    proc.wait()
    pump.join(5)
    if result is not None:
        log.line(f"result: {json.dumps({k: v for k, v in result.items() if k != 'details'})}")
    if result is None:
        raise TaskbenchError(f"the scoring process ended with code {proc.returncode} before finishing; see {log.path}.")
    if result[protocol.EVENT] == protocol.ERROR:
        if result.get(protocol.KIND) == protocol.USAGE:
            raise UsageError(result[protocol.MESSAGE])
        raise TaskbenchError(result[protocol.MESSAGE], details=result.get(protocol.DETAILS))
    return result


class _ScoringProcess:
    """The scoring process seen by its job as a worker: `kill` stops it (and its containers), `close` waits for it."""

    def __init__(self, proc: subprocess.Popen, *, containers: bool):
        self.proc, self.containers = proc, containers

    def kill(self) -> None:
        _stop(self.proc, containers=self.containers)

    def close(self) -> None:
        self.proc.wait()


def docker_images(root: Path, source: ModelSource, on_log: Callable[[str], None]) -> dict[str, dict]:
    """Where the model's nodes that leave the scoring process score (workers.environment_images: Docker images, and
    venvs of tasks' requirements; none for a model of local nodes without requirements), resolved in this process."""
    if source.local_only:
        return {}
    from ..store import Store
    from .workers import environment_images

    store = Store.open(root, check_jobs=False)
    try:
        return environment_images(store, source, on_log)
    finally:
        store.close()


def _pump(stream, log: JobLog) -> None:
    while chunk := stream.read1(65536):
        log.output(chunk)


def _stop(proc: subprocess.Popen, *, containers: bool) -> None:
    """Stop the scoring process; one that holds containers first gets the chance to remove them."""
    import signal

    if containers and proc.poll() is None:
        try:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(STOP_SECONDS)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    _kill(proc)


def _kill(proc: subprocess.Popen) -> None:
    import signal

    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
