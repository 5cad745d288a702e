"""Environment image builds against a real Docker engine: built-in, custom, failing, and requirements layers."""

from __future__ import annotations

import re
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from core.environments.docker_build import (
    CA_BUNDLE_ENV,
    BuildError,
    build_image,
    docker_status,
    image_exists,
    requirements_image,
)
from tests.conftest import tree_digest
from tests.docker_support import REQUIRE_DOCKER_ENV, require_docker  # fixtures come from conftest's pytest_plugins


def write_context(folder: Path, dockerfile: str, **files: str) -> Path:
    """A build context holding `dockerfile` (dedented) and `files` {name: text}."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Dockerfile").write_text(textwrap.dedent(dockerfile).lstrip("\n"))
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def unique_tag(name: str) -> str:
    """A fresh image tag, so concurrent or repeated runs never share a test image."""
    return f"taskbench-test-{name}:{uuid.uuid4().hex[:10]}"


def build_scratch_folders() -> set[str]:
    """The temporary build-context copies that exist now."""
    return {p.name for p in Path(tempfile.gettempdir()).glob("taskbench-build-*")}


@pytest.fixture
def images(docker_client, base_image):
    """Tags to remove after the test, so test builds leave no images behind."""
    tags: list[str] = []
    yield tags
    for tag in tags:
        try:
            docker_client.images.remove(tag, force=True)
        except Exception:  # noqa: BLE001 - already gone, or never built
            pass


def test_status_names_the_address_when_no_engine_answers(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/taskbench.sock")
    assert docker_status() == (False, "no Docker engine answers at unix:///nonexistent/taskbench.sock")


def test_missing_engine_skips_or_fails_as_required(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/taskbench.sock")
    monkeypatch.delenv(REQUIRE_DOCKER_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no Docker engine answers"):
        require_docker()
    monkeypatch.setenv(REQUIRE_DOCKER_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="TASKBENCH_REQUIRE_DOCKER=1"):
        require_docker()


def test_a_base_image_neither_here_nor_pullable_skips_with_the_fix_or_fails_as_required(docker_engine, monkeypatch):
    from tests import docker_support

    monkeypatch.setattr(docker_support, "_base_image_reason", [])  # the session's own answer is kept for other tests
    monkeypatch.setenv("TASKBENCH_BASE_IMAGE", "taskbench-test-absent-base:none")
    monkeypatch.delenv(REQUIRE_DOCKER_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="taskbench-test-absent-base:none is not here.*set TASKBENCH_BASE_IMAGE"):
        docker_support.require_base_image()
    monkeypatch.setenv(REQUIRE_DOCKER_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="TASKBENCH_REQUIRE_DOCKER=1"):
        docker_support.require_base_image()


def test_folder_without_dockerfile_is_refused(tmp_path):
    with pytest.raises(BuildError, match="has no Dockerfile"):
        build_image(tmp_path, "taskbench-test-nothing:x", on_log=print)


def test_python_sklearn_image_has_the_data_stack(python_sklearn_image, docker_client):
    code = "import sys, pandas, sklearn, pyarrow, joblib, numpy; print(sys.executable, pandas.__version__, sklearn.__version__)"
    output = docker_client.containers.run(
        python_sklearn_image, ["python", "-c", code], remove=True, network_mode="none"
    ).decode()
    executable, pandas_version, sklearn_version = output.split()
    assert executable == "/opt/venv/bin/python"
    assert re.match(r"\d+\.\d+", pandas_version) and re.match(r"\d+\.\d+", sklearn_version)


def test_custom_environment_is_built_from_a_copy_of_its_folder(tmp_path, docker_client, images):
    context = write_context(
        tmp_path / "env",
        """
        ARG BASE_IMAGE=debian:bookworm-slim
        FROM ${BASE_IMAGE}
        COPY hello.txt /opt/hello.txt
        RUN echo "marker $(cat /opt/hello.txt)" > /opt/marker.txt
        """,
        **{"hello.txt": "hello"},
    )
    before = tree_digest(context)
    scratch_before = build_scratch_folders()
    tag = unique_tag("custom")
    images.append(tag)
    lines: list[str] = []

    image_id = build_image(context, tag, on_log=lines.append)

    assert image_id.startswith("sha256:") and image_exists(tag)
    assert "Step 4/4 : RUN echo \"marker $(cat /opt/hello.txt)\" > /opt/marker.txt" in lines
    output = docker_client.containers.run(tag, ["cat", "/opt/marker.txt"], remove=True, network_mode="none")
    assert output.decode().strip() == "marker hello"
    assert tree_digest(context) == before, "the user's folder must not be touched"
    assert build_scratch_folders() == scratch_before, "the temporary copy must be removed"


@pytest.mark.parametrize("with_bundle", [True, False], ids=["bundle", "no-bundle"])
def test_ca_bundle_reaches_the_build_only_when_given(tmp_path, docker_client, images, monkeypatch, with_bundle):
    monkeypatch.delenv(CA_BUNDLE_ENV, raising=False)
    bundle = tmp_path / "corporate.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\nnot really\n-----END CERTIFICATE-----\n")
    context = write_context(
        tmp_path / "env",
        """
        ARG BASE_IMAGE=debian:bookworm-slim
        FROM ${BASE_IMAGE}
        COPY taskbench-ca.crt /opt/ca.crt
        """,
    )
    tag = unique_tag("ca")
    images.append(tag)

    build_image(context, tag, ca_bundle=bundle if with_bundle else None, on_log=lambda line: None)

    inside = docker_client.containers.run(tag, ["cat", "/opt/ca.crt"], remove=True, network_mode="none").decode()
    assert inside == (bundle.read_text() if with_bundle else "")
    assert not (context / "taskbench-ca.crt").exists()


def test_failing_step_raises_build_error_naming_it(tmp_path, docker_client, images):
    marker = uuid.uuid4().hex
    context = write_context(
        tmp_path / "env",
        f"""
        ARG BASE_IMAGE=debian:bookworm-slim
        FROM ${{BASE_IMAGE}}
        RUN echo getting {marker} ready && false
        """,
    )
    tag = unique_tag("broken")
    images.append(tag)
    scratch_before = build_scratch_folders()
    lines: list[str] = []

    with pytest.raises(BuildError) as caught:
        build_image(context, tag, on_log=lines.append)

    message = caught.value.message
    assert message.startswith(f"Building {tag} failed at step 3/3 (RUN echo getting {marker} ready && false):"), message
    assert "returned a non-zero code: 1" in message and message.count("\n") == 0
    assert f"Step 3/3 : RUN echo getting {marker} ready && false" in caught.value.log_tail
    assert f"getting {marker} ready" in lines, "the step's own output is streamed to on_log"
    assert not image_exists(tag)
    assert build_scratch_folders() == scratch_before
    leftover = [c for c in docker_client.containers.list(all=True) if marker in " ".join(c.attrs["Config"]["Cmd"] or [])]
    assert leftover == [], "the failed step's container must be removed"


def test_requirements_are_installed_once_then_reused(python_sklearn_image, docker_client, images):
    # A unique comment makes this run's requirements new, so the first call must build.
    requirements = f"tomli-w==1.0.0\n# test run {uuid.uuid4().hex}\n"
    first: list[str] = []
    tag = requirements_image(python_sklearn_image, requirements, on_log=first.append)
    images.append(tag)
    assert re.fullmatch(r"taskbench-req:[0-9a-f]{12}", tag)
    assert any(line.startswith(f"requirements image {tag} built") for line in first), first[-5:]

    second: list[str] = []
    started = time.monotonic()
    assert requirements_image(python_sklearn_image, requirements, on_log=second.append) == tag
    assert time.monotonic() - started < 5
    assert len(second) == 1 and "reused" in second[0] and "built" not in second[0]

    code = "import tomli_w, sklearn; print(tomli_w.dumps({'ok': 1}).strip())"
    output = docker_client.containers.run(tag, ["python", "-c", code], remove=True, network_mode="none")
    assert output.decode().strip() == "ok = 1"


def test_requirement_that_cannot_be_installed_fails_with_pips_message(python_sklearn_image, images):
    requirements = "taskbench-no-such-package-for-tests==1.0\n"
    with pytest.raises(BuildError) as caught:
        images.append(requirements_image(python_sklearn_image, requirements, on_log=lambda line: None))
    assert "pip could not get taskbench-no-such-package-for-tests==1.0 from the index" in caught.value.message
    assert "No matching distribution found" in caught.value.log_tail


def test_missing_base_image_is_a_plain_error(docker_engine):
    with pytest.raises(BuildError, match="does not exist; build its environment first"):
        requirements_image("taskbench-test-absent:none", "six\n", on_log=lambda line: None)
