"""Reading jobs (SPEC §1, §6): find, list, end and follow one; running one is `core.jobs.run.JobRun`.

A job is owned by the engine process that will finish it (the pid given to
`Store.create_job`/`start_job`, by default the caller). When that process is gone,
or its pid now belongs to a process started later, the next `Store.open` marks the
job `interrupted`.
"""

from __future__ import annotations

import time
from typing import Iterator

from .. import sharing
from ..errors import UsageError
from ..workspace import current_user
from ..store.records import ACTIVE_JOB_STATES, FINAL_JOB_STATES, JOB_STATES, Job
from ..store.store import Store

FOLLOW_POLL_SECONDS = 0.2
_READ_CHUNK = 1 << 16
_ORPHAN_CHECK_SECONDS = 2.0


def finish_job(
    store: Store, job_id: int, state: str, exit_code: int | None = None, message: str | None = None
) -> Job:
    """End a job as succeeded, failed, cancelled or interrupted; the first ending wins."""
    if state not in FINAL_JOB_STATES:
        raise UsageError(f"a job ends as one of {', '.join(FINAL_JOB_STATES)}, not {state!r}.")
    return store.finish_job(job_id, state, exit_code=exit_code, message=message)


def get_job(store: Store, job_id: int | str) -> Job:
    job = store.job(parse_job_id(job_id))
    if job is None:
        raise UsageError(f"there is no job {job_id}; `taskbench jobs` lists them.")
    return job


def list_jobs(store: Store, limit: int | None = 50, state: str | None = None) -> list[Job]:
    """Jobs, newest first; `state` keeps only those in that state."""
    if state is not None and state not in JOB_STATES:
        raise UsageError(f"job state {state!r} is not one of {', '.join(JOB_STATES)}.")
    if limit is not None and limit < 1:
        raise UsageError(f"the limit must be at least 1, not {limit}.")
    return store.list_jobs(limit=limit, state=state)


def parse_job_id(text: int | str) -> int:
    """Accept 42, '42', '#42' and 'job-42'."""
    if isinstance(text, int):
        return text
    raw = str(text).strip().lstrip("#")
    if raw.startswith("job-"):
        raw = raw[4:]
    if not raw.isdigit():
        raise UsageError(f"{text!r} is not a job id; give the number `taskbench jobs` shows, such as 42.")
    return int(raw)


def require_log(store: Store, job: Job) -> None:
    """Refuse, with one sentence, reading `job`'s log to a member who may not (SPEC §10): whoever ran the job reads
    it; a training's, tuning's or autopilot's log is for readers of its project, a prediction's for readers of its
    model's project, a fit check's or build's for readers of its task or environment. The job list itself (no log
    content) is everyone's."""
    if store.sharing is None:
        return
    user = current_user()
    if job.created_by == user:
        return
    kind, name = _log_subject(store, job)
    if name is None:
        raise UsageError(f"you ({user}) cannot read the log of job {job.id}: it is {job.created_by}'s {job.kind} job "
                         f"and names nothing shared with you; ask {job.created_by} for it.")
    sharing.require(store, kind, name, "read", f"read the log of job {job.id} of", user=user)


def _log_subject(store: Store, job: Job) -> tuple[str, str | None]:
    """The shared object whose readers may read the job's log: (kind, name), name None when there is none."""
    subject = job.subject or {}
    if job.kind in ("train", "autopilot", "tune"):
        return "project", subject.get("project")
    if job.kind == "predict" and subject.get("model") is not None:
        model = store.model(int(subject["model"]))
        project = store.project_by_id(model.project_id) if model is not None else None
        return "project", project.name if project is not None else None
    if job.kind == "fit" and subject.get("task"):
        return "task", str(subject["task"]).partition("@")[0]
    if job.kind == "env-build" and subject.get("environment"):
        return "env", str(subject["environment"]).partition("@")[0]
    return job.kind, None


def read_log(store: Store, job_id: int | str) -> Iterator[bytes]:
    """The job's log as it is now, in chunks, for a member who may read it (`require_log`)."""
    job = get_job(store, job_id)
    require_log(store, job)
    with _open_log_for_reading(job) as fh:
        while chunk := fh.read(_READ_CHUNK):
            yield chunk


def follow_log(store: Store, job_id: int | str, poll: float = FOLLOW_POLL_SECONDS) -> Iterator[bytes]:
    """The job's log from the start, then each new piece as the file grows, until the job is no longer active.

    While waiting it also checks, every couple of seconds, whether the job's
    engine process died, so following an orphaned job ends too.
    """
    job = get_job(store, job_id)
    require_log(store, job)
    last_check = time.monotonic()
    with _open_log_for_reading(job) as fh:
        while True:
            chunk = fh.read(_READ_CHUNK)
            if chunk:
                yield chunk
                continue
            if store.job_state(job.id) not in ACTIVE_JOB_STATES:
                # The writer wrote its last line before it ended the job, so what is left is complete.
                while chunk := fh.read(_READ_CHUNK):
                    yield chunk
                return
            if time.monotonic() - last_check > _ORPHAN_CHECK_SECONDS:
                store.mark_interrupted([job.id])
                last_check = time.monotonic()
                continue
            time.sleep(poll)


def _open_log_for_reading(job: Job):
    try:
        return open(job.log_path, "rb")
    except (FileNotFoundError, TypeError):
        raise UsageError(f"job {job.id} has no log file in the workspace.") from None
