"""Built-in transform: standard scaling (subtract the training mean, divide by the training deviation)."""
from sklearn.preprocessing import StandardScaler

from builtin_helpers import column_names, dense_matrix, flag, forbid_missing, output_frame, param, save, select_columns

TASK = "standardize"


def fit(X, y, output_dir, parameters=None, **kwargs):
    """Fit scikit-learn's StandardScaler on numeric columns without missing values."""
    columns = column_names(X)
    M = dense_matrix(X)
    forbid_missing(M, columns, TASK)
    scaler = StandardScaler(
        with_mean=flag(param(parameters, "with_mean", True)), with_std=flag(param(parameters, "with_std", True))
    )
    scaler.fit(M)
    save(output_dir, {"task": TASK, "columns": columns, "scaler": scaler})
    print(f"{TASK}: scaled {len(columns)} columns (with_mean={scaler.with_mean}, with_std={scaler.with_std})")


def transform(X, transformer):
    """Return the scaled columns under their own names as float64; constant columns become 0."""
    columns = transformer["columns"]
    M = dense_matrix(select_columns(X, columns, TASK))
    forbid_missing(M, columns, TASK)
    return output_frame(transformer["scaler"].transform(M).reshape(len(X), len(columns)), columns)
