"""The user's pip configuration, carried into every environment build and cached venv, for servers without the
public package index: an index (PIP_INDEX_URL or a pip.conf), extra indexes, trusted hosts, and a local folder of
wheels (`TASKBENCH_WHEELHOUSE`) copied into each build.
"""

from __future__ import annotations

import configparser
import ipaddress
import os
import shutil
import sys
from pathlib import Path
from urllib.parse import urlsplit

from .. import settings

DEFAULT_INDEX = "https://pypi.org/simple"
PASSED = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST", "PIP_FIND_LINKS")
WHEELHOUSE_NAME = "taskbench-wheels"  # the wheelhouse's copy in a build context, and its folder in the image
WHEELHOUSE_IN_IMAGE = f"/opt/{WHEELHOUSE_NAME}"
WHEEL_SUFFIXES = (".whl", ".tar.gz", ".zip")


def pip_index() -> tuple[str, str]:
    """The package index pip would use here and where that comes from (PIP_INDEX_URL, a pip.conf, or pip's default)."""
    found = _pip_setting("PIP_INDEX_URL", "index-url")
    return found if found else (DEFAULT_INDEX, "pip's default")


def extra_indexes() -> tuple[list[str], str | None]:
    """The extra indexes pip also looks in here (PIP_EXTRA_INDEX_URL or a pip.conf's extra-index-url) and where
    they come from; ([], None) without any."""
    found = _pip_setting("PIP_EXTRA_INDEX_URL", "extra-index-url")
    return (found[0].split(), found[1]) if found and found[0].split() else ([], None)


def no_index() -> str | None:
    """Where pip is told to use no index at all (PIP_NO_INDEX or a pip.conf's no-index), or None: then it installs
    only from its find-links folders."""
    found = _pip_setting("PIP_NO_INDEX", "no-index")
    return found[1] if found and found[0].strip().lower() in ("1", "true", "yes", "on") else None


def pip_sources() -> str:
    """Where pip looks for packages here, as one phrase: the index and the extra indexes, each with its source (or,
    with no index, only the find-links)."""
    told = no_index()
    if told is not None:
        links = _pip_setting("PIP_FIND_LINKS", "find-links")
        where = (f"only the find-links {', '.join(links[0].split())} ({links[1]})" if links and links[0].split()
                 else "nowhere but the wheelhouse, if any (no find-links is set)")
        return f"no index ({told}): {where}"
    index, source = pip_index()
    extras, extra_source = extra_indexes()
    said = f"the index {index} ({source})"
    if extras:
        said += f" and the extra {'index' if len(extras) == 1 else 'indexes'} {', '.join(extras)} ({extra_source})"
    return said


def looked_in(line: str) -> list[str] | None:
    """The indexes of pip's own "Looking in indexes: A, B" line (credentials masked by pip), or None for other lines."""
    head, sep, rest = line.strip().partition("Looking in indexes:")
    if not sep or head:
        return None
    return [url.strip() for url in rest.split(",") if url.strip()]


def _pip_setting(variable: str, option: str) -> tuple[str, str] | None:
    """A pip setting for `pip install` and where it comes from: the environment variable, else the most specific
    pip.conf that sets it ([install] before [global]), else None."""
    if os.environ.get(variable):
        return os.environ[variable], variable
    for path in _pip_config_files():
        parser = configparser.ConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, OSError):
            continue
        for section in ("install", "global"):
            if parser.has_option(section, option):
                return parser.get(section, option), str(path)
    return None


def _pip_config_files() -> list[Path]:
    """pip's configuration files, most specific first (PIP_CONFIG_FILE, the environment's, the user's, the site's);
    none when PIP_CONFIG_FILE is the null device, which tells pip to load no file."""
    files = []
    if os.environ.get("PIP_CONFIG_FILE") == os.devnull:
        return []
    if os.environ.get("PIP_CONFIG_FILE"):
        files.append(Path(os.environ["PIP_CONFIG_FILE"]))
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    files += [Path(sys.prefix) / "pip.conf", config_home / "pip" / "pip.conf", Path.home() / ".pip" / "pip.conf",
              Path("/etc/pip.conf"), Path("/etc/xdg/pip/pip.conf")]
    return [f for f in files if f.is_file()]


def wheelhouse() -> Path | None:
    """The local wheel folder builds and venvs may install from (`TASKBENCH_WHEELHOUSE`), or None; a value that is
    no folder is one sentence."""
    value = settings.WHEELHOUSE.get()
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        from .docker_build import BuildError

        raise BuildError(f"{settings.WHEELHOUSE.name}={value} is not a folder; give a folder of wheels "
                         "(pip download -d DIR PACKAGE… fills one).")
    return path.resolve()


def build_args() -> dict[str, str]:
    """The pip settings a build passes as build arguments: the index pip would use here (when not pip's default),
    extra indexes, trusted hosts, find-links that are URLs (a folder of this machine is not visible to a build; the
    wheelhouse is copied in instead), and the wheelhouse's folder in the image."""
    args = {}
    index, source = pip_index()
    if source != "pip's default":
        args["PIP_INDEX_URL"] = index
    for name in ("PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST"):
        if os.environ.get(name):
            args[name] = os.environ[name]
    links = [link for link in os.environ.get("PIP_FIND_LINKS", "").split() if "://" in link]
    if wheelhouse() is not None:
        links.append(WHEELHOUSE_IN_IMAGE)
    if links:
        args["PIP_FIND_LINKS"] = " ".join(links)
    return args


def copy_wheelhouse(context: Path) -> int:
    """Copy the wheelhouse's wheels and source archives into `context`/taskbench-wheels (made empty without one, so a
    Dockerfile may always COPY it); returns how many files were copied."""
    target = context / WHEELHOUSE_NAME
    target.mkdir(exist_ok=True)
    folder = wheelhouse()
    if folder is None:
        return 0
    count = 0
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.name.endswith(WHEEL_SUFFIXES):
            shutil.copyfile(path, target / path.name)
            count += 1
    return count


def venv_environment(env: dict[str, str]) -> dict[str, str]:
    """`env` for a local pip run with the wheelhouse added to PIP_FIND_LINKS."""
    folder = wheelhouse()
    if folder is not None:
        env["PIP_FIND_LINKS"] = " ".join([*env.get("PIP_FIND_LINKS", "").split(), str(folder)])
    return env


def needs_host_network(args: dict[str, str]) -> bool:
    """True when an index or find-links URL is on this machine's loopback: a build reaches it only on the host's
    network."""
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS"):
        for url in args.get(name, "").split():
            host = urlsplit(url).hostname or ""
            if host == "localhost":
                return True
            try:
                if ipaddress.ip_address(host).is_loopback:
                    return True
            except ValueError:
                continue
    return False


def describe(args: dict[str, str], wheels: int) -> str:
    """The sentence said before a build that runs pip: where its packages come from and why it may fail."""
    index, source = pip_index()
    parts = [f"pip in this build installs from {index} ({source})"]
    if args.get("PIP_EXTRA_INDEX_URL"):
        parts.append(f"and {args['PIP_EXTRA_INDEX_URL']}")
    if wheels:
        parts.append(f"and {wheels} file(s) of the wheelhouse {wheelhouse()}")
    where = "this machine's network" if needs_host_network(args) else "the Docker engine's network"
    return (" ".join(parts) + f"; it fails if a package is not there or {where} cannot reach it "
            f"(set PIP_INDEX_URL to a mirror you can reach, or {settings.WHEELHOUSE.name} to a folder of wheels).")
