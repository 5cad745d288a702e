"""Rows of saved blueprints (SPEC §7): each save of a blueprint text is version N+1 unless its content is known.

A version records the text as written and, in `resolved_json`, the exact task
each node runs, so a saved blueprint means the same thing however the
registry grows later.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..workspace import current_user
from .store import Store, now


@dataclass(frozen=True)
class BlueprintVersion:
    """One saved version of a blueprint: its text and the pinned task of every node."""

    id: int
    blueprint: str
    version: int
    text: str
    resolved: dict  # {"nodes": {node name: {"task", "version", "builtin", "sha256", "parameters"}}}
    sha256: str
    target_type: str | None
    created_by: str
    created_at: str

    @property
    def ref(self) -> str:
        """'name@N', the way users write a pinned version."""
        return f"{self.blueprint}@{self.version}"

    @property
    def pins(self) -> dict[str, dict]:
        """Node name -> the task it runs: {"task", "version" (None for a built-in), "builtin", "sha256"}."""
        return dict(self.resolved.get("nodes", {}))

    def to_json(self) -> dict:
        return {
            "blueprint": self.blueprint,
            "version": self.version,
            "ref": self.ref,
            "text": self.text,
            "resolved": self.resolved,
            "sha256": self.sha256,
            "target_type": self.target_type,
            "created_by": self.created_by,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class SavedBlueprint:
    """A named blueprint with its owner, how many versions it has, and its latest version."""

    name: str
    created_by: str
    created_at: str
    version_count: int
    latest: BlueprintVersion

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "owner": self.created_by,
            "created_at": self.created_at,
            "versions": self.version_count,
            "latest_version": self.latest.version,
            "target_type": self.latest.target_type,
            "updated_at": self.latest.created_at,
        }


_COLUMNS = """
    v.id, b.name AS blueprint, v.version, v.text, v.resolved_json, v.sha256, v.target_type, v.created_by, v.created_at
"""


def _version(row) -> BlueprintVersion:
    return BlueprintVersion(
        id=row["id"],
        blueprint=row["blueprint"],
        version=row["version"],
        text=row["text"],
        resolved=json.loads(row["resolved_json"]),
        sha256=row["sha256"],
        target_type=row["target_type"],
        created_by=row["created_by"],
        created_at=row["created_at"],
    )


def _where(store: Store, where: str, params: tuple) -> list[BlueprintVersion]:
    rows = store._rows(
        f"SELECT {_COLUMNS} FROM blueprint_versions v JOIN blueprints b ON b.id = v.blueprint_id "
        f"WHERE {where} ORDER BY b.name, v.version",
        params,
    )
    return [_version(row) for row in rows]


def add_blueprint_version(
    store: Store, name: str, *, text: str, resolved: dict, sha256: str, target_type: str | None
) -> tuple[BlueprintVersion, bool]:
    """Record `text` as version N+1 of blueprint `name`, or return the version that has this content already."""
    user, stamp = current_user(), now()
    with store.transaction() as conn:
        row = conn.execute("SELECT id FROM blueprints WHERE name = ?", (name,)).fetchone()
        if row is None:
            blueprint_id = conn.execute(
                "INSERT INTO blueprints (name, created_by, created_at) VALUES (?, ?, ?)", (name, user, stamp)
            ).lastrowid
        else:
            blueprint_id = row["id"]
        same = conn.execute(
            "SELECT id FROM blueprint_versions WHERE blueprint_id = ? AND sha256 = ?", (blueprint_id, sha256)
        ).fetchone()
        if same is not None:
            return _where(store, "v.id = ?", (same["id"],))[0], False
        version = conn.execute(
            "SELECT coalesce(max(version), 0) + 1 FROM blueprint_versions WHERE blueprint_id = ?", (blueprint_id,)
        ).fetchone()[0]
        version_id = conn.execute(
            "INSERT INTO blueprint_versions (blueprint_id, version, text, resolved_json, sha256, target_type, "
            "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (blueprint_id, version, text, json.dumps(resolved, sort_keys=True), sha256, target_type, user, stamp),
        ).lastrowid
        return _where(store, "v.id = ?", (version_id,))[0], True


def blueprint_version(store: Store, name: str, version: int | None = None) -> BlueprintVersion | None:
    """Version `version` of blueprint `name` (the latest when None), or None."""
    if version is None:
        found = _where(
            store,
            "b.name = ? AND v.version = (SELECT max(version) FROM blueprint_versions m WHERE m.blueprint_id = b.id)",
            (name,),
        )
    else:
        found = _where(store, "b.name = ? AND v.version = ?", (name, version))
    return found[0] if found else None


def blueprint_versions(store: Store, name: str) -> list[BlueprintVersion]:
    """Every version of blueprint `name`, oldest first (empty when there is no such blueprint)."""
    return _where(store, "b.name = ?", (name,))


def blueprint_names(store: Store) -> list[str]:
    return [row["name"] for row in store._rows("SELECT name FROM blueprints ORDER BY name")]


def list_blueprints(store: Store) -> list[SavedBlueprint]:
    """Every saved blueprint with its latest version, by name."""
    rows = store._rows(
        f"""
        SELECT {_COLUMNS}, b.created_by AS owner, b.created_at AS blueprint_created_at,
               (SELECT count(*) FROM blueprint_versions c WHERE c.blueprint_id = b.id) AS version_count
        FROM blueprints b JOIN blueprint_versions v ON v.blueprint_id = b.id
        WHERE v.version = (SELECT max(version) FROM blueprint_versions m WHERE m.blueprint_id = b.id)
        ORDER BY b.name
        """
    )
    return [
        SavedBlueprint(row["blueprint"], row["owner"], row["blueprint_created_at"], row["version_count"], _version(row))
        for row in rows
    ]
