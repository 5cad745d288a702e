"""Built-in estimator: k-nearest neighbours regression."""
from threadpoolctl import threadpool_limits
from sklearn.neighbors import KNeighborsRegressor

from builtin_helpers import column_names, forbid_missing, matrix, param, prediction_frame, save, select_columns

TASK = "knn_regressor"

# One thread for the neighbour search: with several, the BLAS distance computation and the
# tie-breaking between equally distant neighbours can depend on how many rows are scored at
# once, so a row could get other neighbours in a sample than in the full data.
SINGLE_THREAD = 1


def fit(X, y, output_dir, row_weights=None, parameters=None, **kwargs):
    """Store the training rows in a KNeighborsRegressor (row weights cannot be used: it has no sample_weight)."""
    columns = column_names(X)
    M = matrix(X)
    forbid_missing(M, columns, TASK)
    k = max(1, min(int(param(parameters, "n_neighbors", 5)), M.shape[0]))
    estimator = KNeighborsRegressor(n_neighbors=k, weights=param(parameters, "weights", "uniform"), n_jobs=1)
    estimator.fit(M, y.to_numpy(dtype="float64"))
    save(output_dir, {"task": TASK, "columns": columns, "estimator": estimator})
    note = "; row weights ignored (k-nearest neighbours has no sample weights)" if row_weights is not None else ""
    print(f"{TASK}: k={k} ({estimator.weights}), {len(columns)} columns, {M.shape[0]} rows{note}")


def predict(X, model, **kwargs):
    """Return the (weighted) mean target of the nearest training rows as one Predictions column."""
    columns = model["columns"]
    M = matrix(select_columns(X, columns, TASK))
    forbid_missing(M, columns, TASK)
    with threadpool_limits(limits=SINGLE_THREAD):
        return prediction_frame(model["estimator"].predict(M))
