"""Rows of tasks and their immutable versions (SPEC §1): the SQL for the task registry."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from .. import workspace
from .database import from_row, now
from .records import FileEntry, Task, TaskVersion
from .versioned import Versioned, VersionedRows, files_from_json, files_json

TASKS = Versioned(
    "tasks",
    "task_versions",
    "task_id",
    "v.id, p.name AS task, v.version, v.sha256, v.snapshot_path, v.files, v.target_type, v.kind, v.env_name, "
    "v.metadata, v.created_by, v.created_at",
)


class TaskRows(VersionedRows):
    """The store's task operations (see `AbstractStore`)."""

    def add_task_version(
        self,
        name: str,
        *,
        sha256: str,
        snapshot: Path,
        files: tuple[FileEntry, ...],
        target_type: str | None,
        kind: str | None,
        env: str | None,
        metadata: dict,
    ) -> tuple[TaskVersion, bool]:
        if not Path(snapshot).is_dir():
            raise FileNotFoundError(f"snapshot {snapshot} must be in place before its row is written")
        user, stamp = workspace.current_user(), now()
        with self.transaction():
            version_id, created = self._add_version(
                TASKS,
                self._name_id(TASKS, name, user, stamp),
                sha256,
                {
                    "snapshot_path": self.relative(snapshot),
                    "files": files_json(files),
                    "target_type": target_type,
                    "kind": kind,
                    "env_name": env,
                    "metadata": json.dumps(metadata, sort_keys=True),
                    "created_by": user,
                    "created_at": stamp,
                },
                same={"env_name": env},
            )
            return self._task_version(self._version_row_by_id(TASKS, version_id)), created

    def task_names(self) -> list[str]:
        return self._names(TASKS)

    def list_tasks(self) -> list[Task]:
        return [
            Task(row["task"], row["owner"], row["name_created_at"], row["version_count"], self._task_version(row))
            for row in self._latest_version_rows(TASKS)
        ]

    def task_versions(self, name: str) -> list[TaskVersion]:
        return [self._task_version(row) for row in self._version_rows(TASKS, name)]

    def task_version(self, name: str, version: int | None = None) -> TaskVersion | None:
        row = self._version_row(TASKS, name, version)
        return self._task_version(row) if row else None

    def _task_version(self, row: sqlite3.Row) -> TaskVersion:
        return from_row(
            TaskVersion,
            row,
            path=self.path(row["snapshot_path"]),
            files=files_from_json(row["files"]),
            env=row["env_name"],
            metadata=json.loads(row["metadata"]),
        )
