"""Rows of shares (SPEC §10): who besides an object's owner may read or write it, and the owner of any object."""

from __future__ import annotations

from .database import Database, from_row, now
from .records import Share

# The table holding the objects of each shareable kind; every one has `name` and `created_by` (its owner).
OWNED_TABLES = {"task": "tasks", "env": "environments", "project": "projects", "blueprint": "blueprints",
                "deployment": "deployments"}


class ShareRows(Database):
    """The store's share operations (see `AbstractStore`)."""

    def owner(self, kind: str, name: str) -> str | None:
        row = self._row(f"SELECT created_by FROM {OWNED_TABLES[kind]} WHERE name = ?", (name,))
        return row["created_by"] if row else None

    def owners(self, kind: str) -> dict[str, str]:
        return {r["name"]: r["created_by"] for r in self._rows(f"SELECT name, created_by FROM {OWNED_TABLES[kind]}")}

    def grant_share(self, kind: str, name: str, grantee: str, role: str, granted_by: str) -> Share:
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO shares (kind, name, grantee, role, granted_by, granted_at) "
                         "VALUES (?, ?, ?, ?, ?, ?)", (kind, name, grantee, role, granted_by, now()))
            row = conn.execute("SELECT * FROM shares WHERE kind = ? AND name = ? AND grantee = ?",
                               (kind, name, grantee)).fetchone()
            return from_row(Share, row)

    def revoke_share(self, kind: str, name: str, grantee: str) -> bool:
        with self.transaction() as conn:
            cur = conn.execute("DELETE FROM shares WHERE kind = ? AND name = ? AND grantee = ?", (kind, name, grantee))
            return cur.rowcount > 0

    def list_shares(self, kind: str | None = None, name: str | None = None) -> list[Share]:
        where, params = [], []
        for column, value in (("kind", kind), ("name", name)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        sql = "SELECT * FROM shares" + (" WHERE " + " AND ".join(where) if where else "")
        return [from_row(Share, r) for r in self._rows(sql + " ORDER BY kind, name, grantee", tuple(params))]
