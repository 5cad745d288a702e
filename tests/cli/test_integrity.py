"""Integrity (SPEC §10): a stored task or environment version whose files were changed after it was stored is refused
before its code runs, is packaged or is shown, with one sentence naming the version and the files."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from core.environments import versions as envs
from core.store import files as store_files, integrity, open_store
from core.tasks import versions as tasks
from tests.conftest import DATA, REPO, SAMPLES, make_task

JUNIORS = DATA / "juniors_3_year_stats_regression.csv"
INFERENCE = DATA / "juniors_3_year_stats_regression_inference.csv"
HARMLESS = b'0#__import__("pathlib").Path(r"%s").write_text("ran")\n'  # `#` -> `;` (one byte) makes it run


def flat(result) -> str:
    return " ".join(result.output.split())


def writable(folder) -> None:
    """Give back the write bits a stored snapshot drops, as somebody tampering with it would."""
    for base, dirs, names in os.walk(folder):
        for name in [*dirs, *names, ""]:
            path = os.path.join(base, name)
            os.chmod(path, os.stat(path).st_mode | stat.S_IWUSR)


def swap_byte(path, old: bytes, new: bytes) -> None:
    """Change one byte in place: same size, same inode."""
    data = path.read_bytes()
    at = data.index(old)
    with open(path, "r+b") as fh:
        fh.seek(at)
        fh.write(new)


@pytest.fixture
def marker(tmp_path):
    return tmp_path / "marker-the-swapped-code-writes"


@pytest.fixture
def ridge(tmp_path, taskbench, marker):
    """Sample task 11 registered as ridge@1, with a commented-out line that writes `marker` once a byte changes."""
    folder = tmp_path / "ridge-src"
    shutil.copytree(SAMPLES / "11_regression_ridge", folder)
    with open(folder / "custom.py", "ab") as fh:
        fh.write(b"TAMPERED = " + HARMLESS % str(marker).encode())
    added = taskbench("task", "add", folder, "--name", "ridge")
    assert added.exit_code == 0, added.output
    return json.loads(taskbench("task", "show", "ridge@1", "--json").stdout)


def refused(result, *named: str, kind: str = "task", ref: str = "ridge@1") -> None:
    assert result.exit_code == 2, result.output
    text = flat(result)
    assert f"{kind} {ref} was changed after it was stored (" in text, text
    for name in named:
        assert name in text, text
    assert "Traceback" not in result.output


def test_a_swapped_byte_refuses_fit_train_scoring_export_show_and_download_and_nothing_runs(
    tmp_path, taskbench, ridge, marker, home
):
    bp = tmp_path / "ridge.bp"
    bp.write_text("model = ridge@1(NUM)\n")
    assert taskbench("project", "create", JUNIORS, "--target", "Grade 2014", "--name", "juniors").exit_code == 0
    # Unchanged, the version works everywhere (and is verified on the way, in this same process).
    fit = taskbench("fit", "--task", "ridge@1", "--input", JUNIORS, "--target", "Grade 2014")
    assert fit.exit_code == 0, fit.output
    assert taskbench("train", "juniors", bp).exit_code == 0
    assert taskbench("predict", "1", "--input", INFERENCE, "--output", tmp_path / "before.csv").exit_code == 0
    assert taskbench("deploy", "1", "--name", "served").exit_code == 0
    assert not marker.exists()

    snapshot = Path(ridge["path"])
    writable(snapshot)
    swap_byte(snapshot / "custom.py", b"0#__import__", b"0;__import__")

    package, out, predictions = tmp_path / "model.zip", tmp_path / "download", tmp_path / "after.csv"
    for args in (
        ("fit", "--task", "ridge@1", "--input", JUNIORS, "--target", "Grade 2014"),
        ("train", "juniors", bp),
        ("predict", "1", "--input", INFERENCE, "--output", predictions),
        ("export", "1", "--to", package),
        ("insights", "1", "--refresh"),
        ("deploy", "1", "--name", "again"),
        ("serve", "served", "--port", "0"),
        ("task", "show", "ridge@1"),
        ("task", "download", "ridge@1", "--to", out),
        ("task", "diff", "ridge@1", "ridge@1"),
        ("blueprint", "check", bp, "--project", "juniors"),
    ):
        result = taskbench(*args)
        if args[0] in ("blueprint", "train"):  # a blueprint's error at the node; a refusal, so exit 2
            assert result.exit_code == 2, result.output
            assert f"{bp}:1:9: error: task ridge@1 was changed after it was stored (custom.py changed)" in flat(result)
            continue
        refused(result, "custom.py changed")
    assert not marker.exists(), "the swapped code ran"
    assert not package.exists() and not out.exists() and not predictions.exists()
    board = json.loads(taskbench("leaderboard", "juniors", "--json").stdout)
    assert len(board) == 1  # the refused training made no model
    assert [d["name"] for d in json.loads(taskbench("deployments", "--json").stdout)] == ["served"]


def test_added_missing_and_cache_files_are_named_first_few_then_how_many_more(tmp_path, taskbench, ridge):
    snapshot = Path(ridge["path"])
    writable(snapshot)
    (snapshot / "model-metadata.yaml").unlink()
    (snapshot / "extra.py").write_text("print('hi')\n")
    refused(taskbench("task", "show", "ridge@1"), "extra.py added, model-metadata.yaml missing")

    # A planted compiled module would run instead of the recorded source, so caches count as added files.
    (snapshot / "__pycache__").mkdir()
    (snapshot / "__pycache__" / "custom.cpython-311.pyc").write_bytes(b"\0planted")
    for n in range(3):
        (snapshot / f"more{n}.txt").write_text("x")
    result = taskbench("task", "download", "ridge@1", "--to", tmp_path / "out")
    refused(result, "__pycache__/custom.cpython-311.pyc added, extra.py added, more0.txt added and 3 more")

    # A link where a recorded file was is a change, even when it points at the same bytes.
    shutil.rmtree(snapshot / "__pycache__")
    for name in ("extra.py", "more0.txt", "more1.txt", "more2.txt"):
        (snapshot / name).unlink()
    (snapshot / "model-metadata.yaml").write_bytes((SAMPLES / "11_regression_ridge" / "model-metadata.yaml").read_bytes())
    assert taskbench("task", "show", "ridge@1").exit_code == 0  # restored: accepted again
    real = tmp_path / "custom-copy.py"
    real.write_bytes((snapshot / "custom.py").read_bytes())
    (snapshot / "custom.py").unlink()
    (snapshot / "custom.py").symlink_to(real)
    refused(taskbench("task", "show", "ridge@1"), "(custom.py changed)")


def test_adding_the_same_folder_again_restores_a_changed_version(tmp_path, taskbench, ridge, marker):
    """Snapshots are content-addressed, so the sentence's advice must work: the same content replaces the changed copy."""
    snapshot = Path(ridge["path"])
    writable(snapshot)
    swap_byte(snapshot / "custom.py", b"0#__import__", b"0;__import__")
    (snapshot / "extra.py").write_text("x = 1\n")
    refused(taskbench("task", "show", "ridge@1"), "custom.py changed, extra.py added", "`taskbench task add DIR --name ridge` to restore it")
    again = taskbench("task", "add", tmp_path / "ridge-src", "--name", "ridge")
    assert again.exit_code == 0 and "ridge@1 already has this content" in flat(again), again.output
    assert sorted(os.listdir(snapshot)) == ["custom.py", "model-metadata.yaml"]
    assert not os.stat(snapshot / "custom.py").st_mode & stat.S_IWUSR  # read-only again
    assert taskbench("task", "download", "ridge@1", "--to", tmp_path / "out").exit_code == 0
    assert b"0#__import__" in (tmp_path / "out" / "custom.py").read_bytes()
    assert [p.name for p in snapshot.parent.iterdir()] == [snapshot.name]  # the changed copy is gone
    assert not marker.exists()


DOCKERFILE = "FROM python:3.11-slim\nRUN echo built\n"


def test_a_changed_environment_version_refuses_build_show_and_download(tmp_path, taskbench, home):
    folder = make_task(tmp_path, {"Dockerfile": DOCKERFILE, "requirements.txt": "joblib\n"}, "myenv")
    assert taskbench("env", "add", folder).exit_code == 0
    assert taskbench("env", "show", "myenv@1").exit_code == 0
    with open_store(home) as store:
        snapshot = store.environment_version("myenv", 1).path
    writable(snapshot)
    swap_byte(snapshot / "Dockerfile", b"echo built", b"echo BUILT")
    (snapshot / "requirements.txt").unlink()
    for args in (("env", "build", "myenv@1"), ("env", "show", "myenv@1"), ("env", "download", "myenv@1", "--to", tmp_path / "o")):
        refused(taskbench(*args), "Dockerfile changed, requirements.txt missing", kind="environment", ref="myenv@1")
    assert not (tmp_path / "o").exists()
    with open_store(home) as store:
        assert store.environment_version("myenv", 1).status == "unbuilt"  # no build was started


def test_a_version_is_hashed_once_per_process_until_one_of_its_files_changes(tmp_path, home, monkeypatch):
    hashed = []
    real = store_files.file_sha256
    monkeypatch.setattr(store_files, "file_sha256", lambda path: hashed.append(path.name) or real(path))
    folder = tmp_path / "pipeline"
    shutil.copytree(SAMPLES / "09_binary_text_pipeline", folder)
    with open_store(home) as store:
        version, _ = tasks.add_task(store, folder, name="textlr")
        hashed.clear()  # storing hashes the copy once
        for _ in range(20):
            assert tasks.get_task_version(store, "textlr@1") == version
        assert sorted(hashed) == sorted(f.path for f in version.files)  # each file once, not twenty times

        hashed.clear()
        helper = version.path / "create_pipeline.py"
        writable(version.path)
        os.utime(helper, ns=(0, 0))  # a changed stamp (same bytes) is hashed again, and accepted
        tasks.get_task_version(store, "textlr@1")
        assert sorted(hashed) == sorted(f.path for f in version.files)
        with pytest.raises(integrity.IntegrityError) as refusal:
            swap_byte(helper, b"max_iter", b"MAX_iter")
            tasks.get_task_version(store, "textlr@1")
        assert refusal.value.exit_code == 2
        assert "task textlr@1 was changed after it was stored (create_pipeline.py changed)" in refusal.value.message


def test_loading_a_stored_task_in_process_writes_no_cache_into_its_snapshot(tmp_path, home):
    """The prediction server imports task code in its own process; as root (which ignores the read-only bits) and
    without PYTHONDONTWRITEBYTECODE, Python would write __pycache__ into the snapshot and the next use would refuse."""
    with open_store(home) as store:
        version, _ = tasks.add_task(store, SAMPLES / "09_binary_text_pipeline", name="textlr")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    code = "import sys; from core.runtime.taskcode import load_task; load_task(sys.argv[1]); import create_pipeline"
    subprocess.run([sys.executable, "-c", code, str(version.path)], env=env, check=True, cwd=REPO)
    assert sorted(os.listdir(version.path)) == sorted(f.path for f in version.files)
    with open_store(home) as store:
        tasks.get_task_version(store, "textlr@1")


def test_unchanged_environment_versions_verify_and_the_builtin_one_too(home):
    with open_store(home) as store:
        version = envs.get_environment_version(store, envs.SKLEARN)
        integrity.verify(version)
        assert version.ref == f"{envs.SKLEARN}@1"


async def test_the_workbench_file_view_refuses_a_changed_version_and_shows_none_of_its_code(home):
    from textual.widgets import TextArea

    from tests.workbench.test_tui_tasks import RIDGE_FIT_LINE, open_task, pane, text_of
    from tui.app import TaskbenchApp

    with open_store(home) as store:
        version, _ = tasks.add_task(store, SAMPLES / "11_regression_ridge")
    writable(version.path)
    swap_byte(version.path / "custom.py", b"Ridge regression", b"ridge regression")
    app = TaskbenchApp(home)
    async with app.run_test(size=(120, 30)) as pilot:
        await open_task(app, pilot, "regression_ridge")
        shown = " ".join(text_of(app, "#tasks-header").split())  # core's sentence takes the version's place
        assert "task regression_ridge@1 was changed after it was stored (custom.py changed)" in shown
        assert RIDGE_FIT_LINE not in pane(app).query_one("#tasks-file", TextArea).text


async def test_the_environments_pane_says_why_a_changed_version_is_refused(home, tmp_path):
    """The Environments pane shows the integrity sentence for a changed version, and none of its Dockerfile."""
    from textual.widgets import Static

    from core.environments.versions import add_environment
    from tests.workbench.test_tui_environments import environments_pane
    from tests.workbench.tui_support import wait_for
    from tui.app import TaskbenchApp

    folder = tmp_path / "myenv"
    folder.mkdir()
    (folder / "Dockerfile").write_text("FROM python:3.11-slim\nRUN echo original\n")
    with open_store(home) as store:
        version, _ = add_environment(store, folder, name="myenv")
    writable(version.path)
    swap_byte(version.path / "Dockerfile", b"original", b"ORIGINAL")
    app = TaskbenchApp(home)
    async with app.run_test(size=(120, 30)) as pilot:
        pane, table = await environments_pane(pilot, more_than=2)
        while pane.selected_name() != "myenv" and table.cursor_row < table.row_count - 1:
            await pilot.press("j")
        assert pane.selected_name() == "myenv"
        header = pane.query_one("#env-header", Static)
        await wait_for(pilot, lambda: "changed after it was stored" in str(header.render()))
        assert "myenv@1" in str(header.render()) and "Dockerfile changed" in str(header.render())
        assert "ORIGINAL" not in str(pane.query_one("#env-detail", Static).render())
