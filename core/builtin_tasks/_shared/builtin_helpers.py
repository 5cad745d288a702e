"""Helpers shared by taskbench's built-in tasks.

Every built-in task folder ships an identical copy of this file (a test keeps the copies
byte-for-byte equal), so each folder stays a self-contained task in the same contract as
user tasks: the helper sits beside ``custom.py`` and is imported by name. Artifacts hold only
scikit-learn objects and plain Python values, never classes from this module, so unpickling
them needs nothing but scikit-learn.
"""

import math
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

ARTIFACT = "artifact.pkl"


# ---------------------------------------------------------------- artifacts and parameters


def save(output_dir, state):
    """Pickle ``state`` (a dict) as the task's single native artifact."""
    with open(Path(output_dir) / ARTIFACT, "wb") as fh:
        pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)


def param(parameters, name, default):
    """A hyperparameter value; the engine merges defaults in, ``default`` only covers direct calls."""
    value = (parameters or {}).get(name)
    return default if value is None else value


def none_word(value):
    """Map the select word "none" (multi hyperparameters) to None."""
    return None if isinstance(value, str) and value.lower() == "none" else value


def flag(value):
    """A select hyperparameter written as true/false (or the words) as a bool."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1")
    return bool(value)


# ---------------------------------------------------------------- column names


def unique_names(names):
    """Make names unique and stable by suffixing repeats with ~2, ~3, ..."""
    seen = {}
    out = []
    taken = set()
    for name in names:
        name = str(name)
        candidate = name
        while candidate in taken:
            seen[name] = seen.get(name, 1) + 1
            candidate = f"{name}~{seen[name]}"
        taken.add(candidate)
        out.append(candidate)
    return out


def column_names(X):
    names = X.columns.tolist()  # iterating a pandas 3 text Index costs ~50 µs more per call (scoring single rows)
    return names if all(type(n) is str for n in names) else [str(c) for c in names]


_INDEXES = {}


def column_index(columns):
    """`columns` as a pandas Index, built once per distinct list: a text Index costs ~0.2 ms to build in pandas 3."""
    key = tuple(columns)
    if not all(type(c) is str for c in key):
        return pd.Index(list(key))  # 1 and True hash alike: only text names are kept
    index = _INDEXES.get(key)
    if index is None:
        if len(_INDEXES) >= 64:
            _INDEXES.clear()
        index = _INDEXES[key] = pd.Index(list(key))
    return index


def select_columns(X, columns, task):
    """The columns seen in training, in training order; a missing one is a clear error."""
    names = column_names(X)
    if names == list(columns):
        return X
    by_name = {str(c): c for c in X.columns}
    absent = [c for c in columns if c not in by_name]
    if absent:
        shown = ", ".join(repr(c) for c in absent[:5]) + (f" and {len(absent) - 5} more" if len(absent) > 5 else "")
        raise ValueError(f"{task}: the data lacks column(s) {shown} seen in training; score data with the same columns.")
    return X[[by_name[c] for c in columns]]


# ---------------------------------------------------------------- numeric data


def is_sparse(series):
    return isinstance(series.dtype, pd.SparseDtype)


def numeric_series(series):
    """A float64 Series: sparse densified, booleans as 0/1, text coerced (unparseable -> NaN)."""
    if is_sparse(series):
        series = series.sparse.to_dense()
    if pd.api.types.is_bool_dtype(series):
        return series.astype("float64")
    if pd.api.types.is_numeric_dtype(series):
        return series.astype("float64")
    return pd.to_numeric(series.astype(object).where(series.notna(), None), errors="coerce").astype("float64")


def _all_dense_numeric(X, dtypes=None):
    """True when every column is a plain numeric (or boolean) dtype: then one numpy conversion does."""
    return all(
        not isinstance(t, pd.SparseDtype) and (pd.api.types.is_numeric_dtype(t) or pd.api.types.is_bool_dtype(t))
        for t in set(X.dtypes.tolist() if dtypes is None else dtypes)
    )


def numeric_frame(X):
    """A dense float64 DataFrame with the same column labels and a fresh RangeIndex."""
    if _all_dense_numeric(X):
        return pd.DataFrame(X.to_numpy(dtype="float64"), columns=X.columns, index=pd.RangeIndex(len(X)))
    data = {i: numeric_series(X.iloc[:, i]).to_numpy() for i in range(X.shape[1])}
    frame = pd.DataFrame(data, index=pd.RangeIndex(len(X)))
    frame.columns = X.columns
    return frame


def dense_matrix(X, dtypes=None):
    """A float64 numpy array of X (NaN where values are missing)."""
    if X.shape[1] == 0:
        return np.zeros((len(X), 0))
    if _all_dense_numeric(X, dtypes):
        return X.to_numpy(dtype="float64")  # one conversion instead of one per column (scoring single rows)
    return numeric_frame(X).to_numpy(dtype="float64")


def matrix(X, allow_sparse=True):
    """X as a float64 numpy array, or a CSR matrix when any column is pandas-sparse and ``allow_sparse``.

    Dense and sparse columns keep their order: runs of each kind are stacked side by side.
    """
    dtypes = X.dtypes.tolist()
    kinds = [isinstance(t, pd.SparseDtype) for t in dtypes]
    if not any(kinds):
        return dense_matrix(X, dtypes)
    if not allow_sparse:
        return dense_matrix(X)
    blocks = []
    start = 0
    for i in range(1, len(kinds) + 1):
        if i == len(kinds) or kinds[i] != kinds[start]:
            part = X.iloc[:, start:i]
            if kinds[start]:
                try:
                    block = part.sparse.to_coo()
                except (AttributeError, TypeError, ValueError):
                    block = sp.csr_matrix(dense_matrix(part))
            else:
                block = sp.csr_matrix(dense_matrix(part))
            blocks.append(block.astype("float64"))
            start = i
    return sp.hstack(blocks, format="csr")


def has_nan(M):
    values = M.data if sp.issparse(M) else M
    return bool(np.isnan(values).any())


def nan_columns(M, columns):
    if sp.issparse(M):
        coo = M.tocoo()
        cols = sorted(set(coo.col[np.isnan(coo.data)].tolist()))
    else:
        cols = np.flatnonzero(np.isnan(M).any(axis=0)).tolist()
    return [columns[i] for i in cols]


def forbid_missing(M, columns, task):
    """Raise a plain error when a task whose schema forbids missing values gets some."""
    if has_nan(M):
        bad = nan_columns(M, columns)
        shown = ", ".join(repr(c) for c in bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise ValueError(
            f"{task}: missing values in column(s) {shown}; this task's schema forbids missing values, "
            "so impute them first (for example with impute_median)."
        )


def output_frame(values, columns):
    """A dense float64 DataFrame with string column names and a RangeIndex."""
    values = np.asarray(values, dtype="float64")
    if values.ndim == 1:
        values = values.reshape(-1, 1)
    return pd.DataFrame(values, columns=column_index(columns), index=pd.RangeIndex(values.shape[0]))


def sparse_output_frame(M, columns):
    """A pandas-sparse float64 DataFrame (fill value 0) with string column names."""
    M = sp.csc_matrix(M, dtype="float64")
    frame = pd.DataFrame.sparse.from_spmatrix(M, columns=list(columns))
    frame.index = pd.RangeIndex(M.shape[0])
    return frame


# ---------------------------------------------------------------- categorical data

MISSING_LEVEL = "(missing)"


def level_text(value):
    """A category value as text; 3, 3.0 and "3" are the same level."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)) and math.isfinite(float(value)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def levels(X):
    """X as a frame of text levels, missing values being the level '(missing)'."""
    data = {}
    for i in range(X.shape[1]):
        col = X.iloc[:, i]
        if is_sparse(col):
            col = col.sparse.to_dense()
        text = np.array([MISSING_LEVEL if _missing(v) else level_text(v) for v in col.to_numpy(dtype=object)], dtype=object)
        data[i] = text
    frame = pd.DataFrame(data, index=pd.RangeIndex(len(X)))
    frame.columns = column_names(X)
    return frame


def _missing(value):
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(isinstance(value, float) and math.isnan(value)) or (
            isinstance(value, np.floating) and bool(np.isnan(value))
        )
    except TypeError:
        return False


# ---------------------------------------------------------------- classification


def label_key(label):
    """A canonical string for a class label, so 1, 1.0, "1" and True compare equal (as the engine does)."""
    if isinstance(label, (bool, np.bool_)):
        return "1" if label else "0"
    if isinstance(label, (int, np.integer)):
        return str(int(label))
    if isinstance(label, (float, np.floating)):
        value = float(label)
        return str(int(value)) if value.is_integer() else repr(value)
    text = str(label).strip()
    lowered = text.lower()
    if lowered == "true":
        return "1"
    if lowered == "false":
        return "0"
    try:
        value = float(text)
    except ValueError:
        return text
    if math.isfinite(value):
        return str(int(value)) if value.is_integer() else repr(value)
    return text


def plain(value):
    return value.item() if isinstance(value, np.generic) else value


def fit_classifier(estimator, M, y, class_order, row_weights=None, weighted=True):
    """Fit ``estimator`` and return the artifact fields for predict_proba.

    A training set holding a single class gives a constant model instead of an error.
    """
    y = pd.Series(y).reset_index(drop=True)
    present = pd.unique(y)
    labels = [plain(v) for v in (class_order if class_order is not None else sorted(present, key=label_key))]
    if len(present) < 2:
        return {"estimator": None, "classes": [plain(present[0])] if len(present) else [], "class_order": labels}
    fit_kwargs = {}
    if weighted and row_weights is not None:
        fit_kwargs["sample_weight"] = np.asarray(row_weights, dtype="float64")
    estimator.fit(M, y.to_numpy(), **fit_kwargs)
    return {"estimator": estimator, "classes": [plain(c) for c in estimator.classes_], "class_order": labels}


def probability_frame(state, M, n_rows, kwargs):
    """One column per class label (the engine's labels when given), rows summing exactly to 1."""
    labels = list(kwargs.get("class_labels") or state.get("class_order") or state["classes"])
    classes = state["classes"]
    if state["estimator"] is None:
        proba = np.ones((n_rows, len(classes)))
    else:
        proba = np.asarray(state["estimator"].predict_proba(M), dtype="float64")
    index = {label_key(c): i for i, c in enumerate(classes)}
    out = np.zeros((n_rows, len(labels)))
    for j, label in enumerate(labels):
        i = index.get(label_key(label))
        if i is not None:
            out[:, j] = proba[:, i]
    out = np.clip(np.nan_to_num(out, nan=0.0), 0.0, 1.0)
    sums = out.sum(axis=1, keepdims=True)
    empty = sums[:, 0] <= 0
    if empty.any():
        out[empty] = 1.0 / len(labels)
        sums = out.sum(axis=1, keepdims=True)
    out = out / sums
    return pd.DataFrame(out, columns=column_index(labels), index=pd.RangeIndex(n_rows))


def prediction_frame(values):
    """The single ``Predictions`` column of a regression or anomaly estimator."""
    values = np.asarray(values, dtype="float64").reshape(-1, 1)
    return pd.DataFrame(values, columns=column_index(["Predictions"]), index=pd.RangeIndex(len(values)))


# ---------------------------------------------------------------- boosting

CATEGORY_PREFIX = "ordinal__"
NATIVE_LEVELS = 254  # HistGradientBoosting's native categories take codes below max_bins (255)
EARLY_STOPPING_ROWS = 200


def boosting_pipeline(booster, M, columns, categorical, early_stopping):
    """HistGradientBoosting behind an encoder of the categorical columns (those the ``ordinal`` task made).

    ``categorical`` chooses how they reach the trees: ``target`` encodes them with scikit-learn's
    TargetEncoder (cross-fitted during fit, so the trees never see a row's own target), ``native``
    uses the booster's categorical splits (columns with more levels than it takes stay codes), and
    ``codes`` passes the codes as numbers. ``early_stopping`` ``auto`` turns it on from 200 rows.
    ``min_samples_leaf`` is capped at 5 % of the rows (at least 5), so small data still splits.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.model_selection import KFold
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import TargetEncoder

    stopping = str(early_stopping).lower()
    early = M.shape[0] >= EARLY_STOPPING_ROWS if stopping == "auto" else flag(stopping)
    # Small data: a leaf of min_samples_leaf rows may leave no split at all (87 rows, 40 a leaf), so cap it at 5 %.
    leaf = min(booster.min_samples_leaf, max(5, M.shape[0] // 20))
    booster.set_params(early_stopping=early, min_samples_leaf=leaf)
    chosen = [i for i, name in enumerate(columns) if name.startswith(CATEGORY_PREFIX)]
    mode = str(categorical)
    if mode == "native" and chosen:
        mask = np.zeros(len(columns), dtype=bool)
        mask[[i for i in chosen if np.nanmax(M[:, i], initial=-1) < NATIVE_LEVELS]] = True
        booster.set_params(categorical_features=mask)
    if mode != "target" or not chosen:
        return Pipeline([("booster", booster)]), early
    folds = KFold(5, shuffle=True, random_state=booster.random_state)
    encoder = ColumnTransformer([("target", TargetEncoder(cv=folds), chosen)], remainder="passthrough")
    return Pipeline([("encode", encoder), ("booster", booster)]), early


def boosting_summary(pipeline, early, columns, rows):
    """The log line of a fitted boosting pipeline: iterations kept, encoding, rows."""
    booster = pipeline.named_steps["booster"]
    encoded = "encode" in pipeline.named_steps
    stopped = f"early stopping kept {booster.n_iter_}" if early else f"{booster.n_iter_}"
    return (f"{stopped} of {booster.max_iter} iterations at learning rate {booster.learning_rate}, "
            f"{len(columns)} columns{' (categories target-encoded)' if encoded else ''}, {rows} rows")


# ---------------------------------------------------------------- forests on encoded categories (extra_trees_*)


def frequency_tables(M, columns):
    """Per ``ordinal__`` column: its column index, its codes and each code's share of the training rows."""
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
    """The trees behind scikit-learn's TargetEncoder on the ``ordinal__`` columns (cross-fitted during fit, so the
    trees never see a row's own target in its encoding) when ``categorical`` is ``target``; codes as numbers otherwise."""
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


class StepWeights:
    """Routes fit_classifier's sample_weight to one named step of a pipeline (a fit-time wrapper, never pickled)."""

    def __init__(self, pipeline, step):
        self.pipeline, self.step = pipeline, step

    def fit(self, M, y, sample_weight=None):
        extra = {} if sample_weight is None else {f"{self.step}__sample_weight": sample_weight}
        self.pipeline.fit(M, y, **extra)
        self.classes_ = self.pipeline.classes_
        return self
