"""The engine SIGKILLed in the middle of a job (issue 3's crash test).

A child process runs a job that writes its log and uploads task versions (with
a large file, so the kill often lands mid-copy). After the kill, the next open
must mark the job interrupted, find the database intact, point no row at a
missing or half-written file, and clear the dead writer's temporary files.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from core import jobs
from core.joblog import JobLog
from core.tasks import versions as tasks
from core.store import INTERRUPTED_MESSAGE, open_store
from core.store.files import TEMP_PREFIX, tree_digest
from tests.conftest import REPO

# Where each round's kill lands: stalled mid-copy of a snapshot, stalled inside a write
# transaction (a row inserted, not committed), then at random points of the loop.
ROUNDS = ("in-copy", "in-transaction", "random", "random", "random")


def stall_at(point: str) -> None:
    """Make the engine say 'stalled' and hang at `point` during its second upload, so the kill lands exactly there."""
    import time

    from core.store import files, store as store_module

    calls = {"n": 0}

    def stall():
        print("stalled", flush=True)
        time.sleep(60)

    if point == "in-copy":
        original_copy = files._copy_file

        def copy(src, dst):
            original_copy(src, dst)
            if src.name == "pretrained.bin":
                calls["n"] += 1
                if calls["n"] == 2:
                    stall()

        files._copy_file = copy
    elif point == "in-transaction":
        original_create = store_module.files.create_empty

        def create_empty(path, **kwargs):
            original_create(path, **kwargs)
            calls["n"] += 1
            if calls["n"] == 3:  # the side job of the second upload
                stall()  # the job row is inserted and its log exists, but nothing is committed

        store_module.files.create_empty = create_empty


def engine(scratch: str, point: str = "random") -> None:
    """The process that gets killed: one running job, log lines, uploads (and side jobs) in a loop, forever."""
    stall_at(point)
    store = open_store()
    job = store.create_job("train", "crash test", {"scratch": scratch})
    store.start_job(job.id)
    log = JobLog(job.log_path)
    folder = Path(scratch) / f"task-{os.getpid()}"
    folder.mkdir(parents=True)
    (folder / "custom.py").write_text("def fit(X, y, output_dir, **kw):\n    pass\n")
    i = 0
    while True:
        log.line(f"upload {i} starting")
        log.output(b"task output " * 50 + b"\n")
        (folder / "pretrained.bin").write_bytes(os.urandom(4 << 20))
        (folder / "helper.py").write_text(f"N = {i}\n")
        version, _ = tasks.add_task(store, folder, name="crashy")
        log.line(f"upload {i} stored as {version.ref}")
        side = store.create_job("side", f"side job {i}")
        jobs.finish_job(store, side.id, "succeeded", exit_code=0)
        print(f"{job.id} {version.ref}", flush=True)
        i += 1


def started_engine(scratch: Path, point: str) -> subprocess.Popen:
    code = f"from tests.cli.test_store_crash import engine; engine({str(scratch)!r}, {point!r})"
    return subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO, env=dict(os.environ), stdout=subprocess.PIPE, text=True
    )


def write_lock_held(home: Path) -> bool:
    probe = sqlite3.connect(home / "taskbench.db", timeout=0.1, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as exc:
        return "locked" in str(exc)
    finally:
        probe.close()


def test_sigkill_mid_job_leaves_a_consistent_workspace(home, tmp_path):
    rng = random.Random(1234)
    with open_store(home):
        pass
    objects = home / "objects" / "tasks"
    for round_, point in enumerate(ROUNDS):
        proc = started_engine(tmp_path / f"round{round_}", point)
        try:
            line = proc.stdout.readline()
            assert line, "the engine stopped before it was killed"
            job_id = int(line.split()[0])
            if point == "random":
                for _ in range(rng.randrange(3)):
                    assert proc.stdout.readline()
                time.sleep(rng.uniform(0.0, 0.1))
            else:
                assert proc.stdout.readline().strip() == "stalled"
            if point == "in-transaction":
                assert write_lock_held(home), "the kill should land while the engine holds the write lock"
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        if point == "in-copy":
            assert any(p.name.startswith(TEMP_PREFIX) for p in objects.iterdir()), "the kill should catch a copy"

        with open_store(home) as store:  # "the next command"
            job = jobs.get_job(store, job_id)
            assert job.state == "interrupted"
            assert job.message == INTERRUPTED_MESSAGE
            log = job.log_path.read_text()
            assert "upload 0 stored as crashy@" in log
            assert log.rstrip().endswith(INTERRUPTED_MESSAGE + f" (noticed by pid {os.getpid()})")

            assert store.integrity_check() == "ok"
            references = store.file_references()
            assert {(table, column) for table, column, _, _ in references} >= {
                ("task_versions", "snapshot_path"),
                ("jobs", "log_path"),
            }
            for table, column, row_id, path in references:
                assert path.exists(), f"{table}.{column} of row {row_id} points to missing {path}"
            for version in tasks.task_versions(store, "crashy"):
                assert tree_digest(version.path)[0] == version.sha256, f"{version.ref} is not whole"
                assert {f.path for f in version.files} == {"custom.py", "helper.py", "pretrained.bin"}
            numbers = [v.version for v in tasks.task_versions(store, "crashy")]
            assert numbers == list(range(1, len(numbers) + 1))
            leftover = [p.name for p in objects.iterdir() if p.name.startswith(TEMP_PREFIX)]
            assert leftover == [], "the dead engine's temporary folders must be cleared on open"
            # Work goes on: the next job gets a fresh, empty log even if a killed insert left one behind.
            after = store.create_job("check", "after the crash")
            assert after.log_path.read_bytes() == b""
            jobs.finish_job(store, after.id, "succeeded")
