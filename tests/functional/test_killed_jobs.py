"""A `taskbench train` killed with SIGKILL (issue 10): the next command ends every row the dead engine owned and
sweeps its temporary folders, and using the model says plainly that it failed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from core.store import INTERRUPTED_MESSAGE, open_store
from core.store.files import TEMP_LOCATIONS
from tests.conftest import DATA, REPO, make_task

JUNIORS = DATA / "juniors_3_year_stats_regression.csv"

SLOW_TASK = {
    "custom.py": """
        import pickle
        import time
        from pathlib import Path

        import pandas as pd


        def fit(X, y, output_dir, **kwargs):
            (Path(output_dir) / "fitting").write_text("started")
            time.sleep(120)
            with open(Path(output_dir) / "artifact.pkl", "wb") as fh:
                pickle.dump(float(y.mean()), fh)


        def predict(X, model, **kwargs):
            return pd.DataFrame({"Predictions": [model] * len(X)}, index=X.index)
    """,
    "model-metadata.yaml": """
        name: sleepy
        type: training
        targetType: regression
    """,
}
BLUEPRINT = "# blueprint: sleepy  target: regression\nnum = impute_median(NUM)\nmodel = sleepy(num)\n"


def cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """The real `taskbench` command in a new process."""
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *map(str, args)],
        cwd=REPO, env=dict(os.environ), capture_output=True, text=True, timeout=120, **kwargs,
    )


def wait_for(condition, timeout: float = 60.0, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def temporaries(home: Path) -> list[str]:
    """Every entry of the workspace that carries a temporary name of TEMP_LOCATIONS."""
    found = []
    for rel, pattern in TEMP_LOCATIONS:
        folders = [p for p in (home / rel[:-2]).glob("*") if p.is_dir()] if rel.endswith("/*") else [home / rel]
        for folder in folders:
            if folder.is_dir():
                found += [str(p) for p in folder.iterdir() if pattern.match(p.name)]
    return found


def test_a_train_killed_with_sigkill_leaves_a_failed_model_and_no_temporary_folder(home, tmp_path, taskbench):
    assert taskbench("task", "add", make_task(tmp_path, SLOW_TASK, "sleepy")).exit_code == 0
    assert taskbench("project", "create", JUNIORS, "--target", "Grade 2014", "--name", "juniors").exit_code == 0
    blueprint = tmp_path / "sleepy.bp"
    blueprint.write_text(BLUEPRINT)

    train = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "train", "juniors", str(blueprint)],
        cwd=REPO, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    workers: list[psutil.Process] = []
    try:
        # The model row says training and the task is inside its fit, writing in the model's temporary folder.
        wait_for(lambda: list((home / "models").glob(".tmp-*/**/fitting")), what="the task's fit to start")
        with open_store(home) as store:
            (row,) = store._rows("SELECT id, state, job_id FROM models")
            assert row["state"] == "training"
        workers = psutil.Process(train.pid).children(recursive=True)
        assert workers, "the engine runs the task in a worker process"
        assert temporaries(home), "a training writes under temporary names"
        train.send_signal(signal.SIGKILL)  # the CLI alone: its worker lives on, orphaned
        train.wait(timeout=30)

        board = cli("leaderboard", "juniors", "--json")
        assert board.returncode == 0, board.stderr
        (model,) = json.loads(board.stdout)
        assert model["state"] == "failed"
        assert model["message"] == INTERRUPTED_MESSAGE
        listed = cli("jobs", "--json")
        (job,) = [j for j in json.loads(listed.stdout) if j["kind"] == "train"]
        assert job["id"] == row["job_id"] and job["state"] == "interrupted" and job["message"] == INTERRUPTED_MESSAGE
        assert temporaries(home) == [], "the dead engine's temporary folders are swept on the next open"
        assert not (home / "models" / str(model["model"])).exists()

        # Using the model says it failed and why, as one sentence (exit 2).
        for args in (
            ("deploy", model["model"]),
            ("export", model["model"], "--to", tmp_path / "model.zip"),
            ("predict", model["model"], "--input", JUNIORS, "--output", tmp_path / "predictions.csv"),
        ):
            used = cli(*args)
            assert used.returncode == 2, (args, used.stderr)
            assert f"model {model['model']} failed" in used.stderr and INTERRUPTED_MESSAGE in used.stderr, used.stderr
            assert "Traceback" not in used.stderr
        assert not (tmp_path / "model.zip").exists() and not (tmp_path / "predictions.csv").exists()
    finally:
        if train.poll() is None:
            train.kill()
            train.wait()
        for worker in workers:  # the machine losing the rest of the process tree
            try:
                worker.kill()
            except psutil.NoSuchProcess:
                pass
