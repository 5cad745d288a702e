"""Blenders' blueprints (core/training/blend.py), the average_blend task's hooks, and the autopilot's durations."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pandas as pd
import pytest

from core.errors import UsageError
from core.store import Model
from core.training.autopilot import parse_duration
from core.training.blend import blend_source
from tests.conftest import REPO

LINEAR = """# blueprint: lin    target: binary
num   = impute_median(NUM)
scale = standardize(num)
cat   = one_hot(CAT)
model = logistic_regression(scale, cat, C=0.5)
"""
BOOST = """cat   = ordinal(CAT)
model = gbm_classifier(NUM, cat, learning_rate=0.05)
spare = pca(NUM)
"""


def model(number: int, text: str, resolved: dict | None = None) -> Model:
    return Model(id=number, project_id=1, blueprint=f"bp{number}", blueprint_text=text, resolved=resolved or {},
                 state="trained", artifact_path=None, job_id=None)


def test_stacked_blender_prefixes_each_models_nodes_and_shares_the_channels():
    pin = {"task": "my_task", "version": 2, "builtin": False}
    source = blend_source([model(7, BOOST, {"cat": pin}), model(3, LINEAR)], "stack", "binary")
    assert source.label == "blend-stack-#3-#7"
    body = [line for line in source.text.splitlines() if not line.startswith("#")]
    assert body == [
        "m3_num = impute_median(NUM)",
        "m3_scale = standardize(m3_num)",
        "m3_cat = one_hot(CAT)",
        "m3_model = logistic_regression(m3_scale, m3_cat, C=0.5)",
        "m7_cat = ordinal(CAT)",
        "m7_model = gbm_classifier(NUM, m7_cat, learning_rate=0.05)",  # pca, unused by the final, is left out
        "model = logistic_regression(m3_model, m7_model)",
    ]
    assert source.pins == {"m7_cat": pin}
    assert source.text.startswith("# blueprint: blend-stack-3-7    target: binary\n")


def test_averaging_and_regression_blenders_use_their_final_tasks():
    avg = blend_source([model(1, LINEAR), model(2, BOOST)], "avg", "multiclass")
    assert avg.label == "blend-avg-#1-#2" and avg.text.endswith("model = average_blend(m1_model, m2_model)\n")
    ridge = "num = impute_median(NUM)\nmodel = ridge(num)\n"
    stack = blend_source([model(4, ridge), model(5, ridge.replace("ridge(", "ridge(alpha=3, "))], "stack", "regression")
    assert stack.text.endswith("model = ridge(m4_model, m5_model)\n")


def test_a_blender_needs_two_models_of_a_predicting_target_type():
    with pytest.raises(UsageError, match="at least two"):
        blend_source([model(1, LINEAR)], "avg", "binary")
    with pytest.raises(UsageError, match="anomaly"):
        blend_source([model(1, LINEAR), model(2, BOOST)], "stack", "anomaly")


@pytest.fixture(scope="module")
def average_blend():
    folder = REPO / "core" / "builtin_tasks" / "average_blend"
    sys.path.insert(0, str(folder))
    try:
        spec = importlib.util.spec_from_file_location("average_blend_custom", folder / "custom.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(folder))
    return module


def load(tmp_path):
    import pickle

    return pickle.loads((tmp_path / "artifact.pkl").read_bytes())


def test_average_blend_averages_each_class_over_its_inputs(average_blend, tmp_path):
    X = pd.DataFrame({"a__False": [0.8, 0.4], "a__True": [0.2, 0.6], "b__False": [0.6, 0.0], "b__True": [0.4, 1.0]})
    average_blend.fit(X, pd.Series([False, True]), str(tmp_path), class_order=[False, True])
    out = average_blend.predict_proba(X, load(tmp_path), class_labels=[False, True])
    assert list(out.columns) == [False, True]
    assert np.allclose(out.to_numpy(), [[0.7, 0.3], [0.2, 0.8]])
    median = tmp_path / "median"
    median.mkdir()
    three = X.assign(**{"c__False": [0.0, 0.0], "c__True": [1.0, 1.0]})
    average_blend.fit(three, pd.Series([False, True]), str(median), class_order=[False, True],
                      parameters={"method": "median"})
    out = average_blend.predict_proba(three, load(median), class_labels=[False, True])
    assert np.allclose(out[True], [0.4, 1.0]) and np.allclose(out.sum(axis=1), 1.0)


def test_average_blend_regression_means_the_values(average_blend, tmp_path):
    X = pd.DataFrame({"a__Predictions": [1.0, 2.0], "b__Predictions": [3.0, 6.0]})
    average_blend.fit(X, pd.Series([0.0, 1.0]), str(tmp_path))
    assert average_blend.predict(X, load(tmp_path))["Predictions"].tolist() == [2.0, 4.0]


def test_average_blend_refuses_columns_that_are_no_class_predictions(average_blend, tmp_path):
    X = pd.DataFrame({"a__False": [0.5], "a__True": [0.5], "age": [40.0]})
    with pytest.raises(ValueError, match="feed average_blend with estimator nodes only"):
        average_blend.fit(X, pd.Series([True]), str(tmp_path), class_order=[False, True])


@pytest.mark.parametrize("text,seconds", [("90s", 90), ("10m", 600), ("1h", 3600), ("45", 45), ("1.5m", 90),
                                          (" 2 min ", 120)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "ten minutes", "0", "-5m", "10d"])
def test_bad_durations_say_how_to_write_one(text):
    with pytest.raises(UsageError, match="write it as 90s, 10m or 1h"):
        parse_duration(text)
