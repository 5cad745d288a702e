"""Files the database points to, written so a crash never leaves a half file behind a row.

Everything is first written under a temporary name in the folder it ends up in
(`.tmp-<pid>-<host>-<token>-…`) and then renamed into place, which is atomic on
one file system. Temporary names carry the writer's pid and host, so the next
open can remove those whose writer is gone.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import socket
import stat
import sys
import tempfile
from pathlib import Path
from typing import Iterator

from .. import workspace
from ..errors import UsageError
from .processes import pid_alive
from .records import FileEntry

TEMP_PREFIX = ".tmp-"
SKIPPED_DIRS = frozenset({"__pycache__", ".git"})
SKIPPED_SUFFIXES = (".pyc",)
_CHUNK = 1 << 20

_TEMP_NAME = workspace.ATOMIC_TEMP  # the name temp_path writes


def host_tag() -> str:
    """Eight hex digits naming this host, so a cleaner never judges another host's pids."""
    return hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]


def temp_path(folder: Path, name: str = "") -> Path:
    """A fresh temporary name inside `folder` (not created)."""
    return Path(folder) / f"{TEMP_PREFIX}{os.getpid()}-{host_tag()}-{secrets.token_hex(6)}-{name}"


def write_bytes_atomic(path: Path, data: bytes, *, fsync: bool = True) -> None:
    """Write `data` to `path` through a temporary file and a rename: readers see all or nothing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path.parent, path.name)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.rename(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if fsync:
        fsync_dir(path.parent)


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def create_empty(path: Path, *, truncate: bool = False) -> None:
    """Create `path` as an empty file (a log about to grow); `truncate` empties one left by a crash."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if truncate else 0), 0o666)
    os.close(fd)


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def skipped(name: str, is_dir: bool) -> bool:
    """Caches and version-control folders are not part of a snapshot."""
    if is_dir:
        return name in SKIPPED_DIRS
    return name.endswith(SKIPPED_SUFFIXES)


def walk_files(folder: Path) -> Iterator[tuple[str, Path]]:
    """(relative path with '/', absolute path) of every regular file under `folder`, sorted, caches skipped."""
    folder = Path(folder)
    found: list[tuple[str, Path]] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not skipped(d, True))
        for name in files:
            if skipped(name, False):
                continue
            path = Path(root) / name
            try:
                if not stat.S_ISREG(path.stat().st_mode):
                    continue
            except OSError:
                continue  # a dangling symlink
            found.append((path.relative_to(folder).as_posix(), path))
    found.sort(key=lambda item: item[0])
    return iter(found)


def file_sha256(path: Path) -> tuple[str, int]:
    """(sha256, size) of one file's bytes, read in chunks."""
    one = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            one.update(chunk)
            size += len(chunk)
    return one.hexdigest(), size


def entries_digest(entries) -> str:
    """The content address of a snapshot from its files: sha256 over sorted relative paths and their sha256."""
    total = hashlib.sha256()
    for entry in sorted(entries, key=lambda e: e.path):
        total.update(entry.path.encode("utf-8") + b"\0" + entry.sha256.encode() + b"\n")
    return total.hexdigest()


def tree_digest(folder: Path) -> tuple[str, tuple[FileEntry, ...]]:
    """The content address of a folder (entries_digest of its files) and its files."""
    entries = []
    for rel, path in walk_files(folder):
        digest, size = file_sha256(path)
        entries.append(FileEntry(rel, size, digest))
    return entries_digest(entries), tuple(entries)


def _copy_file(src: Path, dst: Path) -> None:
    shutil.copyfile(src, dst)
    if os.stat(src).st_mode & stat.S_IXUSR:
        os.chmod(dst, os.stat(dst).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _copy_into(source: Path, target: Path, *, fsync: bool) -> None:
    """Copy every snapshot file of `source` into the existing empty folder `target`."""
    for rel, path in walk_files(source):
        dst = target / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        _copy_file(path, dst)
        if fsync:
            with open(dst, "rb") as fh:
                os.fsync(fh.fileno())


def _make_temp_dir(parent: Path, name: str = "") -> Path:
    parent.mkdir(parents=True, exist_ok=True)
    while True:
        path = temp_path(parent, name)
        try:
            os.mkdir(path)  # mode 0o777 minus umask, so other users of the workspace can read it
            return path
        except FileExistsError:
            continue


def snapshot_folder(source: Path, parent: Path, *, fsync: bool = True) -> tuple[str, tuple[FileEntry, ...], Path]:
    """Copy `source` into `parent/<sha256>` (content-addressed) and return (sha256, files, folder).

    The copy is hashed (not the source, which may change meanwhile) and renamed
    into place; when that folder already exists the copy is dropped.
    """
    tmp = _make_temp_dir(Path(parent), "snapshot")
    try:
        _copy_into(Path(source), tmp, fsync=fsync)
        sha, files = tree_digest(tmp)
        final = Path(parent) / sha
        if final.is_dir():
            from .integrity import differences  # a stored copy changed behind our back is replaced by this one

            if differences(final, files):
                _replace_folder(final, tmp)
            else:
                remove_tree(tmp)
            return sha, files, final
        make_read_only(tmp)
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.is_dir():
                raise
            remove_tree(tmp)  # another process stored the same content first
        else:
            if fsync:
                fsync_dir(Path(parent))
        return sha, files, final
    except BaseException:
        remove_tree(tmp)
        raise


def _replace_folder(final: Path, fresh: Path) -> None:
    """Put the read-only folder `fresh` where `final` is, and remove the old one."""
    make_read_only(fresh)
    stale = temp_path(final.parent, "stale")
    os.rename(final, stale)
    try:
        os.rename(fresh, final)
    except BaseException:
        os.rename(stale, final)
        raise
    remove_tree(stale)


WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


def make_read_only(folder: Path) -> None:
    """Drop the write bits of every file and folder under `folder` (and of `folder`): a stored version is immutable,
    so task code run from its snapshot cannot change it (for users other than root; Docker mounts it read-only)."""
    for base, dirs, names in os.walk(folder):
        for name in names:
            _drop_write(os.path.join(base, name))
    for base, dirs, _ in os.walk(folder, topdown=False):
        for name in dirs:
            _drop_write(os.path.join(base, name))
    _drop_write(str(folder))


def _drop_write(path: str) -> None:
    """Clear `path`'s write bits (the setgid bit stays); a link is left alone, and so is a file another user owns
    that is already read-only (a cached step hard-linked into a model: its owner froze it when caching it)."""
    info = os.stat(path, follow_symlinks=False)
    if stat.S_ISLNK(info.st_mode) or not info.st_mode & WRITE_BITS:
        return
    os.chmod(path, info.st_mode & ~WRITE_BITS)


def remove_tree(path: Path) -> None:
    """Remove a folder, read-only ones included (write bits are restored where a removal needs them)."""

    def writable_retry(function, failed, _exc):
        try:
            parent = os.path.dirname(failed)
            os.chmod(parent, os.stat(parent).st_mode | stat.S_IWUSR)
            if os.path.isdir(failed) and not os.path.islink(failed):
                os.chmod(failed, os.stat(failed).st_mode | stat.S_IWUSR | stat.S_IXUSR)
            function(failed)
        except OSError:
            pass

    try:
        os.chmod(path, os.stat(path).st_mode | stat.S_IWUSR)
    except OSError:
        return
    handler = {"onexc": writable_retry} if sys.version_info >= (3, 12) else {"onerror": writable_retry}
    shutil.rmtree(path, **handler)


def copy_tree_to(source: Path, target: Path) -> int:
    """Copy a snapshot to `target` (absent or empty), all at once via a rename; returns the file count."""
    target = Path(target).expanduser().absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _make_temp_dir(target.parent, target.name)
    try:
        _copy_into(Path(source), tmp, fsync=False)
        count = sum(1 for _ in walk_files(tmp))
        if target.is_dir():
            target.rmdir()  # empty, as the caller checked; rename cannot replace a folder on every system
        os.rename(tmp, target)
        return count
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# Every temporary name of the workspace, from its one layout (workspace.TEMP_LOCATIONS).
TEMP_LOCATIONS = workspace.TEMP_LOCATIONS


def sweep_temps(root: Path, *, deep: bool = True) -> list[Path]:
    """Remove every temporary file or folder of the workspace whose writing process is gone; returns them.

    Names without a host tag are judged by pid alone, as scratch folders always were. `deep=False` leaves out
    the locations with many subfolders (`*`).
    """
    root = Path(root)
    places: list[tuple[Path, re.Pattern]] = []
    for rel, pattern in TEMP_LOCATIONS:
        if rel.endswith("/*"):
            if not deep:
                continue
            try:
                subfolders = [Path(e.path) for e in os.scandir(root / rel[:-2]) if e.is_dir(follow_symlinks=False)]
            except (FileNotFoundError, NotADirectoryError):
                continue
            places += [(folder, pattern) for folder in subfolders]
        else:
            places.append((root / rel, pattern))
    places.append((Path(tempfile.gettempdir()), workspace.SYSTEM_TEMP))  # image builds outside a job's scratch
    return sweep_folders(places)


def sweep_folders(places: list[tuple[Path, re.Pattern]]) -> list[Path]:
    """Remove the entries of each folder whose name matches its pattern and names a writer that is gone."""
    here = host_tag()
    removed = []
    for folder, pattern in places:
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            match = pattern.match(entry.name)
            if not match or ("host" in pattern.groupindex and match["host"] != here) or pid_alive(int(match["pid"])):
                continue
            path = Path(entry.path)
            try:
                if entry.is_dir(follow_symlinks=False):
                    remove_tree(path)
                else:
                    path.unlink(missing_ok=True)
            except OSError:
                continue  # another user's, or already gone: the next open tries again
            removed.append(path)
    return removed


def ensure_reserve(path: Path, size: int) -> bool:
    """Keep `size` bytes of the disk set aside in `path`, so a job that meets a full disk can free them and still
    record how it ended (CockroachDB's emergency ballast does the same). False when there is no room for it now."""
    path = Path(path)
    try:
        if path.stat().st_size >= size:
            return True
    except FileNotFoundError:
        pass
    try:
        write_bytes_atomic(path, b"\0" * size, fsync=False)
    except OSError:
        return False
    return True


def release_reserve(path: Path) -> int:
    """Give the reserved bytes back to the disk; returns how many."""
    try:
        size = Path(path).stat().st_size
        Path(path).unlink()
    except OSError:
        return 0
    return size


def copy_snapshot(source: Path, to_dir: str | Path) -> None:
    """Copy a snapshot into a new or empty folder; refuse one that already holds something."""
    target = Path(to_dir).expanduser()
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} is a file; give a new or empty folder to download into.")
    if target.is_dir() and any(target.iterdir()):
        raise UsageError(f"{target} is not empty; give a new or empty folder to download into.")
    if not source.is_dir():
        raise UsageError(f"the snapshot folder {source} is missing from the workspace; it cannot be downloaded.")
    copy_tree_to(source, target)
