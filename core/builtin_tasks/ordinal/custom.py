"""Built-in transform: ordinal encoding of categorical columns (one integer code per level)."""
import numpy as np
from sklearn.preprocessing import OrdinalEncoder

from builtin_helpers import column_names, levels, output_frame, param, save, select_columns, unique_names

TASK = "ordinal"


def fit(X, y, output_dir, parameters=None, **kwargs):
    """Fit OrdinalEncoder on text levels (missing is a level of its own).

    Codes follow the levels' text order; with more than max_categories levels the rarest share
    one code. Levels first seen at scoring get the code -1.
    """
    max_categories = int(param(parameters, "max_categories", 255))
    columns = column_names(X)
    encoder = OrdinalEncoder(
        handle_unknown="use_encoded_value", unknown_value=-1, max_categories=max_categories, dtype=np.float64
    )
    encoder.fit(levels(X))
    names = unique_names(f"{TASK}__{name}" for name in columns)
    save(output_dir, {"task": TASK, "columns": columns, "encoder": encoder, "names": names})
    counts = [len(c) for c in encoder.categories_]
    print(f"{TASK}: {len(columns)} categorical columns, {sum(counts)} levels (max_categories={max_categories})")


def transform(X, transformer):
    """Return one float64 code column per input column, named ordinal__<column>."""
    X = select_columns(X, transformer["columns"], TASK)
    encoded = transformer["encoder"].transform(levels(X))
    return output_frame(np.asarray(encoded).reshape(len(X), len(transformer["names"])), transformer["names"])
