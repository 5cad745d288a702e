"""Workers for the nodes of a model that do not score in the scoring process itself.

Scoring runs python-local nodes in its own process. A run of consecutive nodes
pinned to a Docker environment is loaded once in a container of that image and
scores every frame there; the container sees the model and task folders
read-only and the scorer's scratch folder read-write, at the same paths as the
host, and has no network. Nodes whose task has a requirements.txt score the
same way in a worker of their environment with those requirements on top: a
process of their cached venv, or a container of the requirements image.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..errors import UsageError
from ..runtime.contract import is_local
from .source import ModelSource

if TYPE_CHECKING:  # the CLI's predict imports this module for scoring_plan: pandas stays out of it
    from ..runtime.serving import PlanScorer


def scoring_plan(plan: dict) -> dict:
    """`plan` as the scorer runs it: each node's `env` is the key of the worker it scores in
    (resolve.segment_environment), so a task with requirements leaves the scoring process for a worker of its own."""
    from ..environments.resolve import segment_environment

    plan = json.loads(json.dumps(plan))
    for node in plan["nodes"]:
        node["env"] = segment_environment(node)
    return plan


def worker_environments(plan: dict) -> dict[str, dict]:
    """The first node of each worker the plan's nodes need (any not scoring in this process), by worker key."""
    from ..environments.resolve import segment_environment

    firsts: dict[str, dict] = {}
    for node in plan["nodes"]:
        key = segment_environment(node)
        if not is_local(key):
            firsts.setdefault(key, node)
    return firsts


def environment_images(store, source: ModelSource, on_log: Callable[[str], None]) -> dict[str, dict]:
    """Where each worker the model's nodes need runs, by worker key: `{"image": tag}` (a Docker environment's image,
    built first when missing, with the task's requirements on top) or `{"python": path}` (a cached venv of the
    task's requirements over this Python); pip's and Docker's progress goes to `on_log`."""
    from ..environments.docker_build import docker_status
    from ..environments.resolve import segment_environment, segment_resolved
    from ..environments.versions import environment_exists

    images: dict[str, dict] = {}
    for key, first in worker_environments(source.plan).items():
        env = first.get("env")
        if not is_local(env):
            nodes = nodes_phrase([n["name"] for n in source.plan["nodes"] if segment_environment(n) == key])
            if not environment_exists(store, env):
                name = env.split("@")[0]
                raise UsageError(f"the model's {nodes} in environment {env}, which this workspace lacks; "
                                 f"add its folder with `taskbench env add FOLDER --name {name}`, then score again.")
            running, reason = docker_status()
            if not running:
                raise UsageError(f"the model's {nodes} in Docker environment {env}, but {reason}; start Docker and "
                                 "score again.")
        resolved = segment_resolved(store, first, on_log)
        images[key] = {"image": resolved.image} if resolved.kind == "docker" else {"python": resolved.python}
    return images


def nodes_phrase(names: list[str]) -> str:
    """Node names as a message says them: `node 'a' runs` or `nodes 'a', 'b' run`."""
    quoted = ", ".join(repr(n) for n in names)
    return f"node {quoted} runs" if len(names) == 1 else f"nodes {quoted} run"


def worker_factory(images: dict[str, dict], plan: dict, model_dir: Path, on_output: Callable[[bytes], None] | None = None):
    """PlanScorer's `workers(env, scratch)` for a plan from `scoring_plan`: a started container of
    `images[env]["image"]`, or a process of `images[env]["python"]`; what tasks print goes to `on_output`
    (default: this process's stderr, where local nodes' output goes too)."""
    from ..runners.base import WorkerSpec, ready
    from ..runners.start import start_worker

    model_dir = Path(model_dir)

    def start(env: str, scratch: str):
        where = images[env]
        if "python" in where:
            spec = WorkerSpec(on_output=on_output or _to_stderr, writable=[Path(scratch)])
            return ready(start_worker(spec, python=where["python"]))
        # Paths as the plan names them: the DRUM layout links to them, so the container must see the same ones.
        folders = {Path(n["task_dir"]) for n in plan["nodes"] if n.get("env") == env}
        read_only = [model_dir, *sorted(f for f in folders if not f.is_relative_to(model_dir))]
        spec = WorkerSpec(on_output=on_output or _to_stderr, read_only=read_only, writable=[Path(scratch)])
        return ready(start_worker(spec, image=where["image"]))

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
    from ..runtime.serving import PlanScorer

    workers = None
    plan = scoring_plan(source.plan)
    if not source.local_only:
        images = environment_images(store, source, on_log or (lambda line: print(line, file=sys.stderr, flush=True)))
        workers = worker_factory(images, plan, source.model_dir, on_output)
    if before_load is not None:
        before_load()
    return PlanScorer(plan, source.model_dir, scratch_dir, workers=workers, arrays=True)


def drop_private_environment() -> None:
    """Remove taskbench's own variables (workspace path, serve token and config) from this process's environment,
    so that task code loaded into it (the prediction server's) does not find them in os.environ."""
    from .. import settings

    settings.drop_own()
