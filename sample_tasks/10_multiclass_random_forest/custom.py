"""Multiclass random forest with module-level hooks; one probability column per class."""
import pickle
from pathlib import Path

import pandas as pd
from sklearn.ensemble import RandomForestClassifier


def fit(X, y, output_dir, class_order=None, row_weights=None, parameters=None, **kwargs):
    """Train the forest; ``class_order`` lists every label of the project."""
    p = parameters or {}
    estimator = RandomForestClassifier(
        n_estimators=p.get("n_estimators", 100), min_samples_leaf=p.get("min_samples_leaf", 2), random_state=0
    )
    estimator.fit(X, y, sample_weight=row_weights)
    with open(Path(output_dir) / "artifact.pkl", "wb") as f:
        pickle.dump(estimator, f)
    classes = class_order or list(estimator.classes_)
    print(f"multiclass_random_forest: {estimator.n_estimators} trees, {len(X)} rows, classes {classes}")


def predict_proba(X, model, **kwargs):
    """Return the class probabilities, columns named by ``estimator.classes_``."""
    return pd.DataFrame(model.predict_proba(X), columns=model.classes_, index=X.index)
