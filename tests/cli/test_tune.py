"""`taskbench tune`: successive halving over declared ranges scored by inner CV on the training folds, children
on the leaderboard with their lineage, --set, and proof that validation and holdout rows never choose."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.conftest import DATA, SAMPLES, leftovers, make_task

JUNIORS = DATA / "juniors_3_year_stats_regression.csv"
RIDGE = "# blueprint: impute-ridge    target: regression\nnum   = impute_median(NUM)\nmodel = ridge(num)\n"


def flat(result):
    return " ".join(result.output.split())


def board(taskbench, project):
    result = taskbench("leaderboard", project, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def tune_json(taskbench, *args):
    result = taskbench("tune", *map(str, args), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture
def ridge_model(tmp_path, taskbench):
    assert taskbench("project", "create", JUNIORS, "--target", "Grade 2014", "--name", "juniors").exit_code == 0
    bp = tmp_path / "ridge.bp"
    bp.write_text(RIDGE)
    assert taskbench("train", "juniors", bp).exit_code == 0
    return 1


def test_tuning_a_builtin_blueprint_puts_children_with_lineage_on_the_leaderboard(ridge_model, taskbench, home):
    out = tune_json(taskbench, ridge_model, "--budget", 3)
    assert out["parent"] == 1 and len(out["models"]) == 3 and out["metric"] == "RMSE"
    rows = {r["model"]: r for r in board(taskbench, "juniors")}
    children = [rows[m] for m in out["models"]]
    for child in children:
        assert child["tuned_from"] == 1 and child["state"] == "trained"
        assert child["tuning"]["changed"] and set(child["tuning"]["changed"]) <= {"model.alpha", "model.alpha_search"}
        assert child["tuning"]["inner"]["RMSE"] > 0 and child["validation"]["RMSE"] > 0
    assert rows[1]["tuned_from"] is None and rows[1]["tuning"] is None
    best = [c["model"] for c in children if c["tuning"]["best"]]
    assert best == ([] if out["best"] == 1 else [out["best"]])
    # the child is the parent's blueprint text with the parameter set
    from core.store import open_store

    with open_store(home) as store:
        child = next(c for c in map(store.model, out["models"]) if "model.alpha" in c.tuning["changed"])
        alpha = child.tuning["changed"]["model.alpha"]
        assert f"ridge(num, alpha={alpha!r})" in child.blueprint_text
        assert child.resolved == store.model(1).resolved
    log = (home / "logs" / f"job-{out['job']}.log").read_text()
    assert "validation and holdout rows are not used" in log and "rung 1/" in log
    assert leftovers(home) == []  # the candidates' folders and the job's scratch are gone
    # the leaderboard names the lineage compactly and keeps to 80 columns in a terminal
    import os

    from tests.cli.test_cli_terminal import in_terminal

    env = {**{k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}, "TASKBENCH_HOME": str(home)}
    code, lines = in_terminal("leaderboard", "juniors", env=env)
    assert code == 0 and max(len(line) for line in lines) <= 80, lines
    assert sum("(from #1" in line for line in lines) == 3  # "(from #1: alpha=0.3)", or "(from #1)" where too long
    assert sum(line.rstrip().endswith("best") or " best " in line for line in lines) == (out["best"] != 1)


def test_set_restricts_the_search_to_its_values_as_a_grid(ridge_model, taskbench):
    out = tune_json(taskbench, ridge_model, "--set", "model.alpha=0.01,10,1")  # 1 is the parent's own: not again
    tried = sorted(t["setting"]["model.alpha"] for t in out["trials"] if t["trial"])
    assert tried == [0.01, 10.0] and len(out["models"]) == 2


def test_out_of_range_and_unknown_set_values_are_one_sentence_with_the_allowed_range(ridge_model, taskbench):
    bad = taskbench("tune", ridge_model, "--set", "model.alpha=-1")
    assert bad.exit_code == 2
    assert "--set model.alpha=-1 is outside what ridge's alpha accepts: a number from 0.0 to 1000000.0." in flat(bad)
    assert "Traceback" not in bad.output
    unknown = taskbench("tune", ridge_model, "--set", "model.beta=1")
    assert unknown.exit_code == 2 and "task ridge has no parameter 'beta'; it declares: alpha, alpha_search." in flat(unknown)
    malformed = taskbench("tune", ridge_model, "--set", "alpha=1")
    assert malformed.exit_code == 2 and "NODE.PARAM=VALUE" in flat(malformed)
    node = taskbench("tune", ridge_model, "--node", "nope")
    assert node.exit_code == 2 and "does not have; nodes with parameters" in flat(node)
    budget = taskbench("tune", ridge_model, "--budget", "3x")
    assert budget.exit_code == 2 and "90s, 10m or 1h" in flat(budget)
    assert len(board(taskbench, "juniors")) == 1  # nothing was trained


def _binary_data(path, rows=600, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4))
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=0.7, size=rows) > 0).astype(int)
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"]).assign(label=np.where(y == 1, "yes", "no"))
    frame.to_csv(path, index=False)
    return path


def test_a_custom_tasks_declared_int_float_select_and_multi_parameters_are_tuned(tmp_path, taskbench, home):
    sample = SAMPLES / "08_binary_hyperparameters"
    assert taskbench("task", "add", sample).exit_code == 0
    data = _binary_data(tmp_path / "binary.csv")
    assert taskbench("project", "create", data, "--target", "label", "--name", "bin").exit_code == 0
    bp = tmp_path / "gbm.bp"
    bp.write_text("model = binary_hyperparameters(NUM, n_estimators=20)\n")
    assert taskbench("train", "bin", bp).exit_code == 0
    # a grid over every kind: int, float, select, and multi given as an int, a float and a word
    out = tune_json(taskbench, 1, "--budget", 3, "--set", "model.n_estimators=10,30",
                    "--set", "model.learning_rate=0.05,0.3", "--set", "model.loss=exponential",
                    "--set", "model.max_depth=2,none", "--set", "model.max_features=0.5,sqrt,3")
    settings = [t["setting"] for t in out["trials"] if t["trial"]]
    assert len(settings) == 3 and len(out["models"]) == 3
    for setting in settings:
        assert setting["model.loss"] == "exponential" and setting["model.n_estimators"] in (10, 30)
        assert setting["model.max_depth"] in (2, "none") and setting["model.max_features"] in (0.5, "sqrt", 3)
    # a random search over the declared ranges, a few parameters changed at a time, --set ones from their values;
    # the text parameter run_label is left alone
    randomly = tune_json(taskbench, 1, "--budget", 3, "--set", "model.n_estimators=10", "--node", "model")
    declared = {"model.learning_rate", "model.loss", "model.max_depth", "model.max_features"}
    for trial in randomly["trials"][1:]:
        setting = dict(trial["setting"])
        assert setting.pop("model.n_estimators") == 10 and 1 <= len(setting) <= 3 and set(setting) <= declared
    rows = {r["model"]: r for r in board(taskbench, "bin")}
    assert all(rows[m]["tuned_from"] == 1 and rows[m]["state"] == "trained" for m in randomly["models"])
    out_of_range = taskbench("tune", 1, "--set", "model.n_estimators=5000")
    assert out_of_range.exit_code == 2
    assert "accepts: an integer from 10 to 500." in flat(out_of_range)
    multi = taskbench("tune", 1, "--set", "model.max_features=lots")
    assert multi.exit_code == 2 and "one of 'sqrt', 'log2', 'all'" in flat(multi)


RECORDING_TASK = """
    import json
    import os
    import pickle
    from pathlib import Path

    import pandas as pd
    from sklearn.linear_model import LinearRegression

    RECORD = {record!r}


    def _note(kind, where, X):
        with open(RECORD, "a") as fh:
            fh.write(json.dumps({{"kind": kind, "where": where, "ids": [float(v) for v in X["row_id"]]}}) + "\\n")


    def fit(X, y, output_dir, parameters=None, **kwargs):
        _note("fit", str(output_dir), X)
        model = LinearRegression().fit(X.drop(columns=["row_id"]), y)
        sign = (parameters or {{}}).get("sign", "follow")
        if sign == "crash":
            raise ValueError("this setting cannot fit")
        if sign == "die":
            os._exit(3)
        with open(Path(output_dir) / "artifact.pkl", "wb") as fh:
            pickle.dump({{"model": model, "sign": sign, "where": str(output_dir)}}, fh)


    def predict(X, model, **kwargs):
        _note("predict", model["where"], X)
        predictions = model["model"].predict(X.drop(columns=["row_id"]))
        if model["sign"] == "flip":
            predictions = -predictions
        return pd.DataFrame({{"Predictions": predictions}}, index=X.index)
"""

RECORDING_METADATA = """
    name: recorder
    type: training
    targetType: regression
    hyperparameters:
      - name: sign
        type: select
        values: [follow, flip, crash, die]
        default: follow
"""


def flipped_project(tmp_path, taskbench, rows=800):
    """A regression project whose training rows follow y = 3x and whose validation and holdout rows follow y = -3x,
    with the recording task registered and trained as model 1; returns (partition, record file)."""
    from core.training.projects import partition_rows

    parts = partition_rows(pd.Series(np.zeros(rows)), "regression", 0.2, 5, 0)  # regression: independent of y
    rng = np.random.default_rng(0)
    x = rng.normal(size=rows)
    sign = np.where(parts >= 1, 3.0, -3.0)
    frame = pd.DataFrame({"row_id": np.arange(rows) + 0.5, "x": x, "noise": rng.normal(size=rows),
                          "y": sign * x + rng.normal(scale=0.3, size=rows)})
    frame.to_csv(tmp_path / "flipped.csv", index=False)
    record = tmp_path / "seen.jsonl"
    task = make_task(tmp_path, {"custom.py": RECORDING_TASK.format(record=str(record)),
                                "model-metadata.yaml": RECORDING_METADATA}, name="recorder")
    assert taskbench("task", "add", task).exit_code == 0
    assert taskbench("project", "create", tmp_path / "flipped.csv", "--target", "y", "--name", "flip").exit_code == 0
    bp = tmp_path / "rec.bp"
    bp.write_text("model = recorder(NUM)\n")
    assert taskbench("train", "flip", bp).exit_code == 0
    record.write_text("")
    return parts, record


def test_validation_and_holdout_rows_never_choose_the_winner(tmp_path, taskbench, home):
    """Training rows follow y = 3x, validation and holdout rows y = -3x: a tuner that looked at them would pick
    sign=flip. A task that records the rows it fits and scores proves no tuning fit or score touched them."""
    from core.store import open_store
    from core.training.projects import HOLDOUT
    from core.training.tune import tune_model

    parts, record = flipped_project(tmp_path, taskbench)
    with open_store(home) as store:
        assert (np.load(store.project("flip").partition_path) == parts).all()
        result = tune_model(store, 1, settings={"model.sign": ["flip"]})
        parent, child = store.model(1), store.model(result.model_ids[0])
    # the adversarial child wins on validation by far, yet the inner CV keeps the parent
    assert child.scores["validation"]["RMSE"] < parent.scores["validation"]["RMSE"] / 3
    assert result.best_model_id == 1 and result.best_settings == {}
    assert child.tuning["inner"]["RMSE"] > 3 * result.trials[0]["inner"][max(result.trials[0]["inner"])]["RMSE"]
    assert child.tuning["best"] is False
    seen = [json.loads(line) for line in record.read_text().splitlines()]
    training = set(np.flatnonzero(parts >= 1) + 0.5)
    held = set(np.flatnonzero((parts == 0) | (parts == HOLDOUT)) + 0.5)
    trials = [s for s in seen if "trial-" in s["where"]]
    assert {s["kind"] for s in trials} == {"fit", "predict"}
    touched = set().union(*(s["ids"] for s in trials))
    assert touched <= training and not touched & held
    # the recorder does see validation rows where they belong: the child model's own scoring
    children = [s for s in seen if "trial-" not in s["where"] and s["kind"] == "predict"]
    assert held & set().union(*(s["ids"] for s in children))


def test_ctrl_c_keeps_the_children_already_trained_and_marks_the_best_so_far(ridge_model, taskbench, home):
    from core.store import open_store
    from core.training.tune import TuneStopped, tune_model

    def interrupt(kind, data):
        if kind == "trained":
            raise KeyboardInterrupt  # as Ctrl-C would, once the first child is trained (the search goes on meanwhile)

    with open_store(home) as store:
        with pytest.raises(TuneStopped) as stopped:
            tune_model(store, ridge_model, budget=5, events=interrupt)
        kept = stopped.value.result.model_ids
        assert len(kept) == 1
        child = store.model(kept[0])
        assert child.state == "trained" and child.parent_id == 1
        assert child.tuning["best"] is (stopped.value.result.best_model_id == child.id)
        assert store.job(stopped.value.result.job_id).state == "cancelled"
    children = [r for r in board(taskbench, "juniors") if r["tuned_from"] == 1]
    assert [r["model"] for r in children if r["state"] == "trained"] == kept
    # a child still training when Ctrl-C came is cancelled, as `train` cancels its jobs
    assert all(r["state"] == "failed" and r["message"] == "cancelled" for r in children if r["model"] not in kept)


def test_keep_best_trains_only_the_winner(ridge_model, taskbench):
    out = tune_json(taskbench, ridge_model, "--budget", 4, "--keep", "best")
    assert len(out["trials"]) == 5  # the parent and four settings tried in the inner CV, without a model each
    if out["best"] == 1:
        assert out["models"] == [] and out["best_settings"] == {}
    else:
        assert out["models"] == [out["best"]] and out["best_settings"]
        (row,) = [r for r in board(taskbench, "juniors") if r["tuned_from"] == 1]
        assert row["tuning"]["best"] and row["tuning"]["changed"] == out["best_settings"]


def test_settings_that_crash_or_kill_their_worker_fail_alone_and_the_search_goes_on(tmp_path, taskbench, home):
    flipped_project(tmp_path, taskbench)
    out = tune_json(taskbench, 1, "--set", "model.sign=crash,die,flip")
    failed = {t["setting"]["model.sign"]: t["error"] for t in out["trials"] if t["error"]}
    assert set(failed) == {"crash", "die"} and "this setting cannot fit" in failed["crash"]
    assert "exited with code 3" in failed["die"]
    (flip,) = [t for t in out["trials"] if t["setting"].get("model.sign") == "flip"]
    assert flip["model"] in out["models"] and len(out["models"]) == 1  # a failed setting gets no model
    assert out["best"] == 1


def test_a_deadline_stops_the_candidate_being_scored_and_keeps_the_parent(ridge_model, taskbench, home):
    import time

    from core.store import open_store
    from core.training.tune import tune_model

    with open_store(home) as store:
        result = tune_model(store, ridge_model, deadline=time.monotonic())  # already spent when the search starts
        assert result.model_ids == [] and result.best_model_id == 1
        assert store.job(result.job_id).state == "succeeded"
    log = (home / "logs" / f"job-{result.job_id}.log").read_text()
    assert "the time budget ran out while the parent was scored at rung 1" in log
    assert [r["model"] for r in board(taskbench, "juniors")] == [1]


def test_a_candidate_meets_its_parent_on_the_scoring_stages_inner_cv(tmp_path, taskbench, home):
    """The last rung is the inner CV inner_cv_scores (the autopilot's scoring stage) scores models by: the parent's
    score there is that score whether the search fits it again or is given it, and a winner comes with the inner CV
    (scores and out-of-fold predictions) inner_cv_scores finds for its model."""
    from core.store import open_store
    from core.training.tune import inner_cv_scores, tune_model

    assert taskbench("project", "create", JUNIORS, "--target", "Grade 2014", "--name", "juniors").exit_code == 0
    bp = tmp_path / "stiff.bp"
    bp.write_text(RIDGE.replace("ridge(num)", "ridge(num, alpha=1000000.0)"))  # far too stiff: alpha=1 wins
    assert taskbench("train", "juniors", bp).exit_code == 0
    with open_store(home) as store:
        parent = inner_cv_scores(store, [1], metric="RMSE")
        fitted = tune_model(store, 1, settings={"model.alpha": [1.0]}, metric="RMSE", keep="best")
        given = tune_model(store, 1, settings={"model.alpha": [1.0]}, metric="RMSE", keep="best",
                           parent_folds=parent.folds[1])
        for result in (fitted, given):
            last = max(result.trials[0]["inner"])
            assert result.trials[0]["inner"][last]["RMSE"] == pytest.approx(parent.scores[1])
            assert result.best_model_id != 1 and result.best_settings == {"model.alpha": 1.0}
            assert result.trials[1]["inner"][last]["RMSE"] == pytest.approx(result.best_inner["RMSE"])
        child = inner_cv_scores(store, [given.best_model_id], metric="RMSE")
    assert given.best_inner["RMSE"] == pytest.approx(child.scores[given.best_model_id])
    assert given.best_inner["RMSE"] < parent.scores[1]
    pd.testing.assert_frame_equal(given.best_predictions, child.predictions[given.best_model_id])
    log = (home / "logs" / f"job-{given.job_id}.log").read_text()
    assert "rungs score on 1, 2, 4 of them" in log and "validation and holdout rows are not used" in log


def test_the_opening_line_says_the_rows_each_rung_scores_and_on_how_many_folds(ridge_model, taskbench):
    """A trial finding: it said 'rungs fit on 1600, 3200, 6400 rows', but those are rows scored, on 1, 2, 4 folds."""
    import re

    result = taskbench("tune", str(ridge_model), "--budget", "2")
    assert result.exit_code == 0, result.output
    text = flat(result)
    found = re.search(r"inner CV on (\d+) training rows scores the settings; rungs score on ([\d, ]+) of the (\d+) "
                      r"folds \(([\d, ]+) rows scored\), each fold by a fit on the other training folds", text)
    assert found and "rungs fit on" not in text, text
    folds, rows = [int(n) for n in found[2].split(", ")], [int(n) for n in found[4].split(", ")]
    assert folds[-1] == int(found[3]) and len(rows) == len(folds) and rows == sorted(rows)
    assert rows[-1] == int(found[1])  # the last rung scores every training row, each once
