"""Rows of deployments and their monitoring (SPEC §9): a named model to serve, and what each server run saw.

A deployment stores only a digest of its bearer token, never the token. Each
server worker process writes its own monitoring row for the current run, so
several workers never overwrite one another.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3

from ..errors import UsageError
from ..workspace import current_user
from .database import Database, from_row, now
from .records import Deployment


def token_digest(token: str) -> str:
    """The digest a deployment keeps of its bearer token, and that a request's token is compared by."""
    return hashlib.sha256(token.encode()).hexdigest()


class DeploymentRows(Database):
    """The store's deployment and monitoring operations (see `AbstractStore`)."""

    def add_deployment(self, *, name: str, model_id: int, token: str | None = None) -> Deployment:
        try:
            with self.transaction() as conn:
                cur = conn.execute(
                    "INSERT INTO deployments (name, model_id, token_hash, created_by, created_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (name, model_id, token_digest(token) if token else None, current_user(), now()),
                )
                return from_row(Deployment, self._row("SELECT * FROM deployments WHERE id = ?", (cur.lastrowid,)))
        except sqlite3.IntegrityError:
            raise UsageError(f"a deployment named {name!r} already exists; choose another --name.") from None

    def deployment(self, name: str) -> Deployment | None:
        row = self._row("SELECT * FROM deployments WHERE name = ?", (name,))
        return from_row(Deployment, row) if row else None

    def list_deployments(self) -> list[Deployment]:
        return [from_row(Deployment, r) for r in self._rows("SELECT * FROM deployments ORDER BY id")]

    def delete_deployment(self, deployment_id: int) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM deployment_monitor WHERE deployment_id = ?", (deployment_id,))
            conn.execute("DELETE FROM shares WHERE kind = 'deployment' AND name = "
                         "(SELECT name FROM deployments WHERE id = ?)", (deployment_id,))
            conn.execute("DELETE FROM deployments WHERE id = ?", (deployment_id,))

    def save_monitor(self, deployment_id: int, run: str, worker: int, started_at: str, stats: dict) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO deployment_monitor (deployment_id, run, worker, started_at, updated_at, stats) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (deployment_id, run, worker) "
                "DO UPDATE SET updated_at = excluded.updated_at, stats = excluded.stats",
                (deployment_id, run, worker, started_at, now(), json.dumps(stats)),
            )

    def latest_monitor(self, deployment_id: int) -> list[dict]:
        row = self._row(
            "SELECT run FROM deployment_monitor WHERE deployment_id = ? "
            "ORDER BY started_at DESC, updated_at DESC LIMIT 1",
            (deployment_id,),
        )
        if row is None:
            return []
        rows = self._rows(
            "SELECT * FROM deployment_monitor WHERE deployment_id = ? AND run = ? ORDER BY worker",
            (deployment_id, row["run"]),
        )
        return [{"run": r["run"], "worker": r["worker"], "started_at": r["started_at"], "updated_at": r["updated_at"],
                 **json.loads(r["stats"])} for r in rows]
