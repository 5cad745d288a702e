"""Environment builds on servers without the public package index: a local index on loopback, a wheelhouse folder,
and one sentence naming the index when a package cannot be had (issue 16)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.server
import threading
import uuid
import zipfile
from functools import partial
from pathlib import Path

import pytest

from core.environments.docker_build import BuildError, requirements_image
from tests.docker.test_docker_build import images  # noqa: F401 - the fixture removing test images

DEAD_INDEX = "http://127.0.0.1:9/simple"  # the discard port: nothing answers


def make_wheel(folder: Path, name: str, version: str = "1.0") -> Path:
    """A pure-Python wheel of package `name` whose module holds MARK = name, written by hand (no network, no build)."""
    folder.mkdir(parents=True, exist_ok=True)
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": f"MARK = {name!r}\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: taskbench-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{dist}/RECORD,,")
    files[f"{dist}/RECORD"] = "\n".join(record) + "\n"
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


@contextlib.contextmanager
def local_index(wheel: Path):
    """A PEP 503 simple index holding `wheel`, served on loopback; yields (index URL, the paths requested)."""
    root = wheel.parent.parent / "index"
    project = wheel.name.split("-")[0].replace("_", "-")
    (root / "simple" / project).mkdir(parents=True)
    (root / "simple" / project / wheel.name).write_bytes(wheel.read_bytes())
    (root / "simple" / project / "index.html").write_text(f'<a href="{wheel.name}">{wheel.name}</a>\n')
    requested: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format, *args):  # noqa: A002 - the base class's name
            requested.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple", requested
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def probe(tmp_path, monkeypatch):
    """A package no public index has, as a wheel; pip settings of this machine cleared."""
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CONFIG_FILE", "TASKBENCH_WHEELHOUSE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    name = f"taskbench_probe_{uuid.uuid4().hex[:10]}"
    return name, make_wheel(tmp_path / "wheels", name)


PUBLIC_INDEX_HOSTS = ("pypi.org", "files.pythonhosted.org")


@pytest.fixture
def public_index_blocked(monkeypatch):
    """Builds in this test see the public index's hosts at an address where nothing answers (Docker's extra_hosts),
    as on a server without the public index."""
    from docker.api.build import BuildApiMixin

    build = BuildApiMixin.build

    def blocked(self, *args, **kwargs):
        kwargs["extra_hosts"] = {**(kwargs.get("extra_hosts") or {}), **{h: "127.0.0.9" for h in PUBLIC_INDEX_HOSTS}}
        return build(self, *args, **kwargs)

    monkeypatch.setattr(BuildApiMixin, "build", blocked)


def run_python(docker_client, image: str, code: str) -> str:
    return docker_client.containers.run(image, ["python", "-c", code], remove=True, network_mode="none").decode()


def test_requirements_build_from_a_local_index_on_loopback(python_sklearn_image, docker_client, images, probe,
                                                           public_index_blocked, monkeypatch):
    name, wheel = probe
    with local_index(wheel) as (url, requested):
        monkeypatch.setenv("PIP_INDEX_URL", url)
        lines: list[str] = []
        tag = requirements_image(python_sklearn_image, f"{name}==1.0\n", on_log=lines.append)
        images.append(tag)
    said = [line for line in lines if line.startswith("pip in this build installs from")]
    assert said and f"installs from {url} (PIP_INDEX_URL)" in said[0] and "this machine's network" in said[0]
    assert any(path.endswith(".whl") for path in requested), requested
    assert run_python(docker_client, tag, f"import {name}; print({name}.MARK)").strip() == name


def test_without_the_local_index_the_build_fails_naming_the_index_it_tried(python_sklearn_image, probe,
                                                                          public_index_blocked, monkeypatch):
    name, _ = probe
    monkeypatch.setenv("PIP_INDEX_URL", DEAD_INDEX)
    with pytest.raises(BuildError) as failed:
        requirements_image(python_sklearn_image, f"{name}==1.0\n", on_log=lambda line: None)
    assert "127.0.0.9" not in failed.value.message
    message = failed.value.message
    assert f"pip could not get {name}==1.0 from the index {DEAD_INDEX} (PIP_INDEX_URL)" in message, message
    assert "TASKBENCH_WHEELHOUSE" in message and "\n" not in message


def test_a_wheelhouse_is_copied_into_the_build_which_needs_no_index(python_sklearn_image, docker_client, images,
                                                                  probe, public_index_blocked, monkeypatch):
    name, wheel = probe
    monkeypatch.setenv("TASKBENCH_WHEELHOUSE", str(wheel.parent))
    monkeypatch.setenv("PIP_INDEX_URL", DEAD_INDEX)
    lines: list[str] = []
    tag = requirements_image(python_sklearn_image, f"{name}==1.0\n", on_log=lines.append)
    images.append(tag)
    assert any(f"1 file(s) of the wheelhouse {wheel.parent}" in line for line in lines)
    assert run_python(docker_client, tag, f"import {name}; print({name}.MARK)").strip() == name
    listing = run_python(docker_client, tag, "import os; print(os.path.exists('/opt/taskbench-wheels'))")
    assert listing.strip() == "False", "the wheelhouse copy is removed from the image"
