"""`taskbench train --cluster`: jobs run on the workers of a real Dask cluster (separate processes) and come back."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.conftest import DATA, make_task

distributed = pytest.importorskip("distributed")

JUNIORS = DATA / "juniors_3_year_stats_regression.csv"
INFERENCE = DATA / "juniors_3_year_stats_regression_inference.csv"

RIDGE = "num = impute_median(NUM)\nscaled = standardize(num)\nmodel = ridge(scaled, alpha=2.0)\n"
FOREST = "num = impute_median(NUM)\nmodel = random_forest_regressor(num, n_estimators=20)\n"

CHATTY = '''
import pickle
import pandas as pd


def fit(X, y, output_dir, **kwargs):
    print(f"chatty fit on {len(X)} rows", flush=True)
    pickle.dump(float(y.mean()), open(f"{output_dir}/mean.pkl", "wb"))


def score(data, model, **kwargs):
    return pd.DataFrame({"Predictions": [model] * len(data)})
'''

BROKEN = '''
def fit(X, y, output_dir, **kwargs):
    raise ValueError("this task refuses to fit")
'''


@pytest.fixture(scope="module")
def cluster():
    """A local Dask cluster: a scheduler and two worker processes, as `dask scheduler` / `dask worker` would run."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as found:
        yield found.scheduler_address


def flat(result):
    return " ".join(result.output.split())


def board(taskbench, project):
    return {row["blueprint"]: row for row in json.loads(taskbench("leaderboard", project, "--json").output)}


def test_jobs_train_on_the_cluster_with_live_logs_and_the_models_land_here(cluster, taskbench, tmp_path, home):
    assert taskbench("project", "create", JUNIORS, "--target", "Grade 2014", "--name", "jr").exit_code == 0
    chatty = make_task(tmp_path, {"custom.py": CHATTY, "model-metadata.yaml": "name: chatty\ntype: training\ntargetType: regression\n"})
    assert taskbench("task", "add", chatty).exit_code == 0
    files = []
    for name, text in (("ridge", RIDGE), ("forest", FOREST), ("chatty", "model = chatty(NUM)\n")):
        files.append(tmp_path / f"{name}.bp")
        files[-1].write_text(text)
    remote = taskbench("train", "jr", *files, "--cluster", cluster, "--jobs", "2")
    assert remote.exit_code == 0, remote.output
    on_cluster = board(taskbench, "jr")
    assert {row["state"] for row in on_cluster.values()} == {"trained"}

    jobs = json.loads(taskbench("jobs", "--json").output)
    logs = {job["subject"]["blueprint"]: open(job["log_path"]).read() for job in jobs if job["kind"] == "train"}
    assert "goes to the Dask cluster at" in logs["chatty"] and "cluster worker" in logs["chatty"]
    assert "chatty fit on" in logs["chatty"]  # the task's own output came back

    # The same blueprints trained here give the same scores: the cluster ran the same work.
    local = tmp_path / "local-ridge.bp"
    local.write_text(RIDGE)
    assert taskbench("train", "jr", local).exit_code == 0
    assert board(taskbench, "jr")["local-ridge"]["validation"] == pytest.approx(on_cluster["ridge"]["validation"], rel=1e-9)

    # The artifacts are in this workspace: the cluster-trained model predicts here.
    model = on_cluster["forest"]["model"]
    predicted = taskbench("predict", model, "--input", INFERENCE, "--output", tmp_path / "p.csv")
    assert predicted.exit_code == 0, predicted.output
    assert len(pd.read_csv(tmp_path / "p.csv")) == len(pd.read_csv(INFERENCE))


def test_cross_validation_on_the_cluster_matches_local(cluster, taskbench, tmp_path):
    assert taskbench("project", "create", JUNIORS, "--target", "Grade 2014", "--name", "jr").exit_code == 0
    (tmp_path / "here.bp").write_text(RIDGE)
    (tmp_path / "there.bp").write_text(RIDGE)
    assert taskbench("train", "jr", tmp_path / "here.bp", "--cv").exit_code == 0
    remote = taskbench("train", "jr", tmp_path / "there.bp", "--cv", "--cluster", cluster)
    assert remote.exit_code == 0, remote.output
    rows = board(taskbench, "jr")
    assert rows["there"]["cv"] == pytest.approx(rows["here"]["cv"], rel=1e-9) and set(rows["there"]["cv"]) == {"RMSE", "MAE", "R2"}


def test_a_failing_task_fails_its_model_and_a_bad_address_is_one_sentence(cluster, taskbench, tmp_path):
    assert taskbench("project", "create", JUNIORS, "--target", "Grade 2014", "--name", "jr").exit_code == 0
    broken = make_task(tmp_path, {"custom.py": BROKEN, "model-metadata.yaml": "name: broken\ntype: training\ntargetType: regression\n"})
    assert taskbench("task", "add", broken).exit_code == 0
    (tmp_path / "broken.bp").write_text("model = broken(NUM)\n")
    failed = taskbench("train", "jr", tmp_path / "broken.bp", "--cluster", cluster)
    assert failed.exit_code == 1
    assert "FAIL broken: node model (broken@1): fit raised ValueError: this task refuses to fit" in flat(failed)
    assert board(taskbench, "jr")["broken"]["state"] == "failed"
    job = next(j for j in json.loads(taskbench("jobs", "--json").output) if j["kind"] == "train")
    log = open(job["log_path"]).read()
    assert "node model (broken@1) failed; the task's traceback:" in log and 'raise ValueError("this task' in log

    unreachable = taskbench("train", "jr", tmp_path / "broken.bp", "--cluster", "tcp://127.0.0.1:9")
    assert unreachable.exit_code == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in flat(unreachable)
