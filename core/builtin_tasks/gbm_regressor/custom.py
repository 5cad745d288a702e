"""Built-in estimator: histogram gradient boosting regression (missing values allowed)."""
from threadpoolctl import threadpool_limits
from sklearn.ensemble import HistGradientBoostingRegressor

from builtin_helpers import column_names, matrix, param, prediction_frame, save, select_columns

TASK = "gbm_regressor"

# One OpenMP thread, like n_jobs=1 for the forests: the engine runs trainings in parallel, and
# HistGradientBoosting's own threads mostly contend with each other on small data.
SINGLE_THREAD = 1


def fit(X, y, output_dir, row_weights=None, parameters=None, **kwargs):
    """Fit HistGradientBoostingRegressor (squared error); missing values are routed natively."""
    columns = column_names(X)
    M = matrix(X, allow_sparse=False)
    estimator = HistGradientBoostingRegressor(
        learning_rate=float(param(parameters, "learning_rate", 0.1)),
        max_iter=int(param(parameters, "max_iter", 100)),
        max_leaf_nodes=int(param(parameters, "max_leaf_nodes", 31)),
        min_samples_leaf=int(param(parameters, "min_samples_leaf", 20)),
        l2_regularization=float(param(parameters, "regularization", 0.0)),
        early_stopping=False,
        random_state=int(param(parameters, "seed", 0)),
    )
    weights = None if row_weights is None else row_weights.to_numpy(dtype="float64")
    with threadpool_limits(limits=SINGLE_THREAD):
        estimator.fit(M, y.to_numpy(dtype="float64"), sample_weight=weights)
    save(output_dir, {"task": TASK, "columns": columns, "estimator": estimator})
    print(
        f"{TASK}: {estimator.max_iter} iterations at learning rate {estimator.learning_rate}, "
        f"{len(columns)} columns, {M.shape[0]} rows"
    )


def predict(X, model, **kwargs):
    """Return the predictions as one Predictions column."""
    M = matrix(select_columns(X, model["columns"], TASK), allow_sparse=False)
    with threadpool_limits(limits=SINGLE_THREAD):
        return prediction_frame(model["estimator"].predict(M))
