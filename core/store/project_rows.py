"""Rows of projects and models (SPEC §5): the SQL for the training side of the workspace."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from ..workspace import current_user
from .store import Store, now


@dataclass(frozen=True)
class Project:
    """A data set, a target and its partitioning; `settings` holds partition and column facts."""

    id: int
    name: str
    data_path: Path
    partition_path: Path
    source: str
    rows: int
    target: str | None
    target_type: str
    settings: dict
    holdout_unlocked_at: str | None
    holdout_unlocked_by: str | None
    created_by: str
    created_at: str

    @property
    def holdout_unlocked(self) -> bool:
        return self.holdout_unlocked_at is not None


@dataclass(frozen=True)
class Model:
    """A blueprint trained in a project: its artifacts, scores per partition and timings."""

    id: int
    project_id: int
    blueprint: str
    blueprint_text: str
    resolved: dict
    state: str
    artifact_path: Path | None
    job_id: int | None
    scores: dict = field(default_factory=dict)
    train_seconds: float | None = None
    predict_speed: float | None = None
    message: str | None = None
    created_by: str = ""
    created_at: str = ""


def _project(store: Store, row) -> Project:
    return Project(
        id=row["id"],
        name=row["name"],
        data_path=store.path(row["data_path"]),
        partition_path=store.path(row["partition_path"]),
        source=row["source"],
        rows=row["rows"],
        target=row["target"],
        target_type=row["target_type"],
        settings=json.loads(row["settings"]),
        holdout_unlocked_at=row["holdout_unlocked_at"],
        holdout_unlocked_by=row["holdout_unlocked_by"],
        created_by=row["created_by"],
        created_at=row["created_at"],
    )


def _model(store: Store, row) -> Model:
    return Model(
        id=row["id"],
        project_id=row["project_id"],
        blueprint=row["blueprint"],
        blueprint_text=row["blueprint_text"],
        resolved=json.loads(row["resolved"]),
        state=row["state"],
        artifact_path=store.path(row["artifact_path"]) if row["artifact_path"] else None,
        job_id=row["job_id"],
        scores=json.loads(row["scores"]),
        train_seconds=row["train_seconds"],
        predict_speed=row["predict_speed"],
        message=row["message"],
        created_by=row["created_by"],
        created_at=row["created_at"],
    )


class ProjectExists(Exception):
    """Another project took the name first (two creators raced past the name check)."""


def insert_project(store: Store, *, name, data_path, partition_path, source, rows, target, target_type, settings,
                   before_insert=None) -> Project:
    """Add a project whose data and partition files are in place; `before_insert` runs inside the write
    transaction (to restore files another creator removed). Raises ProjectExists when the name is taken.
    """
    try:
        with store.transaction() as conn:
            if conn.execute("SELECT 1 FROM projects WHERE name = ?", (name,)).fetchone():
                raise ProjectExists(name)
            if before_insert is not None:
                before_insert()
            cur = conn.execute(
                "INSERT INTO projects (name, data_path, partition_path, source, rows, target, target_type, settings, "
                "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, store.relative(data_path), store.relative(partition_path), source, rows, target, target_type,
                 json.dumps(settings), current_user(), now()),
            )
            return _project(store, conn.execute("SELECT * FROM projects WHERE id = ?", (cur.lastrowid,)).fetchone())
    except sqlite3.IntegrityError as exc:
        if "projects.name" in str(exc):
            raise ProjectExists(name) from None
        raise


def remove_unreferenced(store: Store, paths: list[Path]) -> None:
    """Delete those of `paths` no project row points to, under the write lock so no insert races the check."""
    with store.transaction() as conn:
        for path in paths:
            rel = store.relative(path)
            used = conn.execute(
                "SELECT 1 FROM projects WHERE data_path = ? OR partition_path = ? LIMIT 1", (rel, rel)
            ).fetchone()
            if not used:
                Path(path).unlink(missing_ok=True)


def project_by_name(store: Store, name: str) -> Project | None:
    row = store._row("SELECT * FROM projects WHERE name = ?", (name,))
    return _project(store, row) if row else None


def project_by_id(store: Store, project_id: int) -> Project | None:
    row = store._row("SELECT * FROM projects WHERE id = ?", (project_id,))
    return _project(store, row) if row else None


def all_projects(store: Store) -> list[Project]:
    return [_project(store, r) for r in store._rows("SELECT * FROM projects ORDER BY id")]


def unlock_holdout(store: Store, project_id: int) -> Project:
    """Record the one-time holdout unlock (who and when); unlocking twice keeps the first record."""
    with store.transaction() as conn:
        conn.execute(
            "UPDATE projects SET holdout_unlocked_at = ?, holdout_unlocked_by = ? "
            "WHERE id = ? AND holdout_unlocked_at IS NULL",
            (now(), current_user(), project_id),
        )
        return _project(store, conn.execute("SELECT * FROM projects WHERE id = ?", (project_id,)).fetchone())


def insert_model(store: Store, *, project_id, blueprint, blueprint_text, resolved, job_id) -> Model:
    with store.transaction() as conn:
        cur = conn.execute(
            "INSERT INTO models (project_id, blueprint, blueprint_text, resolved, job_id, created_by, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (project_id, blueprint, blueprint_text, json.dumps(resolved), job_id, current_user(), now()),
        )
        return _model(store, conn.execute("SELECT * FROM models WHERE id = ?", (cur.lastrowid,)).fetchone())


def finish_model(store: Store, model_id: int, *, state, artifact_path=None, scores=None, train_seconds=None,
                 predict_speed=None, message=None) -> Model:
    """Record a training's outcome; the artifact folder must already be complete when this runs."""
    with store.transaction() as conn:
        conn.execute(
            "UPDATE models SET state = ?, artifact_path = ?, scores = ?, train_seconds = ?, predict_speed = ?, "
            "message = ? WHERE id = ?",
            (state, store.relative(artifact_path) if artifact_path else None, json.dumps(scores or {}),
             train_seconds, predict_speed, message, model_id),
        )
        return _model(store, conn.execute("SELECT * FROM models WHERE id = ?", (model_id,)).fetchone())


def update_scores(store: Store, model_id: int, scores: dict) -> Model:
    with store.transaction() as conn:
        conn.execute("UPDATE models SET scores = ? WHERE id = ?", (json.dumps(scores), model_id))
        return _model(store, conn.execute("SELECT * FROM models WHERE id = ?", (model_id,)).fetchone())


def model_by_id(store: Store, model_id: int) -> Model | None:
    row = store._row("SELECT * FROM models WHERE id = ?", (model_id,))
    return _model(store, row) if row else None


def project_models(store: Store, project_id: int) -> list[Model]:
    return [_model(store, r) for r in store._rows("SELECT * FROM models WHERE project_id = ? ORDER BY id", (project_id,))]
