"""The workspace store (SPEC §1): one SQLite database and the files it points to.

`core.store.store` is the only code that writes SQL; `core.store.files` writes
the files, always through a temporary name and a rename.
"""

from .records import (
    ACTIVE_JOB_STATES,
    BUILD_STATES,
    FINAL_JOB_STATES,
    JOB_STATES,
    Environment,
    EnvironmentVersion,
    FileEntry,
    Job,
    Task,
    TaskVersion,
)
from .schema import MIGRATIONS, Migration, MigrationFailed, SchemaTooNew, latest_version
from .store import INTERRUPTED_MESSAGE, Store, open_store

__all__ = [
    "ACTIVE_JOB_STATES",
    "BUILD_STATES",
    "FINAL_JOB_STATES",
    "INTERRUPTED_MESSAGE",
    "JOB_STATES",
    "MIGRATIONS",
    "Environment",
    "EnvironmentVersion",
    "FileEntry",
    "Job",
    "Migration",
    "MigrationFailed",
    "SchemaTooNew",
    "Store",
    "Task",
    "TaskVersion",
    "latest_version",
    "open_store",
]
