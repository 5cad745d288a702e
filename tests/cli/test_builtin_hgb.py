"""hgb_classifier and hgb_regressor: how `ordinal__` categories reach the trees, early stopping, row weights, ranges."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.cli.test_builtin_tasks import BUILTINS, _fit


def _data(n, seed=0, levels=300):
    """A numeric column, a high-cardinality category whose code means nothing, and a low one that decides y."""
    rng = np.random.default_rng(seed)
    signal = rng.integers(0, 4, n)
    X = pd.DataFrame({
        "age": rng.normal(size=n),
        "ordinal__noise": rng.integers(0, levels, n).astype("float64"),
        "ordinal__kind": signal.astype("float64"),
    })
    y = pd.Series(np.where(rng.random(n) < 0.15, 1 - (signal % 2), signal % 2).astype(bool))
    return X, y


def test_categories_are_target_encoded_by_default_with_cross_fitting(tmp_path):
    X, y = _data(2000)
    module, model = _fit("hgb_classifier", X, y, tmp_path, class_order=[False, True])
    pipeline = model["estimator"]
    encoder = pipeline.named_steps["encode"]
    assert encoder.transformers_[0][2] == [1, 2]  # the ordinal__ columns only; age passes through
    # Cross-fitted: the encoding the trees were trained on differs from the one scoring uses on the same rows.
    target = encoder.named_transformers_["target"]
    fitted = target.fit_transform(X.iloc[:, [1, 2]].to_numpy(), y.to_numpy())
    assert not np.allclose(fitted, target.transform(X.iloc[:, [1, 2]].to_numpy()))
    proba = module.predict_proba(X, model, class_labels=[False, True])
    assert list(proba.columns) == [False, True] and np.allclose(proba.sum(axis=1), 1.0)
    sample = module.predict_proba(X.iloc[10:40].reset_index(drop=True), model, class_labels=[False, True])
    assert np.allclose(sample.to_numpy(), proba.iloc[10:40].to_numpy())


def test_native_categories_take_the_columns_the_booster_can_split_and_codes_take_none(tmp_path):
    X, y = _data(2000)
    _, native = _fit("hgb_classifier", X, y, tmp_path, class_order=[False, True], parameters={"categorical": "native"})
    booster = native["estimator"].named_steps["booster"]
    assert "encode" not in native["estimator"].named_steps
    assert booster.is_categorical_.tolist() == [False, False, True]  # 300 levels stay codes
    _, codes = _fit("hgb_classifier", X, y, tmp_path, class_order=[False, True], parameters={"categorical": "codes"})
    assert codes["estimator"].named_steps["booster"].is_categorical_ is None  # numpy input: every column numeric


def test_early_stopping_is_on_from_two_hundred_rows_unless_told(tmp_path, capsys):
    small, y_small = _data(150)
    _, model = _fit("hgb_classifier", small, y_small, tmp_path, class_order=[False, True],
                    parameters={"max_iter": 60})
    assert model["estimator"].named_steps["booster"].n_iter_ == 60
    large, y_large = _data(3000)
    _, model = _fit("hgb_classifier", large, y_large, tmp_path, class_order=[False, True])
    booster = model["estimator"].named_steps["booster"]
    assert booster.early_stopping is True and booster.n_iter_ < 1000
    assert "early stopping kept" in capsys.readouterr().out
    _, model = _fit("hgb_classifier", small, y_small, tmp_path, class_order=[False, True],
                    parameters={"early_stopping": "true"})
    assert model["estimator"].named_steps["booster"].n_iter_ < 1000


def test_regressor_weights_rows_and_predicts_one_column(tmp_path):
    X, y = _data(1500)
    target = pd.Series(np.where(y, 10.0, 0.0) + X["age"].to_numpy())
    weights = pd.Series(np.where(X["ordinal__kind"] == 0, 0.0, 1.0))
    module, weighted = _fit("hgb_regressor", X, target, tmp_path, row_weights=weights)
    _, plain = _fit("hgb_regressor", X, target, tmp_path)
    out = module.predict(X, weighted)
    assert list(out.columns) == ["Predictions"] and len(out) == 1500
    assert not np.allclose(out["Predictions"], module.predict(X, plain)["Predictions"])


@pytest.mark.parametrize("name", ["hgb_classifier", "hgb_regressor"])
def test_every_tunable_hyperparameter_declares_its_range(name):
    from core.tasks.metadata import load_metadata

    meta = load_metadata(BUILTINS / name)
    for hp in meta.hyperparameters:
        if hp.type in ("int", "float"):
            assert hp.min is not None and hp.max is not None and hp.min <= hp.default <= hp.max, hp
        else:
            assert hp.default in hp.values, hp
    names = {hp.name for hp in meta.hyperparameters}
    assert {"learning_rate", "max_iter", "early_stopping", "categorical", "seed"} <= names


def test_small_data_still_splits_with_the_default_leaf_size(tmp_path):
    X, y = _data(90)
    module, model = _fit("hgb_classifier", X, y, tmp_path, class_order=[False, True])
    assert model["estimator"].named_steps["booster"].min_samples_leaf == 5
    proba = module.predict_proba(X, model, class_labels=[False, True])[True]
    assert proba.nunique() > 1  # 40 rows a leaf on 90 rows would leave one constant prediction
