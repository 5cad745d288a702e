"""Shared fixtures: a private workspace per test, the CLI runner, and task-folder builders."""

from __future__ import annotations

import hashlib
import os
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest_plugins = ["tests.docker_support"]

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "sample_tasks" / "data"
SAMPLES = REPO / "sample_tasks"


@pytest.fixture(autouse=True)
def environment_restored():
    """Give every test the process environment it started with back: code under test may clear taskbench's own
    variables from os.environ (a prediction server built in-process does, before loading task code), and the next
    tests would lose the CI's TASKBENCH_BASE_IMAGE and TASKBENCH_REQUIRE_DOCKER with them."""
    saved = dict(os.environ)
    yield
    if dict(os.environ) != saved:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh workspace and an empty TMPDIR, so tests can prove nothing is left behind."""
    ws = tmp_path / "workspace"
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    monkeypatch.setenv("TASKBENCH_HOME", str(ws))
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setenv("COLUMNS", "200")
    return ws


@pytest.fixture
def taskbench(home):
    """Run `taskbench ARGS…` in-process; returns typer's Result (exit_code, output)."""
    from tui.cli.main import app, normalize_argv

    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(app, normalize_argv([str(a) for a in args]), input=input, catch_exceptions=False)

    return run


@pytest.fixture
def need_r() -> str:
    """The Rscript R tasks run with; the test skips without R, or fails when TASKBENCH_REQUIRE_R is set (CI)."""
    import shutil

    rscript = shutil.which("Rscript")
    if not rscript:
        reason = "R is not installed (no Rscript on PATH)"
        if os.environ.get("TASKBENCH_REQUIRE_R"):
            pytest.fail(f"{reason}, but TASKBENCH_REQUIRE_R is set")
        pytest.skip(reason)
    return rscript


def make_task(root: Path, files: dict[str, str], name: str = "task") -> Path:
    """Write a task folder from {relative path: source}; sources are dedented."""
    folder = root / name
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return folder


def tree_digest(folder: Path) -> str:
    """A digest of every file name and content under `folder`, to prove it was not changed."""
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        h.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()


def leftovers(home: Path) -> list[str]:
    """Files left in the workspace scratch area or in TMPDIR after a command."""
    out = []
    for folder in (home / "tmp", Path(os.environ["TMPDIR"])):
        if folder.exists():
            out += [str(p) for p in folder.iterdir()]
    return out
