"""Built-in transform: 0/1 columns saying where numeric values were missing."""
import numpy as np

from builtin_helpers import column_names, numeric_frame, output_frame, param, save, select_columns, unique_names

TASK = "missing_indicator"


def fit(X, y, output_dir, parameters=None, **kwargs):
    """Choose the columns to flag.

    features=missing-only flags the columns that had missing values in training; when none had
    any, every input column is flagged instead, so the output never has zero columns (downstream
    nodes need at least one). features=all always flags every input column.
    """
    features = param(parameters, "features", "missing-only")
    columns = column_names(X)
    frame = numeric_frame(X)
    with_missing = [name for name, flagged in zip(columns, frame.isna().any().to_numpy()) if flagged]
    chosen = with_missing if features == "missing-only" and with_missing else list(columns)
    names = unique_names(f"{TASK}__{name}" for name in chosen)
    save(output_dir, {"task": TASK, "columns": columns, "flagged": chosen, "names": names, "features": features})
    note = "" if with_missing or features == "all" else " (no column had missing values, so all are flagged)"
    print(f"{TASK}: {len(with_missing)} of {len(columns)} columns had missing values; {len(chosen)} indicator columns{note}")


def transform(X, transformer):
    """Return one float64 0/1 column per flagged input column, named missing_indicator__<column>."""
    columns = transformer["columns"]
    X = select_columns(X, columns, TASK)
    positions = {name: i for i, name in enumerate(columns)}
    frame = numeric_frame(X.iloc[:, [positions[name] for name in transformer["flagged"]]])
    values = frame.isna().to_numpy().astype(np.float64)
    return output_frame(values.reshape(len(X), len(transformer["names"])), transformer["names"])
