"""Where the workspace lives (SPEC §1) and the folders inside it: logs and private scratch space."""

from __future__ import annotations

import getpass
import os
import tempfile
import time
from pathlib import Path

DEFAULT_HOME = "~/.taskbench"


def home(explicit: str | os.PathLike | None = None) -> Path:
    """The workspace folder: `--home`, else `$TASKBENCH_HOME`, else ~/.taskbench."""
    raw = explicit or os.environ.get("TASKBENCH_HOME") or DEFAULT_HOME
    return Path(raw).expanduser().resolve()


def current_user() -> str:
    """The acting user: `$TASKBENCH_USER`, else the operating-system user."""
    return os.environ.get("TASKBENCH_USER") or getpass.getuser()


def logs_dir(root: Path) -> Path:
    path = root / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def new_log_path(root: Path, kind: str) -> Path:
    """A fresh log file name such as logs/fit-20261127-013015-4242.log."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return logs_dir(root) / f"{kind}-{stamp}-{os.getpid()}.log"


def scratch_dir(root: Path, kind: str) -> Path:
    """A private temporary folder under the workspace, removed by the caller (or later, if it crashed)."""
    base = root / "tmp"
    base.mkdir(parents=True, exist_ok=True)
    clean_stale_scratch(base)
    return Path(tempfile.mkdtemp(prefix=f"{kind}-{os.getpid()}-", dir=base))


def clean_stale_scratch(base: Path) -> None:
    """Remove scratch folders whose owning process is gone (a crash or SIGKILL left them); the pattern is the
    one the store's sweep on open uses (store.files.TEMP_LOCATIONS)."""
    from .store import files

    pattern = dict(files.TEMP_LOCATIONS)["tmp"]
    files.sweep_folders([(Path(base), pattern)])
