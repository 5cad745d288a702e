"""`.ci/docker-setup.sh` in the states a machine can be in (issue 16): an engine already running, a base image already
there, a second run on the same machine, and a base image to make; every step works whichever earlier one was skipped."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid

import pytest

from tests.conftest import REPO
from tests.docker_support import require_base_image

SETUP = REPO / ".ci" / "docker-setup.sh"


def run_setup(tmp_path, tag: str) -> subprocess.CompletedProcess:
    """Source the set-up script in a fresh bash with a log folder that does not exist yet; print what it exported."""
    env = dict(os.environ, TASKBENCH_KEEP_DOCKERD="1", TASKBENCH_CI_DIR=str(tmp_path / "ci-logs" / uuid.uuid4().hex),
               TASKBENCH_BASE_TAG=tag)
    env.pop("TASKBENCH_BASE_IMAGE", None)
    script = f'source "{SETUP}" && echo "exported $TASKBENCH_BASE_IMAGE $TASKBENCH_REQUIRE_DOCKER"'
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=900)


@pytest.fixture
def alias(docker_client):
    """A new tag name for the test; removed afterwards (the image it names is kept when other tags hold it)."""
    tag = f"taskbench-ci-test:{uuid.uuid4().hex[:10]}"
    yield tag
    import docker

    try:
        docker_client.images.remove(tag, noprune=True)
    except docker.errors.ImageNotFound:
        pass


def test_a_running_engine_and_a_present_image_are_reused_twice(tmp_path, docker_client, alias):
    base = require_base_image()
    repository, _, name = alias.partition(":")
    docker_client.images.get(base).tag(repository, name)
    for _ in range(2):  # a second run on the same machine finds the same state
        done = run_setup(tmp_path, alias)
        assert done.returncode == 0, done.stderr
        assert "engine already answering, reused" in done.stdout and f"base image {alias} present" in done.stdout
        assert done.stdout.strip().endswith(f"exported {alias} 1")


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("debootstrap") is None,
                    reason="making a base image needs root and debootstrap (as CI has)")
def test_a_running_engine_without_the_image_builds_it_and_keeps_its_log(tmp_path, docker_client, alias):
    done = run_setup(tmp_path, alias)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "engine already answering, reused" in done.stdout and f"base image {alias} built" in done.stdout
    logs = list((tmp_path / "ci-logs").glob("*/debootstrap.log"))
    assert logs and logs[0].stat().st_size > 0
    out = docker_client.containers.run(alias, ["cat", "/etc/debian_version"], remove=True, network_mode="none")
    assert out.decode().strip().startswith("12")
