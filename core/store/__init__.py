"""The workspace store (SPEC §1): one SQLite database and the files it points to.

`AbstractStore` (`interface.py`) documents every operation; `Store` implements
it with one row mixin per concept, and `core.store` is the only package that
writes SQL. `core.store.files` writes the files, always through a temporary
name and a rename.
"""

from .interface import AbstractStore
from .job_rows import INTERRUPTED_MESSAGE
from .records import (
    ACTIVE_JOB_STATES,
    BUILD_STATES,
    FINAL_JOB_STATES,
    JOB_STATES,
    BlueprintVersion,
    Deployment,
    Environment,
    EnvironmentVersion,
    FileEntry,
    Job,
    Model,
    Project,
    ProjectExists,
    SavedBlueprint,
    Share,
    Task,
    TaskVersion,
)
from .schema import MIGRATIONS, Migration, MigrationFailed, SchemaTooNew, latest_version
from .store import Store, open_store

__all__ = [
    "ACTIVE_JOB_STATES",
    "AbstractStore",
    "BUILD_STATES",
    "FINAL_JOB_STATES",
    "INTERRUPTED_MESSAGE",
    "JOB_STATES",
    "MIGRATIONS",
    "BlueprintVersion",
    "Deployment",
    "Environment",
    "EnvironmentVersion",
    "FileEntry",
    "Job",
    "Migration",
    "MigrationFailed",
    "Model",
    "Project",
    "ProjectExists",
    "SavedBlueprint",
    "SchemaTooNew",
    "Share",
    "Store",
    "Task",
    "TaskVersion",
    "latest_version",
    "open_store",
]
