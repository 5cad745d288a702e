"""Rows of saved blueprints (SPEC §7): each save of a blueprint text is version N+1 unless its content is known.

A version records the text as written and, in `resolved_json`, the exact task
each node runs, so a saved blueprint means the same thing however the
registry grows later.
"""

from __future__ import annotations

import json
import sqlite3

from ..workspace import current_user
from .database import from_row, now
from .records import BlueprintExists, BlueprintVersion, SavedBlueprint
from .versioned import Versioned, VersionedRows

BLUEPRINTS = Versioned(
    "blueprints",
    "blueprint_versions",
    "blueprint_id",
    "v.id, p.name AS blueprint, v.version, v.text, v.resolved_json, v.sha256, v.target_type, v.created_by, "
    "v.created_at, p.origin",
)


class BlueprintRows(VersionedRows):
    """The store's saved-blueprint operations (see `AbstractStore`)."""

    def add_blueprint_version(
        self, name: str, *, text: str, resolved: dict, sha256: str, target_type: str | None,
        origin: str | None = None,
    ) -> tuple[BlueprintVersion, bool]:
        user, stamp = current_user(), now()
        with self.transaction() as conn:
            if origin is not None:
                if conn.execute("SELECT 1 FROM blueprints WHERE name = ?", (name,)).fetchone() is not None:
                    raise BlueprintExists(name)
                name_id = self._name_id(BLUEPRINTS, name, user, stamp)
                conn.execute("UPDATE blueprints SET origin = ? WHERE id = ?", (origin, name_id))
            else:
                name_id = self._name_id(BLUEPRINTS, name, user, stamp)
            version_id, created = self._add_version(
                BLUEPRINTS,
                name_id,
                sha256,
                {
                    "text": text,
                    "resolved_json": json.dumps(resolved, sort_keys=True),
                    "target_type": target_type,
                    "created_by": user,
                    "created_at": stamp,
                },
            )
            return _blueprint_version(self._version_row_by_id(BLUEPRINTS, version_id)), created

    def blueprint_version(self, name: str, version: int | None = None) -> BlueprintVersion | None:
        row = self._version_row(BLUEPRINTS, name, version)
        return _blueprint_version(row) if row else None

    def blueprint_versions(self, name: str) -> list[BlueprintVersion]:
        return [_blueprint_version(row) for row in self._version_rows(BLUEPRINTS, name)]

    def blueprint_names(self) -> list[str]:
        return self._names(BLUEPRINTS)

    def list_blueprints(self) -> list[SavedBlueprint]:
        return [
            SavedBlueprint(
                row["blueprint"], row["owner"], row["name_created_at"], row["version_count"], _blueprint_version(row)
            )
            for row in self._latest_version_rows(BLUEPRINTS)
        ]


def _blueprint_version(row: sqlite3.Row) -> BlueprintVersion:
    return from_row(BlueprintVersion, row, resolved=json.loads(row["resolved_json"]))
