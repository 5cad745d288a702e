"""Four processes add task versions and run jobs against one workspace at once (issue 3's concurrency test).

Runs for TASKBENCH_CONCURRENCY_SECONDS (default 30, as CI runs it) per process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from core import jobs
from core.joblog import JobLog
from core.tasks import versions as tasks
from core.store import open_store
from tests.conftest import REPO

WORKERS = 4
NAMES = ("alpha", "beta")
SECONDS = float(os.environ.get("TASKBENCH_CONCURRENCY_SECONDS", "30"))


def worker(index: int, seconds: float, report: str) -> None:
    """One process: until the deadline, upload a distinct version of alpha/beta, then run a job about it."""
    scratch = Path(tempfile.mkdtemp(prefix=f"worker{index}-"))
    created = {name: 0 for name in NAMES}
    versions: list[str] = []
    job_count = 0
    store = open_store()
    deadline = time.monotonic() + seconds
    i = 0
    while time.monotonic() < deadline:
        if i % 10 == 9:  # re-open now and then: migrations check, orphan cleanup and job checks run concurrently
            store.close()
            store = open_store()
        name = NAMES[(i + index) % 2]
        folder = scratch / f"upload{i}"
        folder.mkdir()
        (folder / "custom.py").write_text("from helper import VALUE\n\ndef fit(X, y, output_dir, **kw):\n    pass\n")
        (folder / "helper.py").write_text(f"VALUE = 'worker {index} upload {i}'\n")
        version, was_created = tasks.add_task(store, folder, name=name)
        assert was_created, f"worker {index} upload {i} was taken for existing content"
        created[name] += 1
        versions.append(version.ref)
        job = store.create_job("concurrency", f"worker {index} job {i}", {"task": version.ref})
        store.start_job(job.id)
        log = JobLog(job.log_path)
        log.line(f"worker {index} ran job {i} for {version.ref}")
        log.close()
        jobs.finish_job(store, job.id, "succeeded", exit_code=0)
        job_count += 1
        shutil.rmtree(folder)
        i += 1
    store.close()
    shutil.rmtree(scratch, ignore_errors=True)
    Path(report).write_text(json.dumps({"created": created, "jobs": job_count, "versions": versions}))


def test_four_processes_share_one_workspace(home, tmp_path):
    with open_store(home):
        pass  # the workspace exists before the race, as it would for a team
    procs = []
    for index in range(WORKERS):
        report = tmp_path / f"report{index}.json"
        code = f"from tests.cli.test_store_concurrency import worker; worker({index}, {SECONDS}, {str(report)!r})"
        procs.append(
            (
                report,
                subprocess.Popen(
                    [sys.executable, "-c", code], cwd=REPO, env=dict(os.environ),
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                ),
            )
        )

    # Read while they write, the way the TUI and other commands would.
    reads = 0
    with open_store(home) as store:
        while any(proc.poll() is None for _, proc in procs):
            tasks.list_tasks(store)
            jobs.list_jobs(store, limit=20)
            reads += 1
            time.sleep(0.05)

    reports = []
    for report, proc in procs:
        out, err = proc.communicate(timeout=SECONDS + 120)
        assert "database is locked" not in err
        assert proc.returncode == 0, err[-3000:]
        reports.append(json.loads(report.read_text()))

    created = {name: sum(r["created"][name] for r in reports) for name in NAMES}
    job_total = sum(r["jobs"] for r in reports)
    assert all(r["jobs"] > 0 for r in reports)
    assert reads > 0

    with open_store(home) as store:
        assert store.integrity_check() == "ok"
        for name in NAMES:
            numbers = [v.version for v in tasks.task_versions(store, name)]
            assert numbers == list(range(1, created[name] + 1)), f"{name}: gaps or duplicates"
            assert len({v.sha256 for v in tasks.task_versions(store, name)}) == len(numbers)
        refs = sorted(ref for r in reports for ref in r["versions"])
        assert len(refs) == len(set(refs)), "two uploads were given the same version"
        assert store.count_jobs() == job_total
        assert store.count_jobs("succeeded") == job_total  # no live worker's job was taken for an orphan
        for _, _, _, path in store.file_references():
            assert path.exists()
