"""Built-in estimator: ridge regression (alpha=0 is ordinary least squares)."""
from sklearn.linear_model import LinearRegression, Ridge

from builtin_helpers import column_names, forbid_missing, matrix, param, prediction_frame, save, select_columns

TASK = "ridge"


def fit(X, y, output_dir, row_weights=None, parameters=None, **kwargs):
    """Fit Ridge with the given alpha, or LinearRegression when alpha is 0; row weights are used."""
    columns = column_names(X)
    M = matrix(X)
    forbid_missing(M, columns, TASK)
    alpha = float(param(parameters, "alpha", 1.0))
    estimator = LinearRegression() if alpha == 0 else Ridge(alpha=alpha)
    weights = None if row_weights is None else row_weights.to_numpy(dtype="float64")
    estimator.fit(M, y.to_numpy(dtype="float64"), sample_weight=weights)
    save(output_dir, {"task": TASK, "columns": columns, "estimator": estimator})
    kind = "least squares" if alpha == 0 else f"alpha={alpha}"
    print(f"{TASK}: {kind}, {len(columns)} columns, {M.shape[0]} rows, R² on training {estimator.score(M, y):.3f}")


def predict(X, model, **kwargs):
    """Return the predictions as one Predictions column."""
    columns = model["columns"]
    M = matrix(select_columns(X, columns, TASK))
    forbid_missing(M, columns, TASK)
    return prediction_frame(model["estimator"].predict(M))
