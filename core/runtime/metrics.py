"""Metrics per target type (SPEC §5), computed with scikit-learn from a model's predictions."""

from __future__ import annotations

import math

from . import contract

METRICS = {
    contract.BINARY: ("LogLoss", "AUC", "Accuracy", "F1"),
    contract.MULTICLASS: ("LogLoss", "Accuracy", "Balanced Accuracy"),
    contract.REGRESSION: ("RMSE", "MAE", "R2"),
    contract.ANOMALY: ("Mean score", "Score p95"),
}
DEFAULT_METRIC = {t: names[0] for t, names in METRICS.items()}
HIGHER_IS_BETTER = {"AUC", "Accuracy", "F1", "Balanced Accuracy", "R2"}


def better(metric: str, a: float, b: float) -> bool:
    """True when score `a` is better than `b` for `metric`."""
    return a > b if metric in HIGHER_IS_BETTER else a < b


def sort_key(metric: str):
    """A key that orders scores best first (missing scores last)."""

    def key(value):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return math.inf
        return -value if metric in HIGHER_IS_BETTER else value

    return key


def compute(target_type: str, y_true, predictions, class_labels=None) -> dict[str, float]:
    """All metrics of the target type for `predictions` (the scoring hook's normalised DataFrame)."""
    import numpy as np
    from sklearn import metrics as m

    from .checks import normalize_label

    if target_type == contract.REGRESSION:
        pred = predictions[contract.PREDICTIONS_COLUMN].to_numpy()
        y = np.asarray(y_true, dtype="float64")
        return {
            "RMSE": float(math.sqrt(m.mean_squared_error(y, pred))),
            "MAE": float(m.mean_absolute_error(y, pred)),
            "R2": float(m.r2_score(y, pred)),
        }
    if target_type == contract.ANOMALY:
        scores = predictions[contract.PREDICTIONS_COLUMN].to_numpy()
        return {"Mean score": float(np.mean(scores)), "Score p95": float(np.percentile(scores, 95))}
    labels = [normalize_label(c) for c in class_labels]
    y = np.array([labels.index(normalize_label(v)) for v in y_true])
    proba = predictions.to_numpy(dtype="float64")
    proba = np.clip(proba, 1e-15, 1 - 1e-15)
    proba = proba / proba.sum(axis=1, keepdims=True)
    chosen = proba.argmax(axis=1)
    out = {"LogLoss": float(m.log_loss(y, proba, labels=list(range(len(labels)))))}
    if target_type == contract.BINARY:
        out["AUC"] = float(m.roc_auc_score(y, proba[:, 1])) if len(set(y)) > 1 else float("nan")
        out["Accuracy"] = float(m.accuracy_score(y, chosen))
        out["F1"] = float(m.f1_score(y, chosen, zero_division=0))
    else:
        out["Accuracy"] = float(m.accuracy_score(y, chosen))
        out["Balanced Accuracy"] = float(m.balanced_accuracy_score(y, chosen))
    return out
