"""Docker test support: skip with the reason where no engine answers, fail instead where CI requires Docker.

Test modules import the fixtures they use from here (or a conftest lists this module in
`pytest_plugins`), so the Docker tests share one build of the python-sklearn image.
"""

from __future__ import annotations

import os

import pytest

REQUIRE_DOCKER_ENV = "TASKBENCH_REQUIRE_DOCKER"
PYTHON_SKLEARN_TEST_TAG = "taskbench-env-python-sklearn:test"


def require_docker() -> None:
    """Skip the calling test when no Docker engine answers, or fail it when `TASKBENCH_REQUIRE_DOCKER=1`."""
    from core.environments.docker_build import docker_status

    reachable, reason = docker_status()
    if reachable:
        return
    if os.environ.get(REQUIRE_DOCKER_ENV) == "1":
        pytest.fail(f"Docker is required here ({REQUIRE_DOCKER_ENV}=1) but {reason}", pytrace=False)
    pytest.skip(f"needs a Docker engine: {reason}")


_base_image_reason: list[str | None] = []


def require_base_image() -> str:
    """The base image builds start from (`TASKBENCH_BASE_IMAGE`, else the default), present here or pulled once per
    session; skip the calling test with the reason and the fix when neither works, or fail it under
    `TASKBENCH_REQUIRE_DOCKER=1`."""
    import docker

    from core import settings
    from core.environments import DEFAULT_BASE_IMAGE

    require_docker()
    base = settings.BASE_IMAGE.get() or DEFAULT_BASE_IMAGE
    if not _base_image_reason:
        client = docker.from_env()
        try:
            client.images.get(base)
            _base_image_reason.append(None)
        except docker.errors.ImageNotFound:
            try:
                client.images.pull(base)
                _base_image_reason.append(None)
            except docker.errors.APIError as exc:
                detail = str(exc.explanation or exc).splitlines()[0].rsplit(": ", 1)[-1][:120]  # e.g. "no such host"
                _base_image_reason.append(
                    f"the base image {base} is not here and could not be pulled ({detail}); set TASKBENCH_BASE_IMAGE "
                    "to a local Debian-based image (.ci/docker-setup.sh builds one with debootstrap)")
        finally:
            client.close()
    reason = _base_image_reason[0]
    if reason is None:
        return base
    if os.environ.get(REQUIRE_DOCKER_ENV) == "1":
        pytest.fail(f"Docker is required here ({REQUIRE_DOCKER_ENV}=1) but {reason}", pytrace=False)
    pytest.skip(f"needs a base image: {reason}")


@pytest.fixture
def base_image() -> str:
    """The base image builds start from (skip or fail as `require_base_image` says)."""
    return require_base_image()


@pytest.fixture
def docker_engine() -> None:
    """Require a Docker engine for the test (skip or fail as `require_docker` says)."""
    require_docker()


@pytest.fixture
def docker_client(docker_engine):
    """A high-level Docker SDK client for checking what builds produced."""
    import docker

    client = docker.from_env()
    yield client
    client.close()


@pytest.fixture(scope="session")
def python_sklearn_image() -> str:
    """The built-in python-sklearn environment built once per session (layer cache makes rebuilds quick)."""
    require_base_image()
    from core.environments import PYTHON_SKLEARN, builtin_context
    from core.environments.docker_build import build_image

    build_image(builtin_context(PYTHON_SKLEARN), PYTHON_SKLEARN_TEST_TAG, on_log=lambda line: None)
    return PYTHON_SKLEARN_TEST_TAG
