"""`taskbench doctor`: what this machine can do for taskbench, one check per line with the fix when one fails.

Each check says whether the user's configuration needs it (the workspace's tasks and environments, the settings,
the options given): a failed check that is needed makes doctor exit 1, one that is not is only reported. Nothing
here writes to the workspace.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import stat
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path

from . import settings, workspace
from .units import human_size

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"
PACKAGES = ("pandas", "numpy", "scikit-learn", "pyarrow", "joblib", "pyyaml", "docker", "textual", "typer")
R_PACKAGES = ("recipes", "statmod", "glmnet", "caret", "e1071", "gbm", "Matrix", "jsonlite")
LOW_DISK_BYTES = 1 << 30
NETWORK_TIMEOUT = 5.0


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, its status, one sentence, the fix, and whether it is needed."""

    name: str
    status: str
    detail: str
    fix: str = ""
    needed: bool = True

    @property
    def blocking(self) -> bool:
        return self.status == FAIL and self.needed

    def to_json(self) -> dict:
        return asdict(self) | {"blocking": self.blocking}


@dataclass(frozen=True)
class Needs:
    """What the workspace and the settings ask of this machine."""

    docker: bool = False
    r: bool = False
    index: bool = False
    why_docker: str = ""


def run_checks(home: str | os.PathLike | None = None, *, cluster: str | None = None, port: int = 8080,
               docker: bool = False) -> list[Check]:
    """Every check in report order; `docker=True` counts Docker as needed whatever the workspace holds."""
    root = workspace.home(home)
    checks = [python_check()]
    checks += workspace_checks(root)
    needs = workspace_needs(root)
    if docker or settings.BASE_IMAGE.get():
        needs = Needs(docker=True, r=needs.r, index=True,
                      why_docker="--docker was given" if docker else f"{settings.BASE_IMAGE.name} is set")
    engine = docker_check(needs)
    checks.append(engine)
    checks.append(base_image_check(needs, engine.status == OK))
    checks.append(index_check(needs))
    checks.append(r_check(needs))
    if cluster:
        checks.append(cluster_check(cluster))
    checks.append(port_check(port))
    return checks


MARKS = {OK: "ok", WARN: "warn", FAIL: "FAIL", SKIP: "-"}


def report_lines(checks: list[Check]) -> list[str]:
    """The report as plain lines: a mark, the check's name and its sentence, the fix under a failure or warning, and
    a last line saying whether everything the configuration needs works."""
    width = max(len(c.name) for c in checks)
    lines = []
    for check in checks:
        unneeded = " (not needed by your configuration)" if check.status == FAIL and not check.needed else ""
        lines.append(f"{MARKS[check.status]:<5}{check.name:<{width}}  {check.detail}{unneeded}")
        if check.fix and check.status in (FAIL, WARN):
            lines.append(" " * (5 + width + 2) + f"fix: {check.fix}")
    blocking = [c.name for c in checks if c.blocking]
    lines.append(f"{len(blocking)} check(s) your configuration needs failed: {', '.join(blocking)}." if blocking
                 else "Everything your configuration needs works.")
    return lines


def python_check() -> Check:
    """The Python running taskbench and the versions of the packages it relies on."""
    found, missing = [], []
    for name in PACKAGES:
        try:
            found.append(f"{name} {importlib_metadata.version(name)}")
        except importlib_metadata.PackageNotFoundError:
            missing.append(name)
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info < (3, 11):
        return Check("python", FAIL, f"Python {version} at {sys.executable}; taskbench needs 3.11 or later.",
                     "install taskbench into a Python 3.11+ virtual environment")
    if missing:
        return Check("python", FAIL, f"Python {version}; missing package(s): {', '.join(missing)}.",
                     "reinstall taskbench: pip install taskbench (or pip install -e . in a checkout)")
    return Check("python", OK, f"Python {version} ({', '.join(found)}).")


def workspace_checks(root: Path) -> list[Check]:
    """The workspace folder: writable, free disk space, its database's schema, and a shared one's group and modes."""
    from .store.schema import DB_FILENAME, latest_version, stored_version

    checks: list[Check] = []
    existing = root if root.exists() else next((p for p in root.parents if p.exists()), Path("/"))
    if not root.exists():
        writable = os.access(existing, os.W_OK | os.X_OK)
        checks.append(Check("workspace", OK if writable else FAIL,
                            f"{root} does not exist yet; the first command creates it"
                            + ("." if writable else f", but {existing} is not writable by you."),
                            "" if writable else f"give a folder you can write with --home or {settings.HOME.name}"))
    elif not root.is_dir():
        checks.append(Check("workspace", FAIL, f"{root} is a file, not a workspace folder.",
                            f"give a folder with --home or {settings.HOME.name}"))
        return checks
    elif not os.access(root, os.W_OK | os.X_OK):
        checks.append(Check("workspace", FAIL, f"{root} is not writable by you ({workspace.system_user()}).",
                            "ask its owner for write access, or give another folder with --home"))
    else:
        checks.append(Check("workspace", OK, f"{root} is writable by you ({workspace.system_user()})."))
    free = shutil.disk_usage(existing).free
    checks.append(Check("disk", OK if free >= LOW_DISK_BYTES else WARN,
                        f"{human_size(free)} free on the workspace's file system.",
                        "" if free >= LOW_DISK_BYTES else "free some space: training and image builds need room"))
    db = root / DB_FILENAME
    known = latest_version()
    if db.is_file():
        try:
            found = stored_version(db)
        except sqlite3.Error as exc:
            checks.append(Check("schema", FAIL, f"{db} cannot be read as a database: {exc}.",
                                "restore it from a backup, or move it aside to start a new workspace"))
        else:
            if found > known:
                checks.append(Check("schema", FAIL, f"the database has schema {found}, newer than this taskbench "
                                    f"knows ({known}).", "upgrade taskbench to the version your team uses"))
            elif found < known:
                checks.append(Check("schema", OK, f"the database has schema {found}; the next command upgrades it "
                                    f"to {known}."))
            else:
                checks.append(Check("schema", OK, f"the database has schema {found}, this taskbench's own."))
    if root.is_dir():
        checks += shared_checks(root)
    return checks


def shared_checks(root: Path) -> list[Check]:
    """A shared workspace (SPEC §10): its group exists, you are in it, and the folders are setgid and group-writable."""
    try:
        shared = workspace.sharing(root)
    except Exception as exc:  # noqa: BLE001 - its sentence is the detail
        return [Check("sharing", FAIL, str(exc).rstrip("."), "")]
    if shared is None:
        return [Check("sharing", OK, "a private workspace: only you use it.")]
    if not workspace.is_member(shared.gid):
        user = workspace.system_user()
        return [Check("sharing", FAIL, f"the workspace is shared by the group {shared.group}, which you "
                      f"({user}) are not in.", f"usermod -aG {shared.group} {user}, then log in again")]
    wrong = []
    for path in [root, *sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))]:
        found = path.stat()
        if found.st_gid != shared.gid or found.st_mode & 0o2070 != 0o2070:
            wrong.append(f"{path} ({stat.filemode(found.st_mode)}, group {_group_name(found.st_gid)})")
    if wrong:
        shown = "; ".join(wrong[:3]) + (f"; and {len(wrong) - 3} more" if len(wrong) > 3 else "")
        return [Check("sharing", FAIL, f"shared by the group {shared.group}, but not every folder is a setgid, "
                      f"group-writable folder of that group: {shown}.",
                      f"its owner runs chgrp {shared.group} FOLDER && chmod 2770 FOLDER for each one named")]
    return [Check("sharing", OK, f"shared by the group {shared.group}; its folders are setgid and group-writable.")]


def workspace_needs(root: Path) -> Needs:
    """Docker when a registered task or environment uses a Docker environment; R when a registered task is in R; the
    package index when Docker is needed or a task has a requirements.txt."""
    from .store.schema import DB_FILENAME, latest_version, stored_version

    db = root / DB_FILENAME
    if not db.is_file():
        return Needs()
    try:
        if stored_version(db) != latest_version():
            return Needs()
        from .store import open_store
        from .tasks.catalog import language_name

        store = open_store(root)
        try:
            kinds = {e.name: e.kind for e in store.list_environments()}
            tasks = _tasks(store)
        finally:
            close = getattr(store, "close", None)
            if close:
                close()
    except Exception:  # noqa: BLE001 - an unreadable workspace is reported by the schema check
        return Needs()
    docker_tasks = [t.name for t in tasks if kinds.get(t.latest.env or "") == "docker"]
    r_tasks = [t.name for t in tasks if _safe_language(language_name, t.latest.path) == "R"]
    with_requirements = [t for t in tasks if any(f.path == "requirements.txt" for f in t.latest.files)]
    why = f"the task(s) {', '.join(docker_tasks[:3])} run in Docker environments" if docker_tasks else ""
    return Needs(docker=bool(docker_tasks), r=bool(r_tasks), index=bool(docker_tasks or with_requirements),
                 why_docker=why)


def _tasks(store):
    from .tasks.versions import list_tasks

    return list_tasks(store)


def _safe_language(language_name, path) -> str:
    try:
        return language_name(path)
    except Exception:  # noqa: BLE001 - a task folder that cannot be read is not an R task here
        return ""


def docker_check(needs: Needs) -> Check:
    """Whether a Docker engine answers, its version and whether it runs rootless."""
    from .environments.docker_build import docker_status

    reachable, sentence = docker_status()
    if not reachable:
        fix = "start dockerd (or set DOCKER_HOST to the engine's address); the subprocess runner needs no engine"
        why = f" ({needs.why_docker})" if needs.docker and needs.why_docker else ""
        return Check("docker", FAIL, sentence[0].upper() + sentence[1:] + why + ".", fix, needed=needs.docker)
    rootless = ""
    try:
        import docker

        client = docker.from_env(timeout=NETWORK_TIMEOUT)
        try:
            options = client.info().get("SecurityOptions") or []
        finally:
            client.close()
        rootless = ", rootless" if any("rootless" in str(o) for o in options) else ", not rootless"
    except Exception:  # noqa: BLE001 - the version sentence is enough
        pass
    return Check("docker", OK, f"{sentence}{rootless}.", needed=needs.docker)


def base_image_check(needs: Needs, engine_ok: bool) -> Check:
    """The image environment builds start from: here already, or pullable from its registry."""
    from .environments import DEFAULT_BASE_IMAGE

    base = settings.BASE_IMAGE.get() or DEFAULT_BASE_IMAGE
    if not engine_ok:
        return Check("base image", SKIP, f"{base}: not checked without a Docker engine.", needed=needs.docker)
    import docker

    client = docker.from_env(timeout=NETWORK_TIMEOUT * 4)
    try:
        client.images.get(base)
        return Check("base image", OK, f"{base} is here.", needed=needs.docker)
    except docker.errors.ImageNotFound:
        pass
    except docker.errors.APIError as exc:
        return Check("base image", FAIL, f"{base} could not be looked up: {_first_line(exc)}.",
                     "check the Docker engine's log", needed=needs.docker)
    try:
        client.api.inspect_distribution(base)
        return Check("base image", OK, f"{base} is not here but its registry has it; the first build pulls it.",
                     needed=needs.docker)
    except docker.errors.APIError as exc:
        return Check("base image", FAIL, f"{base} is not here and its registry cannot be reached "
                     f"({_first_line(exc)}).", f"set {settings.BASE_IMAGE.name} to an image this engine has "
                     "(docker images lists them), or docker load one", needed=needs.docker)
    finally:
        client.close()


def index_check(needs: Needs) -> Check:
    """Whether the package index pip would use answers from this machine (builds reach it through the engine's
    network, so a proxy or firewall between the two can still differ)."""
    from .environments.pipconfig import extra_indexes, no_index, pip_index, pip_sources

    if no_index() is not None:  # pip reads no index at all: nothing to reach
        return Check("package index", OK, f"pip is told to use {pip_sources()}; requirements come from there.",
                     needed=needs.index)
    url, source = pip_index()
    links = os.environ.get("PIP_FIND_LINKS")
    extra = f"; PIP_FIND_LINKS={links}" if links else ""
    if settings.WHEELHOUSE.get():
        extra += f"; wheelhouse {settings.WHEELHOUSE.get()} ({settings.WHEELHOUSE.name})"
    extras, extras_source = extra_indexes()
    also = (f"; pip also looks in the extra {'index' if len(extras) == 1 else 'indexes'} "
            f"{', '.join(_without_password(e) for e in extras)} (from {extras_source})") if extras else ""
    probe = url.rstrip("/") + "/pip/"
    shown = _without_password(url)
    try:
        with urllib.request.urlopen(probe, timeout=NETWORK_TIMEOUT) as response:
            response.read(1)
        return Check("package index", OK, f"{shown} answers (from {source}{extra}){also}.", needed=needs.index)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Check("package index", FAIL, f"{shown} (from {source}) does not answer: {reason}{also}.",
                     "set PIP_INDEX_URL to an index you can reach (a local mirror), or PIP_FIND_LINKS to a folder "
                     "of wheels", needed=needs.index)


def _without_password(url: str) -> str:
    """An index URL as the report shows it: a password in it (user:TOKEN@host) masked, as pip masks it."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=f"{parts.username}:****@{parts.netloc.rpartition('@')[2]}").geturl()


def r_check(needs: Needs) -> Check:
    """Rscript on PATH, its version, and the R packages DataRobot's R templates use."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        return Check("R", FAIL if needs.r else SKIP, "Rscript is not on PATH, so R tasks cannot run here.",
                     "install R (apt-get install r-base-core r-cran-recipes …)", needed=needs.r)
    script = ("v <- paste(R.version$major, R.version$minor, sep='.'); "
              f"p <- c({', '.join(repr(p) for p in R_PACKAGES)}); "
              "m <- p[!vapply(p, requireNamespace, logical(1), quietly=TRUE)]; "
              "cat(v, paste(m, collapse=' '), sep='\\n')")
    try:
        done = subprocess.run([rscript, "--vanilla", "-e", script], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("R", FAIL, f"{rscript} did not run: {exc}.", "reinstall R", needed=needs.r)
    lines = (done.stdout.splitlines() + ["", ""])[:2]
    if done.returncode != 0 or not lines[0]:
        return Check("R", FAIL, f"{rscript} failed: {_first_line(done.stderr or 'no output')}.", "reinstall R",
                     needed=needs.r)
    missing = lines[1].split()
    if missing:
        debs = " ".join(f"r-cran-{m.lower()}" for m in missing)
        return Check("R", WARN, f"R {lines[0]} at {rscript}; package(s) DRUM's R templates use are missing: "
                     f"{', '.join(missing)}.", f"apt-get install {debs}", needed=needs.r)
    return Check("R", OK, f"R {lines[0]} at {rscript}, with {', '.join(R_PACKAGES)}.", needed=needs.r)


def cluster_check(address: str) -> Check:
    """Whether the Dask scheduler at `address` answers, and how many workers it has."""
    try:
        from distributed import Client
    except ImportError:
        return Check("cluster", FAIL, "dask.distributed is not installed.", "pip install 'taskbench[cluster]'")
    try:
        with Client(address, timeout=NETWORK_TIMEOUT) as client:
            workers = len(client.scheduler_info().get("workers", {}))
    except Exception as exc:  # noqa: BLE001 - any failure means it cannot be used
        return Check("cluster", FAIL, f"the Dask scheduler at {address} does not answer: {_first_line(exc)}.",
                     "start it (dask scheduler) or give its address with --cluster tcp://HOST:PORT")
    if not workers:
        return Check("cluster", WARN, f"the Dask scheduler at {address} answers but has no workers.",
                     f"start one: dask worker {address}")
    return Check("cluster", OK, f"the Dask scheduler at {address} answers with {workers} worker(s).")


def port_check(port: int) -> Check:
    """Whether `taskbench serve` could listen on `port` here."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            return Check("serve port", WARN, f"port {port} is in use here ({exc.strerror}).",
                         "give serve another: --port N", needed=False)
    return Check("serve port", OK, f"port {port} is free for taskbench serve.", needed=False)


def _group_name(gid: int) -> str:
    import grp

    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _first_line(value) -> str:
    text = str(getattr(value, "explanation", None) or value).strip()
    return (text.splitlines() or [""])[0][:300].rstrip(".")
