"""The one place a worker is started: in a Docker image, or as a local process of a Python interpreter."""

from __future__ import annotations

import sys

from .base import WorkerSpec


def start_worker(spec: WorkerSpec, *, image: str | None = None, python: str | None = None):
    """Start a worker for a resolved environment: a container of `image`, else a process of `python` (default: the
    Python taskbench runs on). Returns it at once; `wait_ready()` (or `base.ready`) waits for its first answer."""
    if image is not None:
        from .docker_runner import DockerRunner  # the Docker SDK loads only for Docker environments

        return DockerRunner(image).start(spec)
    from .subprocess_runner import SubprocessRunner

    return SubprocessRunner(python or sys.executable).start(spec)
