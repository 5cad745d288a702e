"""Tuning's pieces without workers: --set parsing, the search space and its draws, the candidate text, the inner
folds that keep validation and holdout rows out, and the rungs of successive halving."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from core.errors import UsageError
from core.tasks.metadata import load_metadata, resolve_parameters
from core.training import tune
from core.training.projects import HOLDOUT, partition_rows
from tests.conftest import SAMPLES

BUILTIN = tune.__file__.rsplit("/training/", 1)[0] + "/builtin_tasks"


def fake_checked(**nodes):
    """A checked blueprint as search_space reads it: node → (task folder, parameters); the last node is final."""
    resolved = {}
    for name, (folder, params) in nodes.items():
        meta = load_metadata(folder)
        task = SimpleNamespace(metadata=meta, ref=meta.name)
        resolved[name] = SimpleNamespace(task=task, parameters=resolve_parameters(meta, params))
    return SimpleNamespace(nodes=resolved, final=SimpleNamespace(name=list(nodes)[-1]))


GBM = SAMPLES / "08_binary_hyperparameters"


def test_parse_settings_types_values_as_the_blueprint_syntax_does():
    parsed = tune.parse_settings(["model.alpha=0.1,1,1e-3", "model.max_depth=3,none", 'model.run_label="7"'])
    assert parsed == {"model.alpha": [0.1, 1, 0.001], "model.max_depth": [3, "none"], "model.run_label": ["7"]}
    for bad in ("alpha=1", "model.alpha", "model.alpha=", ".alpha=1"):
        with pytest.raises(UsageError, match="NODE.PARAM=VALUE"):
            tune.parse_settings([bad])
    with pytest.raises(UsageError, match="twice"):
        tune.parse_settings(["m.a=1", "m.a=2"])


def test_the_default_space_is_the_final_nodes_ranges_without_seeds_or_text():
    checked = fake_checked(model=(GBM, {}))
    dims = {d.key: d for d in tune.search_space(checked, None, None, 1)}
    assert set(dims) == {"model.n_estimators", "model.learning_rate", "model.loss", "model.max_depth",
                         "model.max_features"}  # run_label is text: not searched
    assert dims["model.learning_rate"].log and (dims["model.learning_rate"].low, dims["model.learning_rate"].high) \
        == (0.001, 1.0)
    gbm = fake_checked(model=(f"{BUILTIN}/gbm_classifier", {}))
    assert "model.seed" not in {d.key for d in tune.search_space(gbm, None, None, 1)}
    ridge = fake_checked(model=(f"{BUILTIN}/ridge", {"alpha": 1.0}))
    dims = {d.key: d for d in tune.search_space(ridge, None, None, 1)}
    assert set(dims) == {"model.alpha", "model.alpha_search"}
    alpha = dims["model.alpha"]
    assert alpha.log and (alpha.low, alpha.high) == (0.01, 100.0)  # within a factor 100 of the current 1.0


def test_set_alone_searches_only_its_values_and_checks_them_against_the_declaration():
    checked = fake_checked(model=(GBM, {}))
    dims = tune.search_space(checked, None, {"model.max_depth": [2, "none"], "model.loss": ["exponential"]}, 4)
    assert [(d.key, d.values) for d in dims] == [("model.max_depth", (2, "none")), ("model.loss", ("exponential",))]
    with_node = tune.search_space(checked, "model", {"model.loss": ["exponential"]}, 4)
    assert len(with_node) == 5  # --node as well: the node's other parameters are searched too
    with pytest.raises(UsageError, match=r"--set model.n_estimators=5 is outside .* an integer from 10 to 500\."):
        tune.search_space(checked, None, {"model.n_estimators": [5]}, 4)
    with pytest.raises(UsageError, match="has no parameter 'depth'"):
        tune.search_space(checked, None, {"model.depth": [5]}, 4)


def test_draws_stay_within_the_declaration_and_never_repeat_the_parent():
    checked = fake_checked(model=(GBM, {}))
    dims = tune.search_space(checked, None, None, 1)
    meta = checked.nodes["model"].task.metadata
    current = {d.key: checked.nodes["model"].parameters[d.param] for d in dims}
    drawn = list(tune.candidates(dims, 200, current, seed=1))
    assert len(drawn) == 200 and len({tune._setting_key(s) for s in drawn}) == 200
    forms = set()
    for setting in drawn:
        params = {key.partition(".")[2]: value for key, value in setting.items()}
        assert resolve_parameters(meta, params) is not None  # every value fits its declaration
        assert 1 <= len(setting) <= tune.MAX_CHANGED  # a few changes from the parent at a time
        assert all(repr(value) != repr(current[key]) for key, value in setting.items())
        if "model.max_features" in setting:
            forms.add(type(setting["model.max_features"]).__name__)
    assert forms == {"int", "float", "str"}  # the multi parameter's three forms are all tried
    assert {key for setting in drawn for key in setting} == set(current)
    with_set = tune.search_space(checked, "model", {"model.loss": ["exponential"]}, 1)
    for setting in tune.candidates(with_set, 20, current, seed=2):
        assert setting["model.loss"] == "exponential" and 2 <= len(setting) <= 1 + tune.MAX_CHANGED
    grid_dims = tune.search_space(checked, None, {"model.loss": ["log_loss", "exponential"],
                                                  "model.max_depth": [3, 4]}, 1)
    grid = list(tune.candidates(grid_dims, 10, {"model.loss": "log_loss", "model.max_depth": 3}, seed=0))
    assert len(grid) == 3 and {"model.loss": "log_loss", "model.max_depth": 3} not in grid


def test_a_candidate_is_the_parents_text_with_its_parameters_set():
    text = "# blueprint: b    target: regression\nnum = impute_median(NUM)\nmodel = ridge(num, alpha=0.5)  # note\n"
    out = tune.with_parameters(text, {"model.alpha": 0.03, "num.unused": 1})
    assert "model = ridge(num, alpha=0.03)  # note" in out and "# blueprint: b" in out
    assert "num   = impute_median(NUM, unused=1)" in out
    added = tune.with_parameters("model = gbm(NUM)\n", {"model.loss": "exponential", "model.max_depth": "none"})
    assert added == 'model = gbm(NUM, loss="exponential", max_depth="none")\n'
    assert tune.child_label("impute-ridge (tuned from model 3)", 9) == "impute-ridge (tuned from model 9)"
    assert tune.child_label("bp (retrains model 2)", 4) == "bp (tuned from model 4)"


def test_a_project_with_one_training_fold_has_its_training_rows_split_into_inner_folds(tmp_path):
    rows = 3000
    y = pd.Series(np.where(np.arange(rows) % 5 == 0, "rare", "common"))
    parts = partition_rows(y, "binary", 0.2, 2, 0)  # --folds 2: validation and one training fold
    np.save(tmp_path / "parts.npy", parts)
    pd.DataFrame({"y": y}).to_parquet(tmp_path / "data.parquet")
    project = SimpleNamespace(name="p", partition_path=tmp_path / "parts.npy", data_path=tmp_path / "data.parquet",
                              target="y", target_type="binary", settings={})
    tuned, folds = tune.training_folds_partition(project)
    assert folds == list(range(1, tune.INNER_FOLDS + 1))
    outside = (parts == 0) | (parts == HOLDOUT)
    assert (tuned[outside] == tune.OUTSIDE).all() and set(tuned[~outside]) == set(folds)
    for fold in folds:  # every fold keeps the class mix
        assert (y[tuned == fold] == "rare").mean() == pytest.approx(0.2, abs=0.02)
    again, _ = tune.training_folds_partition(project)
    assert (again == tuned).all()  # the same split each time: fitted steps are reused across runs


def test_inner_cv_uses_only_the_training_folds_and_scores_averages_fold_by_fold(tmp_path):
    rows = 2000
    rng = np.random.default_rng(0)
    y = pd.Series(np.where(rng.random(rows) < 0.3, "yes", "no"))
    parts = partition_rows(y, "binary", 0.2, 5, 0)
    np.save(tmp_path / "parts.npy", parts)
    pd.DataFrame({"y": y}).to_parquet(tmp_path / "data.parquet")
    project = SimpleNamespace(name="p", partition_path=tmp_path / "parts.npy", data_path=tmp_path / "data.parquet",
                              target="y", target_type="binary", settings={"class_labels": ["no", "yes"]})
    inner, folds = tune.training_folds_partition(project)
    outside = (parts == 0) | (parts == HOLDOUT)
    assert folds == [1, 2, 3, 4] and (inner[outside] == tune.OUTSIDE).all() and (inner[~outside] == parts[~outside]).all()
    training = np.flatnonzero(~outside)
    truth = (y == "yes").to_numpy().astype(float)

    def frame(p):  # probabilities of the training rows, indexed by row number as inner_cv_scores keeps them
        return pd.DataFrame({"no": 1 - p[training], "yes": p[training]}, index=training)

    good = np.clip(truth * 0.6 + rng.random(rows) * 0.4, 0, 1)  # informative: AUC well above 0.5
    noise = rng.random(rows)
    found = tune.InnerCV(project, "AUC", predictions={1: frame(good), 2: frame(noise)})
    from sklearn.metrics import roc_auc_score

    def by_fold(p):
        return np.mean([roc_auc_score(truth[parts == k], p[parts == k]) for k in folds])

    assert found.average_score([1]) == pytest.approx(by_fold(good))
    assert found.average_score([1, 2]) == pytest.approx(by_fold((good + noise) / 2))
    assert found.average_score([1]) > found.average_score([1, 2]) > found.average_score([2])


def test_rungs_score_on_more_folds_up_to_all_of_them():
    """The last rung is the whole inner CV (as the autopilot's scoring stage scores the parent); those below, fewer."""
    assert tune.rung_sizes(4) == [1, 2, 4]
    assert tune.rung_sizes(2) == [1, 2] and tune.rung_sizes(3) == [1, 3]
    assert tune.rung_sizes(9) == [2, 4, 9] and len(tune.rung_sizes(19)) == tune.MAX_RUNGS


def test_budget_is_a_count_or_seconds():
    from tui.cli.tune import parse_budget

    assert parse_budget("20") == 20 and parse_budget("90s") == 90.0 and parse_budget("10m") == 600.0
    assert parse_budget("1h30m") == 5400.0 and parse_budget(None) is None
    with pytest.raises(UsageError, match="90s, 10m or 1h"):
        parse_budget("soon")
    assert tune._budget(None, None) == (tune.DEFAULT_BUDGET, None)
    count, deadline = tune._budget(30.0, None)
    assert count is None and deadline is not None
    with pytest.raises(UsageError, match="tries no candidate"):
        tune._budget(0, None)


def test_the_log_says_when_the_searched_interval_is_part_of_the_declared_range():
    hp = SimpleNamespace(type="float", min=0.0, max=0.2)
    low, high, log = tune._span("float", 0.0, 0.2, 0.05)
    said = tune.Dimension("x.clip_q", "x", "clip_q", hp, log=log, low=low, high=high).describe()
    assert said == ("x.clip_q from 0.0005 to 0.2 (log scale; part of the declared 0 to 0.2; "
                    "--set x.clip_q=A,B,C tries other values)")
    whole = SimpleNamespace(type="int", min=1, max=50)
    low, high, log = tune._span("int", 1, 50, None)
    assert tune.Dimension("k.n", "k", "n", whole, log=log, low=low, high=high).describe() == "k.n from 1 to 50"
