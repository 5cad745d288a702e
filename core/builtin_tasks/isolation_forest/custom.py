"""Built-in estimator: isolation forest anomaly detection; higher Predictions mean more anomalous rows."""
from sklearn.ensemble import IsolationForest

from builtin_helpers import column_names, forbid_missing, matrix, param, prediction_frame, save, select_columns

TASK = "isolation_forest"


def _max_samples(value):
    return value if isinstance(value, (int, float)) or value == "auto" else "auto"


def fit(X, y, output_dir, row_weights=None, parameters=None, **kwargs):
    """Fit IsolationForest on the features alone (y is None for anomaly tasks); row weights are used."""
    columns = column_names(X)
    M = matrix(X)
    forbid_missing(M, columns, TASK)
    max_samples = _max_samples(param(parameters, "max_samples", "auto"))
    if isinstance(max_samples, int):
        max_samples = min(max_samples, M.shape[0])
    estimator = IsolationForest(
        n_estimators=int(param(parameters, "n_estimators", 100)),
        max_samples=max_samples,
        contamination=param(parameters, "contamination", "auto"),
        random_state=int(param(parameters, "seed", 0)),
        n_jobs=1,
    )
    weights = None if row_weights is None else row_weights.to_numpy(dtype="float64")
    estimator.fit(M, sample_weight=weights)
    save(output_dir, {"task": TASK, "columns": columns, "estimator": estimator})
    flagged = int((estimator.predict(M) == -1).sum())
    print(
        f"{TASK}: {estimator.n_estimators} trees on {M.shape[0]} rows x {len(columns)} columns; "
        f"{flagged} training rows above the anomaly threshold (contamination={estimator.contamination})"
    )


def predict(X, model, **kwargs):
    """Return -decision_function: higher is more anomalous, and above 0 is past the contamination threshold."""
    columns = model["columns"]
    M = matrix(select_columns(X, columns, TASK))
    forbid_missing(M, columns, TASK)
    return prediction_frame(-model["estimator"].decision_function(M))
