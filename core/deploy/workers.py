"""Containers for the nodes of a model that run in a Docker environment, when the model scores.

Scoring runs python-local nodes in its own process. A run of consecutive nodes
pinned to a Docker environment is loaded once in a container of that image and
scores every frame there; the container sees the model and task folders
read-only and the scorer's scratch folder read-write, at the same paths as the
host, and has no network.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

from ..errors import UsageError
from ..runtime.contract import is_local
from ..runtime.serving import PlanScorer
from .source import ModelSource


def docker_environments(plan: dict) -> list[str]:
    """The environments other than python-local that the plan's nodes run in."""
    return sorted({n["env"] for n in plan["nodes"] if not is_local(n.get("env"))})


def environment_images(store, source: ModelSource, on_log: Callable[[str], None]) -> dict[str, str]:
    """The image of each Docker environment the model's nodes name (built first when missing), by environment."""
    from ..environments.docker_build import docker_status
    from ..environments.resolve import resolve_environment
    from ..environments.versions import environment_exists

    images: dict[str, str] = {}
    for env in docker_environments(source.plan):
        nodes = nodes_phrase([n["name"] for n in source.plan["nodes"] if n.get("env") == env])
        if not environment_exists(store, env):
            name = env.split("@")[0]
            raise UsageError(f"the model's {nodes} in environment {env}, which this workspace lacks; "
                             f"add its folder with `taskbench env add FOLDER --name {name}`, then score again.")
        running, reason = docker_status()
        if not running:
            raise UsageError(f"the model's {nodes} in Docker environment {env}, but {reason}; start Docker and score again.")
        images[env] = resolve_environment(env, None, on_log, store=store).image
    return images


def nodes_phrase(names: list[str]) -> str:
    """Node names as a message says them: `node 'a' runs` or `nodes 'a', 'b' run`."""
    quoted = ", ".join(repr(n) for n in names)
    return f"node {quoted} runs" if len(names) == 1 else f"nodes {quoted} run"


def worker_factory(images: dict[str, str], plan: dict, model_dir: Path, on_output: Callable[[bytes], None] | None = None):
    """PlanScorer's `workers(env, scratch)`: a started container of `images[env]`; what tasks print goes to
    `on_output` (default: this process's stderr, where local nodes' output goes too)."""
    from ..runners.base import WorkerSpec, ready
    from ..runners.start import start_worker

    model_dir = Path(model_dir)

    def start(env: str, scratch: str):
        # Paths as the plan names them: the DRUM layout links to them, so the container must see the same ones.
        folders = {Path(n["task_dir"]) for n in plan["nodes"] if n.get("env") == env}
        read_only = [model_dir, *sorted(f for f in folders if not f.is_relative_to(model_dir))]
        spec = WorkerSpec(on_output=on_output or _to_stderr, read_only=read_only, writable=[Path(scratch)])
        return ready(start_worker(spec, image=images[env]))

    return start


def _to_stderr(chunk: bytes) -> None:
    sys.stderr.buffer.write(chunk)
    sys.stderr.flush()


def open_scorer(store, source: ModelSource, scratch_dir: str, *, on_log: Callable[[str], None] | None = None,
                on_output: Callable[[bytes], None] | None = None,
                before_load: Callable[[], None] | None = None) -> PlanScorer:
    """A PlanScorer for `source` in this process, its Docker nodes in containers (a whole plan of built-in nodes
    that `runtime.array_chain` covers scores in numpy); close it to stop them.

    `before_load()` runs once the images are resolved, just before task code is loaded into this process.
    """
    workers = None
    if not source.local_only:
        images = environment_images(store, source, on_log or (lambda line: print(line, file=sys.stderr, flush=True)))
        workers = worker_factory(images, source.plan, source.model_dir, on_output)
    if before_load is not None:
        before_load()
    return PlanScorer(source.plan, source.model_dir, scratch_dir, workers=workers, arrays=True)


def drop_private_environment() -> None:
    """Remove taskbench's own variables (workspace path, serve token and config) from this process's environment,
    so that task code loaded into it (the prediction server's) does not find them in os.environ."""
    from .. import settings

    settings.drop_own()
