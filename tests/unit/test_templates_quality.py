"""The quick autopilot's templates (issue 15): which models they train, and logistic_regression's C search."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.blueprints.templates import templates_for
from tests.cli.test_builtin_tasks import _fit

SUPERVISED = {
    "binary": ("logistic-regression", "logistic_regression", "hgb_classifier"),
    "multiclass": ("logistic-regression", "logistic_regression", "hgb_classifier"),
    "regression": ("ridge", "ridge", "hgb_regressor"),
}


@pytest.mark.parametrize("target", sorted(SUPERVISED))
def test_supervised_templates_are_linear_boosting_their_average_and_a_forest(target):
    lin, linear, boost = SUPERVISED[target]
    hgb = boost.replace("_", "-")
    names = [t.name for t in templates_for(target)]
    assert names == [f"impute-standardize-{lin}", f"{lin}-text", hgb, f"blend-{lin}-{hgb}",
                     "random-forest-" + ("regressor" if target == "regression" else "classifier")]
    texts = {t.name: t.text for t in templates_for(target)}
    assert "knn_" not in "".join(texts.values()) and "gbm_" not in "".join(texts.values())
    blend = texts[f"blend-{lin}-{hgb}"]
    assert f"linear = {linear}(scale, hot, words" in blend
    assert f"trees  = {boost}(NUM, cat)" in blend and blend.endswith("model  = average_blend(linear, trees)\n")
    assert f"model = {boost}(NUM, cat)" in texts[hgb]
    if target != "regression":  # the linear models are regularised: C chosen on the bundled data
        assert texts[f"{lin}-text"].endswith("C=0.1)\n") and texts[f"impute-standardize-{lin}"].endswith("C=0.3)\n")


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
