"""The workspace as the front ends see it: one `Workspace` per command or workbench (its folder, the acting user)
with the operations panes and commands need, each delegating to core's domain functions.

Every operation opens the store for its own call and closes it after: the workbench calls from short-lived worker
threads, SQLite wants a connection per thread, and each open marks the jobs of dead engines interrupted, so a
poll always shows how they ended.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from . import workspace
from .store import Environment, Job, Model, Project, SavedBlueprint, Store, Task, open_store

PARTITIONS = ("validation", "cv", "holdout")


@dataclass(frozen=True)
class Board:
    """A project's leaderboard as shown: its rows best first by `metric` on `partition`."""

    project: Project
    metric: str
    partition: str
    metrics: tuple[str, ...]
    higher_is_better: bool
    rows: list[dict]


class Workspace:
    """A workspace folder and the user acting in it, opened once per front end."""

    def __init__(self, home: str | os.PathLike | None = None, user: str | None = None):
        self.home: Path = workspace.home(home)
        self._user = user

    @property
    def user(self) -> str:
        """The acting user: the one given, else `$TASKBENCH_USER` or the operating-system user."""
        return self._user or workspace.current_user()

    def __repr__(self) -> str:
        return f"Workspace({str(self.home)!r})"

    def open_store(self) -> Store:
        """The store, opened (migrated, orphaned jobs marked interrupted) for a caller that closes it."""
        return open_store(self.home)

    @contextmanager
    def store(self) -> Iterator[Store]:
        """The store for one operation on the calling thread, closed when the block ends."""
        store = self.open_store()
        try:
            yield store
        finally:
            store.close()

    def _call(self, operation, *args, **kwargs):
        """`operation(store, *args, **kwargs)` on a store of its own."""
        with self.store() as store:
            return operation(store, *args, **kwargs)

    # ------------------------------------------------------------ reads

    def projects(self) -> list[Project]:
        from .training.projects import list_projects

        return self._call(list_projects)

    def tasks(self) -> list[Task]:
        from .tasks.versions import list_tasks

        return self._call(list_tasks)

    def environments(self) -> list[Environment]:
        from .environments.versions import list_environments

        return self._call(list_environments)

    def blueprints(self) -> list[SavedBlueprint]:
        from .blueprints.registry import list_blueprints

        return self._call(list_blueprints)

    def leaderboard(self, project: str, metric: str | None = None, partition: str = "validation") -> Board:
        """`project`'s leaderboard by `metric` (the project's default when None or not one of its target type's)
        on `partition` (validation while the holdout is locked)."""
        from .errors import TaskbenchError
        from .training import metrics as metric_table
        from .training.engine import leaderboard
        from .training.projects import get_project

        with self.store() as store:
            found = get_project(store, project)
            if partition == "holdout" and not found.holdout_unlocked:
                partition = "validation"
            try:
                found, metric, rows = leaderboard(store, project, metric, partition)
            except TaskbenchError:  # a metric of another target type: the project's own
                found, metric, rows = leaderboard(store, project, None, partition)
        return Board(found, metric, partition, tuple(metric_table.METRICS[found.target_type]),
                     metric in metric_table.HIGHER_IS_BETTER, rows)

    def jobs(self, limit: int | None = 50) -> list[Job]:
        from .jobs import list_jobs

        return self._call(list_jobs, limit=limit)

    def model(self, model_id: int | str) -> tuple[Model, Project]:
        from .training.engine import get_model

        return self._call(get_model, model_id)

    def insights(self, model_id: int, refresh: bool = False) -> dict:
        from .insights import compute_insights

        return self._call(compute_insights, model_id, refresh=refresh)

    # ------------------------------------------------------------ changes

    def unlock_holdout(self, project: str) -> tuple[Project, int]:
        """Unlock `project`'s holdout for good and score its trained models on it; the project and how many."""
        from .training.engine import score_holdout_for_project
        from .training.projects import unlock

        with self.store() as store:
            unlocked = unlock(store, project)
            return unlocked, score_holdout_for_project(store, unlocked)

    def export_artifacts(self, model_id: int, to: str | os.PathLike) -> dict:
        from .insights import export_artifacts

        return self._call(export_artifacts, model_id, to)
