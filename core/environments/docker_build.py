"""Image builds for Docker environments through the Docker Engine API, with live logs and plain failures.

Two settings shape every build (SPEC §3): the base image (`TASKBENCH_BASE_IMAGE`, passed
as the `BASE_IMAGE` build argument) and an extra CA bundle (`TASKBENCH_CA_BUNDLE`, put in
the build context as `taskbench-ca.crt`) for networks behind a TLS-intercepting proxy.
The Docker SDK is imported lazily so that importing this module stays cheap.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Callable

from core.environments import CA_BUNDLE_NAME
from core.environments import pipconfig
from core.environments.pipconfig import WHEELHOUSE_IN_IMAGE, WHEELHOUSE_NAME
from core import settings, workspace
from core.errors import TaskbenchError

BASE_IMAGE_ENV = settings.BASE_IMAGE.name
CA_BUNDLE_ENV = settings.CA_BUNDLE.name
REQUIREMENTS_REPOSITORY = "taskbench-req"
DEFAULT_ENGINE_URL = "unix:///var/run/docker.sock"
LOG_TAIL_LINES = 40

_STEP = re.compile(r"^Step (\d+/\d+) : (.*)$")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

# Installs a task's requirements.txt over an environment image. The CA file is always in
# the context (empty without a bundle); python is the environment's own, venv or not.
REQUIREMENTS_DOCKERFILE = f"""\
ARG BASE_IMAGE
FROM ${{BASE_IMAGE}}
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ARG PIP_TRUSTED_HOST
ARG PIP_FIND_LINKS
COPY {WHEELHOUSE_NAME} {WHEELHOUSE_IN_IMAGE}
COPY requirements.txt /opt/taskbench/requirements.txt
COPY {CA_BUNDLE_NAME} /tmp/{CA_BUNDLE_NAME}
RUN set -e; \\
    if [ -s /tmp/{CA_BUNDLE_NAME} ]; then export PIP_CERT=/tmp/{CA_BUNDLE_NAME}; fi; \\
    PY=$(command -v python || command -v python3) || {{ echo "the image has no python" >&2; exit 1; }}; \\
    "$PY" -m pip install --no-cache-dir --disable-pip-version-check -r /opt/taskbench/requirements.txt; \\
    rm -rf /tmp/{CA_BUNDLE_NAME} {WHEELHOUSE_IN_IMAGE}
"""

# Installs an R task's requirements over an environment image as Debian's r-cran-* packages. A name
# Debian lacks stops the build with a marker line naming the packages, before anything is installed.
R_MISSING_MARKER = "taskbench: no Debian build:"
R_NO_R_MARKER = "taskbench: no Rscript or apt-get in this image"
R_REQUIREMENTS_DOCKERFILE = f"""\
ARG BASE_IMAGE
FROM ${{BASE_IMAGE}}
USER root
COPY debian-packages.txt r-packages.txt /opt/taskbench/
RUN set -e; \\
    command -v apt-get >/dev/null && command -v Rscript >/dev/null || {{ echo "{R_NO_R_MARKER}"; exit 3; }}; \\
    apt-get update -qq; \\
    missing=""; \\
    for pkg in $(cat /opt/taskbench/debian-packages.txt); do \\
        apt-cache policy "$pkg" | grep -q 'Candidate: [^(]' || missing="$missing $pkg"; \\
    done; \\
    if [ -n "$missing" ]; then echo "{R_MISSING_MARKER}$missing"; exit 3; fi; \\
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(cat /opt/taskbench/debian-packages.txt); \\
    apt-get clean; rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin; \\
    Rscript -e 'for (p in commandArgs(TRUE)) suppressPackageStartupMessages(library(p, character.only = TRUE))' \\
        $(cat /opt/taskbench/r-packages.txt)
"""


class DockerUnavailable(TaskbenchError):
    """No Docker engine answers, so nothing can be built or run in a container."""


class BuildError(TaskbenchError):
    """An image build failed; the message names the failing step and `log_tail` holds the log's last lines."""

    def __init__(self, message: str, log_tail: str = ""):
        super().__init__(message, details=log_tail or None)
        self.log_tail = log_tail


def engine_url() -> str:
    """The address the Docker SDK will talk to: `$DOCKER_HOST` or the default local socket."""
    return os.environ.get("DOCKER_HOST") or DEFAULT_ENGINE_URL


def docker_status() -> tuple[bool, str]:
    """Whether a Docker engine answers, with one sentence saying which one or why not."""
    try:
        import docker
    except ImportError:
        return False, "the docker Python package is not installed"
    url = engine_url()
    try:
        api = docker.APIClient(**docker.utils.kwargs_from_env(), timeout=5)
    except docker.errors.DockerException as exc:
        if "Permission denied" in str(exc) or "PermissionError" in str(exc):
            return False, f"permission denied on {url} (join the docker group or run as root)"
        return False, f"no Docker engine answers at {url}"
    try:
        version = api.version().get("Version", "?")
    except Exception:  # noqa: BLE001 - any failure here means "not usable"
        return False, f"the Docker engine at {url} does not answer version requests"
    finally:
        api.close()
    return True, f"Docker Engine {version} answers at {url}"


def image_exists(tag: str) -> bool:
    """Whether the engine holds an image named `tag`."""
    import docker

    api = _client()
    try:
        api.inspect_image(tag)
        return True
    except docker.errors.ImageNotFound:
        return False
    finally:
        api.close()


def build_image(
    context_dir: Path,
    tag: str,
    *,
    base_image: str | None = None,
    ca_bundle: Path | None = None,
    on_log: Callable[[str], None],
    build_args: dict | None = None,
    timeout: float | None = None,
    scratch_dir: Path | None = None,
) -> str:
    """Build the Dockerfile in `context_dir` as `tag`, streaming each log line to `on_log`; returns the image id.

    The context is copied first, so the user's folder is never touched; when the Dockerfile
    names `taskbench-ca.crt`, the copy holds the CA bundle there (an empty file without one).
    """
    context_dir = Path(context_dir)
    dockerfile = context_dir / "Dockerfile"
    if not dockerfile.is_file():
        raise BuildError(f"{context_dir} has no Dockerfile, so there is nothing to build.")
    base_image = base_image or settings.BASE_IMAGE.get()
    bundle = _ca_bundle(ca_bundle)
    text = dockerfile.read_text(errors="replace")
    args = {"BASE_IMAGE": base_image} if base_image else {}
    pip_args = {name: value for name, value in pipconfig.build_args().items()
                if re.search(rf"^\s*ARG\s+{name}\b", text, re.MULTILINE)}  # only what the Dockerfile declares
    args.update(pip_args)
    args.update({key: str(value) for key, value in (build_args or {}).items()})

    scratch = Path(tempfile.mkdtemp(prefix=workspace.system_temp_prefix("build"), dir=scratch_dir))  # a job's scratch, swept if it dies
    try:
        context = scratch / "context"
        shutil.copytree(context_dir, context, symlinks=True)
        if CA_BUNDLE_NAME in text:
            target = context / CA_BUNDLE_NAME
            if bundle is not None:
                shutil.copyfile(bundle, target)
            elif not target.exists():
                target.write_bytes(b"")
        wheels = pipconfig.copy_wheelhouse(context) if WHEELHOUSE_NAME in text else 0
        uses_pip = re.search(r"\bpip\b", text) is not None
        if uses_pip:
            on_log(pipconfig.describe(pip_args, wheels))
        network = "host" if pipconfig.needs_host_network(pip_args) else None
        try:
            return _build(context, tag, args, on_log, timeout, network)
        except BuildError as exc:
            raise _pip_failure(exc) if uses_pip else exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def requirements_image(
    base_tag: str,
    requirements_text: str,
    *,
    on_log: Callable[[str], None],
    ca_bundle: Path | None = None,
) -> str:
    """An image with `requirements_text` pip-installed over `base_tag`, built once and then reused; returns its tag.

    The tag is derived from the base image's id and the requirements, so a rebuilt base
    or edited requirements give a new image while identical ones share it.
    """
    files = {"Dockerfile": REQUIREMENTS_DOCKERFILE, "requirements.txt": requirements_text}
    return _layer_image(base_tag, requirements_text, files, on_log, ca_bundle, "requirements.txt")


def r_requirements_image(base_tag: str, r_packages: list[str], *, on_log: Callable[[str], None]) -> str:
    """An image with R packages installed over `base_tag` as Debian's r-cran-* packages, built once, then reused.

    A package Debian does not build fails with one sentence naming it (rpackages.no_debian_build).
    """
    from .rpackages import debian_package, no_debian_build

    debs = [debian_package(name) for name in r_packages]
    files = {
        "Dockerfile": R_REQUIREMENTS_DOCKERFILE,
        "debian-packages.txt": "\n".join(debs) + "\n",
        "r-packages.txt": "\n".join(r_packages) + "\n",
    }
    try:
        return _layer_image(base_tag, "R\n" + files["debian-packages.txt"], files, on_log, None,
                            f"R packages ({', '.join(debs)})")
    except BuildError as exc:
        lines = exc.log_tail.splitlines()
        steps = [i for i, line in enumerate(lines) if _STEP.match(line)]
        noise = ("The command '", "---> ", "Removing intermediate container")  # the RUN script again, Docker's own
        tail = "\n".join(line for line in lines[steps[-1] + 1 if steps else 0:] if not line.strip().startswith(noise))
        if R_NO_R_MARKER in lines:
            raise BuildError(
                f"The image {base_tag} has no R (Rscript) or no apt-get, so the R packages in requirements.txt cannot "
                "be installed in it; run the task in r-base or an environment whose Dockerfile installs Debian's R.",
                tail,
            ) from None
        marked = [line for line in lines if line.startswith(R_MISSING_MARKER)]
        if not marked:
            raise
        missing = set(marked[-1][len(R_MISSING_MARKER):].split())
        raise BuildError(no_debian_build([n for n, d in zip(r_packages, debs) if d in missing]), tail) from None


def _layer_image(base_tag: str, key: str, files: dict[str, str], on_log: Callable[[str], None],
                 ca_bundle: Path | None, what: str) -> str:
    """Build `files` (a Dockerfile and what it copies) over `base_tag` once, tagged by the base's id and `key`."""
    import docker

    api = _client()
    try:
        base_id = api.inspect_image(base_tag)["Id"]
    except docker.errors.ImageNotFound:
        raise BuildError(f"The image {base_tag} does not exist; build its environment first.") from None
    finally:
        api.close()
    digest = hashlib.sha256(f"{base_id}\n{key}".encode()).hexdigest()[:12]
    tag = f"{REQUIREMENTS_REPOSITORY}:{digest}"
    if image_exists(tag):
        on_log(f"requirements image {tag} reused ({what} already installed over {base_tag})")
        return tag

    on_log(f"requirements image {tag} not found: installing {what} over {base_tag}")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=workspace.system_temp_prefix("req")) as folder:
        context = Path(folder)
        for name, text in files.items():
            (context / name).write_text(text)
        build_image(context, tag, base_image=base_tag, ca_bundle=ca_bundle, on_log=on_log)
    on_log(f"requirements image {tag} built in {time.monotonic() - started:.1f} s")
    return tag


def _client(timeout: float | None = 60):
    """A low-level API client for the engine the environment points at, or DockerUnavailable."""
    import docker

    try:
        return docker.APIClient(**docker.utils.kwargs_from_env(), timeout=timeout)
    except docker.errors.DockerException:
        _, reason = docker_status()
        raise DockerUnavailable(f"Docker is not available: {reason}.") from None


def _ca_bundle(given: Path | None) -> Path | None:
    """The CA bundle to give builds: the argument, else `$TASKBENCH_CA_BUNDLE`, else none."""
    source = "the ca_bundle argument" if given is not None else CA_BUNDLE_ENV
    value = given if given is not None else settings.CA_BUNDLE.get()
    if value is None:
        return None
    path = Path(value)
    if not path.is_file():
        raise BuildError(f"The CA bundle {path} (from {source}) is not a readable file.")
    return path


def _build(context: Path, tag: str, buildargs: dict, on_log: Callable[[str], None], timeout: float | None,
           network_mode: str | None = None) -> str:
    """Run one build through the Engine API and follow its JSON stream until it ends or fails."""
    import docker
    import requests
    import urllib3

    tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)
    step: list[str] = []  # [number, instruction] of the step running now
    pending = ""
    image_id = None
    deadline = time.monotonic() + timeout if timeout else None

    def emit(text: str) -> None:
        line = _ANSI.sub("", text.rstrip("\r").split("\r")[-1]).rstrip()  # last state of a progress bar, no colours
        if not line:
            return
        match = _STEP.match(line)
        if match:
            step[:] = [match[1], match[2]]
        tail.append(line)
        on_log(line)

    def failure(error: str) -> BuildError:
        return BuildError(_failure_message(tag, step, error), "\n".join(tail))

    api = _client(timeout)
    try:
        stream = api.build(
            path=str(context), tag=tag, decode=True, rm=True, forcerm=True,
            pull=False, buildargs=buildargs, timeout=timeout, network_mode=network_mode,
        )
        for chunk in stream:
            if "stream" in chunk:
                pending += chunk["stream"]
                *lines, pending = pending.split("\n")
                for line in lines:
                    emit(line)
            elif "status" in chunk:
                emit(" ".join(str(chunk[k]) for k in ("status", "id") if chunk.get(k)))
            if isinstance(chunk.get("aux"), dict) and chunk["aux"].get("ID"):
                image_id = chunk["aux"]["ID"]
            if "error" in chunk or "errorDetail" in chunk:
                emit(pending)
                pending = ""
                error = (chunk.get("errorDetail") or {}).get("message") or chunk.get("error") or "unknown error"
                emit(error)
                raise failure(error)
            if deadline is not None and time.monotonic() > deadline:
                raise failure(f"the build took longer than {timeout:g} s and was stopped")
        emit(pending)
        pending = ""
        return image_id or api.inspect_image(tag)["Id"]
    except (requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError):
        raise failure(f"the build was silent for more than {timeout:g} s and was stopped") from None
    except (requests.exceptions.ConnectionError, urllib3.exceptions.ProtocolError):
        raise failure(f"the connection to the Docker engine at {engine_url()} was lost") from None
    except docker.errors.APIError as exc:
        raise failure(f"the Docker engine refused the build: {exc.explanation or exc}") from None
    finally:
        emit(pending)
        api.close()


# pip's words when it could not reach an index or find a package there.
_PIP_UNREACHABLE = ("Could not find a version that satisfies", "No matching distribution found",
                    "Failed to establish a new connection", "Max retries exceeded", "Temporary failure in name resolution",
                    "Name or service not known", "Could not fetch URL", "Connection refused")


def _pip_failure(exc: BuildError) -> BuildError:
    """A build that failed because pip could not get a package says so in one sentence naming the index it tried."""
    if not any(words in exc.log_tail for words in _PIP_UNREACHABLE):
        return exc
    index, source = pipconfig.pip_index()
    missing = re.findall(r"No matching distribution found for (\S+)", exc.log_tail)
    what = f"could not get {missing[-1]}" if missing else "could not get its packages"
    building = re.match(r"Building (\S+) failed", exc.message)
    return BuildError(f"{building[0] if building else 'The build failed'}: pip {what} from the index {index} ({source}); "
                      f"set PIP_INDEX_URL to an index the build can reach, or {settings.WHEELHOUSE.name} to a folder "
                      "holding the wheels.", exc.log_tail)


def _failure_message(tag: str, step: list[str], error: str) -> str:
    """One sentence naming the image, the failing step (when known) and the engine's error."""
    error = " ".join(error.split()).rstrip(".")
    if not step:
        return f"Building {tag} failed: {error}."
    number, instruction = step
    shown = instruction if len(instruction) <= 100 else instruction[:97] + "..."
    hint = ""
    if instruction.upper().startswith("FROM"):
        hint = f"; is the base image present locally (set {BASE_IMAGE_ENV} to a local image)?"
    return f"Building {tag} failed at step {number} ({shown}): {error}{hint or '.'}"
