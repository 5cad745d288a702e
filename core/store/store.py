"""The workspace store: one SQLite database beside the files it points to, shared by many processes.

This is the only module that writes SQL. Each thread of each process gets its
own connection; every change of more than one row runs in `BEGIN IMMEDIATE`, so
writers queue on SQLite's lock (up to BUSY_TIMEOUT) instead of failing, and
numbers such as version N+1 are allocated while that lock is held.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from .. import workspace
from ..errors import UsageError, disk_full
from . import files, processes
from .records import (
    ACTIVE_JOB_STATES,
    BUILD_STATES,
    FINAL_JOB_STATES,
    Environment,
    EnvironmentVersion,
    FileEntry,
    Job,
    Task,
    TaskVersion,
)
from .schema import (
    DB_FILENAME,
    FILE_COLUMNS,
    JOB_OWNED_ROWS,
    MIGRATIONS,
    Migration,
    MigrationFailed,
    SchemaTooNew,
    latest_version,
)

BUSY_TIMEOUT = 30.0
INTERRUPTED_MESSAGE = "the engine process ended while the job ran"
UNRECORDED_MESSAGE = "the job ended before it recorded this result"
RESERVE_FILE = ".space-reserve"
RESERVE_BYTES = 256 << 10  # a job's ending is a few SQLite pages and log lines

TASK_OBJECTS = "objects/tasks"
ENVIRONMENT_OBJECTS = "objects/environments"
LOGS = "logs"

_TASK_VERSION_COLUMNS = """
    v.id, t.name AS task, v.version, v.sha256, v.snapshot_path, v.files, v.target_type, v.kind,
    v.env_name, v.metadata, v.created_by, v.created_at
"""
_ENV_VERSION_COLUMNS = """
    v.id, e.name AS environment, v.version, e.kind, v.sha256, v.snapshot_path, v.files, v.status,
    v.image_id, v.built_at, v.build_job_id, v.created_by, v.created_at
"""


def now() -> str:
    """The current time as ISO 8601 in UTC, to the millisecond."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class Store:
    """The workspace database and its folders; open it with `Store.open(home)` or `open_store(home)`."""

    def __init__(self, root: Path, migrations: tuple[Migration, ...] = MIGRATIONS):
        self.root = Path(root)
        self.db_path = self.root / DB_FILENAME
        self._migrations = migrations
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[tuple[int, sqlite3.Connection]] = []
        self._owned: list | None = None

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(
        cls,
        home: str | os.PathLike | None = None,
        *,
        migrations: tuple[Migration, ...] = MIGRATIONS,
        check_jobs: bool = True,
    ) -> "Store":
        """Open (creating if needed) the workspace: migrate the schema, drop orphan temp files, mark orphaned jobs
        and end the rows their jobs left active."""
        store = cls(workspace.home(home), migrations)
        try:
            store._prepare()
            if check_jobs:
                if store.mark_interrupted():
                    files.sweep_temps(store.root)  # an engine died: its workers' temps too (store.files.TEMP_LOCATIONS)
                store.settle_job_rows()
        except BaseException:
            store.close()
            raise
        return store

    def _prepare(self) -> None:
        for rel in (TASK_OBJECTS, ENVIRONMENT_OBJECTS, LOGS):
            (self.root / rel).mkdir(parents=True, exist_ok=True)
        self._use_wal(self._conn())
        self._migrate()
        files.sweep_temps(self.root, deep=False)
        files.ensure_reserve(self.root / RESERVE_FILE, RESERVE_BYTES)

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
        """A write transaction (`BEGIN IMMEDIATE`); nested uses join the outer one."""
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

    def _rows(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        return self._conn().execute(sql, params).fetchall()

    def _row(self, sql: str, params: tuple = ()) -> sqlite3.Row | None:
        return self._conn().execute(sql, params).fetchone()

    def close(self) -> None:
        """Close the connections this process opened (in every thread)."""
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

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ----------------------------------------------------------------- paths

    def path(self, rel: str) -> Path:
        """The absolute path of a workspace-relative path stored in a row."""
        return self.root / rel

    def relative(self, path: Path) -> str:
        return Path(path).resolve().relative_to(self.root.resolve()).as_posix()

    def objects_dir(self, kind: str) -> Path:
        """Where snapshots of `kind` ('tasks' or 'environments') live."""
        return self.root / {"tasks": TASK_OBJECTS, "environments": ENVIRONMENT_OBJECTS}[kind]

    def integrity_check(self) -> str:
        """SQLite's own check: 'ok', or the first problem it found."""
        return self._row("PRAGMA integrity_check")[0]

    def file_references(self) -> list[tuple[str, str, int, Path]]:
        """(table, column, row id, absolute path) of every row that points to a file or folder."""
        found = []
        for table, column in FILE_COLUMNS:
            for row in self._rows(f"SELECT id, {column} AS path FROM {table} WHERE {column} IS NOT NULL"):
                found.append((table, column, row["id"], self.path(row["path"])))
        return found

    # ----------------------------------------------------------------- tasks

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
        """Record a snapshot (already in place) as version N+1 of `name`, or return the version that has it."""
        if not Path(snapshot).is_dir():
            raise FileNotFoundError(f"snapshot {snapshot} must be in place before its row is written")
        user, stamp = workspace.current_user(), now()
        with self.transaction() as conn:
            row = conn.execute("SELECT id FROM tasks WHERE name = ?", (name,)).fetchone()
            if row is None:
                task_id = conn.execute(
                    "INSERT INTO tasks (name, created_by, created_at) VALUES (?, ?, ?)", (name, user, stamp)
                ).lastrowid
            else:
                task_id = row["id"]
            same = conn.execute(
                "SELECT id FROM task_versions WHERE task_id = ? AND sha256 = ? AND env_name IS ? "
                "ORDER BY version LIMIT 1",
                (task_id, sha256, env),
            ).fetchone()
            if same is not None:
                return self._task_version_where("v.id = ?", (same["id"],)), False
            version = conn.execute(
                "SELECT coalesce(max(version), 0) + 1 FROM task_versions WHERE task_id = ?", (task_id,)
            ).fetchone()[0]
            version_id = conn.execute(
                "INSERT INTO task_versions (task_id, version, sha256, snapshot_path, files, target_type, kind, "
                "env_name, metadata, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    task_id,
                    version,
                    sha256,
                    self.relative(snapshot),
                    _files_json(files),
                    target_type,
                    kind,
                    env,
                    json.dumps(metadata, sort_keys=True),
                    user,
                    stamp,
                ),
            ).lastrowid
            return self._task_version_where("v.id = ?", (version_id,)), True

    def task_names(self) -> list[str]:
        return [row["name"] for row in self._rows("SELECT name FROM tasks ORDER BY name")]

    def list_tasks(self) -> list[Task]:
        """Every task with at least one version, by name, with its latest version."""
        rows = self._rows(
            f"""
            SELECT {_TASK_VERSION_COLUMNS}, t.created_by AS owner, t.created_at AS task_created_at,
                   (SELECT count(*) FROM task_versions c WHERE c.task_id = t.id) AS version_count
            FROM tasks t JOIN task_versions v ON v.task_id = t.id
            WHERE v.version = (SELECT max(version) FROM task_versions m WHERE m.task_id = t.id)
            ORDER BY t.name
            """
        )
        return [
            Task(row["task"], row["owner"], row["task_created_at"], row["version_count"], self._task_version(row))
            for row in rows
        ]

    def task_versions(self, name: str) -> list[TaskVersion]:
        """All versions of `name`, oldest first (empty when there is no such task)."""
        return self._task_versions_where("t.name = ?", (name,))

    def task_version(self, name: str, version: int | None = None) -> TaskVersion | None:
        """Version `version` of `name` (the latest when None), or None."""
        if version is None:
            found = self._task_versions_where(
                "t.name = ? AND v.version = (SELECT max(version) FROM task_versions m WHERE m.task_id = t.id)",
                (name,),
            )
            return found[0] if found else None
        return self._task_version_where("t.name = ? AND v.version = ?", (name, version))

    def _task_versions_where(self, where: str, params: tuple) -> list[TaskVersion]:
        rows = self._rows(
            f"SELECT {_TASK_VERSION_COLUMNS} FROM task_versions v JOIN tasks t ON t.id = v.task_id "
            f"WHERE {where} ORDER BY t.name, v.version",
            params,
        )
        return [self._task_version(row) for row in rows]

    def _task_version_where(self, where: str, params: tuple) -> TaskVersion | None:
        found = self._task_versions_where(where, params)
        return found[0] if found else None

    def _task_version(self, row: sqlite3.Row) -> TaskVersion:
        return TaskVersion(
            id=row["id"],
            task=row["task"],
            version=row["version"],
            sha256=row["sha256"],
            path=self.path(row["snapshot_path"]),
            files=_files_from_json(row["files"]),
            target_type=row["target_type"],
            kind=row["kind"],
            env=row["env_name"],
            metadata=json.loads(row["metadata"]),
            created_by=row["created_by"],
            created_at=row["created_at"],
        )

    # ----------------------------------------------------------- environments

    def ensure_environment(self, name: str, kind: str, *, builtin: bool, description: str, created_by: str) -> None:
        """Create the environment row if it is missing (built-ins are created this way, quietly)."""
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
        """Record a snapshot (already in place) as version N+1 of environment `name`, or return the one that has it.

        A new name becomes a custom Docker environment; a built-in name only takes
        versions when `builtin` is True (the shipped Dockerfile changed).
        """
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
            same = conn.execute(
                "SELECT id FROM environment_versions WHERE environment_id = ? AND sha256 = ?", (env_id, sha256)
            ).fetchone()
            if same is not None:
                return self._env_version_where("v.id = ?", (same["id"],)), False
            version = conn.execute(
                "SELECT coalesce(max(version), 0) + 1 FROM environment_versions WHERE environment_id = ?", (env_id,)
            ).fetchone()[0]
            version_id = conn.execute(
                "INSERT INTO environment_versions (environment_id, version, sha256, snapshot_path, files, status, "
                "created_by, created_at) VALUES (?, ?, ?, ?, ?, 'unbuilt', ?, ?)",
                (env_id, version, sha256, self.relative(snapshot), _files_json(files), user, stamp),
            ).lastrowid
            return self._env_version_where("v.id = ?", (version_id,)), True

    def list_environments(self) -> list[Environment]:
        """Every environment, built-ins first, then by name."""
        rows = self._rows(
            """
            SELECT e.*, (SELECT count(*) FROM environment_versions c WHERE c.environment_id = e.id) AS version_count,
                   (SELECT max(version) FROM environment_versions m WHERE m.environment_id = e.id) AS latest
            FROM environments e ORDER BY e.builtin DESC, e.name
            """
        )
        return [self._environment(row) for row in rows]

    def environment(self, name: str) -> Environment | None:
        row = self._row(
            """
            SELECT e.*, (SELECT count(*) FROM environment_versions c WHERE c.environment_id = e.id) AS version_count,
                   (SELECT max(version) FROM environment_versions m WHERE m.environment_id = e.id) AS latest
            FROM environments e WHERE e.name = ?
            """,
            (name,),
        )
        return self._environment(row) if row else None

    def environment_versions(self, name: str) -> list[EnvironmentVersion]:
        return self._env_versions_where("e.name = ?", (name,))

    def environment_version(self, name: str, version: int | None = None) -> EnvironmentVersion | None:
        """Version `version` of environment `name` (the latest when None), or None."""
        if version is None:
            found = self._env_versions_where(
                "e.name = ? AND v.version = "
                "(SELECT max(version) FROM environment_versions m WHERE m.environment_id = e.id)",
                (name,),
            )
            return found[0] if found else None
        return self._env_version_where("e.name = ? AND v.version = ?", (name, version))

    def environment_version_by_id(self, version_id: int) -> EnvironmentVersion | None:
        return self._env_version_where("v.id = ?", (version_id,))

    def set_environment_build(
        self, version_id: int, status: str, image_id: str | None = None, job_id: int | None = None
    ) -> EnvironmentVersion:
        """Record an image build's progress: unbuilt, building, built (with its image id) or failed."""
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
        return Environment(
            name=row["name"],
            kind=row["kind"],
            builtin=bool(row["builtin"]),
            description=row["description"],
            created_by=row["created_by"],
            created_at=row["created_at"],
            version_count=row["version_count"],
            latest=latest,
        )

    def _env_versions_where(self, where: str, params: tuple) -> list[EnvironmentVersion]:
        rows = self._rows(
            f"SELECT {_ENV_VERSION_COLUMNS} FROM environment_versions v JOIN environments e "
            f"ON e.id = v.environment_id WHERE {where} ORDER BY e.name, v.version",
            params,
        )
        return [self._env_version(row) for row in rows]

    def _env_version_where(self, where: str, params: tuple) -> EnvironmentVersion | None:
        found = self._env_versions_where(where, params)
        return found[0] if found else None

    def _env_version(self, row: sqlite3.Row) -> EnvironmentVersion:
        return EnvironmentVersion(
            id=row["id"],
            environment=row["environment"],
            version=row["version"],
            kind=row["kind"],
            sha256=row["sha256"],
            path=self.path(row["snapshot_path"]),
            files=_files_from_json(row["files"]),
            status=row["status"],
            image_id=row["image_id"],
            built_at=row["built_at"],
            build_job_id=row["build_job_id"],
            created_by=row["created_by"],
            created_at=row["created_at"],
        )

    # ------------------------------------------------------------------- jobs

    def create_job(self, kind: str, title: str, subject: dict | None = None, *, pid: int | None = None) -> Job:
        """A new queued job owned by process `pid` (default: this one), with its empty log file in place."""
        pid = os.getpid() if pid is None else pid
        with self.transaction() as conn:
            job_id = conn.execute(
                "INSERT INTO jobs (kind, title, state, created_by, created_at, pid, pid_start, host, subject) "
                "VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?)",
                (
                    kind,
                    title,
                    workspace.current_user(),
                    now(),
                    pid,
                    processes.process_start_time(pid),
                    processes.hostname(),
                    json.dumps(subject or {}, sort_keys=True),
                ),
            ).lastrowid
            rel = f"{LOGS}/job-{job_id}.log"
            # The file exists before the row that names it is committed.
            files.create_empty(self.path(rel), truncate=True)
            conn.execute("UPDATE jobs SET log_path = ? WHERE id = ?", (rel, job_id))
        return self.job(job_id)

    def start_job(self, job_id: int, pid: int | None = None) -> Job:
        """Move a queued job to running, owned from now on by process `pid` (default: this one)."""
        pid = os.getpid() if pid is None else pid
        with self.transaction() as conn:
            changed = conn.execute(
                "UPDATE jobs SET state = 'running', started_at = ?, pid = ?, pid_start = ?, host = ? "
                "WHERE id = ? AND state = 'queued'",
                (now(), pid, processes.process_start_time(pid), processes.hostname(), job_id),
            ).rowcount
        job = self.job(job_id)
        if job is None:
            raise UsageError(f"there is no job {job_id}.")
        if not changed:
            raise UsageError(f"job {job_id} is {job.state}, so it cannot start; only a queued job can.")
        return job

    def finish_job(self, job_id: int, state: str, exit_code: int | None = None, message: str | None = None) -> Job:
        """End an active job in a final state, and the rows it left active (JOB_OWNED_ROWS); a job that already
        ended keeps its first ending. A full disk gets one more try after the workspace's reserve is freed."""
        if state not in FINAL_JOB_STATES:
            raise ValueError(f"a job ends as one of {', '.join(FINAL_JOB_STATES)}, not {state!r}")
        for attempt in (1, 2):
            try:
                with self.transaction() as conn:
                    conn.execute(
                        "UPDATE jobs SET state = ?, finished_at = ?, exit_code = ?, message = ? "
                        "WHERE id = ? AND state IN ('queued', 'running')",
                        (state, now(), exit_code, message, job_id),
                    )
                    self._end_job_rows(conn, [job_id])
                break
            except sqlite3.Error as exc:
                # A full disk: free the reserve so the ending lands (inside a caller's transaction, the caller does).
                if attempt == 2 or getattr(self._local, "depth", 0) or disk_full(exc, self.root) is None:
                    raise
                self.release_reserve()
        job = self.job(job_id)
        if job is None:
            raise UsageError(f"there is no job {job_id}.")
        return job

    def job(self, job_id: int) -> Job | None:
        row = self._row("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return self._job(row) if row else None

    def job_state(self, job_id: int) -> str | None:
        row = self._row("SELECT state FROM jobs WHERE id = ?", (job_id,))
        return row["state"] if row else None

    def list_jobs(self, limit: int | None = 50, state: str | None = None) -> list[Job]:
        """Jobs, newest first, optionally only those in `state`."""
        sql = "SELECT * FROM jobs"
        params: tuple = ()
        if state is not None:
            sql += " WHERE state = ?"
            params = (state,)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params += (int(limit),)
        return [self._job(row) for row in self._rows(sql, params)]

    def count_jobs(self, state: str | None = None) -> int:
        if state is None:
            return self._row("SELECT count(*) FROM jobs")[0]
        return self._row("SELECT count(*) FROM jobs WHERE state = ?", (state,))[0]

    def mark_interrupted(self, job_ids: list[int] | None = None) -> list[int]:
        """Mark active jobs of this host whose owning process is gone (or is a new process with a reused pid).

        Returns the ids it marked, and appends the reason to each one's log.
        """
        placeholders = ", ".join("?" for _ in ACTIVE_JOB_STATES)
        sql = f"SELECT id, pid, pid_start, host FROM jobs WHERE state IN ({placeholders})"
        params: tuple = ACTIVE_JOB_STATES
        if job_ids is not None:
            if not job_ids:
                return []
            sql += f" AND id IN ({', '.join('?' for _ in job_ids)})"
            params += tuple(job_ids)
        here = processes.hostname()
        orphans = [
            row
            for row in self._rows(sql, params)
            if row["host"] == here and row["pid"] is not None and not processes.same_process(row["pid"], row["pid_start"])
        ]
        if not orphans:
            return []
        marked = []
        with self.transaction() as conn:
            for row in orphans:
                changed = conn.execute(
                    f"UPDATE jobs SET state = 'interrupted', finished_at = ?, message = ? "
                    f"WHERE id = ? AND state IN ({placeholders}) AND pid IS ? AND pid_start IS ?",
                    (now(), INTERRUPTED_MESSAGE, row["id"], *ACTIVE_JOB_STATES, row["pid"], row["pid_start"]),
                ).rowcount
                if changed:
                    marked.append(row["id"])
            ended = self._end_job_rows(conn, marked)
        self._remove_unrecorded_folders(ended)
        for job_id in marked:
            self._log_interruption(job_id)
        return marked

    def _owned_tables(self, conn: sqlite3.Connection):
        """The JOB_OWNED_ROWS whose table this workspace's schema has (the schema is migrated on open)."""
        if self._owned is None:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            self._owned = [rows for rows in JOB_OWNED_ROWS if rows.table in tables]
        return self._owned

    def _end_job_rows(self, conn: sqlite3.Connection, job_ids: list[int]) -> list[tuple]:
        """Inside a transaction: rows of these (now ended) jobs that are still active get their final state and
        the job's reason. Returns (JobRows, ids) of what changed."""
        if not job_ids:
            return []
        ids = ", ".join("?" for _ in job_ids)
        return [
            (rows, self._end_rows(conn, rows, f"{rows.job_column} IN ({ids})", tuple(job_ids)))
            for rows in self._owned_tables(conn)
        ]

    def _remove_unrecorded_folders(self, ended: list[tuple]) -> None:
        """Remove the folders a dead job made for rows that never said so (killed between the rename into
        place and the commit)."""
        for rows, ids in ended:
            for row_id in ids if rows.folder else ():
                folder = self.root / rows.folder.format(id=row_id)
                if folder.is_dir():
                    files.remove_tree(folder)

    @staticmethod
    def _end_rows(conn: sqlite3.Connection, rows, where: str, params: tuple) -> list[int]:
        """Give the matching active rows their final state; returns their ids."""
        ids = [
            r[0]
            for r in conn.execute(
                f"SELECT id FROM {rows.table} WHERE {rows.state_column} = ? AND {where}", (rows.active,) + params
            )
        ]
        if not ids:
            return []
        reason = ""
        values: tuple = (rows.final,)
        if rows.message_column:
            reason = (
                f", {rows.message_column} = coalesce("
                f"(SELECT j.message FROM jobs j WHERE j.id = {rows.table}.{rows.job_column}), ?)"
            )
            values += (UNRECORDED_MESSAGE,)
        conn.execute(
            f"UPDATE {rows.table} SET {rows.state_column} = ?{reason} "
            f"WHERE {rows.state_column} = ? AND id IN ({', '.join('?' for _ in ids)})",
            values + (rows.active,) + tuple(ids),
        )
        return ids

    def settle_job_rows(self) -> int:
        """End every row left active by a job that has already ended (killed before it could say so, or ended by
        an older taskbench); returns how many rows changed. Writes only when there is something to change."""
        finals = ", ".join(f"'{state}'" for state in FINAL_JOB_STATES)
        conn = self._conn()
        pending = [
            rows
            for rows in self._owned_tables(conn)
            if conn.execute(
                f"SELECT EXISTS (SELECT 1 FROM {rows.table} WHERE {rows.state_column} = ? AND {rows.job_column} IN "
                f"(SELECT id FROM jobs WHERE state IN ({finals})))",
                (rows.active,),
            ).fetchone()[0]
        ]
        if not pending:
            return 0
        with self.transaction() as conn:
            ended = [
                (rows, self._end_rows(conn, rows, f"{rows.job_column} IN (SELECT id FROM jobs WHERE state IN ({finals}))", ()))
                for rows in pending
            ]
        self._remove_unrecorded_folders(ended)
        return sum(len(ids) for _, ids in ended)

    def _log_interruption(self, job_id: int) -> None:
        from ..joblog import JobLog

        job = self.job(job_id)
        if job is None or job.log_path is None:
            return
        try:
            log = JobLog(job.log_path)
            log.line(f"job {job_id} interrupted: {INTERRUPTED_MESSAGE} (noticed by pid {os.getpid()})")
            log.close()
        except OSError:
            pass

    def _job(self, row: sqlite3.Row) -> Job:
        return Job(
            id=row["id"],
            kind=row["kind"],
            title=row["title"],
            state=row["state"],
            created_by=row["created_by"],
            created_at=row["created_at"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            pid=row["pid"],
            host=row["host"],
            exit_code=row["exit_code"],
            message=row["message"],
            subject=json.loads(row["subject"] or "{}"),
            log_path=self.path(row["log_path"]) if row["log_path"] else None,
        )


def open_store(home: str | os.PathLike | None = None) -> Store:
    """Open the workspace at `home` (default: $TASKBENCH_HOME or ~/.taskbench)."""
    return Store.open(home)


def _files_json(entries: tuple[FileEntry, ...]) -> str:
    return json.dumps([[f.path, f.size, f.sha256] for f in entries])


def _files_from_json(text: str) -> tuple[FileEntry, ...]:
    return tuple(FileEntry(path, size, sha) for path, size, sha in json.loads(text))
