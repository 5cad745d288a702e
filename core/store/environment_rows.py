"""Rows of environments, their immutable versions and image builds (SPEC §2): the SQL for the environment registry."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .. import workspace
from ..errors import UsageError
from .database import from_row, now
from .records import BUILD_STATES, Environment, EnvironmentVersion, FileEntry
from .versioned import Versioned, VersionedRows, files_from_json, files_json

ENVIRONMENTS = Versioned(
    "environments",
    "environment_versions",
    "environment_id",
    "v.id, p.name AS environment, v.version, p.kind, v.sha256, v.snapshot_path, v.files, v.status, v.image_id, "
    "v.built_at, v.build_job_id, v.created_by, v.created_at",
)

_ENVIRONMENT = """
    SELECT e.*, (SELECT count(*) FROM environment_versions c WHERE c.environment_id = e.id) AS version_count,
           (SELECT max(version) FROM environment_versions m WHERE m.environment_id = e.id) AS latest
    FROM environments e
"""


class EnvironmentRows(VersionedRows):
    """The store's environment operations (see `AbstractStore`)."""

    def ensure_environment(self, name: str, kind: str, *, builtin: bool, description: str, created_by: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO environments (name, kind, builtin, description, created_by, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
                (name, kind, int(builtin), description, created_by, now()),
            )

    def add_environment_version(
        self,
        name: str,
        *,
        sha256: str,
        snapshot: Path,
        files: tuple[FileEntry, ...],
        builtin: bool = False,
        created_by: str | None = None,
    ) -> tuple[EnvironmentVersion, bool]:
        if not Path(snapshot).is_dir():
            raise FileNotFoundError(f"snapshot {snapshot} must be in place before its row is written")
        user, stamp = created_by or workspace.current_user(), now()
        with self.transaction() as conn:
            row = conn.execute("SELECT id, kind, builtin FROM environments WHERE name = ?", (name,)).fetchone()
            if row is None:
                env_id = conn.execute(
                    "INSERT INTO environments (name, kind, builtin, description, created_by, created_at) "
                    "VALUES (?, 'docker', ?, '', ?, ?)",
                    (name, int(builtin), user, stamp),
                ).lastrowid
            elif bool(row["builtin"]) != builtin or row["kind"] != "docker":
                raise UsageError(f"{name} is a built-in environment; add yours under another name.")
            else:
                env_id = row["id"]
            version_id, created = self._add_version(
                ENVIRONMENTS,
                env_id,
                sha256,
                {
                    "snapshot_path": self.relative(snapshot),
                    "files": files_json(files),
                    "status": "unbuilt",
                    "created_by": user,
                    "created_at": stamp,
                },
            )
            return self.environment_version_by_id(version_id), created

    def list_environments(self) -> list[Environment]:
        return [self._environment(row) for row in self._rows(f"{_ENVIRONMENT} ORDER BY e.builtin DESC, e.name")]

    def environment(self, name: str) -> Environment | None:
        row = self._row(f"{_ENVIRONMENT} WHERE e.name = ?", (name,))
        return self._environment(row) if row else None

    def environment_versions(self, name: str) -> list[EnvironmentVersion]:
        return [self._env_version(row) for row in self._version_rows(ENVIRONMENTS, name)]

    def environment_version(self, name: str, version: int | None = None) -> EnvironmentVersion | None:
        row = self._version_row(ENVIRONMENTS, name, version)
        return self._env_version(row) if row else None

    def environment_version_by_id(self, version_id: int) -> EnvironmentVersion | None:
        row = self._version_row_by_id(ENVIRONMENTS, version_id)
        return self._env_version(row) if row else None

    def set_environment_build(
        self, version_id: int, status: str, image_id: str | None = None, job_id: int | None = None
    ) -> EnvironmentVersion:
        if status not in BUILD_STATES:
            raise ValueError(f"build status {status!r} is not one of {', '.join(BUILD_STATES)}")
        with self.transaction() as conn:
            changed = conn.execute(
                """
                UPDATE environment_versions SET
                    status = ?,
                    image_id = CASE WHEN ? = 'unbuilt' THEN NULL ELSE coalesce(?, image_id) END,
                    built_at = CASE WHEN ? = 'built' THEN ? WHEN ? = 'unbuilt' THEN NULL ELSE built_at END,
                    build_job_id = coalesce(?, build_job_id)
                WHERE id = ?
                """,
                (status, status, image_id, status, now(), status, job_id, version_id),
            ).rowcount
        if not changed:
            raise UsageError(f"there is no environment version with id {version_id}.")
        return self.environment_version_by_id(version_id)

    def _environment(self, row: sqlite3.Row) -> Environment:
        latest = self.environment_version(row["name"], row["latest"]) if row["latest"] else None
        return from_row(Environment, row, builtin=bool(row["builtin"]), latest=latest)

    def _env_version(self, row: sqlite3.Row) -> EnvironmentVersion:
        return from_row(
            EnvironmentVersion, row, path=self.path(row["snapshot_path"]), files=files_from_json(row["files"])
        )
