"""The one query for versioned entities: a named row with immutable versions 1, 2, 3 … (tasks, environments,
blueprints), each version content-addressed by its sha256, so the same content is never stored twice."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from .database import Database
from .records import FileEntry


@dataclass(frozen=True)
class Versioned:
    """A versioned entity's two tables: `names` (id, name, created_by, created_at) and `versions` (id, `key`,
    version, sha256, …), and the columns a version is read with (`p` is the named row, `v` the version)."""

    names: str
    versions: str
    key: str
    columns: str

    @property
    def latest(self) -> str:
        """SQL true for the latest version of its name."""
        return f"v.version = (SELECT max(version) FROM {self.versions} m WHERE m.{self.key} = p.id)"


class VersionedRows(Database):
    """Reading and adding versions of any `Versioned` entity; the task, environment and blueprint rows use it."""

    def _versions_where(self, entity: Versioned, where: str, params: tuple) -> list[sqlite3.Row]:
        """Version rows matching `where`, by name then version."""
        return self._rows(
            f"SELECT {entity.columns} FROM {entity.versions} v JOIN {entity.names} p ON p.id = v.{entity.key} "
            f"WHERE {where} ORDER BY p.name, v.version",
            params,
        )

    def _version_row(self, entity: Versioned, name: str, version: int | None = None) -> sqlite3.Row | None:
        """Version `version` of `name` (the latest when None), or None."""
        if version is None:
            found = self._versions_where(entity, f"p.name = ? AND {entity.latest}", (name,))
        else:
            found = self._versions_where(entity, "p.name = ? AND v.version = ?", (name, version))
        return found[0] if found else None

    def _version_row_by_id(self, entity: Versioned, version_id: int) -> sqlite3.Row | None:
        """The version row with this id, or None."""
        found = self._versions_where(entity, "v.id = ?", (version_id,))
        return found[0] if found else None

    def _version_rows(self, entity: Versioned, name: str) -> list[sqlite3.Row]:
        """Every version of `name`, oldest first (empty when there is no such name)."""
        return self._versions_where(entity, "p.name = ?", (name,))

    def _latest_version_rows(self, entity: Versioned) -> list[sqlite3.Row]:
        """Each name with at least one version, by name: its latest version plus `owner`, `name_created_at`
        and `version_count`."""
        return self._rows(
            f"""
            SELECT {entity.columns}, p.created_by AS owner, p.created_at AS name_created_at,
                   (SELECT count(*) FROM {entity.versions} c WHERE c.{entity.key} = p.id) AS version_count
            FROM {entity.names} p JOIN {entity.versions} v ON v.{entity.key} = p.id
            WHERE {entity.latest}
            ORDER BY p.name
            """
        )

    def _names(self, entity: Versioned) -> list[str]:
        """Every name of the entity, sorted (a name may have no version yet)."""
        return [row["name"] for row in self._rows(f"SELECT name FROM {entity.names} ORDER BY name")]

    def _name_id(self, entity: Versioned, name: str, user: str, stamp: str) -> int:
        """The id of the named row, created (owned by `user`) when missing; joins the caller's transaction."""
        with self.transaction() as conn:
            row = conn.execute(f"SELECT id FROM {entity.names} WHERE name = ?", (name,)).fetchone()
            if row is not None:
                return row["id"]
            return conn.execute(
                f"INSERT INTO {entity.names} (name, created_by, created_at) VALUES (?, ?, ?)", (name, user, stamp)
            ).lastrowid

    def _add_version(
        self, entity: Versioned, name_id: int, sha256: str, values: dict, same: dict | None = None
    ) -> tuple[int, bool]:
        """The id of the version of `name_id` with this sha256 (and `same` column values), or of a new version
        N+1 with `values`, numbered under the write lock; True when it is new."""
        same = same or {}
        with self.transaction() as conn:
            found = conn.execute(
                f"SELECT id FROM {entity.versions} WHERE {entity.key} = ? AND sha256 = ?"
                + "".join(f" AND {column} IS ?" for column in same)
                + " ORDER BY version LIMIT 1",
                (name_id, sha256, *same.values()),
            ).fetchone()
            if found is not None:
                return found["id"], False
            version = conn.execute(
                f"SELECT coalesce(max(version), 0) + 1 FROM {entity.versions} WHERE {entity.key} = ?", (name_id,)
            ).fetchone()[0]
            columns = [entity.key, "version", "sha256", *values]
            return conn.execute(
                f"INSERT INTO {entity.versions} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                (name_id, version, sha256, *values.values()),
            ).lastrowid, True


def files_json(entries: tuple[FileEntry, ...]) -> str:
    """A snapshot's file list as stored in a version row."""
    return json.dumps([[f.path, f.size, f.sha256] for f in entries])


def files_from_json(text: str) -> tuple[FileEntry, ...]:
    return tuple(FileEntry(path, size, sha) for path, size, sha in json.loads(text))
