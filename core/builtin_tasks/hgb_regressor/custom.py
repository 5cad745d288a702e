"""Built-in estimator: histogram gradient boosting regression with early stopping and encoded categories."""
from threadpoolctl import threadpool_limits
from sklearn.ensemble import HistGradientBoostingRegressor

from builtin_helpers import (
    boosting_pipeline,
    boosting_summary,
    column_names,
    matrix,
    param,
    prediction_frame,
    save,
    select_columns,
)

TASK = "hgb_regressor"
SINGLE_THREAD = 1  # training parallelism is the engine's job, as for gbm_regressor


def fit(X, y, output_dir, row_weights=None, parameters=None, **kwargs):
    """Fit the boosting pipeline (squared error); `ordinal__` columns are categories, missing values routed natively."""
    columns = column_names(X)
    M = matrix(X, allow_sparse=False)
    booster = HistGradientBoostingRegressor(
        learning_rate=float(param(parameters, "learning_rate", 0.05)),
        max_iter=int(param(parameters, "max_iter", 1000)),
        max_leaf_nodes=int(param(parameters, "max_leaf_nodes", 15)),
        min_samples_leaf=int(param(parameters, "min_samples_leaf", 40)),
        l2_regularization=float(param(parameters, "regularization", 0.0)),
        n_iter_no_change=int(param(parameters, "n_iter_no_change", 20)),
        validation_fraction=float(param(parameters, "validation_fraction", 0.1)),
        random_state=int(param(parameters, "seed", 0)),
    )
    pipeline, early = boosting_pipeline(
        booster, M, columns, param(parameters, "categorical", "target"), param(parameters, "early_stopping", "auto")
    )
    extra = {} if row_weights is None else {"booster__sample_weight": row_weights.to_numpy(dtype="float64")}
    with threadpool_limits(limits=SINGLE_THREAD):
        pipeline.fit(M, y.to_numpy(dtype="float64"), **extra)
    save(output_dir, {"task": TASK, "columns": columns, "estimator": pipeline})
    print(f"{TASK}: {boosting_summary(pipeline, early, columns, M.shape[0])}")


def predict(X, model, **kwargs):
    """Return the predictions as one Predictions column."""
    M = matrix(select_columns(X, model["columns"], TASK), allow_sparse=False)
    with threadpool_limits(limits=SINGLE_THREAD):
        return prediction_frame(model["estimator"].predict(M))
