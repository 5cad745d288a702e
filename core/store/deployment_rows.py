"""Rows of deployments and their monitoring (SPEC §9): a named model to serve, and what each server run saw.

A deployment stores only a digest of its bearer token, never the token. Each
server worker process writes its own monitoring row for the current run, so
several workers never overwrite one another.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass

from ..errors import UsageError
from ..workspace import current_user
from .store import Store, now


@dataclass(frozen=True)
class Deployment:
    """A trained model published under a name, optionally guarded by a bearer token."""

    id: int
    name: str
    model_id: int
    token_hash: str | None
    created_by: str
    created_at: str

    def to_json(self) -> dict:
        return {"name": self.name, "model": self.model_id, "token": self.token_hash is not None,
                "created_by": self.created_by, "created_at": self.created_at}


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _deployment(row) -> Deployment:
    return Deployment(row["id"], row["name"], row["model_id"], row["token_hash"], row["created_by"], row["created_at"])


def insert_deployment(store: Store, *, name: str, model_id: int, token: str | None = None) -> Deployment:
    try:
        with store.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO deployments (name, model_id, token_hash, created_by, created_at) VALUES (?, ?, ?, ?, ?)",
                (name, model_id, token_digest(token) if token else None, current_user(), now()),
            )
            return _deployment(conn.execute("SELECT * FROM deployments WHERE id = ?", (cur.lastrowid,)).fetchone())
    except sqlite3.IntegrityError:
        raise UsageError(f"a deployment named {name!r} already exists; choose another --name.") from None


def deployment_by_name(store: Store, name: str) -> Deployment | None:
    row = store._row("SELECT * FROM deployments WHERE name = ?", (name,))
    return _deployment(row) if row else None


def all_deployments(store: Store) -> list[Deployment]:
    return [_deployment(r) for r in store._rows("SELECT * FROM deployments ORDER BY id")]


def delete_deployment_row(store: Store, deployment_id: int) -> None:
    """Remove a deployment and every monitoring snapshot of its server runs, in one transaction."""
    with store.transaction() as conn:
        conn.execute("DELETE FROM deployment_monitor WHERE deployment_id = ?", (deployment_id,))
        conn.execute("DELETE FROM deployments WHERE id = ?", (deployment_id,))


def save_monitor(store: Store, deployment_id: int, run: str, worker: int, started_at: str, stats: dict) -> None:
    """Replace one server worker's monitoring snapshot for this run."""
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO deployment_monitor (deployment_id, run, worker, started_at, updated_at, stats) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (deployment_id, run, worker) "
            "DO UPDATE SET updated_at = excluded.updated_at, stats = excluded.stats",
            (deployment_id, run, worker, started_at, now(), json.dumps(stats)),
        )


def latest_monitor(store: Store, deployment_id: int) -> list[dict]:
    """The monitoring snapshots of the deployment's latest server run, one per worker process."""
    row = store._row(
        "SELECT run FROM deployment_monitor WHERE deployment_id = ? ORDER BY started_at DESC, updated_at DESC LIMIT 1",
        (deployment_id,),
    )
    if row is None:
        return []
    rows = store._rows(
        "SELECT * FROM deployment_monitor WHERE deployment_id = ? AND run = ? ORDER BY worker",
        (deployment_id, row["run"]),
    )
    return [{"run": r["run"], "worker": r["worker"], "started_at": r["started_at"], "updated_at": r["updated_at"],
             **json.loads(r["stats"])} for r in rows]
