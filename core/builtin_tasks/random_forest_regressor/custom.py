"""Built-in estimator: random forest regression."""
from sklearn.ensemble import RandomForestRegressor

from builtin_helpers import column_names, forbid_missing, matrix, none_word, param, prediction_frame, save, select_columns

TASK = "random_forest_regressor"


def _max_features(value):
    return None if value == "all" else value


def fit(X, y, output_dir, row_weights=None, parameters=None, **kwargs):
    """Fit RandomForestRegressor on one core (n_jobs=1: the engine runs trainings in parallel)."""
    columns = column_names(X)
    M = matrix(X)
    forbid_missing(M, columns, TASK)
    estimator = RandomForestRegressor(
        n_estimators=int(param(parameters, "n_estimators", 100)),
        max_depth=none_word(param(parameters, "max_depth", "none")),
        min_samples_leaf=int(param(parameters, "min_samples_leaf", 5)),
        max_features=_max_features(param(parameters, "max_features", "all")),
        random_state=int(param(parameters, "seed", 0)),
        n_jobs=1,
    )
    weights = None if row_weights is None else row_weights.to_numpy(dtype="float64")
    estimator.fit(M, y.to_numpy(dtype="float64"), sample_weight=weights)
    save(output_dir, {"task": TASK, "columns": columns, "estimator": estimator})
    print(f"{TASK}: {estimator.n_estimators} trees, {len(columns)} columns, {M.shape[0]} rows")


def predict(X, model, **kwargs):
    """Return the mean of the trees' predictions as one Predictions column."""
    columns = model["columns"]
    M = matrix(select_columns(X, columns, TASK))
    forbid_missing(M, columns, TASK)
    return prediction_frame(model["estimator"].predict(M))
