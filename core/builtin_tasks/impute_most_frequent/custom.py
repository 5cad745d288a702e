"""Built-in transform: fill missing values with each column's most frequent training value (NUM and CAT)."""
import pandas as pd

from builtin_helpers import MISSING_LEVEL, column_names, is_sparse, numeric_series, plain, save, select_columns

TASK = "impute_most_frequent"


def _is_numeric(series):
    return is_sparse(series) or pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series)


def _mode(values):
    """The most frequent value; ties go to the smallest (numbers) or first in text order, so fits are stable."""
    counts = values.value_counts(dropna=True)
    if counts.empty:
        return None
    top = counts[counts == counts.max()].index
    return plain(sorted(top, key=lambda v: (str(type(v)), v))[0])


def fit(X, y, output_dir, parameters=None, **kwargs):
    """Learn one fill value per column; numeric columns stay numbers, categorical ones stay text."""
    columns = column_names(X)
    kinds, fills = {}, {}
    for name, i in zip(columns, range(X.shape[1])):
        col = X.iloc[:, i]
        if _is_numeric(col):
            kinds[name] = "NUM"
            value = _mode(numeric_series(col))
            fills[name] = 0.0 if value is None else float(value)
        else:
            kinds[name] = "CAT"
            value = _mode(col.astype(object))
            fills[name] = MISSING_LEVEL if value is None else value
    save(output_dir, {"task": TASK, "columns": columns, "kinds": kinds, "fills": fills})
    n_cat = sum(1 for k in kinds.values() if k == "CAT")
    print(f"{TASK}: learned fill values for {len(columns)} columns ({len(columns) - n_cat} numeric, {n_cat} categorical)")


def transform(X, transformer):
    """Return the columns under their own names: numeric ones as float64, categorical ones as text, none missing."""
    columns = transformer["columns"]
    X = select_columns(X, columns, TASK)
    data = {}
    for name, i in zip(columns, range(X.shape[1])):
        col = X.iloc[:, i].reset_index(drop=True)
        fill = transformer["fills"][name]
        if transformer["kinds"][name] == "NUM":
            data[name] = numeric_series(col).fillna(fill).astype("float64")
        else:
            if is_sparse(col):
                col = col.sparse.to_dense()
            values = col.astype(object)
            data[name] = values.where(values.notna(), fill).astype(object)
    out = pd.DataFrame(data, index=pd.RangeIndex(len(X)))
    return out.reindex(columns=columns) if len(columns) else pd.DataFrame(index=pd.RangeIndex(len(X)))
