"""The served array chain's kernels for standardize, missing_indicator and logistic_regression (issue 15): a served
binary or multiclass model of built-in numeric nodes scores in numpy bit for bit as its hooks, and steps aside where
the hooks must answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.cli.test_serve import trained

LOGISTIC = "num = impute_median(NUM)\nz = standardize(num)\nmodel = logistic_regression(z)\n"


def project_data(folder, classes):
    """120 rows of four numeric columns, some missing, and a target of `classes` labels that depends on them."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(120, 4)) * [1.0, 3.0, 0.5, 10.0] + [0.0, 5.0, -2.0, 100.0]
    score = X[:, 0] + 0.3 * X[:, 1] - 2 * X[:, 2] + 0.05 * X[:, 3] + rng.normal(size=120)
    cuts = np.quantile(score, np.linspace(0, 1, len(classes) + 1)[1:-1])
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    frame.iloc[::9, 1] = np.nan
    frame.iloc[::13, 3] = np.nan
    frame["label"] = np.array(classes, dtype=object)[np.searchsorted(cuts, score)]
    path = folder / f"data_{len(classes)}.csv"
    frame.to_csv(path, index=False)
    return path, frame.drop(columns=["label"])


def served(taskbench, tmp_path, home, classes, blueprint, name):
    from core.deploy.server import Served, ServeConfig

    path, features = project_data(tmp_path, classes)
    model = trained(taskbench, tmp_path, path, "label", name, blueprint)
    assert taskbench("deploy", model, "--name", name).exit_code == 0
    return Served(ServeConfig(home=str(home), deployment=name)), features


def assert_chain_is_the_hooks(served_, frame):
    """The chain scores 1, 3 and every row of `frame` (missing values included) as the hooks do, bit for bit."""
    segment = served_.scorer._segments[0]
    chain = segment._chain
    assert chain is not None
    for rows in (frame.head(1), frame.iloc[[9, 2, 26]].reset_index(drop=True), frame):
        assert chain(rows) is not None
        fast = served_.scorer.score(rows)
        segment._chain = None
        usual = served_.scorer.score(rows)
        segment._chain = chain
        assert fast.columns.tolist() == usual.columns.tolist()
        assert fast.to_numpy().tobytes() == usual.to_numpy().tobytes()
    return chain


@pytest.mark.parametrize("classes", [["no", "yes"], ["high", "low", "mid"]])
def test_impute_standardize_logistic_scores_bit_for_bit_as_the_hooks(taskbench, tmp_path, home, classes):
    served_, features = served(taskbench, tmp_path, home, classes, LOGISTIC, f"lr{len(classes)}")
    try:
        frame = features[list(served_.features)]
        assert frame.isna().any().any()
        chain = assert_chain_is_the_hooks(served_, frame)
        assert served_.scorer.score(frame.head(1)).columns.tolist() == sorted(classes)
        infinite = frame.head(2).astype("float64")
        infinite.iloc[1, 0] = np.inf
        text = frame.head(2).astype({frame.columns[0]: object})
        text.iloc[0, 0] = "lots"
        for declined in (infinite, text):
            assert chain(declined) is None  # the usual path answers, with its own sentence
    finally:
        served_.close()


def test_missing_indicator_feeding_logistic_regression_scores_bit_for_bit_as_the_hooks(taskbench, tmp_path, home):
    blueprint = "flags = missing_indicator(NUM)\nmodel = logistic_regression(flags)\n"
    served_, features = served(taskbench, tmp_path, home, ["no", "yes"], blueprint, "flags")
    try:
        assert_chain_is_the_hooks(served_, features[list(served_.features)])
    finally:
        served_.close()


def test_standardize_first_steps_aside_for_missing_values(taskbench, tmp_path, home):
    blueprint = "z = standardize(NUM)\nmodel = logistic_regression(z)\n"
    path, features = project_data(tmp_path, ["no", "yes"])
    clean = pd.read_csv(path).dropna()
    clean.to_csv(path, index=False)
    from core.deploy.server import Served, ServeConfig

    model = trained(taskbench, tmp_path, path, "label", "plain", blueprint)
    assert taskbench("deploy", model, "--name", "plain").exit_code == 0
    served_ = Served(ServeConfig(home=str(home), deployment="plain"))
    try:
        frame = features[list(served_.features)]
        chain = assert_chain_is_the_hooks(served_, frame.dropna().reset_index(drop=True))
        assert chain(frame.iloc[[0]].reset_index(drop=True)) is None  # row 0 has a missing value: the hook says so
        with pytest.raises(Exception, match="missing values"):
            served_.scorer.score(frame.iloc[[0]].reset_index(drop=True))
    finally:
        served_.close()


def test_impute_standardize_ridge_scores_bit_for_bit_as_the_hooks(taskbench, tmp_path, home):
    from core.deploy.server import Served, ServeConfig

    path, features = project_data(tmp_path, ["no", "yes"])
    data = pd.read_csv(path).assign(label=lambda f: f["a"] * 2.5 - f["c"].fillna(0))
    data.to_csv(path, index=False)
    model = trained(taskbench, tmp_path, path, "label", "scaled",
                    "num = impute_median(NUM)\nz = standardize(num)\nmodel = ridge(z)\n")
    assert taskbench("deploy", model, "--name", "scaled").exit_code == 0
    served_ = Served(ServeConfig(home=str(home), deployment="scaled"))
    try:
        frame = features[list(served_.features)]
        assert_chain_is_the_hooks(served_, frame)
        assert served_.scorer.score(frame.head(1)).columns.tolist() == ["Predictions"]
    finally:
        served_.close()
