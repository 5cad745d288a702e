"""Where the workspace lives (SPEC §1) and the one list of the folders inside it, with the temporary names each
holds, so every module builds its paths from here and the sweep on open (store.files) knows every temp folder."""

from __future__ import annotations

import getpass
import os
import re
import tempfile
import time
from pathlib import Path

from . import settings

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
    """The acting user: `$TASKBENCH_USER`, else the operating-system user."""
    return settings.USER.get() or getpass.getuser()


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
    return Path(tempfile.mkdtemp(prefix=f"{kind}-{os.getpid()}-", dir=base))


def clean_stale_scratch(base: Path) -> None:
    """Remove scratch folders whose owning process is gone (a crash or SIGKILL left them), as the sweep on open does."""
    from .store import files

    files.sweep_folders([(Path(base), SCRATCH_TEMP)])
