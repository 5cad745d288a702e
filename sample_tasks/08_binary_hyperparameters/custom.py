"""Gradient boosting whose settings all come from hyperparameters of every kind: int, float, string, select, multi."""
import pickle
from pathlib import Path

import pandas as pd
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline


def _max_depth(value):
    """multi (int or "none"): a depth limit, or grow each tree until its leaves are pure."""
    return None if value == "none" else int(value)


def _max_features(value, n_columns):
    """multi (int, float or select): a column count, a fraction of the columns, or a rule."""
    if isinstance(value, str):
        return None if value == "all" else value
    if isinstance(value, float):
        return value
    return min(int(value), n_columns)


def fit(X, y, output_dir, row_weights=None, parameters=None, **kwargs):
    """Train with the given hyperparameters and write a summary labelled with ``run_label`` next to the model."""
    p = parameters or {}
    estimator = GradientBoostingClassifier(
        n_estimators=p.get("n_estimators", 100),
        learning_rate=p.get("learning_rate", 0.1),
        loss=p.get("loss", "log_loss"),
        max_depth=_max_depth(p.get("max_depth", 3)),
        max_features=_max_features(p.get("max_features", "all"), X.shape[1]),
        random_state=0,
    )
    model = make_pipeline(SimpleImputer(strategy="median"), estimator)
    weights = None if row_weights is None else row_weights.to_numpy()
    model.fit(X, y, gradientboostingclassifier__sample_weight=weights)
    output_dir = Path(output_dir)
    with open(output_dir / "artifact.pkl", "wb") as f:
        pickle.dump(model, f)
    label = p.get("run_label", "baseline")
    settings = "\n".join(f"{name}: {value}" for name, value in sorted(p.items()))
    accuracy = model.score(X, y)
    (output_dir / "training_summary.txt").write_text(f"run: {label}\n{settings}\ntraining accuracy: {accuracy:.4f}\n")
    print(f"binary_hyperparameters[{label}]: {estimator.n_estimators} trees, training accuracy {accuracy:.3f}")


def predict_proba(X, model, **kwargs):
    """Return one probability column per class."""
    return pd.DataFrame(model.predict_proba(X), columns=model.classes_, index=X.index)
