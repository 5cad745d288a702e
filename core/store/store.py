"""The workspace store: the SQLite implementation of `AbstractStore`, one database beside the files it points to.

`Store` is assembled from one row mixin per concept (tasks, environments,
jobs, projects and models, blueprints, deployments,
shares), each in its own module
and all standing on `Database`'s connections and helpers; `core.store` is the
only package that writes SQL.
"""

from __future__ import annotations

import os

from .. import workspace
from . import files
from .blueprint_rows import BlueprintRows
from .deployment_rows import DeploymentRows
from .environment_rows import EnvironmentRows
from .interface import AbstractStore
from .job_rows import JobRows
from .project_rows import ProjectRows
from .schema import MIGRATIONS, Migration
from .share_rows import ShareRows
from .task_rows import TaskRows


class Store(TaskRows, EnvironmentRows, JobRows, ProjectRows, BlueprintRows, DeploymentRows, ShareRows,
            AbstractStore):
    """The workspace database and its folders; open it with `Store.open(home)` or `open_store(home)`."""

    @classmethod
    def open(
        cls,
        home: str | os.PathLike | None = None,
        *,
        migrations: tuple[Migration, ...] = MIGRATIONS,
        check_jobs: bool = True,
    ) -> "Store":
        """Open (creating if needed) the workspace: migrate the schema, drop orphan temp files, mark orphaned jobs
        and end the rows their jobs left active."""
        store = cls(workspace.home(home), migrations)
        try:
            store._prepare()
            if check_jobs:
                if store.mark_interrupted():
                    files.sweep_temps(store.root)  # an engine died: its workers' temps too (store.files.TEMP_LOCATIONS)
                store.settle_job_rows()
        except BaseException:
            store.close()
            raise
        return store


def open_store(home: str | os.PathLike | None = None) -> Store:
    """Open the workspace at `home` (default: $TASKBENCH_HOME or ~/.taskbench)."""
    return Store.open(home)
