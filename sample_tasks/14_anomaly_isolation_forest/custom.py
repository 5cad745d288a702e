"""Isolation-forest anomaly detector: no target, and higher ``Predictions`` mean more unusual rows."""
import pickle
from pathlib import Path

import pandas as pd
from sklearn.ensemble import IsolationForest


def fit(X, y, output_dir, parameters=None, **kwargs):
    """Fit the forest on the features alone (``y`` is None for anomaly tasks)."""
    estimator = IsolationForest(n_estimators=(parameters or {}).get("n_estimators", 200), random_state=0)
    estimator.fit(X)
    with open(Path(output_dir) / "artifact.pkl", "wb") as f:
        pickle.dump(estimator, f)
    print(f"isolation_forest: {estimator.n_estimators} trees on {len(X)} rows x {X.shape[1]} columns")


def predict(X, model, **kwargs):
    """Return the anomaly score of the original paper, between 0 and 1 (around 0.5 for ordinary rows)."""
    return pd.DataFrame({"Predictions": -model.score_samples(X)}, index=X.index)
