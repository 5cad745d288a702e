"""JobRun, the one job lifecycle: what it owns (workers, temporary folders, produced rows) ends with the job."""

from __future__ import annotations

import threading

import pytest

from core.jobs import CANCELLED, Cancelled, JobRun
from core.store import open_store


class FakeWorker:
    """Stands for a worker process: records whether the job closed it (work done) or killed it."""

    def __init__(self):
        self.ended = None
        self.killed = threading.Event()

    def kill(self):
        self.ended = self.ended or "killed"
        self.killed.set()

    def close(self):
        self.ended = self.ended or "closed"


def test_a_cancel_kills_the_jobs_workers_and_ends_it_and_its_rows_cancelled(home):
    cancel = threading.Event()
    settled = []
    with open_store(home) as store:
        with pytest.raises(RuntimeError):
            with JobRun(store, "train", "cancelled while it works", cancel=cancel) as run:
                worker = run.adopt(FakeWorker())
                scratch = run.scratch("train")
                run.on_end(lambda state, message: settled.append((state, message)))
                cancel.set()
                assert worker.killed.wait(10), "the job's cancel watcher kills the worker it waits on"
                raise RuntimeError("the pending request failed: the worker died")  # what a killed worker causes
        job = store.job(run.id)
        assert (job.state, job.message) == ("cancelled", CANCELLED)
        assert worker.ended == "killed" and not scratch.exists()
        assert settled == [("cancelled", CANCELLED)]
        with pytest.raises(Cancelled):  # a worker adopted after the cancel is killed at once
            run.adopt(late := FakeWorker())
        assert late.ended == "killed"


def test_success_closes_the_workers_records_the_rows_and_removes_the_temporaries(home):
    recorded = []
    with open_store(home) as store:
        with JobRun(store, "fit", "works") as run:
            worker = run.adopt(FakeWorker())
            scratch = run.scratch("fit")
            run.on_end(lambda state, message: recorded.append("never: the job succeeded"))
            run.finish("succeeded", exit_code=0, rows=lambda: recorded.append(store.job(run.id).state))
        assert recorded == ["running"], "the rows are written in the transaction that ends the job"
        assert store.job(run.id).state == "succeeded"
        assert worker.ended == "closed" and not scratch.exists()
