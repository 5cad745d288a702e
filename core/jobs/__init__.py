"""Jobs (SPEC §1, §6): `JobRun` runs one from start to final state; the queries find, list and follow them."""

from .queries import finish_job, follow_log, get_job, list_jobs, parse_job_id, read_log, require_log
from .run import CANCELLED, Cancelled, JobRun

__all__ = ["CANCELLED", "Cancelled", "JobRun", "finish_job", "follow_log", "get_job", "list_jobs", "parse_job_id",
           "read_log", "require_log"]
