"""Built-in estimator: extremely randomised trees on target- and frequency-encoded categories, regression."""
from sklearn.ensemble import ExtraTreesRegressor

from builtin_helpers import (
    column_names,
    encoded_trees,
    encoding_note,
    frequency_tables,
    matrix,
    param,
    prediction_frame,
    save,
    select_columns,
    with_frequencies,
)

TASK = "extra_trees_regressor"


def fit(X, y, output_dir, row_weights=None, parameters=None, **kwargs):
    """Fit the trees on one core; `ordinal__` columns are categories, encoded by their target mean and frequency."""
    columns = column_names(X)
    M = matrix(X, allow_sparse=False)
    seed = int(param(parameters, "seed", 0))
    trees = ExtraTreesRegressor(
        n_estimators=int(param(parameters, "n_estimators", 300)),
        min_samples_leaf=int(param(parameters, "min_samples_leaf", 5)),
        max_features=float(param(parameters, "max_features", 1.0)),
        random_state=seed,
        n_jobs=1,
    )
    frequencies = frequency_tables(M, columns) if str(param(parameters, "frequency", "true")) == "true" else []
    pipeline = encoded_trees(trees, columns, param(parameters, "categorical", "target"), seed)
    extra = {} if row_weights is None else {"trees__sample_weight": row_weights.to_numpy(dtype="float64")}
    pipeline.fit(with_frequencies(M, frequencies), y.to_numpy(dtype="float64"), **extra)
    save(output_dir, {"task": TASK, "columns": columns, "frequencies": frequencies, "estimator": pipeline})
    print(f"{TASK}: {trees.n_estimators} trees, {len(columns)} columns ({encoding_note(pipeline, frequencies)}), "
          f"{M.shape[0]} rows")


def predict(X, model, **kwargs):
    """Return the mean of the trees' predictions as one Predictions column."""
    M = matrix(select_columns(X, model["columns"], TASK), allow_sparse=False)
    return prediction_frame(model["estimator"].predict(with_frequencies(M, model["frequencies"])))
