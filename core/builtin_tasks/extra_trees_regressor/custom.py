"""Built-in estimator: extremely randomised trees on target- and frequency-encoded categories, regression."""
import numpy as np
from sklearn.ensemble import ExtraTreesRegressor

from builtin_helpers import CATEGORY_PREFIX, column_names, matrix, param, prediction_frame, save, select_columns

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


# ---------------------------------------------------------------- category encoding (the same in extra_trees_classifier)


def frequency_tables(M, columns):
    """Per `ordinal__` column: its column index, its codes and each code's share of the training rows."""
    tables = []
    for i, name in enumerate(columns):
        if name.startswith(CATEGORY_PREFIX):
            codes, counts = np.unique(M[:, i], return_counts=True)
            tables.append((i, codes, counts / M.shape[0]))
    return tables


def with_frequencies(M, tables):
    """M with one column per table appended: each row's category share (0 for a code unseen in training)."""
    if not tables:
        return M
    extra = np.zeros((M.shape[0], len(tables)))
    for j, (i, codes, shares) in enumerate(tables):
        at = np.clip(np.searchsorted(codes, M[:, i]), 0, len(codes) - 1)
        extra[:, j] = np.where(codes[at] == M[:, i], shares[at], 0.0)
    return np.hstack([M, extra])


def encoded_trees(trees, columns, categorical, seed):
    """The trees behind scikit-learn's TargetEncoder on the `ordinal__` columns (cross-fitted during fit, so the
    trees never see a row's own target in its encoding) when `categorical` is `target`; codes as numbers otherwise."""
    from sklearn.compose import ColumnTransformer
    from sklearn.model_selection import KFold
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import TargetEncoder

    chosen = [i for i, name in enumerate(columns) if name.startswith(CATEGORY_PREFIX)]
    if str(categorical) != "target" or not chosen:
        return Pipeline([("trees", trees)])
    folds = KFold(5, shuffle=True, random_state=seed)
    encoder = ColumnTransformer([("target", TargetEncoder(cv=folds), chosen)], remainder="passthrough")
    return Pipeline([("encode", encoder), ("trees", trees)])


def encoding_note(pipeline, tables):
    """How the categories reached the trees, for the log."""
    ways = (["target-encoded"] if "encode" in pipeline.named_steps else []) + (["frequency"] if tables else [])
    return "categories " + " and ".join(ways) if ways else "no categories encoded"
