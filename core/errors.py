"""Errors a user can cause, each carrying one plain sentence and the exit code of SPEC §4."""

import os

from .units import human_size

EXIT_OK = 0
EXIT_TASK_FAILED = 1
EXIT_USAGE = 2
EXIT_SCHEMA = 3


class TaskbenchError(Exception):
    """A failure to show as one sentence (never a traceback); `details` may add a task's own traceback."""

    exit_code = EXIT_TASK_FAILED

    def __init__(self, message: str, *, details: str | None = None, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.details = details
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(TaskbenchError):
    """Bad command-line usage or unreadable input (exit 2)."""

    exit_code = EXIT_USAGE


class DiskFull(TaskbenchError):
    """The disk (or the user's quota) ran out while writing: one sentence naming the disk, its free space and
    what was kept, instead of an OSError or SQLite traceback."""

    def __init__(self, message: str, *, path=None, free: int | None = None):
        super().__init__(message)
        self.path = path
        self.free = free


_ENOSPC_TEXT = ("No space left on device", "Disk quota exceeded", "[Errno 28]", "[Errno 122]")
LOW_SPACE_BYTES = 8 << 20  # below this, SQLite's "disk I/O error" is taken for a full disk (SQLite reports ENOSPC so)
KEPT_DEFAULT = "nothing was half-written and what was saved before is kept"


def not_a_folder(path, what: str) -> str:
    """The sentence for a path given as a folder that is not one: it does not exist, or it is a file; then what to
    give instead (`what`: 'the task folder that holds custom.py')."""
    from pathlib import Path

    wrong = "is a file, not a folder" if Path(path).exists() else "does not exist"
    return f"{path} {wrong}; give {what}."


def disk_full(exc: BaseException, path, *, kept: str = KEPT_DEFAULT) -> DiskFull | None:
    """A DiskFull for `exc` when it (or an exception it chains) means a disk is full, else None; `path` is the
    workspace, named when the full disk is its own (or when the error names no file and it has no room left).

    Recognised: OSError ENOSPC/EDQUOT, SQLite's "database or disk is full" (SQLITE_FULL), SQLite's "disk I/O
    error" while the disk has almost no free space left, and a task's relayed "[Errno 28] No space left on device".
    """
    import errno
    import re

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DiskFull):
            return current
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            names = [n for n in (current.filename2, current.filename) if isinstance(n, (str, os.PathLike)) and n]
            return _full(names, path, kept=kept, quota=current.errno == errno.EDQUOT)
        code = getattr(current, "sqlite_errorcode", None)
        text = str(current)
        if code == 13 or "database or disk is full" in text:  # SQLITE_FULL
            return disk_full_error(path, kept=kept)
        if (code is not None and code & 0xFF == 10) or "disk I/O error" in text:  # SQLITE_IOERR_*
            free = free_space(path)
            if free is not None and free[0] < LOW_SPACE_BYTES:
                return disk_full_error(path, kept=kept)
        if isinstance(current, TaskbenchError) and any(t in text for t in _ENOSPC_TEXT):
            named = re.findall(r"(?:No space left on device|Disk quota exceeded): '([^']+)'", text)
            return _full(named, path, kept=kept, quota="Errno 122" in text or "quota" in text)
        current = current.__cause__ or current.__context__
    return None


def _full(names: list, workspace, *, kept: str, quota: bool) -> DiskFull:
    """The DiskFull for a write to one of `names` (a copy's error names the source first, the destination second):
    the workspace's disk when a name is in it, or when none is given and the workspace has no room left."""
    paths = [os.path.abspath(os.fspath(n)) for n in names]
    if workspace is not None:
        root = os.path.abspath(os.fspath(workspace))
        free = free_space(workspace)
        if any(p == root or p.startswith(root + os.sep) for p in paths):
            return disk_full_error(workspace, kept=kept, quota=quota)
        if not paths and (free is None or free[0] < LOW_SPACE_BYTES or quota):
            return disk_full_error(workspace, kept=kept, quota=quota)
    if not paths:
        room = f" (not the workspace's, which has {human_size(free[0])} free)" if workspace is not None else ""
        return DiskFull(f"a disk this command wrote to is full{room}: {kept}; free some space and run the command again.")
    return disk_full_error(paths[0], kept=kept, quota=quota, workspace=False)


def disk_full_error(path, *, kept: str = KEPT_DEFAULT, quota: bool = False, workspace: bool = True) -> DiskFull:
    """The sentence for a full disk at `path` (the workspace unless `workspace` is false): which disk, how much is
    free now, what was kept, what to do."""
    free = free_space(path)
    room = f"{human_size(free[0])} free of {human_size(free[1])}" if free else "no free space"
    where = f"the workspace {path}" if workspace else str(path)
    what = f"your disk quota on the disk holding {where} is used up" if quota else f"the disk holding {where} is full"
    return DiskFull(
        f"{what} ({room}): {kept}; free some space and run the command again.",
        path=path,
        free=free[0] if free else None,
    )


def free_space(path) -> tuple[int, int] | None:
    """(bytes free for this user, total bytes) of the file system holding `path` (its nearest existing folder)."""
    import shutil

    if path is None:
        return None
    current = os.path.abspath(os.fspath(path))
    while not os.path.exists(current):
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent
    try:
        usage = shutil.disk_usage(current)
    except OSError:
        return None
    return usage.free, usage.total


