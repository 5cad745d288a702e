"""Rows of projects and models (SPEC §5): the SQL for the training side of the workspace."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from ..workspace import current_user
from .database import Database, from_row, now
from .records import Model, Project, ProjectExists
from .versioned import files_from_json, files_json


class ProjectRows(Database):
    """The store's project and model operations (see `AbstractStore`)."""

    def add_project(self, *, name, data_path, partition_path, source, rows, target, target_type, settings,
                    before_insert=None) -> Project:
        try:
            with self.transaction() as conn:
                if conn.execute("SELECT 1 FROM projects WHERE name = ?", (name,)).fetchone():
                    raise ProjectExists(name)
                if before_insert is not None:
                    before_insert()
                cur = conn.execute(
                    "INSERT INTO projects (name, data_path, partition_path, source, rows, target, target_type, "
                    "settings, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (name, self.relative(data_path), self.relative(partition_path), source, rows, target,
                     target_type, json.dumps(settings), current_user(), now()),
                )
                return self.project_by_id(cur.lastrowid)
        except sqlite3.IntegrityError as exc:
            if "projects.name" in str(exc):
                raise ProjectExists(name) from None
            raise

    def remove_unreferenced_files(self, paths: list[Path]) -> None:
        with self.transaction() as conn:
            for path in paths:
                rel = self.relative(path)
                used = conn.execute(
                    "SELECT 1 FROM projects WHERE data_path = ? OR partition_path = ? LIMIT 1", (rel, rel)
                ).fetchone()
                if not used:
                    Path(path).unlink(missing_ok=True)

    def project(self, name: str) -> Project | None:
        row = self._row("SELECT * FROM projects WHERE name = ?", (name,))
        return self._project(row) if row else None

    def project_by_id(self, project_id: int) -> Project | None:
        row = self._row("SELECT * FROM projects WHERE id = ?", (project_id,))
        return self._project(row) if row else None

    def list_projects(self) -> list[Project]:
        return [self._project(r) for r in self._rows("SELECT * FROM projects ORDER BY id")]

    def unlock_holdout(self, project_id: int) -> Project:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE projects SET holdout_unlocked_at = ?, holdout_unlocked_by = ? "
                "WHERE id = ? AND holdout_unlocked_at IS NULL",
                (now(), current_user(), project_id),
            )
            return self.project_by_id(project_id)

    def add_model(self, *, project_id, blueprint, blueprint_text, resolved, job_id) -> Model:
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO models (project_id, blueprint, blueprint_text, resolved, job_id, created_by, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (project_id, blueprint, blueprint_text, json.dumps(resolved), job_id, current_user(), now()),
            )
            return self.model(cur.lastrowid)

    def finish_model(self, model_id: int, *, state, artifact_path=None, scores=None, train_seconds=None,
                     predict_speed=None, message=None, files=None) -> Model:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE models SET state = ?, artifact_path = ?, scores = ?, train_seconds = ?, predict_speed = ?, "
                "message = ?, files = ? WHERE id = ?",
                (state, self.relative(artifact_path) if artifact_path else None, json.dumps(scores or {}),
                 train_seconds, predict_speed, message, None if files is None else files_json(files), model_id),
            )
            return self.model(model_id)

    def update_model_scores(self, model_id: int, scores: dict) -> Model:
        with self.transaction() as conn:
            conn.execute("UPDATE models SET scores = ? WHERE id = ?", (json.dumps(scores), model_id))
            return self.model(model_id)

    def set_model_lineage(self, model_id: int, *, parent_id: int | None, tuning: dict | None) -> Model:
        with self.transaction() as conn:
            conn.execute("UPDATE models SET parent_id = ?, tuning = ? WHERE id = ?",
                         (parent_id, None if tuning is None else json.dumps(tuning), model_id))
            return self.model(model_id)

    def model(self, model_id: int) -> Model | None:
        row = self._row("SELECT * FROM models WHERE id = ?", (model_id,))
        return self._model(row) if row else None

    def project_models(self, project_id: int) -> list[Model]:
        return [self._model(r) for r in self._rows("SELECT * FROM models WHERE project_id = ? ORDER BY id", (project_id,))]

    def _project(self, row: sqlite3.Row) -> Project:
        return from_row(
            Project,
            row,
            data_path=self.path(row["data_path"]),
            partition_path=self.path(row["partition_path"]),
            settings=json.loads(row["settings"]),
        )

    def _model(self, row: sqlite3.Row) -> Model:
        return from_row(
            Model,
            row,
            resolved=json.loads(row["resolved"]),
            artifact_path=self.path(row["artifact_path"]) if row["artifact_path"] else None,
            scores=json.loads(row["scores"]),
            files=files_from_json(row["files"]) if row["files"] is not None else None,
            tuning=json.loads(row["tuning"]) if row["tuning"] is not None else None,
        )
