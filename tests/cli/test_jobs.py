"""Jobs and their logs: states, `taskbench jobs`, `taskbench logs --follow` across processes, interrupted jobs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

from core.errors import UsageError
from core import jobs
from core.joblog import JobLog
from core.store import INTERRUPTED_MESSAGE, open_store
from tests.conftest import REPO


@pytest.fixture
def store(home):
    with open_store(home) as s:
        yield s


def python(code: str, **kwargs) -> subprocess.Popen:
    """Start a Python child in the repository, sharing this test's environment (and workspace)."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, env=dict(os.environ), **kwargs
    )


def finish(proc: subprocess.Popen) -> tuple[str, str]:
    """The rest of a child's stdout and its stderr once it exits (communicate() would skip what readline buffered)."""
    guard = threading.Timer(30, proc.kill)  # a follower that never ends fails the test instead of hanging it
    guard.start()
    try:
        out = proc.stdout.read()
        proc.wait()
        return out, proc.stderr.read()
    finally:
        guard.cancel()


def test_job_lifecycle_and_log_file(store):
    job = store.create_job("fit", "fit check of my_task", {"task": "my_task@2"})
    assert job.state == "queued"
    assert job.log_path == store.root / "logs" / f"job-{job.id}.log"
    assert job.log_path.is_file()
    assert job.pid == os.getpid() and job.host
    running = store.start_job(job.id)
    assert running.state == "running" and running.started_at
    done = jobs.finish_job(store, job.id, "succeeded", exit_code=0)
    assert (done.state, done.exit_code) == ("succeeded", 0)
    assert done.finished_at and done.seconds is not None
    # The first ending wins: a late "failed" does not overwrite it.
    assert jobs.finish_job(store, job.id, "failed", exit_code=1).state == "succeeded"
    with pytest.raises(UsageError, match="is succeeded, so it cannot start"):
        store.start_job(job.id)
    with pytest.raises(UsageError, match="not 'running'"):
        jobs.finish_job(store, job.id, "running")
    assert jobs.get_job(store, f"#{job.id}").subject == {"task": "my_task@2"}


def test_run_job_finishes_by_how_the_block_ends(store):
    with jobs.JobRun(store, "fit", "works") as run:
        run.log.line("doing the work")
    assert jobs.get_job(store, run.id).state == "succeeded"
    with pytest.raises(ZeroDivisionError):
        with jobs.JobRun(store, "fit", "breaks") as broken:
            1 / 0
    failed = jobs.get_job(store, broken.id)
    assert failed.state == "failed" and "ZeroDivisionError" in failed.message
    assert "Traceback" in failed.log_path.read_text()


def test_jobs_command_lists_and_filters(taskbench, store):
    ids = [store.create_job("fit", f"job {i}").id for i in range(3)]
    store.start_job(ids[1])
    jobs.finish_job(store, ids[2], "failed", exit_code=1, message="fit raised ValueError")
    listed = json.loads(taskbench("jobs", "--json").stdout)
    assert [j["id"] for j in listed] == ids[::-1]
    assert [j["state"] for j in listed] == ["failed", "running", "queued"]
    assert listed[0]["message"] == "fit raised ValueError"
    assert [j["id"] for j in json.loads(taskbench("jobs", "--json", "--state", "running").stdout)] == [ids[1]]
    assert len(json.loads(taskbench("jobs", "--json", "--limit", "2").stdout)) == 2
    human = taskbench("jobs")
    assert human.exit_code == 0
    assert f"#{ids[2]}" in human.output and "fit raised ValueError" in human.output
    bad = taskbench("jobs", "--state", "done")
    assert bad.exit_code == 2
    assert "job state 'done' is not one of queued, running" in bad.output


def test_logs_command_prints_the_log(taskbench, store):
    with jobs.JobRun(store, "fit", "logged") as job:
        job.log.line("engine line")
        job.log.output(b"task print\n")
    result = taskbench("logs", str(job.id))
    assert result.exit_code == 0
    assert "[engine] engine line" in result.stdout and "task print" in result.stdout
    missing = taskbench("logs", "999")
    assert missing.exit_code == 2
    assert "there is no job 999" in missing.output


WRITER = """
    import sys, time
    from core import jobs
    from core.joblog import JobLog
    from core.store import open_store

    store = open_store()
    job = store.create_job("fit", "slow writer")
    print(job.id, flush=True)
    store.start_job(job.id)
    log = JobLog(job.log_path)
    sys.stdin.readline()  # wait until the follower is attached
    for i in range({lines}):
        log.line(f"line {{i}}")
        time.sleep(0.15)
    {ending}
"""


def test_logs_follow_streams_another_process_until_the_job_ends(home):
    writer = python(
        WRITER.format(lines=12, ending='log.close(); jobs.finish_job(store, job.id, "succeeded", exit_code=0)'),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    job_id = writer.stdout.readline().strip()
    follower = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "logs", job_id, "--follow"],
        cwd=REPO, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    writer.stdin.write("go\n")
    writer.stdin.flush()
    first = follower.stdout.readline()
    assert "[engine] line 0" in first
    assert writer.poll() is None, "the first line must arrive while the writer is still writing"
    rest, err = finish(follower)
    assert writer.wait(timeout=30) == 0
    lines = [first] + rest.splitlines()
    assert [line.split("[engine] ")[1].strip() for line in lines if "line " in line] == [f"line {i}" for i in range(12)]
    assert follower.returncode == 0
    assert f"job {job_id} succeeded" in err


def test_logs_follow_ends_when_the_writer_is_killed(home):
    writer = python(WRITER.format(lines=1000, ending=""), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    job_id = writer.stdout.readline().strip()
    follower = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "logs", job_id, "-f"],
        cwd=REPO, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    writer.stdin.write("go\n")
    writer.stdin.flush()
    assert "line 0" in follower.stdout.readline()
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    out, err = finish(follower)
    assert f"job {job_id} interrupted: {INTERRUPTED_MESSAGE}" in err
    assert INTERRUPTED_MESSAGE in out  # the reason is appended to the log itself


def test_job_of_a_killed_process_is_interrupted_on_next_open(home):
    child = python("import time; time.sleep(120)")
    try:
        with open_store(home) as store:
            running = store.create_job("train", "running job")
            store.start_job(running.id, pid=child.pid)
            queued = store.create_job("train", "queued job", pid=child.pid)
            mine = store.create_job("train", "owned by the test process")
            store.start_job(mine.id)
            assert store.mark_interrupted() == []  # the owner is alive
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    with open_store(home) as store:
        for job_id in (running.id, queued.id):
            job = jobs.get_job(store, job_id)
            assert job.state == "interrupted"
            assert job.message == INTERRUPTED_MESSAGE
            assert job.finished_at
            assert INTERRUPTED_MESSAGE in job.log_path.read_text()
        assert jobs.get_job(store, mine.id).state == "running"
        assert jobs.list_jobs(store, state="interrupted")[0].id == queued.id


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="process start times are read from /proc")
def test_reused_pid_counts_as_a_dead_engine(store):
    """A live process that holds the recorded pid but started at another time is not the job's engine."""
    job = store.create_job("train", "pid reused")
    store.start_job(job.id)
    with store.transaction() as conn:
        conn.execute("UPDATE jobs SET pid_start = '1' WHERE id = ?", (job.id,))
    assert store.mark_interrupted() == [job.id]
    assert jobs.get_job(store, job.id).state == "interrupted"
