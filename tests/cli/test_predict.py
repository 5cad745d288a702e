"""`taskbench predict`: chunked scoring of CSV and Parquet files, output columns per target type, errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.conftest import DATA, leftovers

JUNIORS = DATA / "juniors_3_year_stats_regression.csv"
IRIS = DATA / "iris_binary_training.csv"


def flat(result):
    return " ".join(result.output.split())


def train(taskbench, tmp_path, data, target, name, blueprint):
    created = taskbench("project", "create", data, "--target", target, "--name", name, "--json")
    assert created.exit_code == 0, created.output
    bp = tmp_path / f"{name}.bp"
    bp.write_text(blueprint)
    trained = taskbench("train", name, bp)
    assert trained.exit_code == 0, trained.output
    (row,) = json.loads(taskbench("leaderboard", name, "--json").output)
    return row["model"]


def validation_rows(home, model):
    """The project's validation rows (features only) and the predictions training saved for them."""
    plan = json.loads((home / "models" / str(model) / "plan.json").read_text())
    frame = pd.read_parquet(plan["data"]["path"])
    parts = np.load(plan["data"]["partition_path"])
    rows = frame.iloc[np.flatnonzero(parts == 0)].drop(columns=[plan["data"]["target"]]).reset_index(drop=True)
    saved = pd.read_pickle(home / "models" / str(model) / "predictions" / "validation.pkl")
    return rows, saved


@pytest.fixture
def ridge_model(taskbench, tmp_path):
    return train(taskbench, tmp_path, JUNIORS, "Grade 2014", "juniors", "num = impute_median(NUM)\nmodel = ridge(num)\n")


def test_regression_predictions_match_validation_and_keep_chosen_columns(ridge_model, taskbench, home, tmp_path):
    rows, saved = validation_rows(home, ridge_model)
    rows.to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / "out.csv"
    result = taskbench("predict", ridge_model, "--input", tmp_path / "in.csv", "--output", out,
                       "--include-input", "AVG_fr,OBP_fr", "--chunk-size", "50")
    assert result.exit_code == 0, result.output
    assert f"Wrote {len(rows)} predictions" in flat(result)
    written = pd.read_csv(out)
    assert list(written.columns) == ["AVG_fr", "OBP_fr", "Predictions"]
    assert len(written) == len(rows)
    np.testing.assert_allclose(written["Predictions"], saved["Predictions"], rtol=1e-9)
    np.testing.assert_allclose(written["AVG_fr"], rows["AVG_fr"])
    assert leftovers(home) == []


def test_text_in_a_numeric_column_is_read_as_numbers_or_named_as_missing(ridge_model, taskbench, home, tmp_path):
    rows, _ = validation_rows(home, ridge_model)
    rows = rows.iloc[:120].reset_index(drop=True)
    rows.to_csv(tmp_path / "clean.csv", index=False)
    text = rows.astype(object)
    text["AVG_fr"] = [f" {v} " for v in rows["AVG_fr"]]  # numbers written as padded text
    text.loc[[3, 70], "OBP_fr"] = "lots"
    text.to_csv(tmp_path / "text.csv", index=False)
    missing = rows.copy()
    missing.loc[[3, 70], "OBP_fr"] = np.nan
    missing.to_csv(tmp_path / "missing.csv", index=False)
    outputs = {}
    for name in ("clean", "text", "missing"):
        result = taskbench("predict", ridge_model, "--input", tmp_path / f"{name}.csv", "--output", tmp_path / f"{name}-out.csv",
                           "--chunk-size", "50")
        assert result.exit_code == 0, result.output
        outputs[name] = (flat(result), pd.read_csv(tmp_path / f"{name}-out.csv")["Predictions"])
    said, predicted = outputs["text"]
    assert "warn column 'OBP_fr': 2 value(s) are not numbers (like 'lots'); they were scored as missing." in said
    assert "AVG_fr" not in said and "warn" not in outputs["clean"][0]
    np.testing.assert_allclose(predicted, outputs["missing"][1], rtol=1e-12)
    assert not np.allclose(predicted, outputs["clean"][1])


def test_classification_parquet_has_a_column_per_class_and_the_label(taskbench, home, tmp_path):
    model = train(taskbench, tmp_path, IRIS, "Species", "iris", "num = impute_median(NUM)\nmodel = logistic_regression(num)\n")
    rows, saved = validation_rows(home, model)
    rows.to_parquet(tmp_path / "in.parquet", index=False)
    out = tmp_path / "out.parquet"
    result = taskbench("predict", model, "--input", tmp_path / "in.parquet", "--output", out, "--chunk-size", "7")
    assert result.exit_code == 0, result.output
    written = pd.read_parquet(out)
    labels = [str(c) for c in saved.columns]
    assert list(written.columns) == labels + ["prediction"]
    np.testing.assert_allclose(written[labels].to_numpy(), saved.to_numpy(), rtol=1e-9)
    assert (written["prediction"] == np.asarray(labels)[saved.to_numpy().argmax(axis=1)]).all()


def test_user_errors_are_one_sentence(ridge_model, taskbench, tmp_path):
    frame = pd.read_csv(DATA / "juniors_3_year_stats_regression_inference.csv").drop(columns=["AVG_fr", "OBP_fr"])
    frame.to_csv(tmp_path / "short.csv", index=False)
    missing = taskbench("predict", ridge_model, "--input", tmp_path / "short.csv", "--output", tmp_path / "o.csv")
    assert missing.exit_code == 2
    assert "lacks 2 column(s) the model was trained on: 'AVG_fr', 'OBP_fr'" in flat(missing)
    assert not (tmp_path / "o.csv").exists()
    pd.read_csv(DATA / "juniors_3_year_stats_regression_inference.csv").to_csv(tmp_path / "semi.csv", sep=";", index=False)
    semi = taskbench("predict", ridge_model, "--input", tmp_path / "semi.csv", "--output", tmp_path / "o.csv")
    assert semi.exit_code == 2 and "looks like several joined by ';'" in flat(semi)
    absent = taskbench("predict", ridge_model, "--input", tmp_path / "nope.csv", "--output", tmp_path / "o.csv")
    assert absent.exit_code == 2 and "does not exist" in flat(absent)
    (tmp_path / "empty.csv").write_text("")
    empty = taskbench("predict", ridge_model, "--input", tmp_path / "empty.csv", "--output", tmp_path / "o.csv")
    assert empty.exit_code == 2 and "is empty" in flat(empty)
    unknown = taskbench("predict", "99", "--input", tmp_path / "short.csv", "--output", tmp_path / "o.csv")
    assert unknown.exit_code == 2 and "there is no model 99" in flat(unknown)
    include = taskbench("predict", str(ridge_model), "--input", DATA / "juniors_3_year_stats_regression_inference.csv",
                        "--output", tmp_path / "o.csv", "--include-input", "Name")
    assert include.exit_code == 2 and "'Name' that the input lacks" in flat(include)


def _scoring_processes() -> set[int]:
    import os

    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    if b"core.deploy.score_process" in fh.read():
                        found.add(int(entry))
            except OSError:
                pass
    return found


def test_the_command_starts_its_scoring_process_early_and_leaves_none_behind(ridge_model, home, tmp_path):
    """The real `taskbench predict` starts the scoring process before it loads; a failed command leaves none."""
    import os
    import subprocess
    import sys
    import time

    from tests.conftest import REPO

    env = dict(os.environ, TASKBENCH_HOME=str(home))
    before = _scoring_processes()
    ok = subprocess.run([sys.executable, "-m", "tui.cli", "predict", str(ridge_model), "--input", DATA / "juniors_3_year_stats_regression_inference.csv",
                         "--output", tmp_path / "out.csv"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert len(pd.read_csv(tmp_path / "out.csv")) == 1477
    bad = subprocess.run([sys.executable, "-m", "tui.cli", "predict", "99", "--input", tmp_path / "out.csv", "--output", tmp_path / "x.csv"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "there is no model 99" in bad.stderr
    deadline = time.time() + 10
    while _scoring_processes() - before and time.time() < deadline:
        time.sleep(0.1)
    assert _scoring_processes() - before == set()
