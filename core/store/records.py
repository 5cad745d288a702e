"""The objects the store hands back: plain frozen dataclasses, so callers never see SQL rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

JOB_STATES = ("queued", "running", "succeeded", "failed", "cancelled", "interrupted")
ACTIVE_JOB_STATES = ("queued", "running")
FINAL_JOB_STATES = ("succeeded", "failed", "cancelled", "interrupted")
BUILD_STATES = ("unbuilt", "building", "built", "failed")


@dataclass(frozen=True)
class FileEntry:
    """One file of a snapshot: its path relative to the snapshot folder (with /), size and sha256."""

    path: str
    size: int
    sha256: str

    def to_json(self) -> dict:
        return {"path": self.path, "size": self.size, "sha256": self.sha256}


@dataclass(frozen=True)
class TaskVersion:
    """An immutable, content-addressed snapshot of a task folder (SPEC §1)."""

    id: int
    task: str
    version: int
    sha256: str
    path: Path
    files: tuple[FileEntry, ...]
    target_type: str | None
    kind: str | None
    env: str | None
    metadata: dict
    created_by: str
    created_at: str

    @property
    def ref(self) -> str:
        """'name@N', the way users write a pinned version."""
        return f"{self.task}@{self.version}"

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(self.metadata.get("warnings", ()))

    def to_json(self) -> dict:
        return {
            "task": self.task,
            "version": self.version,
            "ref": self.ref,
            "sha256": self.sha256,
            "kind": self.kind,
            "target_type": self.target_type,
            "env": self.env,
            "files": [f.to_json() for f in self.files],
            "metadata": self.metadata,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "path": str(self.path),
        }


@dataclass(frozen=True)
class Named:
    """A name with versions (a task, a saved blueprint): its owner, how many versions it has, and its latest."""

    name: str
    created_by: str
    created_at: str
    version_count: int
    latest: Any

    def _summary(self, **latest: Any) -> dict:
        """The name as listings show it, with `latest` facts of its latest version before its update time."""
        return {
            "name": self.name,
            "owner": self.created_by,
            "created_at": self.created_at,
            "versions": self.version_count,
            "latest_version": self.latest.version,
            **latest,
            "updated_at": self.latest.created_at,
        }


@dataclass(frozen=True)
class Task(Named):
    """A named task with its owner and its latest version."""

    latest: TaskVersion

    def to_json(self) -> dict:
        return self._summary(kind=self.latest.kind, target_type=self.latest.target_type, env=self.latest.env)


@dataclass(frozen=True)
class EnvironmentVersion:
    """An immutable snapshot of an environment folder (its Dockerfile and files) and its image build state."""

    id: int
    environment: str
    version: int
    kind: str
    sha256: str
    path: Path
    files: tuple[FileEntry, ...]
    status: str
    image_id: str | None
    built_at: str | None
    build_job_id: int | None
    created_by: str
    created_at: str

    @property
    def ref(self) -> str:
        return f"{self.environment}@{self.version}"

    @property
    def dockerfile(self) -> Path:
        return self.path / "Dockerfile"

    def to_json(self) -> dict:
        return {
            "environment": self.environment,
            "version": self.version,
            "ref": self.ref,
            "kind": self.kind,
            "sha256": self.sha256,
            "files": [f.to_json() for f in self.files],
            "status": self.status,
            "image_id": self.image_id,
            "built_at": self.built_at,
            "build_job_id": self.build_job_id,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "path": str(self.path),
        }


@dataclass(frozen=True)
class Environment:
    """A named environment: built-in or custom, local or Docker, with its latest version if it has any."""

    name: str
    kind: str
    builtin: bool
    description: str
    created_by: str
    created_at: str
    version_count: int
    latest: EnvironmentVersion | None

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "builtin": self.builtin,
            "description": self.description,
            "owner": self.created_by,
            "created_at": self.created_at,
            "versions": self.version_count,
            "latest_version": self.latest.version if self.latest else None,
            "status": self.latest.status if self.latest else ("built" if self.kind == "local" else "unbuilt"),
            "image_id": self.latest.image_id if self.latest else None,
        }


@dataclass(frozen=True)
class Job:
    """One unit of execution with its state, timestamps, owning process and log file (SPEC §1, §6)."""

    id: int
    kind: str
    title: str
    state: str
    created_by: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    pid: int | None
    host: str | None
    exit_code: int | None
    message: str | None
    subject: dict = field(default_factory=dict)
    log_path: Path | None = None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_JOB_STATES

    @property
    def seconds(self) -> float | None:
        """How long the job ran (so far, when still running)."""
        if not self.started_at:
            return None
        start = datetime.fromisoformat(self.started_at)
        end = datetime.fromisoformat(self.finished_at) if self.finished_at else datetime.now(start.tzinfo)
        return max((end - start).total_seconds(), 0.0)

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "state": self.state,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "seconds": self.seconds,
            "pid": self.pid,
            "host": self.host,
            "exit_code": self.exit_code,
            "message": self.message,
            "subject": self.subject,
            "log_path": str(self.log_path) if self.log_path else None,
        }


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
    files: tuple[FileEntry, ...] | None = None  # every file of its folder with its sha256; None if trained before schema 7
    parent_id: int | None = None  # the model this one was tuned from (schema 8); None for others
    tuning: dict | None = None  # a tuned model's record: {"changed": {node.param: value}, "inner": scores, "best": bool}


@dataclass(frozen=True)
class BlueprintVersion:
    """One saved version of a blueprint: its text and the pinned task of every node."""

    id: int
    blueprint: str
    version: int
    text: str
    resolved: dict  # {"nodes": {node name: {"task", "version", "builtin", "sha256", "parameters"}}}
    sha256: str
    target_type: str | None
    created_by: str
    created_at: str
    origin: str | None = None  # the blueprint's, not the version's: 'name@N' it was cloned from

    @property
    def ref(self) -> str:
        """'name@N', the way users write a pinned version."""
        return f"{self.blueprint}@{self.version}"

    @property
    def pins(self) -> dict[str, dict]:
        """Node name -> the task it runs: {"task", "version" (None for a built-in), "builtin", "sha256"}."""
        return dict(self.resolved.get("nodes", {}))

    def to_json(self) -> dict:
        return {
            "blueprint": self.blueprint,
            "version": self.version,
            "ref": self.ref,
            "text": self.text,
            "resolved": self.resolved,
            "sha256": self.sha256,
            "target_type": self.target_type,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "origin": self.origin,
        }


@dataclass(frozen=True)
class SavedBlueprint(Named):
    """A named blueprint with its owner, how many versions it has, and its latest version."""

    latest: BlueprintVersion

    def to_json(self) -> dict:
        return self._summary(target_type=self.latest.target_type, origin=self.latest.origin)


@dataclass(frozen=True)
class Deployment:
    """A trained model published under a name, optionally guarded by a bearer token (only its digest is kept)."""

    id: int
    name: str
    model_id: int
    token_hash: str | None
    created_by: str
    created_at: str

    def to_json(self) -> dict:
        return {"name": self.name, "model": self.model_id, "token": self.token_hash is not None,
                "created_by": self.created_by, "created_at": self.created_at}


@dataclass(frozen=True)
class Share:
    """A role on a named object given by its owner: to one member (`grantee`) or to every member ('*')."""

    kind: str
    name: str
    grantee: str
    role: str
    granted_by: str
    granted_at: str

    def to_json(self) -> dict:
        return {"kind": self.kind, "name": self.name, "grantee": self.grantee, "role": self.role,
                "granted_by": self.granted_by, "granted_at": self.granted_at}


class BlueprintExists(Exception):
    """Another blueprint took the name a clone was to get (a race past the name check)."""


class ProjectExists(Exception):
    """Another project took the name first (two creators raced past the name check)."""
