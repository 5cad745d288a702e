"""extra_trees_* (the autopilot's forests): categories reach the trees as their target rate and their frequency."""

from __future__ import annotations

import importlib.util
import pickle
import sys

import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO


def load_task(name):
    folder = REPO / "core" / "builtin_tasks" / name
    sys.path.insert(0, str(folder))
    try:
        spec = importlib.util.spec_from_file_location(f"{name}_custom", folder / "custom.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(folder))
    return module


def frame(rows: int, seed: int = 0):
    """Category 0 is 10 % positive, 1 is 90 %, 2 half and half (and rare); `noise` is unrelated to the target."""
    rng = np.random.default_rng(seed)
    code = rng.choice([0, 1, 2], size=rows, p=[0.45, 0.45, 0.10])
    rate = np.array([0.1, 0.9, 0.5])[code]
    X = pd.DataFrame({"noise": rng.normal(size=rows), "ordinal__colour": code.astype(float)})
    return X, pd.Series(rng.random(rows) < rate)


@pytest.mark.parametrize("frequency", ["true", "false"])
def test_the_classifier_learns_a_categorys_rate_and_adds_its_frequency(tmp_path, frequency):
    task = load_task("extra_trees_classifier")
    X, y = frame(2000)
    task.fit(X, y, str(tmp_path), class_order=[False, True], parameters={"n_estimators": 50, "frequency": frequency})
    model = pickle.loads((tmp_path / "artifact.pkl").read_bytes())
    tables = model["frequencies"]
    if frequency == "true":
        ((column, codes, shares),) = tables
        assert column == 1 and list(codes) == [0, 1, 2] and shares.sum() == pytest.approx(1.0)
        assert shares[2] == pytest.approx((X["ordinal__colour"] == 2).mean())
    else:
        assert tables == []
    assert "encode" in model["estimator"].named_steps  # target-encoded (cross-fitted by scikit-learn)
    # An unseen code (-1, as `ordinal` gives it) scores like the others, its frequency 0.
    new = pd.DataFrame({"noise": [0.0, 0.0, 0.0], "ordinal__colour": [0.0, 1.0, -1.0]})
    out = task.predict_proba(new, model, class_labels=[False, True])
    assert out[True].iloc[0] < 0.3 < 0.7 < out[True].iloc[1]
    assert np.allclose(out.sum(axis=1), 1.0) and 0.0 <= out[True].iloc[2] <= 1.0


def test_frequencies_of_unseen_codes_are_zero_and_codes_can_stay_numbers(tmp_path):
    task = load_task("extra_trees_regressor")
    X, y = frame(500)
    task.fit(X, y.astype(float), str(tmp_path), parameters={"n_estimators": 20, "categorical": "codes"})
    model = pickle.loads((tmp_path / "artifact.pkl").read_bytes())
    assert "encode" not in model["estimator"].named_steps
    from builtin_helpers import with_frequencies

    M = with_frequencies(np.array([[0.0, 2.0], [0.0, 7.0]]), model["frequencies"])
    assert M.shape == (2, 3) and M[0, 2] == pytest.approx((X["ordinal__colour"] == 2).mean()) and M[1, 2] == 0.0
    assert task.predict(X.head(3), model)["Predictions"].between(0, 1).all()
