"""Turn `--env NAME` / `--docker DIR_OR_IMAGE` and a task's requirements into a runner.

Docker images are built on first use and tagged by the content of their folder,
so an unchanged environment is never rebuilt; requirements are layered on top
(a cached venv locally, an image layer in Docker).
"""

from __future__ import annotations

import functools
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .. import settings
from ..errors import UsageError
from ..runtime.contract import LOCAL_ENV as LOCAL, REQUIREMENTS_FILE, is_local


@dataclass
class ResolvedEnvironment:
    """Where a worker runs: the local Python (`python`) or a Docker image (`image`)."""

    name: str
    kind: str  # "local" or "docker"
    python: str | None = None
    image: str | None = None

    def describe(self) -> str:
        return f"{self.name} (Python {self.python})" if self.kind == "local" else f"{self.name} (image {self.image})"


def network_access(env: str | None, metadata_network: bool) -> str:
    """The network a task's code really gets in `env`: the host's for the local runner, else per its metadata."""
    if is_local(env):
        return "host (local runner: no network isolation)"
    if metadata_network:
        return "on (Docker; network: true in model-metadata.yaml)"
    return "none (Docker; `fit --network` opens it for one check)"


def folder_digest(folder: Path, extra: str = "") -> str:
    """sha256 over a folder's relative paths and bytes (and `extra`), for content-addressed tags."""
    h = hashlib.sha256(extra.encode())
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(str(path.relative_to(folder)).encode() + b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()


def image_for_folder(folder: Path, name: str, on_log: Callable[[str], None]) -> str:
    """Build (or reuse) the image of a folder holding a Dockerfile; returns its tag."""
    from .docker_build import build_image, image_exists

    if not (folder / "Dockerfile").is_file():
        raise UsageError(f"{folder} has no Dockerfile, so it cannot define an environment.")
    base = settings.BASE_IMAGE.get() or ""
    slug = "".join(c if c.isalnum() or c in "-_." else "-" for c in name.lower()).strip("-") or "env"
    tag = f"taskbench-env-{slug}:{folder_digest(folder, base)[:12]}"
    if image_exists(tag):
        on_log(f"environment image {tag} is up to date")
        return tag
    on_log(f"building environment image {tag} from {folder}")
    build_image(folder, tag, on_log=on_log)
    return tag


def docker_ready() -> None:
    """Raise a usage error with the reason when no Docker engine answers."""
    from .docker_build import docker_status

    ok, reason = docker_status()
    if not ok:
        raise UsageError(f"{reason}; start Docker or run with --env {LOCAL}.")


def resolve_environment(
    env: str | None, docker: str | None, on_log: Callable[[str], None], store=None
) -> ResolvedEnvironment:
    """The environment named by the command line (default python-local); registered ones need `store`."""
    if env and docker:
        raise UsageError("give --env or --docker, not both.")
    if docker:
        docker_ready()
        path = Path(docker).expanduser()
        if path.is_dir():
            return ResolvedEnvironment(path.name, "docker", image=image_for_folder(path.resolve(), path.name, on_log))
        from .docker_build import image_exists

        if not image_exists(docker):
            raise UsageError(f"--docker {docker} is neither a folder with a Dockerfile nor a local image.")
        return ResolvedEnvironment(docker, "docker", image=docker)
    if is_local(env):
        return ResolvedEnvironment(LOCAL, "local", python=sys.executable)
    if store is None:
        raise UsageError(f"environment {env!r} needs a workspace to look it up in.")
    from ..environments.versions import environment_version_to_run
    from .build import image_for_environment

    environment_version_to_run(store, env)  # an unknown name is a usage error before Docker is asked
    docker_ready()
    version, tag = image_for_environment(store, env, on_log)
    return ResolvedEnvironment(version.ref, "docker", image=tag)


def with_requirements(
    resolved: ResolvedEnvironment, requirements: str, root: Path, on_log: Callable[[str], None],
    *, code_dir: str | Path,
) -> ResolvedEnvironment:
    """The same environment with the task's requirements installed on top (cached per content).

    An R task's (custom.R in `code_dir`) are R package names: Debian's r-cran-* packages in Docker, never pip.
    """
    from ..runtime.taskcode import task_language
    from .venvs import normalized_requirements, requirements_python

    if not normalized_requirements(requirements):
        return resolved
    if task_language(str(code_dir)) == "r":
        return _with_r_packages(resolved, requirements, on_log)
    if resolved.kind == "local":
        python = requirements_python(root, requirements, on_log, base_python=resolved.python)
        return ResolvedEnvironment(resolved.name, "local", python=python)
    from .docker_build import requirements_image

    image = requirements_image(resolved.image, normalized_requirements(requirements), on_log=on_log)
    return ResolvedEnvironment(resolved.name, "docker", image=image)


def _with_r_packages(
    resolved: ResolvedEnvironment, requirements: str, on_log: Callable[[str], None]
) -> ResolvedEnvironment:
    """An R task's environment: locally the R already installed (the bridge names what it lacks before fit),
    in Docker the image with Debian's builds of the listed packages on top."""
    from .rpackages import r_requirements, to_install

    wanted = to_install(requirements)
    pinned = [f"{name} {version}" for name, version in r_requirements(requirements) if version]
    if resolved.kind == "local":
        on_log(f"requirements.txt: R packages ({', '.join(wanted) or 'base R only'}) are used from the local R, "
               "not installed")
        return resolved
    if pinned:
        on_log(f"requirements.txt: Debian ships one version of each R package; not checked: {', '.join(pinned)}")
    if not wanted:
        return resolved
    from .docker_build import r_requirements_image

    return ResolvedEnvironment(resolved.name, "docker", image=r_requirements_image(resolved.image, wanted, on_log=on_log))


def task_requirements(task_dir: str | Path) -> str:
    """A task folder's requirements.txt, normalized ('' when it has none): what its nodes add to their environment."""
    path = Path(task_dir) / REQUIREMENTS_FILE
    try:
        found = path.stat()
    except OSError:
        return ""
    return _requirements_text(str(path), (found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns))


@functools.lru_cache(maxsize=256)
def _requirements_text(path: str, stamp: tuple) -> str:
    """The normalized text of the requirements file at `path`, read once per version of it (`stamp`): a predict or
    serve start asks for each node's several times (its worker key for local_only, scoring_plan, the workers and
    their images), and the file is seldom changed in between."""
    from .venvs import normalized_requirements

    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    return normalized_requirements(text)


def segment_environment(node: dict) -> str:
    """The key of the worker a plan node runs in: its environment, or for a task with a requirements.txt that
    environment with those requirements, named by their content (so nodes with the same environment and requirements
    share a worker, never the python-local one; a local R task's packages come from the local R, so it keeps it)."""
    env = node.get("env") or LOCAL
    env = LOCAL if is_local(env) else env
    wanted = task_requirements(node["task_dir"])
    if not wanted:
        return env
    from ..runtime.taskcode import task_language

    language = task_language(str(node["task_dir"])) or "python"
    if language == "r":
        from .rpackages import to_install

        if env == LOCAL or not to_install(wanted):
            return env  # the local R's packages are used as they are; base R's own need no image on top
    digest = hashlib.sha256(f"{language}\n{wanted}".encode()).hexdigest()[:12]
    return f"{env} with requirements {digest}"


def segment_resolved(store, node: dict, on_log: Callable[[str], None]) -> ResolvedEnvironment:
    """The environment a node's worker runs in: its own (a Docker image is built on first use) with its task's
    requirements installed on top (a cached venv or image, made once per content; pip's progress goes to `on_log`)."""
    resolved = resolve_environment(node.get("env") or LOCAL, None, on_log, store=store)
    return with_requirements(resolved, task_requirements(node["task_dir"]), Path(store.root), on_log,
                             code_dir=node["task_dir"])
