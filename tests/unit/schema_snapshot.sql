-- schema version 8

-- table blueprint_versions
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
);

-- table blueprints
CREATE TABLE blueprints (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL
, origin TEXT);

-- table deployment_monitor
CREATE TABLE deployment_monitor (
    deployment_id  INTEGER NOT NULL REFERENCES deployments(id),
    run            TEXT NOT NULL,
    worker         INTEGER NOT NULL,
    started_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    stats          TEXT NOT NULL,
    PRIMARY KEY (deployment_id, run, worker)
);

-- table deployments
CREATE TABLE deployments (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    model_id    INTEGER NOT NULL REFERENCES models(id),
    token_hash  TEXT,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

-- table environment_versions
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
);

-- table environments
CREATE TABLE environments (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL CHECK (kind IN ('local', 'docker')),
    builtin      INTEGER NOT NULL DEFAULT 0 CHECK (builtin IN (0, 1)),
    description  TEXT NOT NULL DEFAULT '',
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL
);

-- table jobs
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL,
    title        TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted')),
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    started_at   TEXT,
    finished_at  TEXT,
    pid          INTEGER,
    pid_start    TEXT,
    host         TEXT,
    exit_code    INTEGER,
    message      TEXT,
    subject      TEXT NOT NULL DEFAULT '{}',
    log_path     TEXT
);

-- table models
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
, files TEXT, parent_id INTEGER REFERENCES models(id), tuning TEXT);

-- table projects
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
);

-- table shares
CREATE TABLE shares (
    kind        TEXT NOT NULL CHECK (kind IN ('task', 'env', 'project', 'blueprint', 'deployment')),
    name        TEXT NOT NULL,
    grantee     TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('read', 'write')),
    granted_by  TEXT NOT NULL,
    granted_at  TEXT NOT NULL,
    PRIMARY KEY (kind, name, grantee)
);

-- table task_versions
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
);

-- table tasks
CREATE TABLE tasks (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

-- index jobs_state
CREATE INDEX jobs_state ON jobs (state);

-- index models_by_project
CREATE INDEX models_by_project ON models(project_id);

-- index task_versions_content
CREATE UNIQUE INDEX task_versions_content ON task_versions (task_id, sha256, ifnull(env_name, ''));
