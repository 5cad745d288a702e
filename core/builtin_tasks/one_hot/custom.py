"""Built-in transform: one-hot encoding of categorical columns; rare levels share one column."""
import numpy as np
from sklearn.preprocessing import OneHotEncoder

from builtin_helpers import column_names, levels, output_frame, param, save, select_columns, unique_names

TASK = "one_hot"
INFREQUENT = "(infrequent)"


def _names(encoder, columns):
    """one_hot__<column>=<level> per output column, in the encoder's order (frequent levels, then infrequent)."""
    names = []
    infrequent = getattr(encoder, "infrequent_categories_", None) or [None] * len(columns)
    for column, categories, rare in zip(columns, encoder.categories_, infrequent):
        rare = set() if rare is None else set(rare)
        names += [f"{TASK}__{column}={level}" for level in categories if level not in rare]
        if rare:
            names.append(f"{TASK}__{column}={INFREQUENT}")
    return names


def fit(X, y, output_dir, parameters=None, **kwargs):
    """Fit OneHotEncoder on text levels (missing is a level of its own).

    At most max_categories columns per input column: the most frequent levels get their own
    column, the rest share one '(infrequent)' column. Levels first seen at scoring go to that
    shared column when it exists, else give all-zero rows.
    """
    max_categories = int(param(parameters, "max_categories", 20))
    columns = column_names(X)
    encoder = OneHotEncoder(
        handle_unknown="infrequent_if_exist", max_categories=max_categories, sparse_output=False, dtype=np.float64
    )
    encoder.fit(levels(X))
    names = unique_names(_names(encoder, columns))
    if len(names) != len(encoder.get_feature_names_out()):
        raise RuntimeError(f"{TASK}: {len(names)} names for {len(encoder.get_feature_names_out())} encoded columns")
    save(output_dir, {"task": TASK, "columns": columns, "encoder": encoder, "names": names})
    print(f"{TASK}: {len(columns)} categorical columns -> {len(names)} indicator columns (max_categories={max_categories})")


def transform(X, transformer):
    """Return one float64 0/1 column per level, named one_hot__<column>=<level>."""
    X = select_columns(X, transformer["columns"], TASK)
    encoded = transformer["encoder"].transform(levels(X))
    return output_frame(np.asarray(encoded).reshape(len(X), len(transformer["names"])), transformer["names"])
