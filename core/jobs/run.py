"""One job lifecycle (SPEC §6): a `JobRun` owns a job's row, log, cancel watcher, workers, temporary folders and
the rows it produces, and ends them together on success, failure and cancel.

Engine death (kill -9, a lost machine) cannot run code, so the other half lives in the store: the next open marks
the job `interrupted`, ends the rows it produced (`store.schema.JOB_OWNED_ROWS`) and sweeps the temporary names of
dead processes (`store.files.TEMP_LOCATIONS`); everything a JobRun makes is named so that sweep finds it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable

from .. import workspace
from ..errors import EXIT_TASK_FAILED, KEPT_DEFAULT, DiskFull, TaskbenchError, disk_full
from ..joblog import JobLog
from ..store import Store, files
from ..store.records import Job
from .queries import finish_job

CANCELLED = "cancelled by the user"
CANCEL_POLL_SECONDS = 0.05


class Cancelled(Exception):
    """Raised in the job's own thread once its cancel event is set; the job then ends `cancelled`."""


class JobRun:
    """One job from start to its final state; use it as a context manager, or call `start()` and `finish()`.

    `cancel` is an event a caller (the workbench) sets to stop the job: one watcher kills every adopted worker, so
    the request the job waits on fails and the job ends `cancelled`. `failure_exit_code` fixes the exit code of a
    failed job (training records 1 whatever the error); by default a TaskbenchError's own code is kept.
    """

    def __init__(self, store: Store, kind: str, title: str, subject: dict | None = None, *,
                 cancel: threading.Event | None = None, announce: bool = True,
                 failure_exit_code: int | None = None):
        self.store = store
        self.kind, self.title, self.subject = kind, title, subject
        self.cancel = cancel
        self.announce = announce
        self.failure_exit_code = failure_exit_code
        self.kept = KEPT_DEFAULT  # what a full disk's sentence says was kept
        self.job: Job | None = None
        self.log: JobLog | None = None
        self.state: str | None = None  # the final state once recorded
        self.message: str | None = None
        self._workers: list = []
        self._temporaries: list[Path] = []
        self._endings: list[Callable[[str, str | None], None]] = []
        self._lock = threading.Lock()  # the watcher and the job's thread both touch the workers
        self._ended = threading.Event()
        self._cancelled = False

    @property
    def id(self) -> int:
        return self.job.id

    # ------------------------------------------------------------- starting

    def start(self) -> "JobRun":
        """Create the job's row as running (owned by this process), open its log and start the cancel watcher."""
        self.job = self.store.start_job(self.store.create_job(self.kind, self.title, self.subject).id)
        self.log = JobLog(self.job.log_path)
        if self.announce:
            self.log.line(f"job {self.job.id} started: {self.title} (pid {os.getpid()})")
        if self.cancel is not None:
            threading.Thread(target=self._watch_cancel, name=f"job-{self.job.id}-cancel", daemon=True).start()
        return self

    def __enter__(self) -> "JobRun":
        return self if self.job is not None else self.start()

    def __exit__(self, kind, exc, tb) -> bool:
        try:
            if exc is None:
                if self.state is None:
                    self.finish("succeeded", exit_code=0)
                    self.log.line(f"job {self.job.id} {self.state}")
            else:
                full = self.fail(exc)
                if full is not None:
                    raise full from exc
        finally:
            self.close()
        return False

    # ------------------------------------------------------------ cancelling

    def _watch_cancel(self) -> None:
        """Beside the job: when the caller sets the cancel event, kill the job's workers (the pending request fails)."""
        while not self._ended.is_set():
            if self.cancel.wait(CANCEL_POLL_SECONDS):
                with self._lock:
                    if self._ended.is_set():  # the job finished meanwhile: its result stands
                        return
                    self._cancelled = True
                    workers = list(self._workers)
                for worker in workers:
                    worker.kill()
                return

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def check_cancel(self) -> None:
        """Stop between steps once cancelled (a step still running is stopped by the watcher)."""
        if self._cancelled or (self.cancel is not None and self.cancel.is_set()):
            self._cancelled = True
            raise Cancelled()

    # ------------------------------------------------------ what the job owns

    def adopt(self, worker):
        """Track a worker (anything with `kill()` and `close()`) until the job ends; returns it. A job already
        cancelled kills it at once and raises Cancelled."""
        with self._lock:
            self._workers.append(worker)
            cancelled = self._cancelled
        if cancelled:
            worker.kill()
            raise Cancelled()
        return worker

    def release(self, worker) -> None:
        """Close a worker whose part of the job is done, and stop tracking it."""
        with self._lock:
            if worker in self._workers:
                self._workers.remove(worker)
        worker.close()

    def scratch(self, kind: str) -> Path:
        """A private scratch folder under the workspace's tmp/ (named for this process), removed when the job ends."""
        return self.temporary(workspace.scratch_dir(self.store.root, kind))

    def temporary(self, path: Path) -> Path:
        """Remove `path` (a temporary name of store.files.TEMP_LOCATIONS) when the job ends, whatever the ending."""
        self._temporaries.append(Path(path))
        return Path(path)

    def on_end(self, settle: Callable[[str, str | None], None]) -> None:
        """`settle(state, message)` gives a row this job produced its own final state when the job does not succeed;
        it runs in the transaction that ends the job. Rows it leaves active get the store's ending (JOB_OWNED_ROWS)."""
        self._endings.append(settle)

    # ---------------------------------------------------------------- ending

    def stop(self, *, succeeded: bool) -> None:
        """Stop the cancel watcher and the job's workers (closed when the work succeeded, killed otherwise) before
        the ending is written; `finish` does it too."""
        with self._lock:
            self._ended.set()
            workers, self._workers = self._workers, []
        for worker in workers:
            (worker.close if succeeded else worker.kill)()

    def finish(self, state: str, exit_code: int | None = None, message: str | None = None, *,
               rows: Callable[[], None] | None = None, full: bool = False) -> Job | None:
        """End the job: its workers stop (closed after success, killed otherwise) and its temporary folders go
        first (freeing a full disk), then the ending and the rows it produced (`rows()` on success) are recorded in
        one transaction. A failed success raises; any other ending that cannot be recorded is logged, and the next
        open ends the job."""
        self.stop(succeeded=state == "succeeded")
        for path in self._temporaries:
            files.remove_tree(path)
        self._temporaries = []
        if full:
            self.store.release_reserve()
        for attempt in (1, 2):
            try:
                with self.store.transaction():
                    if state == "succeeded":
                        if rows is not None:
                            rows()
                    else:
                        for settle in self._endings:
                            settle(state, message)
                    job = finish_job(self.store, self.job.id, state, exit_code=exit_code, message=message)
            except Exception as exc:  # noqa: BLE001 - a full disk may refuse even this; the log says so
                if attempt == 1 and disk_full(exc, self.store.root) is not None:
                    self.store.release_reserve()
                    continue
                if state == "succeeded":
                    raise
                self.log.exception(f"could not record that job {self.job.id} ended ({state})")
                return None
            self.state, self.message = job.state, message
            return job
        return None

    def fail(self, exc: BaseException) -> DiskFull | None:
        """End the job by the exception that stopped it: Ctrl-C or a cancel ends it `cancelled`, anything else
        `failed` with its one sentence (engine faults leave a traceback in the log). Returns the DiskFull sentence
        when a full disk was the cause."""
        if self.state is not None:
            return None
        if isinstance(exc, (KeyboardInterrupt, Cancelled)) or self._cancelled:
            self.log.line("cancelled: the job's workers were stopped" if self._cancelled else CANCELLED)
            self.finish("cancelled", message=CANCELLED)
            return None
        full = disk_full(exc, self.store.root, kept=self.kept)
        if full is not None:
            if isinstance(exc, TaskbenchError):
                self.log.line(exc.message + (f"\n{exc.details}" if exc.details else ""))  # what the task itself met
            else:
                self.log.exception("the disk is full")
            message, code = full.message, full.exit_code
        elif isinstance(exc, TaskbenchError):
            message, code = exc.message, exc.exit_code
        else:
            self.log.exception("engine error")
            message, code = f"{type(exc).__name__}: {exc}", EXIT_TASK_FAILED
        self.log.line(f"failed: {message}")
        self.finish("failed", self.failure_exit_code or code, message, full=full is not None)
        return full

    def close(self) -> None:
        """Close the log (after the last line the job writes); the job's row and workers are `finish`'s."""
        if self.log is not None:
            self.log.close()
