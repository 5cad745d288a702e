"""Scoring a model whose blueprint crosses environments: batch predict, the server, packages, holdout and insights.

Model 1 runs `impute_median` locally and then `regression_ridge` (sample task
11, added with `--env python-sklearn`) in a container; model 2 is its all-local
twin (the same task folder added without an environment). Every test also
checks that no container mounting this module's workspace is left behind.
These tests skip where no Docker engine answers and fail under
TASKBENCH_REQUIRE_DOCKER=1.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests
from typer.testing import CliRunner

from tests.conftest import DATA, SAMPLES
from tests.cli.test_serve import Server

JUNIORS = DATA / "juniors_3_year_stats_regression.csv"
INFERENCE = DATA / "juniors_3_year_stats_regression_inference.csv"
MIXED, LOCAL, CUSTOM = 1, 2, 3
ACROSS_ENVIRONMENTS = 1e-6  # the image's scikit-learn may differ from the local one


def flat(result):
    return " ".join(result.output.split())


@dataclass
class Bench:
    """One workspace shared by the module's tests, and the way to run `taskbench` in it."""

    root: Path
    home: Path

    def __call__(self, *args):
        from tui.cli.main import _expand_multi_value_flags, app

        return CliRunner().invoke(app, _expand_multi_value_flags([str(a) for a in args]), catch_exceptions=False)

    def validation(self, model: int):
        """The project's validation features and the predictions training saved for them."""
        plan = json.loads((self.home / "models" / str(model) / "plan.json").read_text())
        frame = pd.read_parquet(plan["data"]["path"])
        parts = np.load(plan["data"]["partition_path"])
        rows = frame.iloc[np.flatnonzero(parts == 0)].drop(columns=[plan["data"]["target"]]).reset_index(drop=True)
        return rows, pd.read_pickle(self.home / "models" / str(model) / "predictions" / "validation.pkl")

    def predict(self, model, rows: pd.DataFrame, name: str, *extra) -> pd.DataFrame:
        rows.to_csv(self.root / f"{name}-in.csv", index=False)
        result = self("predict", model, "--input", self.root / f"{name}-in.csv", "--output", self.root / f"{name}.csv", *extra)
        assert result.exit_code == 0, result.output
        return pd.read_csv(self.root / f"{name}.csv")


def our_containers(home: Path) -> list[str]:
    """Containers (running or not) that mount a folder of the workspace `home`: the ones these tests made."""
    import docker

    client = docker.from_env()
    try:
        return [c.name for c in client.containers.list(all=True)
                if any(str(m.get("Source", "")).startswith(str(home)) for m in c.attrs.get("Mounts") or [])]
    finally:
        client.close()


def train(bench: Bench, name: str, text: str) -> int:
    bp = bench.root / f"{name}.bp"
    bp.write_text(text)
    result = bench("train", "jr", bp)
    assert result.exit_code == 0, result.output
    board = json.loads(bench("leaderboard", "jr", "--json").output)
    return next(r["model"] for r in board if r["blueprint"] == name)


@pytest.fixture(scope="module")
def bench(tmp_path_factory, python_sklearn_image):
    root = tmp_path_factory.mktemp("score-docker")
    (root / "tmpdir").mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TASKBENCH_HOME", str(root / "workspace"))
        mp.setenv("TMPDIR", str(root / "tmpdir"))
        mp.setenv("COLUMNS", "200")
        b = Bench(root, root / "workspace")
        assert b("task", "add", SAMPLES / "11_regression_ridge", "--env", "python-sklearn").exit_code == 0
        assert b("task", "add", SAMPLES / "11_regression_ridge", "--name", "ridge_here").exit_code == 0
        env_dir = root / "sk-custom"
        env_dir.mkdir()
        (env_dir / "Dockerfile").write_text(f"FROM {python_sklearn_image}\n")
        assert b("env", "add", env_dir, "--name", "sk-custom").exit_code == 0
        assert b("task", "add", SAMPLES / "11_regression_ridge", "--name", "ridge_custom", "--env", "sk-custom").exit_code == 0
        created = b("project", "create", JUNIORS, "--target", "Grade 2014", "--name", "jr")
        assert created.exit_code == 0, created.output
        assert train(b, "mixed", "num = impute_median(NUM)\nmodel = regression_ridge(num)\n") == MIXED
        assert train(b, "local", "num = impute_median(NUM)\nmodel = ridge_here(num)\n") == LOCAL
        assert train(b, "custom", "num = impute_median(NUM)\nmodel = ridge_custom(num)\n") == CUSTOM
        log = (b.home / "logs" / "job-1.log").read_text()
        assert "segment 2/2 in python-sklearn@1: model" in log
        yield b


@pytest.fixture(autouse=True)
def nothing_left_behind(bench):
    yield
    deadline = time.time() + 10  # a container Docker is still removing
    while our_containers(bench.home) and time.time() < deadline:
        time.sleep(0.2)
    assert our_containers(bench.home) == []
    scratch = bench.home / "tmp"
    assert not scratch.exists() or list(scratch.iterdir()) == []


def test_predict_scores_the_docker_node_in_a_container_like_training(bench):
    rows, saved = bench.validation(MIXED)
    mixed = bench.predict(MIXED, rows, "mixed", "--chunk-size", "50")
    assert list(mixed.columns) == ["Predictions"] and len(mixed) == len(rows)
    np.testing.assert_allclose(mixed["Predictions"], saved["Predictions"], rtol=1e-12)
    local = bench.predict(LOCAL, rows, "local")
    np.testing.assert_allclose(mixed["Predictions"], local["Predictions"], rtol=ACROSS_ENVIRONMENTS)
    again = bench.predict(MIXED, rows, "again", "--chunk-size", "50")  # chunks of another size may round differently
    assert again["Predictions"].tolist() == mixed["Predictions"].tolist()
    inference = bench("predict", MIXED, "--input", INFERENCE, "--output", bench.root / "inference.csv")
    assert inference.exit_code == 0, inference.output
    assert len(pd.read_csv(bench.root / "inference.csv")) == len(pd.read_csv(INFERENCE))
    log = max((bench.home / "logs").glob("job-*.log"), key=lambda p: int(p.stem[4:])).read_text()  # the predict job's
    assert "environment image taskbench-env-python-sklearn:" in log


def test_interrupted_predict_removes_its_container(bench):
    from core.deploy.batch import predict_file
    from core.deploy.source import model_source
    from core.store import open_store

    rows, _ = bench.validation(MIXED)
    rows.to_csv(bench.root / "interrupt.csv", index=False)
    calls = []

    def interrupt(done_rows, done, total):
        calls.append(done_rows)
        assert our_containers(bench.home), "the Docker node should be scoring in a container"
        raise KeyboardInterrupt

    store = open_store(bench.home)
    try:
        with pytest.raises(KeyboardInterrupt):
            predict_file(store.root, model_source(store, MIXED), bench.root / "interrupt.csv", bench.root / "never.csv",
                         chunk_size=20, on_progress=interrupt)
    finally:
        store.close()
    assert calls == [20]
    assert not (bench.root / "never.csv").exists()


def test_serve_answers_with_the_docker_node_in_a_container(bench):
    rows, saved = bench.validation(MIXED)
    assert bench("deploy", MIXED, "--name", "mixed").exit_code == 0
    server = Server(bench.home, "mixed")
    try:
        frame = rows.iloc[:5]
        csv = requests.post(f"{server.url}/predict/", data=frame.to_csv(index=False), headers={"Content-Type": "text/csv"})
        assert csv.status_code == 200, csv.text
        assert csv.json()["predictions"] == pytest.approx(saved["Predictions"].iloc[:5].tolist(), rel=1e-12)
        records = requests.post(f"{server.url}/predict/", json=rows.to_dict(orient="records"))
        assert records.status_code == 200, records.text
        assert records.json()["predictions"] == pytest.approx(saved["Predictions"].tolist(), rel=1e-12)
        missing = requests.post(f"{server.url}/predict/", data=frame.drop(columns=["AVG_fr"]).to_csv(index=False))
        assert missing.status_code == 422 and "AVG_fr" in missing.json()["message"]
        assert len(our_containers(bench.home)) == 1, "one container for the python-sklearn node, loaded once"
    finally:
        server.stop()
    assert our_containers(bench.home) == [], "shutting the server down removes its container"


def test_package_scores_in_its_environment_or_names_the_one_to_add(bench, monkeypatch):
    rows, saved = bench.validation(CUSTOM)
    rows.to_csv(bench.root / "package-in.csv", index=False)
    exported = bench("export", CUSTOM, "--to", bench.root / "custom.zip")
    assert exported.exit_code == 0, exported.output
    here = bench("predict", "--package", bench.root / "custom.zip", "--input", bench.root / "package-in.csv",
                 "--output", bench.root / "package.csv")
    assert here.exit_code == 0, here.output
    np.testing.assert_allclose(pd.read_csv(bench.root / "package.csv")["Predictions"], saved["Predictions"], rtol=1e-12)

    elsewhere = bench.root / "elsewhere"
    monkeypatch.setenv("TASKBENCH_HOME", str(elsewhere))
    lacking = bench("predict", "--package", bench.root / "custom.zip", "--input", bench.root / "package-in.csv",
                    "--output", bench.root / "elsewhere.csv")
    assert lacking.exit_code == 2, lacking.output
    assert ("the model's node 'model' runs in environment sk-custom@1, which this workspace lacks; "
            "add its folder with `taskbench env add FOLDER --name sk-custom`, then score again.") in flat(lacking)
    assert not (bench.root / "elsewhere.csv").exists()
    assert our_containers(elsewhere) == []


def test_holdout_and_insights_score_the_docker_node_in_its_environment(bench):
    from core.store import open_store
    from core.training.engine import get_model, predict_rows

    store = open_store(bench.home)
    try:
        model, project = get_model(store, MIXED)
        _, saved = bench.validation(MIXED)
        np.testing.assert_allclose(predict_rows(store, project, model, "validation")["Predictions"], saved["Predictions"],
                                   rtol=1e-12)
    finally:
        store.close()

    unlocked = bench("project", "unlock-holdout", "jr", "--yes")
    assert unlocked.exit_code == 0, unlocked.output
    assert "scored 3 model(s)" in flat(unlocked)
    board = {r["model"]: r for r in json.loads(bench("leaderboard", "jr", "--json").output)}
    assert board[MIXED]["holdout"]["RMSE"] == pytest.approx(board[LOCAL]["holdout"]["RMSE"], rel=ACROSS_ENVIRONMENTS)
    assert board[CUSTOM]["holdout"]["RMSE"] == pytest.approx(board[MIXED]["holdout"]["RMSE"], rel=1e-12)

    shown = bench("insights", MIXED, "--json")
    assert shown.exit_code == 0, shown.output
    insights = json.loads(shown.output)
    assert insights["validation"]["metrics"]["RMSE"] == pytest.approx(board[MIXED]["validation"]["RMSE"], rel=1e-12)
    assert insights["holdout"]["metrics"]["RMSE"] == pytest.approx(board[MIXED]["holdout"]["RMSE"], rel=1e-12)
    impact = {f["feature"]: f["impact"] for f in insights["validation"]["feature_impact"]["features"]}
    local = json.loads(bench("insights", LOCAL, "--json").output)
    twin = {f["feature"]: f["impact"] for f in local["validation"]["feature_impact"]["features"]}
    assert impact.keys() == twin.keys() and max(impact.values()) > 0
    for feature, value in impact.items():
        assert value == pytest.approx(twin[feature], rel=1e-4, abs=1e-9)


def test_no_docker_engine_is_one_sentence(bench, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")
    result = bench("predict", MIXED, "--input", INFERENCE, "--output", bench.root / "nodocker.csv")
    assert result.exit_code == 2, result.output
    assert "the model's node 'model' runs in Docker environment python-sklearn@1, but no Docker engine answers" in flat(result)
    assert os.path.exists(bench.root / "nodocker.csv") is False
