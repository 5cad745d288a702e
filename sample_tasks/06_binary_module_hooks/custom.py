"""Binary logistic regression written with module-level hooks; the output columns follow ``class_order``.

It also shows DRUM's preprocessing hook: a module-level ``transform`` on an estimator.
"""
import pickle
from pathlib import Path

import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def transform(X, model):
    """Preprocessing hook, run before fit (``model`` is None) and before every scoring: drop row identifiers."""
    return X.drop(columns=[c for c in X.columns if str(c).lower() == "id"])


def fit(X, y, output_dir, class_order=None, row_weights=None, **kwargs):
    """Fit P(positive) where ``class_order`` is ``[negative, positive]``; row weights are used when given."""
    negative, positive = class_order or sorted(y.unique())
    pipeline = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression())
    weights = None if row_weights is None else row_weights.to_numpy()
    pipeline.fit(X, y.astype(str) == str(positive), logisticregression__sample_weight=weights)
    with open(Path(output_dir) / "artifact.pkl", "wb") as f:
        pickle.dump({"pipeline": pipeline, "class_order": [negative, positive]}, f)
    print(f"binary_module_hooks: fitted on {len(X)} rows x {X.shape[1]} columns, positive class {positive!r}")


def predict_proba(X, model, **kwargs):
    """Return one probability column per class, named by the class order seen in fit."""
    negative, positive = model["class_order"]
    p = model["pipeline"].predict_proba(X)[:, 1]
    return pd.DataFrame({negative: 1 - p, positive: p}, index=X.index)
