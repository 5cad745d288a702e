"""The quick autopilot's templates (issue 15): which models they train, logistic_regression's C search and ridge's alpha search."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.blueprints.templates import templates_for
from tests.cli.test_builtin_tasks import _fit

SUPERVISED = {
    "binary": ("logistic-regression", "logistic_regression", "hgb_classifier", "random_forest_classifier"),
    "multiclass": ("logistic-regression", "logistic_regression", "hgb_classifier", "random_forest_classifier"),
    "regression": ("ridge", "ridge", "hgb_regressor", "random_forest_regressor"),
}


@pytest.mark.parametrize("target", sorted(SUPERVISED))
def test_supervised_templates_are_linear_boosting_a_forest_and_the_linear_model_averaged_with_each(target):
    lin, linear, boost, forest = SUPERVISED[target]
    hgb, rf = boost.replace("_", "-"), forest.replace("_", "-")
    names = [t.name for t in templates_for(target)]
    assert names == [f"impute-standardize-{lin}", f"{lin}-text", hgb, f"blend-{lin}-{hgb}", rf, f"blend-{lin}-{rf}"]
    texts = {t.name: t.text for t in templates_for(target)}
    assert "knn_" not in "".join(texts.values()) and "gbm_" not in "".join(texts.values())
    for blend, member in ((f"blend-{lin}-{hgb}", "trees "), (f"blend-{lin}-{rf}", "forest")):
        assert f"linear = {linear}(scale, hot, words" in texts[blend]
        assert texts[blend].endswith(f"model  = average_blend(linear, {member.strip()})\n")
    boosting = f'{boost}(NUM, cat, categorical="native")'  # native categories beat target encoding on the bundled data
    assert f"trees  = {boosting}" in texts[f"blend-{lin}-{hgb}"] and f"model = {boosting}" in texts[hgb]
    grove = ", max_features=0.33)" if target == "regression" else ", min_samples_leaf=10)"
    assert texts[rf].endswith(grove + "\n") and f"forest = {forest}(num, cat{grove}" in texts[f"blend-{lin}-{rf}"]
    if target != "regression":  # the linear models are regularised: C chosen on the bundled data
        assert texts[f"{lin}-text"].endswith("C=0.1)\n") and texts[f"impute-standardize-{lin}"].endswith("C=0.3)\n")
    else:  # one ridge searches alpha, the other keeps the default: both win somewhere
        assert texts[f"{lin}-text"].endswith('alpha_search="cv")\n') and texts[f"impute-standardize-{lin}"].endswith("(scale, cat)\n")


def _classes(n, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 30)), columns=[f"x{i}" for i in range(30)])
    y = pd.Series(X["x0"] + rng.normal(scale=2.0, size=n) > 0)
    return X, y


def test_logistic_regression_searches_c_by_inner_cross_validation_when_asked(tmp_path, capsys):
    X, y = _classes(400)
    _, searched = _fit("logistic_regression", X, y, tmp_path, class_order=[False, True],
                       parameters={"C_search": "cv", "C": 1000.0})
    chosen = float(np.ravel(searched["estimator"].C_)[0])
    assert chosen in (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
    assert f"C={chosen:g} chosen by inner 3-fold log loss" in capsys.readouterr().out
    _, fixed = _fit("logistic_regression", X, y, tmp_path, class_order=[False, True], parameters={"C": 1000.0})
    assert fixed["estimator"].C == 1000.0 and not hasattr(fixed["estimator"], "C_")


def test_the_c_search_needs_three_rows_of_each_class_and_otherwise_uses_c(tmp_path):
    X, y = _classes(40)
    y = pd.Series([True, True] + [False] * 38)
    _, model = _fit("logistic_regression", X, y, tmp_path, class_order=[False, True],
                    parameters={"C_search": "cv", "C": 0.5})
    assert model["estimator"].C == 0.5 and not hasattr(model["estimator"], "C_")


def test_ridge_searches_alpha_by_leave_one_out_when_asked(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(200, 5)), columns=[f"x{i}" for i in range(5)])
    y = X["x0"] * 3 + rng.normal(scale=0.01, size=200)  # nearly noiseless: the smallest alpha fits best
    _, searched = _fit("ridge", X, y, tmp_path, parameters={"alpha_search": "cv", "alpha": 500.0})
    assert searched["estimator"].alpha_ == 0.001
    assert "ridge: alpha=0.001 chosen by leave-one-out, 5 columns, 200 rows" in capsys.readouterr().out
    _, fixed = _fit("ridge", X, y, tmp_path, parameters={"alpha": 500.0})
    assert fixed["estimator"].alpha == 500.0 and not hasattr(fixed["estimator"], "alpha_")
