"""Read the input table inside the worker and split it into features, target and row weights."""

import difflib
import os

import numpy as np
import pandas as pd

from . import contract
from .checks import column_types, normalize_label
from .errors import BadInput
from .textfile import check_header, csv_encoding, not_a_file, open_raw, undecodable  # noqa: F401 - callers import them here too


def read_sparse(path, column_file=None):
    """Read a MatrixMarket (.mtx) file as a sparse DataFrame, named by a column file (one name per line)."""
    from scipy.io import mmread

    matrix = mmread(path).tocsc()
    if column_file:
        with open(column_file, encoding="utf-8-sig") as fh:
            names = [line.rstrip("\n") for line in fh if line.strip()]
        if len(names) != matrix.shape[1]:
            raise BadInput(
                f"--sparse-column-file {column_file} names {len(names)} columns but {path} has {matrix.shape[1]}."
            )
    else:
        names = [f"feature_{i}" for i in range(matrix.shape[1])]
    return pd.DataFrame.sparse.from_spmatrix(matrix, columns=names)


def read_table(path, sparse_column_file=None, encoding=None):
    """Read a CSV, Parquet or MatrixMarket file into a DataFrame; a bad file is a usage error naming it.

    CSV text follows one policy (`csv_encoding`): a byte-order mark decides, else UTF-8 or `encoding`.
    """
    if not os.path.isfile(path):
        raise BadInput(not_a_file(path, "input file"))
    lower = path.lower()
    try:
        if lower.endswith(".mtx"):
            return read_sparse(path, sparse_column_file)
        if lower.endswith((".parquet", ".pq")):
            return pd.read_parquet(path)
        chosen = csv_encoding(path, encoding)
        check_header(path, chosen)
        try:
            return pd.read_csv(path, encoding=chosen, low_memory=False)
        except UnicodeDecodeError as exc:
            raise undecodable(path, chosen, exc) from None
    except pd.errors.EmptyDataError:
        raise BadInput(f"input file {path} is empty; give a CSV with a header row and data.") from None
    except pd.errors.ParserError as exc:
        raise BadInput(f"input file {path} is not valid CSV: {str(exc).strip()}.") from None
    except (OSError, ValueError, ImportError) as exc:
        raise BadInput(f"cannot read input file {path}: {str(exc).strip()}.") from None


def _pick_column(frame, name, what, flag):
    if name in frame.columns:
        return name
    close = difflib.get_close_matches(name, [str(c) for c in frame.columns], n=1)
    names = [str(c) for c in frame.columns]
    listed = ", ".join(names[:8]) + (f", … ({len(names)} in all)" if len(names) > 8 else "")
    hint = f" Did you mean {close[0]!r}?" if close else f" Columns: {listed}."
    raise BadInput(f"{what} column {name!r} ({flag}) is not in the input data.{hint}")


def _single_column_file(path, n_rows, what, flag, encoding=None):
    frame = read_table(path, encoding=encoding)
    if frame.shape[1] != 1:
        raise BadInput(f"{flag} file {path} has {frame.shape[1]} columns; it must hold only the {what}.")
    if len(frame) != n_rows:
        raise BadInput(f"{flag} file {path} has {len(frame)} rows but the input has {n_rows}; they must match.")
    return frame.iloc[:, 0]


class Dataset:
    """Features, target and weights of one fit check, with the class order used for fitting."""

    def __init__(self, X, y, weights, class_labels):
        self.X = X
        self.y = y
        self.weights = weights
        self.class_labels = class_labels


def load_dataset(req):
    """Build the Dataset for a fit-check request (paths, target, weights, labels, row count)."""
    encoding = req.get("encoding")
    frame = read_table(req["input"], req.get("sparse_column_file"), encoding)
    if len(frame) == 0:
        raise BadInput(f"input file {req['input']} has column names but no rows; the fit check needs rows to fit on.")
    target_type = req["target_type"]
    y = weights = None
    if req.get("target"):
        col = _pick_column(frame, req["target"], "target", "--target")
        y = frame.pop(col)
        if isinstance(y.dtype, pd.SparseDtype):
            y = y.sparse.to_dense()
    elif req.get("target_csv"):
        y = _single_column_file(req["target_csv"], len(frame), "target", "--target-csv", encoding)
    if req.get("row_weights"):
        col = _pick_column(frame, req["row_weights"], "row weights", "--row-weights")
        weights = frame.pop(col)
    elif req.get("row_weights_csv"):
        weights = _single_column_file(req["row_weights_csv"], len(frame), "row weights", "--row-weights-csv", encoding)
    if weights is not None and not pd.api.types.is_numeric_dtype(weights):
        raise BadInput("row weights must be numbers; the weights column holds text.")

    if target_type in contract.ESTIMATOR_TYPES and target_type != contract.ANOMALY and y is None:
        raise BadInput(f"a {target_type} task needs a target: pass --target COLUMN or --target-csv FILE.")
    if target_type == contract.ANOMALY and y is not None:
        y = None  # anomaly estimators are fitted without labels, as in DRUM

    num_rows = req.get("num_rows")
    if num_rows and num_rows < len(frame):
        rows = np.sort(np.random.default_rng(0).choice(len(frame), size=num_rows, replace=False))
        frame = frame.iloc[rows]
        y = None if y is None else y.iloc[rows]
        weights = None if weights is None else weights.iloc[rows]
    frame = frame.reset_index(drop=True)
    y = None if y is None else y.reset_index(drop=True)
    weights = None if weights is None else weights.reset_index(drop=True)

    if y is not None and target_type != contract.TRANSFORM and y.isna().any():
        raise BadInput(f"the target has {int(y.isna().sum())} missing values; drop those rows or fill them.")
    if target_type == contract.REGRESSION and not pd.api.types.is_numeric_dtype(y):
        raise BadInput("a regression target must be numeric, but the target column holds text.")

    labels = None
    if target_type in contract.CLASSIFICATION_TYPES:
        labels = class_order(y, target_type, req.get("class_labels"), req.get("positive"), req.get("negative"))
    return Dataset(frame, y, weights, labels)


def class_order(y, target_type, given, positive, negative):
    """The class labels passed to `fit`: `[negative, positive]` for binary, all labels for multiclass."""
    present = {normalize_label(v): _plain(v) for v in pd.unique(y)}
    if given:
        labels = list(given)
        normalized = [normalize_label(v) for v in labels]
        unknown = sorted(set(present) - set(normalized))
        if unknown:
            raise BadInput(f"target values {unknown[:5]} are not among --class-labels {labels}.")
        # Use the target's own values so the labels keep their type (0/1 stay numbers).
        labels = [present.get(n, lab) for n, lab in zip(normalized, labels)]
    else:
        labels = sorted(present.values(), key=_sort_key)
    if target_type == contract.BINARY:
        if positive is not None or negative is not None:
            labels = _binary_from_flags(labels, present, positive, negative)
        if len(labels) != 2:
            raise BadInput(
                f"a binary target needs exactly two classes, found {len(labels)}: "
                f"{', '.join(map(str, labels[:6]))}{', …' if len(labels) > 6 else ''}; "
                "use --target-type multiclass or fix the target."
            )
    elif len(labels) < 2:
        raise BadInput(f"a multiclass target needs at least two classes, found {len(labels)}.")
    return labels


def _binary_from_flags(labels, present, positive, negative):
    by_norm = {normalize_label(v): v for v in labels}
    chosen = {}
    for name, value in (("positive", positive), ("negative", negative)):
        if value is None:
            continue
        norm = normalize_label(value)
        if norm not in by_norm:
            raise BadInput(f"--{name}-class-label {value!r} is not a value of the target ({', '.join(map(str, labels))}).")
        chosen[name] = by_norm[norm]
    rest = [v for v in labels if v not in chosen.values()]
    pos = chosen.get("positive", rest[-1] if rest and "negative" in chosen else None)
    neg = chosen.get("negative", rest[0] if rest else None)
    if pos is None or neg is None or pos == neg:
        raise BadInput("--positive-class-label and --negative-class-label must name the two target values.")
    return [neg, pos]


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    return value


def _sort_key(value):
    return (0, value, "") if isinstance(value, (int, float)) and not isinstance(value, bool) else (1, 0, str(value))


def describe(dataset):
    """A JSON-able summary of the data for the engine's progress line."""
    return {
        "rows": int(len(dataset.X)),
        "columns": [str(c) for c in dataset.X.columns],
        "types": column_types(dataset.X),
        "has_target": dataset.y is not None,
        "has_weights": dataset.weights is not None,
        "class_labels": dataset.class_labels,
        "missing_cells": int(dataset.X.isna().to_numpy().sum()),
    }
