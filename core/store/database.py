"""The workspace database underneath the store: one SQLite file shared by many processes, and its folders.

Each thread of each process gets its own connection; every change of more than
one row runs in `BEGIN IMMEDIATE`, so writers queue on SQLite's lock (up to
BUSY_TIMEOUT) instead of failing, and numbers such as version N+1 are allocated
while that lock is held. The row mixins of `core.store` build on the helpers here.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, TypeVar

from .. import workspace
from . import files
from .schema import DB_FILENAME, FILE_COLUMNS, MIGRATIONS, Migration, MigrationFailed, SchemaTooNew, latest_version

BUSY_TIMEOUT = 30.0
RESERVE_FILE = ".space-reserve"
RESERVE_BYTES = 256 << 10  # a job's ending is a few SQLite pages and log lines

TASK_OBJECTS = workspace.TASK_OBJECTS
ENVIRONMENT_OBJECTS = workspace.ENVIRONMENT_OBJECTS
LOGS = workspace.LOGS

R = TypeVar("R")


def now() -> str:
    """The current time as ISO 8601 in UTC, to the millisecond."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def from_row(record: type[R], row: sqlite3.Row, **converted) -> R:
    """A record dataclass from a row with a column for each of its fields but those in `converted`, which are
    stored in another form (JSON, a relative path, another column name)."""
    return record(**{name: row[name] for name in _field_names(record) if name not in converted}, **converted)


@functools.cache
def _field_names(record: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(record))


class Database:
    """Connections, transactions, migrations and workspace paths: what every row mixin of the store stands on."""

    def __init__(self, root: Path, migrations: tuple[Migration, ...] = MIGRATIONS):
        self.root = Path(root)
        self.db_path = self.root / DB_FILENAME
        self._migrations = migrations
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[tuple[int, sqlite3.Connection]] = []
        self._tables: frozenset[str] | None = None
        self.sharing: workspace.Sharing | None = None  # set on open: the group of a shared workspace

    # ------------------------------------------------------------------ opening

    def _prepare(self) -> None:
        self.sharing = workspace.enter(self.root)
        if self.sharing is not None:
            self._share_database()
        for rel in (TASK_OBJECTS, ENVIRONMENT_OBJECTS, LOGS):
            (self.root / rel).mkdir(parents=True, exist_ok=True)
        self._use_wal(self._conn())
        self._migrate()
        files.sweep_temps(self.root, deep=False)
        files.ensure_reserve(self.root / RESERVE_FILE, RESERVE_BYTES)

    def _share_database(self) -> None:
        """Create a shared workspace's database group-writable (SQLite creates it 0644, and its `-wal`/`-shm` files
        with the database's mode), and repair this user's database files that an earlier run left otherwise."""
        try:
            os.close(os.open(self.db_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, workspace.SHARED_FILE_MODE))
        except FileExistsError:
            pass
        workspace.share_files([self.db_path, *(self.db_path.with_name(self.db_path.name + suffix)
                                                for suffix in ("-wal", "-shm"))], self.sharing)

    def release_reserve(self) -> int:
        """Free the disk space the workspace keeps aside, so a job that met a full disk can still record how it
        ended; the next open sets it aside again when there is room. Returns the bytes freed."""
        return files.release_reserve(self.root / RESERVE_FILE)

    @staticmethod
    def _use_wal(conn: sqlite3.Connection) -> None:
        """Switch a new database to WAL. SQLite answers "database is locked" at once (no busy wait) when several
        connections make the switch together, as threads of a first start do: retry until the busy timeout."""
        deadline = time.monotonic() + BUSY_TIMEOUT
        while True:
            try:
                if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def _migrate(self) -> None:
        known = latest_version(self._migrations)
        expected = list(range(1, known + 1))
        if [m.version for m in self._migrations] != expected:
            raise RuntimeError("migrations must be numbered 1, 2, 3 … in order")
        found = self.schema_version()
        if found > known:
            raise SchemaTooNew(found, known)
        if found == known:
            return
        with self.transaction() as conn:
            found = conn.execute("PRAGMA user_version").fetchone()[0]  # another process may have migrated
            if found > known:
                raise SchemaTooNew(found, known)
            for migration in self._migrations[found:]:
                try:
                    for step in migration.steps:
                        if callable(step):
                            step(conn)
                        else:
                            conn.execute(step)
                except sqlite3.Error as exc:
                    raise MigrationFailed(
                        f"upgrading the workspace database to schema {migration.version} "
                        f"({migration.description}) failed: {exc}; it was left at schema {found}."
                    ) from exc
                conn.execute(f"PRAGMA user_version = {int(migration.version)}")

    def schema_version(self) -> int:
        return self._conn().execute("PRAGMA user_version").fetchone()[0]

    # --------------------------------------------------------------- connections

    def _connect(self) -> sqlite3.Connection:
        # check_same_thread=False only so close() may run from any thread; each thread uses its own.
        conn = sqlite3.connect(
            self.db_path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
        )
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection, made on first use (and again after a fork)."""
        local = self._local
        pid = os.getpid()
        if getattr(local, "pid", None) != pid:
            local.conn = self._connect()
            local.pid = pid
            local.depth = 0
            with self._lock:
                self._connections.append((pid, local.conn))
        return local.conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        local = self._local
        if local.depth:
            local.depth += 1
            try:
                yield conn
            finally:
                local.depth -= 1
            return
        conn.execute("BEGIN IMMEDIATE")
        local.depth = 1
        try:
            yield conn
        except BaseException:
            local.depth = 0
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        local.depth = 0
        try:
            conn.execute("COMMIT")
        except BaseException:
            # A COMMIT that fails (SQLITE_FULL on a full disk) leaves the transaction open, holding the write lock.
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            raise

    def _in_transaction(self) -> bool:
        """True inside this thread's `transaction()` block (a helper for the row mixins)."""
        return bool(getattr(self._local, "depth", 0))

    def _rows(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        """Every row a query returns, on this thread's connection (a helper for the row mixins)."""
        return self._conn().execute(sql, params).fetchall()

    def _row(self, sql: str, params: tuple = ()) -> sqlite3.Row | None:
        """The first row a query returns, or None (a helper for the row mixins)."""
        return self._conn().execute(sql, params).fetchone()

    def _table_names(self) -> frozenset[str]:
        """The tables this workspace's schema has; read once, since the schema is migrated on open."""
        if self._tables is None:
            self._tables = frozenset(row[0] for row in self._rows("SELECT name FROM sqlite_master WHERE type = 'table'"))
        return self._tables

    def close(self) -> None:
        pid = os.getpid()
        with self._lock:
            mine = [conn for owner, conn in self._connections if owner == pid]
            self._connections = [(owner, conn) for owner, conn in self._connections if owner != pid]
        for conn in mine:
            try:
                conn.close()
            except sqlite3.Error:
                pass
        self._local = threading.local()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ----------------------------------------------------------------- paths

    def path(self, rel: str) -> Path:
        return self.root / rel

    def relative(self, path: Path) -> str:
        return Path(path).resolve().relative_to(self.root.resolve()).as_posix()

    def objects_dir(self, kind: str) -> Path:
        return self.root / {"tasks": TASK_OBJECTS, "environments": ENVIRONMENT_OBJECTS}[kind]

    def integrity_check(self) -> str:
        return self._row("PRAGMA integrity_check")[0]

    def file_references(self) -> list[tuple[str, str, int, Path]]:
        found = []
        for table, column in FILE_COLUMNS:
            for row in self._rows(f"SELECT id, {column} AS path FROM {table} WHERE {column} IS NOT NULL"):
                found.append((table, column, row["id"], self.path(row["path"])))
        return found
