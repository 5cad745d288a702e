"""Built-in estimator: ridge regression (alpha=0 is ordinary least squares), alpha optionally chosen by leave-one-out."""
import numpy as np
from sklearn.linear_model import LinearRegression, Ridge, RidgeCV

from builtin_helpers import column_names, forbid_missing, matrix, param, prediction_frame, save, select_columns

TASK = "ridge"
ALPHA_GRID = np.logspace(-3, 3, 13)  # searched when alpha_search is cv: 0.001 to 1000, two steps a decade


def fit(X, y, output_dir, row_weights=None, parameters=None, **kwargs):
    """Fit Ridge with the given alpha, or LinearRegression when alpha is 0; row weights are used.

    With alpha_search=cv, RidgeCV chooses alpha from ALPHA_GRID by efficient leave-one-out error on the training rows."""
    columns = column_names(X)
    M = matrix(X)
    forbid_missing(M, columns, TASK)
    alpha = float(param(parameters, "alpha", 1.0))
    search = str(param(parameters, "alpha_search", "none")) == "cv" and M.shape[0] >= 3
    if search:
        estimator = RidgeCV(alphas=ALPHA_GRID)
    else:
        estimator = LinearRegression() if alpha == 0 else Ridge(alpha=alpha)
    weights = None if row_weights is None else row_weights.to_numpy(dtype="float64")
    estimator.fit(M, y.to_numpy(dtype="float64"), sample_weight=weights)
    save(output_dir, {"task": TASK, "columns": columns, "estimator": estimator})
    if search:
        kind = f"alpha={float(estimator.alpha_):g} chosen by leave-one-out"
    else:
        kind = "least squares" if alpha == 0 else f"alpha={alpha}"
    print(f"{TASK}: {kind}, {len(columns)} columns, {M.shape[0]} rows, R² on training {estimator.score(M, y):.3f}")


def predict(X, model, **kwargs):
    """Return the predictions as one Predictions column."""
    columns = model["columns"]
    M = matrix(select_columns(X, columns, TASK))
    forbid_missing(M, columns, TASK)
    return prediction_frame(model["estimator"].predict(M))
