"""R nodes inside blueprints: Python impute → R estimator and R transform → Python estimator train, predict, serve,
and an exported package with an R node scores in a fresh workspace (issue 14)."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
import requests

from tests.cli.test_serve import Server, trained
from tests.conftest import DATA, REPO

IRIS = DATA / "iris_binary_training.csv"
R_TEMPLATES = REPO / "tests" / "fixtures" / "drum_r_templates"
CLASSES = ["Iris-setosa", "Iris-versicolor"]


@pytest.fixture
def r_tasks(taskbench, need_r):
    for name in ("5_r_binary_classification", "2_r_transform_simple"):
        added = taskbench("task", "add", R_TEMPLATES / name)
        assert added.exit_code == 0, added.output


def _probabilities(text):
    frame = pd.read_csv(io.StringIO(text))
    assert list(frame.columns[:2]) == CLASSES, frame.columns
    assert ((frame[CLASSES].sum(axis=1) - 1).abs() < 1e-6).all()
    return frame


@pytest.mark.parametrize(
    "blueprint",
    [
        "num = impute_median(NUM)\nmodel = 5_r_binary_classification(num)\n",
        "num = 2_r_transform_simple(NUM)\nmodel = logistic_regression(num)\n",
    ],
    ids=["python-impute-then-R-estimator", "R-transform-then-python-estimator"],
)
def test_a_blueprint_with_an_r_node_trains_predicts_serves_and_exports(
    blueprint, r_tasks, taskbench, tmp_path, home, monkeypatch
):
    model = trained(taskbench, tmp_path, IRIS, "Species", "iris", blueprint)
    board = json.loads(taskbench("leaderboard", "iris", "--json").output)
    assert board[0]["validation"]["AUC"] > 0.9, board[0]

    out = tmp_path / "predictions.csv"
    predicted = taskbench("predict", model, "--input", IRIS, "--output", out)
    assert predicted.exit_code == 0, predicted.output
    batch = _probabilities(out.read_text())
    assert len(batch) == len(pd.read_csv(IRIS))
    truth = pd.read_csv(IRIS)["Species"]
    assert (batch["prediction"] == truth).mean() > 0.9

    assert taskbench("deploy", model, "--name", "riris").exit_code == 0
    server = Server(home, "riris")
    try:
        body = IRIS.read_bytes().split(b"\n")
        few = b"\n".join(body[:6]) + b"\n"
        answer = requests.post(f"{server.url}/predict/", data=few, headers={"Content-Type": "text/csv"}, timeout=60)
        assert answer.status_code == 200, answer.text
        served = pd.DataFrame(answer.json()["predictions"])
        assert list(served.columns) == CLASSES
        assert abs(served.iloc[:, 0].to_numpy() - batch[CLASSES[0]].to_numpy()[:5]).max() < 1e-9
    finally:
        server.stop()

    package = tmp_path / "model.zip"
    exported = taskbench("export", model, "--to", package)
    assert exported.exit_code == 0, exported.output
    assert any(name.endswith("/custom.R") for name in _members(package))
    environment = json.loads(_read(package, "environment.json"))
    assert "r" in environment["node_languages"].values() and environment["r"]["packages"]

    monkeypatch.setenv("TASKBENCH_HOME", str(tmp_path / "fresh"))
    fresh_out = tmp_path / "fresh.csv"
    fresh = taskbench("predict", "--package", package, "--input", IRIS, "--output", fresh_out)
    assert fresh.exit_code == 0, fresh.output
    assert fresh_out.read_text() == out.read_text()


def _read(package, suffix):
    import zipfile

    with zipfile.ZipFile(package) as z:
        return z.read(next(n for n in z.namelist() if n.endswith(suffix)))


def _members(package):
    import zipfile

    with zipfile.ZipFile(package) as z:
        return z.namelist()


def test_two_r_nodes_in_one_blueprint_keep_their_own_hooks_through_cv_and_insights(r_tasks, taskbench, tmp_path):
    # One R process serves every R node of a step; each node's hooks must stay its own (the transform's
    # `transform` is not lost when the estimator's custom.R is loaded after it).
    blueprint = "num = 2_r_transform_simple(NUM)\nmodel = 5_r_binary_classification(num)\n"
    assert taskbench("project", "create", IRIS, "--target", "Species", "--name", "iris2").exit_code == 0
    bp = tmp_path / "rr.bp"
    bp.write_text(blueprint)
    result = taskbench("train", "iris2", bp, "--cv")
    assert result.exit_code == 0, result.output
    model = json.loads(taskbench("leaderboard", "iris2", "--json").output)[0]
    assert model["cv"] and model["cv"]["AUC"] > 0.9, model

    insights = taskbench("insights", model["model"])
    assert insights.exit_code == 0, insights.output
    assert "Feature impact on validation" in insights.output
    assert "PetalLengthCm" in insights.output
