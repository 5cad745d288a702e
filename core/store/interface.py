"""The one interface to the workspace store (SPEC §1): every operation the domains perform, documented once.

Modelled on mlflow's `AbstractStore`: domains (tasks, environments, jobs,
training, blueprints, deployment) call these methods and never see SQL;
`core.store.store.Store` implements them on SQLite. A second backend (a
server-side store for team workspaces) would implement the same class.
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Callable, ContextManager

from .records import (
    BlueprintVersion,
    Deployment,
    Environment,
    EnvironmentVersion,
    FileEntry,
    Job,
    Model,
    Project,
    SavedBlueprint,
    Share,
    Task,
    TaskVersion,
)


class AbstractStore(ABC):
    """The workspace: named, versioned things and the jobs that work on them, with the files rows point to."""

    root: Path

    # ------------------------------------------------------------ the workspace

    @abstractmethod
    def transaction(self) -> ContextManager[sqlite3.Connection]:
        """A write transaction: store calls made inside it commit together or not at all (nested uses join the
        outer); the connection it yields is for code inside core/store."""

    @abstractmethod
    def close(self) -> None:
        """Close the connections this process opened (in every thread)."""

    @abstractmethod
    def schema_version(self) -> int:
        """The schema version the workspace database is at."""

    @abstractmethod
    def integrity_check(self) -> str:
        """The database's own check: 'ok', or the first problem it found."""

    @abstractmethod
    def release_reserve(self) -> int:
        """Free the disk space kept aside so a job that met a full disk can record its ending; returns the bytes."""

    # ------------------------------------------------------------------ files

    @abstractmethod
    def path(self, rel: str) -> Path:
        """The absolute path of a workspace-relative path stored in a row."""

    @abstractmethod
    def relative(self, path: Path) -> str:
        """The workspace-relative form of a path inside the workspace, as rows store it."""

    @abstractmethod
    def objects_dir(self, kind: str) -> Path:
        """Where snapshots of `kind` ('tasks' or 'environments') live."""

    @abstractmethod
    def file_references(self) -> list[tuple[str, str, int, Path]]:
        """(table, column, row id, absolute path) of every row that points to a file or folder."""

    # ------------------------------------------------------------------ tasks

    @abstractmethod
    def add_task_version(
        self, name: str, *, sha256: str, snapshot: Path, files: tuple[FileEntry, ...], target_type: str | None,
        kind: str | None, env: str | None, metadata: dict,
    ) -> tuple[TaskVersion, bool]:
        """Record a snapshot (already in place) as version N+1 of task `name`, or return the version that has it;
        True when the version is new."""

    @abstractmethod
    def task_names(self) -> list[str]:
        """The names of all tasks, sorted."""

    @abstractmethod
    def list_tasks(self) -> list[Task]:
        """Every task with at least one version, by name, with its latest version."""

    @abstractmethod
    def task_versions(self, name: str) -> list[TaskVersion]:
        """All versions of task `name`, oldest first (empty when there is no such task)."""

    @abstractmethod
    def task_version(self, name: str, version: int | None = None) -> TaskVersion | None:
        """Version `version` of task `name` (the latest when None), or None."""

    # ----------------------------------------------------------- environments

    @abstractmethod
    def ensure_environment(self, name: str, kind: str, *, builtin: bool, description: str, created_by: str) -> None:
        """Create the environment row if it is missing (built-ins are created this way, quietly)."""

    @abstractmethod
    def add_environment_version(
        self, name: str, *, sha256: str, snapshot: Path, files: tuple[FileEntry, ...], builtin: bool = False,
        created_by: str | None = None,
    ) -> tuple[EnvironmentVersion, bool]:
        """Record a snapshot as version N+1 of environment `name` (a new name is a custom Docker environment; a
        built-in takes versions only with `builtin`), or return the version that has it."""

    @abstractmethod
    def list_environments(self) -> list[Environment]:
        """Every environment, built-ins first, then by name."""

    @abstractmethod
    def environment(self, name: str) -> Environment | None:
        """The environment called `name`, or None."""

    @abstractmethod
    def environment_versions(self, name: str) -> list[EnvironmentVersion]:
        """All versions of environment `name`, oldest first."""

    @abstractmethod
    def environment_version(self, name: str, version: int | None = None) -> EnvironmentVersion | None:
        """Version `version` of environment `name` (the latest when None), or None."""

    @abstractmethod
    def environment_version_by_id(self, version_id: int) -> EnvironmentVersion | None:
        """The environment version with this row id, or None."""

    @abstractmethod
    def set_environment_build(
        self, version_id: int, status: str, image_id: str | None = None, job_id: int | None = None
    ) -> EnvironmentVersion:
        """Record an image build's progress: unbuilt, building, built (with its image id) or failed."""

    # ------------------------------------------------------------------- jobs

    @abstractmethod
    def create_job(self, kind: str, title: str, subject: dict | None = None, *, pid: int | None = None) -> Job:
        """A new queued job owned by process `pid` (default: this one), with its empty log file in place."""

    @abstractmethod
    def start_job(self, job_id: int, pid: int | None = None) -> Job:
        """Move a queued job to running, owned from now on by process `pid` (default: this one)."""

    @abstractmethod
    def finish_job(self, job_id: int, state: str, exit_code: int | None = None, message: str | None = None) -> Job:
        """End an active job in a final state, and the rows it left active; a job that already ended keeps its
        first ending, and a full disk gets one more try after the reserve is freed."""

    @abstractmethod
    def job(self, job_id: int) -> Job | None:
        """The job with this id, or None."""

    @abstractmethod
    def job_state(self, job_id: int) -> str | None:
        """Just the state of job `job_id` (cheap enough to poll), or None."""

    @abstractmethod
    def list_jobs(self, limit: int | None = 50, state: str | None = None) -> list[Job]:
        """Jobs, newest first, optionally only those in `state`."""

    @abstractmethod
    def count_jobs(self, state: str | None = None) -> int:
        """How many jobs there are (in `state`, when given)."""

    @abstractmethod
    def mark_interrupted(self, job_ids: list[int] | None = None) -> list[int]:
        """Mark active jobs of this host whose owning process is gone as interrupted, with the rows they left
        active; returns their ids and notes the reason in each one's log."""

    @abstractmethod
    def settle_job_rows(self) -> int:
        """End every row left active by a job that has already ended; returns how many rows changed."""

    # ------------------------------------------------------- projects, models

    @abstractmethod
    def add_project(
        self, *, name: str, data_path: Path, partition_path: Path, source: str, rows: int, target: str | None,
        target_type: str, settings: dict, before_insert: Callable[[], None] | None = None,
    ) -> Project:
        """Add a project whose data and partition files are in place (`before_insert` runs inside the write
        transaction); raises ProjectExists when the name is taken."""

    @abstractmethod
    def remove_unreferenced_files(self, paths: list[Path]) -> None:
        """Delete those of `paths` no project points to, under the write lock so no new project races the check."""

    @abstractmethod
    def project(self, name: str) -> Project | None:
        """The project called `name`, or None."""

    @abstractmethod
    def project_by_id(self, project_id: int) -> Project | None:
        """The project with this id, or None."""

    @abstractmethod
    def list_projects(self) -> list[Project]:
        """Every project, oldest first."""

    @abstractmethod
    def unlock_holdout(self, project_id: int) -> Project:
        """Record the one-time holdout unlock (who and when); unlocking twice keeps the first record."""

    @abstractmethod
    def add_model(self, *, project_id: int, blueprint: str, blueprint_text: str, resolved: dict,
                  job_id: int | None) -> Model:
        """A new model of a project, in training by job `job_id`."""

    @abstractmethod
    def finish_model(self, model_id: int, *, state: str, artifact_path: Path | None = None,
                     scores: dict | None = None, train_seconds: float | None = None,
                     predict_speed: float | None = None, message: str | None = None,
                     files: tuple[FileEntry, ...] | None = None) -> Model:
        """Record a training's outcome; the artifact folder must already be complete and `files` its recorded sha256."""

    @abstractmethod
    def update_model_scores(self, model_id: int, scores: dict) -> Model:
        """Replace a model's scores (holdout scores join them once the holdout is unlocked)."""

    @abstractmethod
    def set_model_lineage(self, model_id: int, *, parent_id: int | None, tuning: dict | None) -> Model:
        """Record that a model was tuned from `parent_id`, with its tuning record (changed parameters, inner scores)."""

    @abstractmethod
    def model(self, model_id: int) -> Model | None:
        """The model with this id, or None."""

    @abstractmethod
    def project_models(self, project_id: int) -> list[Model]:
        """Every model of a project, oldest first."""

    # ------------------------------------------------------------- blueprints

    @abstractmethod
    def add_blueprint_version(
        self, name: str, *, text: str, resolved: dict, sha256: str, target_type: str | None,
        origin: str | None = None,
    ) -> tuple[BlueprintVersion, bool]:
        """Record `text` as version N+1 of blueprint `name`, or return the version with this content already.
        With `origin` ('name@N' of the version cloned) it is version 1 of a new blueprint recording where it came
        from; raises BlueprintExists when the name is taken."""

    @abstractmethod
    def blueprint_version(self, name: str, version: int | None = None) -> BlueprintVersion | None:
        """Version `version` of blueprint `name` (the latest when None), or None."""

    @abstractmethod
    def blueprint_versions(self, name: str) -> list[BlueprintVersion]:
        """Every version of blueprint `name`, oldest first (empty when there is no such blueprint)."""

    @abstractmethod
    def blueprint_names(self) -> list[str]:
        """The names of all saved blueprints, sorted."""

    @abstractmethod
    def list_blueprints(self) -> list[SavedBlueprint]:
        """Every saved blueprint with its latest version, by name."""

    # ------------------------------------------------------------ deployments

    @abstractmethod
    def add_deployment(self, *, name: str, model_id: int, token: str | None = None) -> Deployment:
        """Publish a model under `name`, keeping only a digest of `token`; a taken name is a UsageError."""

    @abstractmethod
    def deployment(self, name: str) -> Deployment | None:
        """The deployment called `name`, or None."""

    @abstractmethod
    def list_deployments(self) -> list[Deployment]:
        """Every deployment, oldest first."""

    @abstractmethod
    def delete_deployment(self, deployment_id: int) -> None:
        """Remove a deployment and every monitoring snapshot of its server runs, together."""

    @abstractmethod
    def save_monitor(self, deployment_id: int, run: str, worker: int, started_at: str, stats: dict) -> None:
        """Replace one server worker process's monitoring snapshot for this server run."""

    @abstractmethod
    def latest_monitor(self, deployment_id: int) -> list[dict]:
        """The monitoring snapshots of the deployment's latest server run, one per worker process."""

    # ----------------------------------------------------------------- shares

    @abstractmethod
    def owner(self, kind: str, name: str) -> str | None:
        """Who created the `kind` ('task', 'env', 'project', 'blueprint', 'deployment') called `name`, or None."""

    @abstractmethod
    def owners(self, kind: str) -> dict[str, str]:
        """Every object of `kind`: its name → its owner."""

    @abstractmethod
    def grant_share(self, kind: str, name: str, grantee: str, role: str, granted_by: str) -> Share:
        """Give `grantee` (a user, or '*' for every member) `role` ('read' or 'write') on the object, replacing
        the role it had."""

    @abstractmethod
    def revoke_share(self, kind: str, name: str, grantee: str) -> bool:
        """Take back `grantee`'s share of the object; False when there was none."""

    @abstractmethod
    def list_shares(self, kind: str | None = None, name: str | None = None) -> list[Share]:
        """The shares, of one kind or one object when given, by kind, name and grantee."""
