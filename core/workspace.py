"""Where the workspace lives (SPEC §1) and the one list of the folders inside it, with the temporary names each
holds, so every module builds its paths from here and the sweep on open (store.files) knows every temp folder."""

from __future__ import annotations

import getpass
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import settings
from .errors import UsageError

DEFAULT_HOME = "~/.taskbench"

# The folders of a workspace, relative to its root (the database itself is store.schema.DB_FILENAME).
LOGS = "logs"  # job logs (job-N.log), the CLI's and the workbench's engine tracebacks
TMP = "tmp"  # scratch folders of running commands (scratch_dir)
OBJECTS = "objects"
TASK_OBJECTS = f"{OBJECTS}/tasks"  # task version snapshots, by content address
ENVIRONMENT_OBJECTS = f"{OBJECTS}/environments"  # environment version snapshots
PROJECT_OBJECTS = f"{OBJECTS}/projects"  # a project's data and partition files
MODELS = "models"  # a trained model's folder, models/<id>
CACHE = "cache"  # fitted transforms reused across blueprints, cache/<key[:2]>/<key>
PACKAGES = "packages"  # unpacked model packages, and packages/.seen
VENVS = "venvs"  # a task's requirements installed once per environment
CONFIG = "workspace.json"  # a shared workspace's settings (SPEC §10): {"shared": true, "group": NAME}; absent: private

# A shared workspace: whatever a member's umask, what the engine (and its workers) creates is group-readable and
# -writable, and folders are group-owned with the setgid bit, so no member's command can lock another out.
SHARED_UMASK = 0o007
SHARED_FOLDER_MODE = 0o2770
SHARED_FILE_MODE = 0o660

# Temporary names, each with the writer's pid (and host, where it has one) for the sweep to judge.
ATOMIC_TEMP = re.compile(r"^\.tmp-(?P<pid>\d+)-(?P<host>[0-9a-f]{8})-")  # store.files.temp_path
SCRATCH_TEMP = re.compile(r"^[a-z]+(?:-[a-z]+)*-(?P<pid>\d+)-")  # scratch_dir: KIND-PID-XXXX

# Every place in the workspace where a process writes under a temporary name, with the pattern that finds the
# writer's pid in the name. The sweep on open walks this list, so a new temporary name belongs here. A `*` stands
# for every subfolder: those (the cache's hundreds of folders) are walked when an open finds a dead engine's job,
# and when a training starts, not on every open.
TEMP_LOCATIONS: tuple[tuple[str, re.Pattern], ...] = (
    (TASK_OBJECTS, ATOMIC_TEMP),
    (ENVIRONMENT_OBJECTS, ATOMIC_TEMP),
    (PROJECT_OBJECTS, ATOMIC_TEMP),
    (LOGS, ATOMIC_TEMP),
    (MODELS, ATOMIC_TEMP),  # a model's folder while it trains (the engine's pid)
    (MODELS, re.compile(r"^\.tmp-\d+-(?P<pid>\d+)$")),  # the same, as older versions named it
    (TMP, SCRATCH_TEMP),
    (VENVS, re.compile(r"^tmp-[0-9a-f]+-(?P<pid>\d+)$")),  # a requirements venv being built
    (PACKAGES, re.compile(r"^\..+\.tmp-(?P<pid>\d+)$")),  # a package being unpacked
    (f"{CACHE}/*", re.compile(r"^[0-9a-f]+\.tmp-(?P<pid>\d+)$")),  # a fitted transform being cached (a worker's pid)
)


# Image builds copy their context to the system's temp folder when no job gives them a scratch folder (`fit --docker
# DIR`, requirements images): named with the builder's pid, so the sweep on open removes a killed builder's copy.
SYSTEM_TEMP = re.compile(r"^taskbench-(?:build|req)-(?P<pid>\d+)-")


def system_temp_prefix(kind: str) -> str:
    """The name prefix of a temporary folder in the system's temp folder that the sweep can judge (SYSTEM_TEMP)."""
    return f"taskbench-{kind}-{os.getpid()}-"


def home(explicit: str | os.PathLike | None = None) -> Path:
    """The workspace folder: `--home`, else `$TASKBENCH_HOME`, else ~/.taskbench."""
    raw = explicit or settings.HOME.get() or DEFAULT_HOME
    return Path(raw).expanduser().resolve()


def current_user() -> str:
    """The acting user: in a shared workspace the operating-system user (uid → name, never `$USER` or
    `$LOGNAME`); in a private one `$TASKBENCH_USER`, else the login name."""
    if _ENTERED:
        return system_user()
    return settings.USER.get() or getpass.getuser()


def system_user() -> str:
    """The operating-system user of this process (uid → name), the identity in a shared workspace."""
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


@dataclass(frozen=True)
class Sharing:
    """A shared workspace's settings: the Unix group whose members use it (SPEC §10)."""

    group: str
    gid: int

    def members(self) -> list[str]:
        """The group's members by the group database: its listed members and the users whose primary group it is."""
        import grp
        import pwd

        try:
            listed = set(grp.getgrgid(self.gid).gr_mem)
        except KeyError:
            listed = set()
        return sorted(listed | {user.pw_name for user in pwd.getpwall() if user.pw_gid == self.gid})

    def to_json(self) -> dict:
        return {"shared": True, "group": self.group}


def sharing(root: Path) -> Sharing | None:
    """The workspace's sharing settings, or None for a private workspace; someone who may not enter a shared
    workspace's folder is told which group it needs."""
    try:
        text = (Path(root) / CONFIG).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except PermissionError:
        raise _not_member(Path(root), _folder_group(Path(root))) from None
    try:
        config = json.loads(text)
        group = str(config["group"]) if config.get("shared") else None
    except (ValueError, KeyError, TypeError, AttributeError):
        raise UsageError(f"{Path(root) / CONFIG} is not a workspace configuration; it should read like "
                         '{"shared": true, "group": "team"}.') from None
    if group is None:
        return None
    return Sharing(group, _group_id(group, Path(root)))


def _group_id(group: str, root: Path) -> int:
    import grp

    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise UsageError(f"the shared workspace {root} belongs to the group {group}, which this machine does not "
                         f"know; create it (groupadd {group}) or correct {root / CONFIG}.") from None


def _folder_group(root: Path) -> str:
    import grp

    try:
        gid = root.stat().st_gid
        return grp.getgrgid(gid).gr_name
    except (OSError, KeyError):
        return "that owns it"


def _not_member(root: Path, group: str) -> UsageError:
    user = system_user()
    return UsageError(f"{user} is not a member of the group {group}, which shares the workspace {root}; ask an "
                      f"administrator to add you (usermod -aG {group} {user}) and log in again.")


def is_member(gid: int) -> bool:
    """True when this process acts with the group `gid` (root acts with every group)."""
    return os.getuid() == 0 or os.getegid() == gid or gid in os.getgroups()


# While this process works in a shared workspace: its sharing, the umask it had before (restored on leaving), and
# the workspace's folder.
_ENTERED: list[tuple[Sharing, int, Path]] = []


def entered() -> Sharing | None:
    """The sharing of the shared workspace this process works in (its umask in force), or None."""
    return _ENTERED[0][0] if _ENTERED else None


def enter(root: Path) -> Sharing | None:
    """Get ready to work in the workspace at `root` before anything is written there: in a shared one, refuse a
    non-member and a `$TASKBENCH_USER` naming somebody else, and set this process's umask (inherited by its
    workers) to SHARED_UMASK; a private workspace restores the umask a shared one replaced."""
    shared = sharing(root)
    if shared is None:
        _check_private_owner(Path(root))
        if _ENTERED:
            os.umask(_ENTERED.pop()[1])
        return None
    if not is_member(shared.gid):
        raise _not_member(Path(root), shared.group)
    named, user = settings.USER.get(), system_user()
    if named is not None and named != user:
        raise UsageError(f"{settings.USER.name}={named!r} names someone else, but in the shared workspace {root} "
                         f"you act as yourself ({user}); unset {settings.USER.name}.")
    before = os.umask(SHARED_UMASK)
    _ENTERED[:] = [(shared, _ENTERED[0][1] if _ENTERED else before, Path(root).resolve())]
    return shared


def _check_private_owner(root: Path) -> None:
    """A private workspace is its user's own: refuse one whose database belongs to someone else, as a link (symbolic
    or hard) to a shared workspace's database would, where it would let `$TASKBENCH_USER` name anybody."""
    from .store.schema import DB_FILENAME

    try:
        owner = (root / DB_FILENAME).stat().st_uid
    except OSError:
        return  # none yet (it will be this user's), or unreadable (opening it says so)
    uid = os.getuid()
    if owner == uid or uid == 0:
        return
    import pwd

    try:
        name = pwd.getpwuid(owner).pw_name
    except KeyError:
        name = str(owner)
    raise UsageError(f"the database of the private workspace {root} belongs to {name}, not you ({system_user()}); "
                     "a private workspace is its user's own: use your own (--home), or the shared workspace it "
                     "comes from as yourself.")


def share_files(paths, shared: Sharing) -> None:
    """Make the files among `paths` that this user owns group-owned and group-readable/-writable, as another
    member's run without taskbench's umask (an older version, a copy by hand) may have left them."""
    uid = os.getuid()
    for path in paths:
        try:
            found = os.stat(path)
        except FileNotFoundError:
            continue
        if found.st_uid != uid:
            continue
        if found.st_gid != shared.gid:
            os.chown(path, -1, shared.gid)
        wanted = (found.st_mode & 0o7770) | SHARED_FILE_MODE  # others have no business in a 2770 folder
        if found.st_mode & 0o7777 != wanted:
            os.chmod(path, wanted)


def hand_over(path: str | os.PathLike) -> None:
    """Give what a command wrote outside its shared workspace (predictions, downloads, exports) the modes the user's
    own umask would have: the workspace's umask (007) is for files the group shares, not for the user's own."""
    if not _ENTERED:
        return
    path = Path(path)
    _, mask, root = _ENTERED[0]
    if path.resolve().is_relative_to(root):
        return
    for found in [path, *path.rglob("*")] if path.is_dir() else [path]:
        try:
            info = found.lstat()
        except FileNotFoundError:
            continue
        if found.is_symlink() or info.st_uid != os.getuid():
            continue
        owner = (info.st_mode >> 6) & 0o7
        os.chmod(found, (owner << 6 | owner << 3 | owner) & ~mask & 0o777)


def create_shared(root: Path, group: str) -> Sharing:
    """Make `root` (new or empty, or this user's private workspace) a shared workspace of `group`: the folder
    group-owned and setgid (2770), and its configuration written; the database and folders follow on the first open."""
    import grp

    root = Path(root).expanduser().absolute()
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        raise UsageError(f"there is no group named {group}; create it (groupadd {group}) or name one of yours "
                         "(id -Gn lists them).") from None
    if not is_member(gid):
        raise UsageError(f"you ({system_user()}) are not a member of the group {group}; name one of your groups "
                         f"(id -Gn lists them) or ask an administrator to add you (usermod -aG {group} "
                         f"{system_user()}).")
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root} is a file; give a new or empty folder for the shared workspace.")
    if root.is_dir() and any(root.iterdir()):
        if not _is_private_workspace(root):
            raise UsageError(f"{root} is not empty; give a new or empty folder for the shared workspace.")
        return _convert_private(root, group, gid)
    before = os.umask(SHARED_UMASK)
    try:
        try:
            root.mkdir(parents=True, exist_ok=True)
        except PermissionError:
            raise UsageError(f"you ({system_user()}) may not create {root}; give a folder in a place you can "
                             "write, such as one your team's administrator made for the group.") from None
        found = root.stat()
        if found.st_uid == os.getuid() or os.getuid() == 0:
            os.chown(root, -1, gid)
            os.chmod(root, SHARED_FOLDER_MODE)
        elif found.st_gid != gid or found.st_mode & 0o2070 != 0o2070:
            raise UsageError(f"{root} belongs to someone else and is not a setgid folder of the group {group}; ask "
                             f"its owner to run chgrp {group} {root} && chmod 2770 {root}, or give a new folder.")
        from .store import files

        shared = Sharing(group, gid)
        files.write_text_atomic(root / CONFIG, json.dumps(shared.to_json(), indent=2) + "\n")
    finally:
        os.umask(before)
    return shared


def _is_private_workspace(root: Path) -> bool:
    from .store.schema import DB_FILENAME

    return (root / DB_FILENAME).is_file() and not (root / CONFIG).exists()


def _convert_private(root: Path, group: str, gid: int) -> Sharing:
    """Make this user's private workspace at `root` a shared one of `group`: every folder group-owned and setgid,
    every file given the group the rights its owner has (a stored version stays read-only), others' bits dropped."""
    uid = os.getuid()
    paths = [root, *root.rglob("*")]
    foreign = [path for path in paths if not path.is_symlink() and path.stat().st_uid != uid]
    if foreign and uid != 0:
        raise UsageError(f"{foreign[0]} in the private workspace {root} belongs to someone else; only a workspace "
                         "whose files are all yours can be shared (or give a new or empty folder).")
    for path in paths:
        if path.is_symlink():
            continue
        mode = path.stat().st_mode & 0o700
        wanted = mode | (mode >> 3)  # the group gets what the owner has; others nothing
        if path.is_dir():
            wanted |= 0o2070
        os.chown(path, -1, gid)
        os.chmod(path, wanted)
    from .store import files

    shared = Sharing(group, gid)
    files.write_text_atomic(root / CONFIG, json.dumps(shared.to_json(), indent=2) + "\n")
    os.chmod(root / CONFIG, SHARED_FILE_MODE)
    return shared


def describe(root: Path, shared: Sharing | None) -> dict:
    """What `workspace show` prints: the folder, whether it is shared, its group and members, its mode and owner,
    and who acts in it."""
    import grp
    import pwd
    import stat

    root = Path(root)
    found = root.stat()
    try:
        owner = pwd.getpwuid(found.st_uid).pw_name
    except KeyError:
        owner = str(found.st_uid)
    try:
        group = shared.group if shared else grp.getgrgid(found.st_gid).gr_name
    except KeyError:
        group = str(found.st_gid)
    return {"path": str(root), "shared": shared is not None, "group": group,
            "members": shared.members() if shared else [], "mode": f"{found.st_mode & 0o7777:04o}",
            "permissions": stat.filemode(found.st_mode), "owner": owner, "user": current_user()}


def logs_dir(root: Path) -> Path:
    """The workspace's log folder, created when missing."""
    path = Path(root) / LOGS
    path.mkdir(parents=True, exist_ok=True)
    return path


def new_log_path(root: Path, kind: str) -> Path:
    """A fresh log file name such as logs/fit-20261127-013015-4242.log."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return logs_dir(root) / f"{kind}-{stamp}-{os.getpid()}.log"


def scratch_dir(root: Path, kind: str) -> Path:
    """A private temporary folder under the workspace, removed by the caller (or later, if it crashed)."""
    base = Path(root) / TMP
    base.mkdir(parents=True, exist_ok=True)
    clean_stale_scratch(base)
    folder = Path(tempfile.mkdtemp(prefix=f"{kind}-{os.getpid()}-", dir=base))
    if _ENTERED and sharing(root) is not None:  # mkdtemp makes 0700: other members sweep it if this dies
        os.chmod(folder, SHARED_FOLDER_MODE)
    return folder


def clean_stale_scratch(base: Path) -> None:
    """Remove scratch folders whose owning process is gone (a crash or SIGKILL left them), as the sweep on open does."""
    from .store import files

    files.sweep_folders([(Path(base), SCRATCH_TEMP)])
