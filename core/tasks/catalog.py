"""The tasks a blueprint can name: built-in task folders shipped in `core/builtin_tasks`, and registered tasks.

A plain name means the built-in task when one exists, else the latest registered
version; `name@N` always means registered version N. Built-ins have no version
numbers: their identity is the sha256 of their folder, which a saved blueprint
records so a changed built-in can be noticed.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..runtime.taskcode import task_language
from ..errors import UsageError
from ..names import missing_version
from ..store import files as store_files
from ..store.integrity import verify
from .hookscan import R_HOOKS, r_custom_file, r_hooks
from .metadata import MetadataError, TaskMetadata, load_metadata

LANGUAGE_NAMES = {"python": "Python", "r": "R"}
BUILTIN_DIR = Path(__file__).resolve().parent.parent / "builtin_tasks"


class TaskNotFound(UsageError):
    """No built-in or registered task has this name."""


class VersionNotFound(UsageError):
    """The task exists but not in the version asked for (or it is a built-in, which has no versions)."""


@dataclass(frozen=True)
class TaskInfo:
    """A resolved task reference: where its folder is, what its metadata says, and which exact version it is."""

    name: str
    version: int | None  # None for a built-in task
    builtin: bool
    path: Path  # the task folder (a built-in's folder, or a registered version's snapshot)
    metadata: TaskMetadata
    sha256: str | None

    @property
    def ref(self) -> str:
        """'name' for a built-in, 'name@N' for a registered version."""
        return self.name if self.version is None else f"{self.name}@{self.version}"

    @property
    def kind(self) -> str | None:
        """'transform', 'estimator', or None when the metadata names no target type."""
        return self.metadata.kind

    @property
    def target_types(self) -> tuple[str, ...]:
        """Every target type the task serves (`('transform',)` for a transform, () when undeclared)."""
        meta = self.metadata
        return meta.target_types or ((meta.target_type,) if meta.target_type else ())

    def pin(self) -> dict:
        """The JSON a saved blueprint records for this task: exact version (or built-in) and content hash."""
        return {"task": self.name, "version": self.version, "builtin": self.builtin, "sha256": self.sha256}


def language_name(code_dir: str | Path) -> str:
    """'Python' or 'R': the language of a task folder's code, as listings show it."""
    return LANGUAGE_NAMES[task_language(code_dir) or "python"]


def language_line(code_dir: str | Path) -> str:
    """The language as `task show` and the workbench say it; for R, also the DRUM hooks custom.R defines."""
    name = language_name(code_dir)
    path = r_custom_file(code_dir)
    if name != "R" or path is None:
        return name
    hooks = r_hooks(code_dir)
    if hooks is None:
        return f"R ({path.name} sources or assigns code, so its hooks are known only when it runs)"
    defined = ", ".join(hook for hook in R_HOOKS if hook in hooks) or "none of DRUM's hooks"
    return f"R ({path.name} defines {defined})"


def builtin_names() -> list[str]:
    """The names of the built-in tasks (folders in core/builtin_tasks holding a custom.py), sorted."""
    if not BUILTIN_DIR.is_dir():
        return []
    return sorted(p.name for p in BUILTIN_DIR.iterdir() if p.is_dir() and (p / "custom.py").is_file())


def is_builtin(name: str) -> bool:
    return (BUILTIN_DIR / name / "custom.py").is_file() and "/" not in name and name not in (".", "..")


@lru_cache(maxsize=256)
def _builtin(name: str, stamp: tuple) -> TaskInfo:
    """A built-in's TaskInfo, cached per folder state (`stamp` is every file's size and mtime)."""
    folder = BUILTIN_DIR / name
    try:
        metadata = load_metadata(folder)
    except MetadataError as exc:
        raise UsageError(f"the built-in task '{name}' has invalid metadata: {exc}") from None
    sha, _files = store_files.tree_digest(folder)
    return TaskInfo(name, None, True, folder, metadata, sha)


def _stamp(folder: Path) -> tuple:
    found = []
    for rel, path in store_files.walk_files(folder):
        stat = path.stat()
        found.append((rel, stat.st_size, stat.st_mtime_ns))
    return tuple(found)


def resolve_task(store, name: str, version: int | None = None) -> TaskInfo:
    """The task a blueprint node names: a built-in (unpinned), or a registered version (latest when unpinned).

    Raises TaskNotFound (with a close match) or VersionNotFound (listing the versions that exist).
    """
    if version is None and is_builtin(name):
        folder = BUILTIN_DIR / name
        return _builtin(name, _stamp(folder))
    found = store.task_version(name, version) if store is not None else None
    if found is not None:
        verify(found)  # its code is about to be checked, trained or pinned
        try:
            metadata = load_metadata(found.path)
        except MetadataError as exc:
            raise UsageError(f"task {found.ref} has invalid metadata in the workspace: {exc}") from None
        return TaskInfo(found.task, found.version, False, found.path, metadata, found.sha256)
    versions = [v.version for v in store.task_versions(name)] if store is not None else []
    if versions:
        raise VersionNotFound(missing_version("task", name, version, versions).message)
    if is_builtin(name):
        raise VersionNotFound(f"'{name}' is a built-in task, which has no versions; remove '@{version}'.")
    raise TaskNotFound(unknown_task_message(store, name))


def known_task_names(store) -> list[str]:
    """Built-in and registered task names, sorted and without repeats."""
    registered = store.task_names() if store is not None else []
    return sorted(set(builtin_names()) | set(registered))


def unknown_task_message(store, name: str) -> str:
    """'there is no … task named 'x'; did you mean 'y'? …' with where to look."""
    close = difflib.get_close_matches(name, known_task_names(store), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"there is no built-in or registered task named '{name}'{hint} (`taskbench task list` shows registered tasks)"
