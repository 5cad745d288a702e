"""Integrity of stored versions (SPEC §10): a snapshot is checked against its recorded sha256 before it is used.

A task or environment version is immutable, but its folder is only files on a
disk that members of a shared workspace (or root) can change. Before a
version's code runs, is packaged or is shown, `verify` compares every file with
the version's recorded file list and sha256 and refuses a mismatch, naming the
files. A version verified once in a process is not hashed again while every
entry of its folder keeps its inode, size, mtime and ctime (git's index does the
same), so training twenty blueprints hashes each task once.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import EXIT_USAGE, TaskbenchError
from . import files as store_files
from .records import EnvironmentVersion, FileEntry, Model, TaskVersion

SHOWN_NAMES = 3  # files named in a refusal before "and N more"

# (folder, sha256, recorded files) -> the folder's stamp when it last verified
_verified: dict[tuple, tuple] = {}


class IntegrityError(TaskbenchError):
    """A stored version's files no longer match its recorded sha256: nothing of it may run, be packaged or shown."""

    exit_code = EXIT_USAGE


def verify(version: TaskVersion | EnvironmentVersion) -> None:
    """Raise IntegrityError unless `version`'s snapshot holds exactly its recorded files with their sha256."""
    folder = Path(version.path)
    key = (str(folder), version.sha256, version.files)
    try:
        listing, stamp = _listing(folder)
    except FileNotFoundError:
        raise _refusal(version, [f"its folder {folder} is missing"]) from None
    if _verified.get(key) == stamp:
        return
    problems = differences(folder, version.files, listing)
    if not problems and store_files.entries_digest(version.files) != version.sha256:
        problems = ["its recorded file list disagrees with its sha256"]
    if problems:
        _verified.pop(key, None)
        raise _refusal(version, problems)
    _verified[key] = stamp


def folder_entries(folder: Path) -> tuple[FileEntry, ...]:
    """Every file under `folder` (nothing skipped, unlike a task snapshot) with its size and sha256, sorted: what a
    trained model records so later uses can verify it."""
    folder = Path(folder)
    entries = []
    for rel, regular in sorted(_listing(folder)[0].items()):
        if regular:
            digest, size = store_files.file_sha256(folder / rel)
            entries.append(FileEntry(rel, size, digest))
    return tuple(entries)


def verify_model(model: Model, project: str = "PROJECT") -> None:
    """Raise IntegrityError unless a trained model's folder holds exactly the files recorded when it was trained,
    before anything of it is unpickled; models trained before files were recorded (schema 7) pass unchecked.
    `project` (its project's name) goes into the refusal's remedy."""
    if model.files is None or model.artifact_path is None:
        return
    folder = Path(model.artifact_path)
    key = (str(folder), model.id, model.files)
    try:
        listing, stamp = _listing(folder)
    except FileNotFoundError:
        raise _model_refusal(model, project, [f"its folder {folder} is missing"]) from None
    if _verified.get(key) == stamp:
        return
    problems = differences(folder, model.files, listing)
    if problems:
        _verified.pop(key, None)
        raise _model_refusal(model, project, problems)
    _verified[key] = stamp


def _model_refusal(model: Model, project: str, problems: list[str]) -> IntegrityError:
    return IntegrityError(
        f"model {model.id} was changed after training ({_named(problems)}) and no longer matches the sha256 recorded "
        f"when it was trained, so it is refused and none of it is loaded; retrain it with "
        f"`taskbench train {project} --retrain {model.id}` to get a model you can use."
    )


def _named(problems: list[str]) -> str:
    named = ", ".join(problems[:SHOWN_NAMES])
    if len(problems) > SHOWN_NAMES:
        named += f" and {len(problems) - SHOWN_NAMES} more"
    return named


def _listing(folder: Path) -> tuple[dict[str, bool], tuple]:
    """Every entry under `folder` not followed through links: {relative path: is a regular file}, and a stamp of
    (path, inode, size, mtime, ctime, mode) per entry that changes whenever any of them is changed or replaced."""
    top = os.stat(folder, follow_symlinks=False)
    if not stat.S_ISDIR(top.st_mode):
        raise FileNotFoundError(folder)
    kinds: dict[str, bool] = {}
    stamp = [("", top.st_ino, top.st_size, top.st_mtime_ns, top.st_ctime_ns, top.st_mode)]
    pending = [(str(folder), "")]
    while pending:
        path, prefix = pending.pop()
        with os.scandir(path) as entries:
            for entry in entries:
                rel = prefix + entry.name
                info = entry.stat(follow_symlinks=False)
                stamp.append((rel, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_mode))
                if stat.S_ISDIR(info.st_mode):
                    pending.append((entry.path, rel + "/"))
                else:
                    kinds[rel] = stat.S_ISREG(info.st_mode)
    return kinds, tuple(sorted(stamp))


def differences(folder: Path, recorded, listing: dict[str, bool] | None = None) -> list[str]:
    """'PATH changed|added|missing' for every file of `folder` that differs from the recorded list, in that order.

    Anything not recorded counts, caches included: Python would load a planted `__pycache__/*.pyc` instead of
    the recorded source, and a link could point anywhere.
    """
    if listing is None:
        listing = _listing(Path(folder))[0]
    expected = {entry.path: entry for entry in recorded}
    changed, added = [], []
    for rel in sorted(listing):
        entry = expected.get(rel)
        if entry is None:
            added.append(rel)
        elif not listing[rel] or _digest(folder / rel) != (entry.sha256, entry.size):
            changed.append(rel)
    missing = sorted(set(expected) - set(listing))
    return [f"{p} changed" for p in changed] + [f"{p} added" for p in added] + [f"{p} missing" for p in missing]


def _digest(path: Path) -> tuple[str, int] | None:
    try:
        return store_files.file_sha256(path)
    except OSError:
        return None  # unreadable counts as changed


def _refusal(version: TaskVersion | EnvironmentVersion, problems: list[str]) -> IntegrityError:
    if isinstance(version, TaskVersion):
        kind, command, name = "task", "task", version.task
    else:
        kind, command, name = "environment", "env", version.environment
    from ..workspace import current_user

    who = "" if version.created_by == current_user() else f"ask {version.created_by}, who stored it, to "
    return IntegrityError(
        f"{kind} {version.ref} was changed after it was stored ({_named(problems)}) and no longer matches its recorded sha256, "
        f"so it is refused and none of it is used; {who}add the {kind}'s folder again with "
        f"`taskbench {command} add DIR --name {name}` to restore it."
    )
