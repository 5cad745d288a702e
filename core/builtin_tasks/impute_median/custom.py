"""Built-in transform: fill missing numeric values with each column's training median."""
import numpy as np

from builtin_helpers import column_names, numeric_frame, output_frame, param, save, select_columns

TASK = "impute_median"


def fit(X, y, output_dir, parameters=None, **kwargs):
    """Learn one fill value per column: the median (a column with no values in training fills with 0)."""
    strategy = param(parameters, "strategy", "median")
    frame = numeric_frame(X)
    stats = frame.median() if strategy == "median" else frame.mean()
    fills = {name: (float(value) if np.isfinite(value) else 0.0) for name, value in zip(column_names(X), stats)}
    save(output_dir, {"task": TASK, "columns": column_names(X), "fills": fills, "strategy": strategy})
    missing = int(frame.isna().to_numpy().sum())
    print(f"{TASK}: learned {strategy}s for {len(fills)} columns ({missing} missing cells in training)")


def transform(X, transformer):
    """Return the columns under their own names as float64 with every missing value filled."""
    columns = transformer["columns"]
    values = numeric_frame(select_columns(X, columns, TASK)).to_numpy(dtype="float64", copy=True)
    holes = np.isnan(values)
    if holes.any():
        fills = np.array([transformer["fills"][c] for c in columns], dtype="float64")
        values[holes] = fills[np.nonzero(holes)[1]]
    return output_frame(values, columns)
