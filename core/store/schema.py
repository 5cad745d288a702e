"""The workspace database's schema: ordered migrations, applied on open, numbered by `PRAGMA user_version`.

A migration is never edited once released; a change to the schema is a new
migration appended to MIGRATIONS (and an updated snapshot in tests/unit).
"""

from __future__ import annotations

import contextlib

import textwrap
from dataclasses import dataclass
from typing import Callable, Union

from .. import workspace
from ..errors import EXIT_USAGE, TaskbenchError

DB_FILENAME = "taskbench.db"

Step = Union[str, Callable]  # an SQL statement, or a function taking the sqlite3 connection


@dataclass(frozen=True)
class Migration:
    """One schema step: its number (1, 2, …), what it does in a phrase, and its statements."""

    version: int
    description: str
    steps: tuple[Step, ...]


def _sql(text: str) -> str:
    """A statement as written in this file, without the indentation (SQLite keeps the text verbatim)."""
    return textwrap.dedent(text).strip()


_STATES = "'queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted'"

INITIAL = Migration(
    1,
    "tasks, environments and jobs",
    (
        _sql("""
            CREATE TABLE tasks (
                id          INTEGER PRIMARY KEY,
                name        TEXT NOT NULL UNIQUE,
                created_by  TEXT NOT NULL,
                created_at  TEXT NOT NULL
            )
        """),
        _sql("""
            CREATE TABLE task_versions (
                id             INTEGER PRIMARY KEY,
                task_id        INTEGER NOT NULL REFERENCES tasks(id),
                version        INTEGER NOT NULL CHECK (version >= 1),
                sha256         TEXT NOT NULL,
                snapshot_path  TEXT NOT NULL,
                files          TEXT NOT NULL,
                target_type    TEXT,
                kind           TEXT CHECK (kind IN ('transform', 'estimator')),
                env_name       TEXT,
                metadata       TEXT NOT NULL,
                created_by     TEXT NOT NULL,
                created_at     TEXT NOT NULL,
                UNIQUE (task_id, version)
            )
        """),
        "CREATE UNIQUE INDEX task_versions_content ON task_versions (task_id, sha256, ifnull(env_name, ''))",
        _sql(f"""
            CREATE TABLE jobs (
                id           INTEGER PRIMARY KEY AUTOINCREMENT,
                kind         TEXT NOT NULL,
                title        TEXT NOT NULL,
                state        TEXT NOT NULL CHECK (state IN ({_STATES})),
                created_by   TEXT NOT NULL,
                created_at   TEXT NOT NULL,
                started_at   TEXT,
                finished_at  TEXT,
                pid          INTEGER,
                pid_start    TEXT,
                host         TEXT,
                exit_code    INTEGER,
                message      TEXT,
                subject      TEXT NOT NULL DEFAULT '{{}}',
                log_path     TEXT
            )
        """),
        "CREATE INDEX jobs_state ON jobs (state)",
        _sql("""
            CREATE TABLE environments (
                id           INTEGER PRIMARY KEY,
                name         TEXT NOT NULL UNIQUE,
                kind         TEXT NOT NULL CHECK (kind IN ('local', 'docker')),
                builtin      INTEGER NOT NULL DEFAULT 0 CHECK (builtin IN (0, 1)),
                description  TEXT NOT NULL DEFAULT '',
                created_by   TEXT NOT NULL,
                created_at   TEXT NOT NULL
            )
        """),
        _sql("""
            CREATE TABLE environment_versions (
                id              INTEGER PRIMARY KEY,
                environment_id  INTEGER NOT NULL REFERENCES environments(id),
                version         INTEGER NOT NULL CHECK (version >= 1),
                sha256          TEXT NOT NULL,
                snapshot_path   TEXT NOT NULL,
                files           TEXT NOT NULL,
                status          TEXT NOT NULL DEFAULT 'unbuilt'
                                CHECK (status IN ('unbuilt', 'building', 'built', 'failed')),
                image_id        TEXT,
                built_at        TEXT,
                build_job_id    INTEGER REFERENCES jobs(id),
                created_by      TEXT NOT NULL,
                created_at      TEXT NOT NULL,
                UNIQUE (environment_id, version),
                UNIQUE (environment_id, sha256)
            )
        """),
    ),
)

PROJECTS = Migration(
    2,
    "projects and models",
    (
        _sql("""
            CREATE TABLE projects (
                id                  INTEGER PRIMARY KEY,
                name                TEXT NOT NULL UNIQUE,
                data_path           TEXT NOT NULL,
                partition_path      TEXT NOT NULL,
                source              TEXT NOT NULL,
                rows                INTEGER NOT NULL,
                target              TEXT,
                target_type         TEXT NOT NULL
                                    CHECK (target_type IN ('binary', 'multiclass', 'regression', 'anomaly')),
                settings            TEXT NOT NULL,
                holdout_unlocked_at TEXT,
                holdout_unlocked_by TEXT,
                created_by          TEXT NOT NULL,
                created_at          TEXT NOT NULL
            )
        """),
        _sql("""
            CREATE TABLE models (
                id              INTEGER PRIMARY KEY,
                project_id      INTEGER NOT NULL REFERENCES projects(id),
                blueprint       TEXT NOT NULL,
                blueprint_text  TEXT NOT NULL,
                resolved        TEXT NOT NULL,
                state           TEXT NOT NULL DEFAULT 'training'
                                CHECK (state IN ('training', 'trained', 'failed')),
                artifact_path   TEXT,
                job_id          INTEGER REFERENCES jobs(id),
                scores          TEXT NOT NULL DEFAULT '{}',
                train_seconds   REAL,
                predict_speed   REAL,
                message         TEXT,
                created_by      TEXT NOT NULL,
                created_at      TEXT NOT NULL
            )
        """),
        "CREATE INDEX models_by_project ON models(project_id)",
    ),
)

BLUEPRINTS = Migration(
    3,
    "blueprints",
    (
        _sql("""
            CREATE TABLE blueprints (
                id          INTEGER PRIMARY KEY,
                name        TEXT NOT NULL UNIQUE,
                created_by  TEXT NOT NULL,
                created_at  TEXT NOT NULL
            )
        """),
        _sql("""
            CREATE TABLE blueprint_versions (
                id             INTEGER PRIMARY KEY,
                blueprint_id   INTEGER NOT NULL REFERENCES blueprints(id),
                version        INTEGER NOT NULL CHECK (version >= 1),
                text           TEXT NOT NULL,
                resolved_json  TEXT NOT NULL,
                sha256         TEXT NOT NULL,
                target_type    TEXT,
                created_by     TEXT NOT NULL,
                created_at     TEXT NOT NULL,
                UNIQUE (blueprint_id, version),
                UNIQUE (blueprint_id, sha256)
            )
        """),
    ),
)

DEPLOYMENTS = Migration(
    4,
    "deployments",
    (
        _sql("""
            CREATE TABLE deployments (
                id          INTEGER PRIMARY KEY,
                name        TEXT NOT NULL UNIQUE,
                model_id    INTEGER NOT NULL REFERENCES models(id),
                token_hash  TEXT,
                created_by  TEXT NOT NULL,
                created_at  TEXT NOT NULL
            )
        """),
        _sql("""
            CREATE TABLE deployment_monitor (
                deployment_id  INTEGER NOT NULL REFERENCES deployments(id),
                run            TEXT NOT NULL,
                worker         INTEGER NOT NULL,
                started_at     TEXT NOT NULL,
                updated_at     TEXT NOT NULL,
                stats          TEXT NOT NULL,
                PRIMARY KEY (deployment_id, run, worker)
            )
        """),
    ),
)

SHARES = Migration(
    5,
    "shares",
    (
        _sql("""
            CREATE TABLE shares (
                kind        TEXT NOT NULL CHECK (kind IN ('task', 'env', 'project', 'blueprint', 'deployment')),
                name        TEXT NOT NULL,
                grantee     TEXT NOT NULL,
                role        TEXT NOT NULL CHECK (role IN ('read', 'write')),
                granted_by  TEXT NOT NULL,
                granted_at  TEXT NOT NULL,
                PRIMARY KEY (kind, name, grantee)
            )
        """),
    ),
)

BLUEPRINT_ORIGINS = Migration(
    6,
    "blueprint origins",
    ("ALTER TABLE blueprints ADD COLUMN origin TEXT",),  # 'name@N' a clone was made from; NULL for the rest
)

MODEL_FILES = Migration(
    7,
    "model files",
    ("ALTER TABLE models ADD COLUMN files TEXT",),  # JSON [{path, size, sha256}] of a trained model's folder; NULL before
)

MODEL_LINEAGE = Migration(
    8,
    "model lineage",
    (
        "ALTER TABLE models ADD COLUMN parent_id INTEGER REFERENCES models(id)",  # the model a tuned one came from
        "ALTER TABLE models ADD COLUMN tuning TEXT",  # JSON {changed, inner, best, ...} of a tuned model; NULL for others
    ),
)

MIGRATIONS: tuple[Migration, ...] = (
    INITIAL, PROJECTS, BLUEPRINTS, DEPLOYMENTS, SHARES, BLUEPRINT_ORIGINS, MODEL_FILES, MODEL_LINEAGE,
)

# Every column that holds a path (relative to the workspace) to a file or folder that must exist.
FILE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("task_versions", "snapshot_path"),
    ("environment_versions", "snapshot_path"),
    ("jobs", "log_path"),
    ("projects", "data_path"),
    ("projects", "partition_path"),
    ("models", "artifact_path"),
)


@dataclass(frozen=True)
class JobRows:
    """Rows a job produces that hold `active` in `state_column` while their job runs: when the job ends (finished,
    or found orphaned on open) any still `active` get `final`, with the job's reason in `message_column`. `folder`
    (with `{id}`) is where the job puts the row's files before the row says so: a dead job's is removed."""

    table: str
    job_column: str
    state_column: str
    active: str
    final: str
    message_column: str | None = None
    folder: str | None = None


JOB_OWNED_ROWS: tuple[JobRows, ...] = (
    JobRows("models", "job_id", "state", "training", "failed", "message", folder=f"{workspace.MODELS}/{{id}}"),
    JobRows("environment_versions", "build_job_id", "status", "building", "failed"),
)


def stored_version(db_path) -> int:
    """The schema version of the database at `db_path`, read without writing or migrating anything (for checks such
    as `taskbench doctor`); sqlite3.Error when it is not a readable database."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)) as conn:
        return conn.execute("PRAGMA user_version").fetchone()[0]


def latest_version(migrations: tuple[Migration, ...] = MIGRATIONS) -> int:
    """The schema version this code writes: the number of the last migration."""
    return migrations[-1].version if migrations else 0


class SchemaTooNew(TaskbenchError):
    """The workspace was written by a newer taskbench whose schema this code does not know."""

    exit_code = EXIT_USAGE

    def __init__(self, found: int, known: int):
        super().__init__(
            f"this workspace was written by a newer taskbench (schema {found}, this one knows {known}); "
            "upgrade taskbench"
        )
        self.found = found
        self.known = known


class MigrationFailed(TaskbenchError):
    """A migration raised; the database is left at the version before it (the transaction rolled back)."""
