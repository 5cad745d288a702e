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
import pytest

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


def kill_all(commands, orphans: list[psutil.Process]) -> None:
    """End the test's commands still running, and the processes they left: the machine losing the rest of the trees."""
    for proc in commands:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for orphan in orphans:
        try:
            orphan.kill()
        except psutil.NoSuchProcess:
            pass


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
        kill_all([train], workers)


KILLABLE_TASK = {
    "custom.py": """
        import os
        import pickle
        import time
        from pathlib import Path

        import pandas as pd


        def _work(stage):
            # With TB_KILL_MARKER set the step says it started, then works (printing) long enough to be killed.
            marker = os.environ.get("TB_KILL_MARKER")
            if not marker:
                return
            Path(marker).write_text(stage)
            for i in range(600):
                print(f"{stage} working {i}", flush=True)
                time.sleep(0.2)


        def fit(X, y, output_dir, **kwargs):
            _work("fit")
            with open(Path(output_dir) / "artifact.pkl", "wb") as fh:
                pickle.dump(float(y.mean()), fh)


        def predict(X, model, **kwargs):
            _work("predict")
            return pd.DataFrame({"Predictions": [model] * len(X)}, index=X.index)
    """,
    "model-metadata.yaml": SLOW_TASK["model-metadata.yaml"].replace("sleepy", "killable"),
}
KILLABLE_BLUEPRINT = BLUEPRINT.replace("sleepy", "killable")
SLOW_DOCKERFILE = """\
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${{BASE_IMAGE}}
RUN echo {token} && for i in $(seq 1 600); do echo "build working $i"; sleep 0.2; done
"""


def test_kill_9_of_a_running_train_fit_env_build_and_predict_leaves_every_job_and_row_final_and_no_temporaries(
    home, tmp_path, taskbench
):
    """Issue 12's Done-when: each command is killed with SIGKILL while its job really works (running, its log
    growing); the next commands show every job and every row it produced in a final state, and no temporary folder
    of the dead processes is left, in the workspace or in TMPDIR."""
    import uuid

    from core.environments.docker_build import docker_status
    from core.store.records import FINAL_JOB_STATES
    from tests.conftest import leftovers

    task = make_task(tmp_path, KILLABLE_TASK, "killable")
    assert taskbench("task", "add", task).exit_code == 0
    assert taskbench("project", "create", JUNIORS, "--target", "Grade 2014", "--name", "juniors").exit_code == 0
    blueprint = tmp_path / "killable.bp"
    blueprint.write_text(KILLABLE_BLUEPRINT)
    trained = cli("train", "juniors", blueprint)  # quick without the marker: the model predict will use
    assert trained.returncode == 0, trained.stderr
    (first,) = json.loads(cli("leaderboard", "juniors", "--json").stdout)
    docker, why_not = docker_status()
    if docker:
        env_dir = tmp_path / "slowenv"
        env_dir.mkdir()
        (env_dir / "Dockerfile").write_text(SLOW_DOCKERFILE.format(token=uuid.uuid4().hex))  # never a cached layer
        assert taskbench("env", "add", env_dir).exit_code == 0

    commands = {
        "train": ["train", "juniors", blueprint],
        "fit": ["fit", "--code-dir", task, "--input", JUNIORS, "--target-type", "regression", "--target", "Grade 2014"],
        "predict": ["predict", first["model"], "--input", JUNIORS, "--output", tmp_path / "predictions.csv"],
    }
    if docker:
        commands["env-build"] = ["env", "build", "slowenv"]
    procs: dict[str, subprocess.Popen] = {}
    trees: list[psutil.Process] = []
    try:
        for kind, args in commands.items():
            env = dict(os.environ, TB_KILL_MARKER=str(tmp_path / f"{kind}.started"))
            procs[kind] = subprocess.Popen([sys.executable, "-m", "tui.cli", *map(str, args)], cwd=REPO, env=env,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def working_job(kind: str):
            """The command's job once it runs and its log grows while the task (or the image build) works."""
            with open_store(home) as store:
                job = next((j for j in store.list_jobs(limit=None) if j.kind == kind and j.pid == procs[kind].pid), None)
            if job is None or job.state != "running":
                return None
            if kind != "env-build" and not (tmp_path / f"{kind}.started").exists():
                return None
            if kind == "env-build" and "build working" not in job.log_path.read_text(errors="replace"):
                return None
            size = job.log_path.stat().st_size
            time.sleep(0.5)
            return job if job.log_path.stat().st_size > size else None

        jobs = {kind: wait_for(lambda kind=kind: working_job(kind), timeout=180, what=f"{kind} to be working")
                for kind in commands}
        assert temporaries(home) or list((home / "tmp").iterdir()), "the jobs work under temporary names"
        for kind, proc in procs.items():
            trees += psutil.Process(proc.pid).children(recursive=True)
            proc.send_signal(signal.SIGKILL)  # the command alone: what it started is orphaned
            proc.wait(timeout=30)

        listed = {j["id"]: j for j in json.loads(cli("jobs", "--json").stdout)}
        assert all(j["state"] in FINAL_JOB_STATES for j in listed.values()), listed
        for kind, job in jobs.items():
            assert (listed[job.id]["state"], listed[job.id]["message"]) == ("interrupted", INTERRUPTED_MESSAGE), kind
        board = {m["model"]: m for m in json.loads(cli("leaderboard", "juniors", "--json").stdout)}
        assert board[first["model"]]["state"] == "trained"
        (killed,) = [m for m in board.values() if m["model"] != first["model"]]
        assert (killed["state"], killed["message"]) == ("failed", INTERRUPTED_MESSAGE)
        assert not (home / "models" / str(killed["model"])).exists()
        if docker:
            shown = cli("env", "show", "slowenv", "--json")
            assert shown.returncode == 0, shown.stderr
            assert json.loads(shown.stdout)["status"] == "failed"
        assert temporaries(home) == [], "the dead commands' temporary names are swept by the next command"
        assert leftovers(home) == [], "no scratch folder of a dead command, in the workspace or in TMPDIR"
    finally:
        kill_all(procs.values(), trees)
    if not docker:
        pytest.skip(f"train, fit and predict passed; the env build case needs a Docker engine: {why_not}")


def test_an_image_build_copy_in_the_system_temp_folder_is_swept_once_its_builder_is_dead(tmp_path, monkeypatch):
    """`fit --docker DIR` and requirements images copy their build context to the system temp folder (no job
    scratch): a builder killed there leaves taskbench-build-PID-…, which the next workspace open removes."""
    import tempfile

    from core import workspace

    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = system_tmp / f"taskbench-build-{dead.pid}-abc123" / "context"
    left.mkdir(parents=True)
    (left / "Dockerfile").write_text("FROM scratch\n")
    req_left = system_tmp / f"taskbench-req-{dead.pid}-def456"
    req_left.mkdir()
    mine = Path(tempfile.mkdtemp(prefix=workspace.system_temp_prefix("build")))  # this (live) process's build
    other = system_tmp / f"unrelated-{dead.pid}-x"
    other.mkdir()
    with open_store(tmp_path / "ws"):
        pass
    assert not left.parent.exists() and not req_left.exists()
    assert mine.exists() and other.exists()


@pytest.mark.parametrize("jobs", [2, 1])
def test_ctrl_c_of_a_train_cancels_its_jobs_and_says_which_models_and_blueprints(jobs, home, tmp_path, taskbench):
    """A real SIGINT to `taskbench train ... -j 2` (Ctrl-C in a terminal): the process itself ends its jobs
    `cancelled` (not left for the next command to mark interrupted), the models in training fail with 'cancelled',
    and it prints which models were cancelled and which blueprints never started, then exits 130."""
    assert taskbench("task", "add", make_task(tmp_path, SLOW_TASK, "sleepy")).exit_code == 0
    assert taskbench("project", "create", JUNIORS, "--target", "Grade 2014", "--name", "juniors").exit_code == 0
    files = []
    for name in ("bp-a", "bp-b", "bp-c"):
        path = tmp_path / f"{name}.bp"
        path.write_text(BLUEPRINT.replace("# blueprint: sleepy", f"# blueprint: {name}"))
        files.append(str(path))
    train = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "train", "juniors", *files, "-j", str(jobs)],
        cwd=REPO, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    workers: list[psutil.Process] = []
    try:
        wait_for(lambda: len(list((home / "models").glob(".tmp-*/**/fitting"))) == jobs, what="the fits to start")
        workers = psutil.Process(train.pid).children(recursive=True)
        train.send_signal(signal.SIGINT)
        out, _ = train.communicate(timeout=60)
        assert train.returncode == 130, out
        with open_store(home) as store:
            rows = store._rows("SELECT id, state FROM jobs WHERE kind = 'train'")
            models = store._rows("SELECT id, blueprint, state, message FROM models ORDER BY id")
        assert [j["state"] for j in rows] == ["cancelled"] * jobs, out
        assert [(m["state"], m["message"]) for m in models] == [("failed", "cancelled")] * jobs, out
        cancelled = ", ".join(f"model {m['id']} ({m['blueprint']})" for m in models)
        assert f"Cancelled {cancelled}." in out, out
        assert f"never started: {'bp-c' if jobs == 2 else 'bp-b, bp-c'}." in out, out
        assert "Traceback" not in out
        assert temporaries(home) == []
    finally:
        kill_all([train], workers)
