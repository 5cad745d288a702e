"""A full disk (issue 10), on a real small file system: a tmpfs of a few MB holding the workspace.

Every command says one sentence (the disk, its free space, what was kept) and exits 1, with no traceback on the
screen; a training that meets the full disk ends its job and model `failed` with that reason, recorded by the
engine itself (not found `interrupted` later), and leaves no temporary folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from core.store import open_store
from tests.conftest import DATA, REPO, make_task

JUNIORS = DATA / "juniors_3_year_stats_regression.csv"
DISK_MB = 24
FULL = "is full ("


@pytest.fixture
def mounted(tmp_path):
    """A tmpfs of DISK_MB megabytes (skipped where this process may not mount one)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root; the simulated ENOSPC tests in tests/unit/test_store.py run")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


@pytest.fixture
def small_disk(mounted, monkeypatch):
    """The workspace on the small disk."""
    home = mounted / "workspace"
    monkeypatch.setenv("TASKBENCH_HOME", str(home))
    return home


def cli(*args, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *map(str, args)],
        cwd=REPO, env=dict(os.environ), capture_output=True, text=True, timeout=timeout,
    )


def fill(disk: Path, leave: int = 0) -> Path:
    """Fill the file system holding `disk` but for `leave` bytes, with a file outside the workspace."""
    filler = disk.parent / f"filler-{uuid.uuid4().hex[:6]}"
    free = shutil.disk_usage(disk.parent).free - leave
    with open(filler, "wb") as fh:
        try:
            while free > 0:
                fh.write(b"\0" * min(free, 1 << 20))
                free -= 1 << 20
        except OSError:
            pass
    return filler


def one_sentence(done: subprocess.CompletedProcess, home: Path) -> str:
    """The command failed with exit 1 and said, in one line and without a traceback, that the disk is full."""
    text = done.stdout + done.stderr
    assert done.returncode == 1, text
    assert "Traceback" not in text and "OSError" not in text and "disk I/O error" not in text, text
    (line,) = [" ".join(l.split()) for l in done.stderr.splitlines() if l.strip()] or [""]
    assert line.startswith(f"error: the disk holding the workspace {home} {FULL}"), text
    assert "free some space and run the command again." in line
    return line


def temporaries(home: Path) -> list[str]:
    from core.store.files import TEMP_LOCATIONS

    found = []
    for rel, pattern in TEMP_LOCATIONS:
        folders = [p for p in (home / rel[:-2]).glob("*") if p.is_dir()] if rel.endswith("/*") else [home / rel]
        found += [str(p) for f in folders if f.is_dir() for p in f.iterdir() if pattern.match(p.name)]
    return found


FILLING_TASK = {
    "custom.py": """
        import os
        import pickle
        from pathlib import Path

        import pandas as pd


        def fit(X, y, output_dir, **kwargs):
            with open(Path(output_dir) / "artifact.pkl", "wb") as fh:
                pickle.dump(float(y.mean()), fh)
            # FILL names a file: fill the disk there and carry on, as when another program fills it; else fill the
            # model's own folder, and the write fails in the task.
            target = os.environ.get("FILL") or str(Path(output_dir) / "huge.bin")
            with open(target, "wb") as fh:
                try:
                    while True:
                        fh.write(b"\\0" * (1 << 20))
                except OSError:
                    if not os.environ.get("FILL"):
                        raise


        def predict(X, model, **kwargs):
            return pd.DataFrame({"Predictions": [model] * len(X)}, index=X.index)
    """,
    "model-metadata.yaml": """
        name: filler
        type: training
        targetType: regression
    """,
}


@pytest.fixture
def project(small_disk, tmp_path):
    task = make_task(tmp_path, FILLING_TASK, "filler")
    assert cli("task", "add", task).returncode == 0
    done = cli("project", "create", JUNIORS, "--target", "Grade 2014", "--name", "juniors")
    assert done.returncode == 0, done.stderr
    blueprint = tmp_path / "filler.bp"
    blueprint.write_text("# blueprint: filler  target: regression\nnum = impute_median(NUM)\nmodel = filler(num)\n")
    return blueprint


def check_training_ended_on_a_full_disk(done, home: Path) -> None:
    text = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 1, text
    assert "Traceback" not in text and "UNIQUE" not in text, text
    assert f"FAIL filler: the disk holding the workspace {home} {FULL}" in text
    assert "model 1 was not saved and its partial files were removed, models trained before are kept" in text
    board = cli("leaderboard", "juniors", "--json")
    assert board.returncode == 0, board.stderr
    (model,) = json.loads(board.stdout)
    assert model["state"] == "failed" and model["message"].startswith(f"the disk holding the workspace {home} {FULL}")
    (job,) = [j for j in json.loads(cli("jobs", "--json").stdout) if j["kind"] == "train"]
    assert job["state"] == "failed", "the engine lived: it records the failure itself, not the next open"
    assert job["message"] == model["message"]
    assert temporaries(home) == []
    assert not (home / "models" / "1").exists()


def test_a_task_that_fills_the_disk_fails_its_model_with_the_disk_full_sentence(project, small_disk):
    done = cli("train", "juniors", project)
    check_training_ended_on_a_full_disk(done, small_disk)


def test_a_disk_filled_by_another_program_during_training_still_ends_the_model_failed(project, small_disk, monkeypatch):
    """The task fills the disk with a file outside the workspace and returns: freeing the model's own folder gives
    back almost nothing, so recording the ending relies on the workspace's reserved space."""
    filler = small_disk.parent / "someone-elses-file"
    monkeypatch.setenv("FILL", str(filler))
    done = cli("train", "juniors", project)
    assert filler.stat().st_size > 10 << 20 and shutil.disk_usage(small_disk).free < 2 << 20
    filler.unlink()
    check_training_ended_on_a_full_disk(done, small_disk)


def test_every_command_on_a_full_disk_says_so_in_one_sentence(project, small_disk, tmp_path):
    filler = fill(small_disk)
    try:
        sentences = [
            one_sentence(cli("task", "add", tmp_path / "filler", "--name", "another"), small_disk),
            one_sentence(cli("jobs"), small_disk),
            one_sentence(cli("leaderboard", "juniors", "--json"), small_disk),
            one_sentence(cli("project", "create", JUNIORS, "--target", "Grade 2014", "--name", "again"), small_disk),
            one_sentence(cli("train", "juniors", project), small_disk),
        ]
        assert all("nothing was half-written and what was saved before is kept" in s for s in sentences)
        fit = cli("fit", "--code-dir", tmp_path / "filler", "--input", JUNIORS, "--target-type", "regression",
                  "--target", "Grade 2014")
        text = " ".join((fit.stdout + fit.stderr).split())
        assert fit.returncode == 1 and "Traceback" not in text and "OSError" not in text, text
        assert f"FAIL the disk holding the workspace {small_disk} {FULL}" in text
    finally:
        filler.unlink()
    assert cli("task", "list").returncode == 0
    with open_store(small_disk) as store:
        assert [v.ref for v in store.task_versions("another")] == []
        assert store.integrity_check() == "ok"
    assert temporaries(small_disk) == []


def test_task_add_on_a_nearly_full_disk_stores_nothing_and_says_so(small_disk, tmp_path):
    assert cli("jobs").returncode == 0  # the workspace exists, with room to open it
    task = make_task(tmp_path, FILLING_TASK, "big")
    (task / "weights.bin").write_bytes(os.urandom(2 << 20))
    filler = fill(small_disk, leave=600 << 10)
    try:
        one_sentence(cli("task", "add", task), small_disk)
    finally:
        filler.unlink()
    assert [p.name for p in (small_disk / "objects" / "tasks").iterdir()] == []
    logged = (small_disk / "logs" / "cli.log").read_text()  # the traceback went to the workspace's log
    assert "Traceback" in logged and "No space left on device" in logged
    listed = cli("task", "list", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == []


def test_a_fit_check_whose_task_fills_the_disk_says_so_and_ends_its_job_failed(small_disk, tmp_path):
    task = make_task(tmp_path, FILLING_TASK, "filler")
    fit = cli("fit", "--code-dir", task, "--input", JUNIORS, "--target-type", "regression", "--target", "Grade 2014")
    text = " ".join((fit.stdout + fit.stderr).split())
    assert fit.returncode == 1 and "Traceback" not in text, text
    assert f"FAIL the disk holding the workspace {small_disk} {FULL}" in text
    assert "the check stopped and removed what it wrote, and earlier work is kept" in text
    (job,) = json.loads(cli("jobs", "--json").stdout)
    assert job["kind"] == "fit" and job["state"] == "failed" and FULL in job["message"]
    assert temporaries(small_disk) == [] and list((small_disk / "tmp").iterdir()) == []


def test_predict_to_a_full_disk_elsewhere_does_not_blame_the_workspace(home, mounted, tmp_path):
    assert cli("project", "create", JUNIORS, "--target", "Grade 2014", "--name", "juniors").returncode == 0
    blueprint = tmp_path / "ridge.bp"
    blueprint.write_text("num = impute_median(NUM)\nmodel = ridge(num)\n")
    assert cli("train", "juniors", blueprint).returncode == 0
    filler = fill(mounted / "workspace")
    done = cli("predict", "1", "--input", JUNIORS, "--output", mounted / "predictions.csv")
    text = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 1 and "Traceback" not in text, text
    assert "a disk this command wrote to is full (not the workspace's, which has " in text
    filler.unlink()
    assert [p.name for p in mounted.iterdir()] == []
