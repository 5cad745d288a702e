"""The output rules of SPEC §2.3 and the `typeSchema` checks, applied to what a hook returns.

Every failure names the hook, the rule and one offending row, so the author can
find the bug without a debugger. Rows are counted from 1, the way a person
reading the data counts them.
"""

import math

import numpy as np
import pandas as pd

from . import contract, typeschema
from .errors import BadInput, RuleViolation, SchemaViolation

# ---------------------------------------------------------------- labels


def normalize_label(label):
    """A canonical string for a class label, so 1, 1.0, "1" and True compare equal."""
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


def _describe_type(value):
    if isinstance(value, np.ndarray):
        return f"a numpy array of shape {value.shape}"
    if isinstance(value, pd.Series):
        return "a pandas Series"
    if value is None:
        return "None"
    return f"a {type(value).__module__}.{type(value).__name__}" if type(value).__module__ != "builtins" else f"a {type(value).__name__}"


def _row_text(frame, position):
    row = frame.iloc[position]
    return "{" + ", ".join(f"{k!r}: {_short(v)}" for k, v in row.items()) + "}"


def _short(value):
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# ---------------------------------------------------------------- output rules


def check_read_rows(out, hook):
    """The rows DRUM's `read_input_data` hook read from the raw input: a DataFrame (dense or sparse) with at least one
    row and unique column names; they are then scored, and checked, as rows read from a CSV are."""
    if not isinstance(out, pd.DataFrame):
        raise RuleViolation(
            f"{hook} returned {_describe_type(out)}; it must return the rows to score as a pandas DataFrame "
            "(e.g. pd.read_json(io.BytesIO(input_binary_data), lines=True)).",
            rule="read_input_data returns a DataFrame",
        )
    if not len(out):
        raise BadInput(f"{hook} read no rows from the input; send at least one row to score.")
    if out.columns.duplicated().any():
        dup = out.columns[out.columns.duplicated()][0]
        raise RuleViolation(f"{hook} returned duplicate column name {dup!r}; column names must be unique.",
                            rule="read_input_data column names are unique")
    return out.reset_index(drop=True)


def check_transform_output(out, hook, n_rows):
    """A transform returns a DataFrame (dense or sparse) with as many rows as it was given."""
    if not isinstance(out, pd.DataFrame):
        raise RuleViolation(
            f"{hook} returned {_describe_type(out)}; a transform must return a pandas DataFrame "
            "(wrap it: pd.DataFrame(values, columns=...)).",
            rule="transform output is a DataFrame",
        )
    if len(out) != n_rows:
        raise RuleViolation(
            f"{hook} returned {len(out)} rows for {n_rows} input rows; a transform must keep "
            "every row, in the same order.",
            rule="transform keeps the row count",
        )
    if out.columns.duplicated().any():
        dup = out.columns[out.columns.duplicated()][0]
        raise RuleViolation(
            f"{hook} returned duplicate column name {dup!r}; column names must be unique.",
            rule="transform column names are unique",
        )
    return out.reset_index(drop=True)


def check_predictions(out, hook, target_type, class_labels, n_rows):
    """Validate and normalise a scoring hook's output; returns a DataFrame in the project's class order."""
    if not isinstance(out, pd.DataFrame):
        hint = "wrap it: pd.DataFrame(values, columns=...)"
        raise RuleViolation(
            f"{hook} returned {_describe_type(out)}; a {target_type} estimator must return a pandas DataFrame ({hint}).",
            rule="predictions are a DataFrame",
        )
    if len(out) != n_rows:
        raise RuleViolation(
            f"{hook} returned {len(out)} rows for {n_rows} input rows; predictions need one row per input row.",
            rule="one prediction per row",
        )
    if target_type in contract.CLASSIFICATION_TYPES:
        return _check_probabilities(out, hook, target_type, class_labels)
    return _check_numeric_predictions(out, hook, target_type)


_PLAIN_NUMBERS = frozenset("fiu")


def quick_predictions(out, target_type, class_labels, n_rows, order_cache=None):
    """The float64 values `check_predictions` would return, in class-label order, when `out` plainly meets every
    output rule (checked in numpy); None when anything needs a closer look: then `check_predictions` names the rule.
    `order_cache` (a dict) keeps each column layout's class order, so single-row requests do not redo it."""
    if type(out) is not pd.DataFrame or len(out) != n_rows:
        return None
    if target_type in contract.CLASSIFICATION_TYPES:
        names = out.columns.tolist()
        key = tuple(names)
        order = None if order_cache is None else order_cache.get(key)
        if order is None:
            expected = [normalize_label(c) for c in class_labels]
            got = [normalize_label(c) for c in names]
            if sorted(got) != sorted(expected) or len(set(got)) != len(got):
                return None
            order = [got.index(label) for label in expected]
            if order_cache is not None:
                order_cache[key] = order
    elif len(out.columns) != 1 or out.columns[0] != contract.PREDICTIONS_COLUMN:  # ~2 µs less than listing them
        return None
    values = out.to_numpy()
    if values.dtype.kind not in _PLAIN_NUMBERS:
        return None
    values = values.astype("float64", copy=False)
    if not np.isfinite(values).all():
        return None
    if target_type not in contract.CLASSIFICATION_TYPES:
        return values[:, 0]
    if ((values < 0) | (values > 1)).any() or (np.abs(values.sum(axis=1) - 1.0) > contract.PROBABILITY_TOLERANCE).any():
        return None
    return values[:, order]


def _check_numeric_predictions(out, hook, target_type):
    if out.shape[1] != 1:
        raise RuleViolation(
            f"{hook} returned {out.shape[1]} columns ({', '.join(map(str, out.columns[:5]))}); "
            f"a {target_type} estimator returns one column named '{contract.PREDICTIONS_COLUMN}'.",
            rule="one Predictions column",
        )
    name = out.columns[0]
    if name != contract.PREDICTIONS_COLUMN:
        if isinstance(name, (int, np.integer)) or name is None:
            out = out.set_axis([contract.PREDICTIONS_COLUMN], axis=1)
        else:
            raise RuleViolation(
                f"{hook} returned a column named {name!r}; name it '{contract.PREDICTIONS_COLUMN}'.",
                rule="one Predictions column",
            )
    col = out[contract.PREDICTIONS_COLUMN]
    if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        try:
            col = pd.to_numeric(col)
        except (ValueError, TypeError):
            bad = next((i for i, v in enumerate(col) if not _is_number(v)), 0)
            raise RuleViolation(
                f"{hook} returned non-numeric predictions; row {bad + 1}: {_short(col.iloc[bad])}.",
                rule="predictions are numeric",
            ) from None
    values = col.to_numpy(dtype="float64", na_value=np.nan)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        kind = "NaN" if np.isnan(values[bad[0]]) else "infinite"
        raise RuleViolation(
            f"{hook} returned {bad.size} {kind if bad.size == 1 else 'NaN or infinite'} "
            f"prediction(s); row {bad[0] + 1} is {values[bad[0]]}. Predictions must be finite numbers.",
            rule="no NaN or infinite predictions",
        )
    return pd.DataFrame({contract.PREDICTIONS_COLUMN: values})


def _is_number(value):
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _check_probabilities(out, hook, target_type, class_labels):
    expected = [normalize_label(c) for c in class_labels]
    got = [normalize_label(c) for c in out.columns]
    if sorted(got) != sorted(expected) or len(set(got)) != len(got):
        raise RuleViolation(
            f"{hook} returned columns {list(map(str, out.columns))}, but the class labels are "
            f"{list(map(str, class_labels))}; return one column per class, named by the labels.",
            rule="one column per class label",
        )
    try:
        values = out.to_numpy(dtype="float64", na_value=np.nan)
    except (ValueError, TypeError):
        raise RuleViolation(
            f"{hook} returned non-numeric probabilities; row 1: {_row_text(out, 0)}.",
            rule="probabilities are numbers",
        ) from None
    frame = pd.DataFrame(values, columns=list(out.columns))
    nan_rows = np.flatnonzero(~np.isfinite(values).all(axis=1))
    if nan_rows.size:
        r = nan_rows[0]
        raise RuleViolation(
            f"{hook} returned NaN or infinite probabilities in {nan_rows.size} row(s); row {r + 1}: {_row_text(frame, r)}.",
            rule="no NaN probabilities",
        )
    outside = np.flatnonzero(((values < 0) | (values > 1)).any(axis=1))
    if outside.size:
        r = outside[0]
        raise RuleViolation(
            f"{hook} returned probabilities outside [0, 1] in {outside.size} row(s); row {r + 1}: {_row_text(frame, r)}.",
            rule="probabilities in [0, 1]",
        )
    sums = values.sum(axis=1)
    off = np.flatnonzero(np.abs(sums - 1.0) > contract.PROBABILITY_TOLERANCE)
    if off.size:
        r = off[0]
        raise RuleViolation(
            f"{hook} returned probabilities that do not sum to 1 in {off.size} row(s); "
            f"row {r + 1}: {_row_text(frame, r)} sums to {sums[r]:.6g}.",
            rule="each row sums to 1",
        )
    order = [got.index(label) for label in expected]
    return pd.DataFrame(values[:, order], columns=[str(c) for c in class_labels])


def first_difference(full, sample, positions):
    """Compare the full scoring's rows at `positions` with the sample's; return a sentence or None."""
    expected = full.iloc[positions].reset_index(drop=True)
    got = sample.reset_index(drop=True)
    if list(map(str, expected.columns)) != list(map(str, got.columns)):
        return f"columns differ: {list(map(str, expected.columns))} vs {list(map(str, got.columns))}"
    for name in expected.columns:
        a, b = expected[name], got[name]
        if _is_sparse(a):
            a = a.sparse.to_dense()
        if _is_sparse(b):
            b = b.sparse.to_dense()
        if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
            av = a.to_numpy(dtype="float64", na_value=np.nan)
            bv = b.to_numpy(dtype="float64", na_value=np.nan)
            same = np.isclose(av, bv, rtol=1e-5, atol=1e-8, equal_nan=True)
        else:
            same = (a.astype(object).where(a.notna(), None) == b.astype(object).where(b.notna(), None)).to_numpy()
        if not same.all():
            i = int(np.flatnonzero(~same)[0])
            return (
                f"input row {positions[i] + 1}, column {name!r}: {_short(a.iloc[i])} when scoring all rows "
                f"but {_short(b.iloc[i])} when scoring a sample"
            )
    return None


def _is_sparse(series):
    return isinstance(series.dtype, pd.SparseDtype)


# ---------------------------------------------------------------- data types and schema

def column_types(frame, sample_size=2000):
    """Infer each column's data type (NUM, CAT, TXT or DATE) the way blueprint channels see them."""
    out = {}
    for position, (name, dtype) in enumerate(frame.dtypes.items()):
        if isinstance(dtype, pd.SparseDtype) or pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            out[str(name)] = "NUM"  # decided by the dtype alone: no need to look at the values
        else:
            out[str(name)] = _column_type(frame.iloc[:, position], sample_size)
    return out


def _column_type(series, sample_size):
    if _is_sparse(series) or pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return "NUM"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "DATE"
    values = series.dropna()
    if values.empty:
        return "NUM"
    if len(values) > sample_size:
        values = values.sample(sample_size, random_state=0)
    text = values.astype(str)
    numeric = pd.to_numeric(text, errors="coerce")
    if numeric.notna().all():
        return "NUM"  # numbers stored as text; codes such as 'V57' among them make it categorical
    if _looks_like_dates(text):
        return "DATE"
    words = text.str.count(r"\s+") + 1
    distinct = text.nunique()
    # Free text: several words per value and many distinct values (not a short list of phrases).
    if words.mean() >= 3 and (distinct >= 100 or distinct / len(text) > 0.5):
        return "TXT"
    return "CAT"


def _looks_like_dates(text):
    head = text.head(200)
    if not head.str.contains(r"\d", regex=True).all() or not head.str.contains(r"[-/:]", regex=True).all():
        return False
    if head.str.len().max() > 40:
        return False
    parsed = pd.to_datetime(head, errors="coerce", format="mixed")
    return parsed.notna().mean() > 0.95


def is_sparse_frame(frame):
    return len(frame.columns) > 0 and all(_is_sparse(frame[c]) for c in frame.columns)


def has_missing(frame):
    if len(frame.columns) == 0:
        return False
    if is_sparse_frame(frame):
        return any(np.isnan(frame[c].sparse.sp_values.astype("float64")).any() for c in frame.columns)
    return bool(frame.isna().to_numpy().any())


def check_schema(frame, requirements, where, types=None, input_sparse=None, text_is_cat=True):
    """Raise SchemaViolation when `frame` breaks a requirement; `where` says whose data it is.

    `requirements` is a list of {field, condition, value} mappings; for output
    requirements `input_sparse` tells whether the input was sparse (for IDENTITY).
    TXT and CAT count as one kind, as in DRUM's runtime check, unless `text_is_cat` is False.
    """
    problems = typeschema.schema_problems(schema_facts(frame, types, input_sparse), requirements, where, text_is_cat)
    if problems:
        rule, message = problems[0]
        raise SchemaViolation(message, rule=rule)


def schema_facts(frame, types=None, input_sparse=None):
    """What the typeSchema rules look at in a frame, each computed only when a rule asks."""
    return {
        "types": (lambda: types) if types is not None else (lambda: column_types(frame)),
        "columns": len(frame.columns),
        "missing": lambda: has_missing(frame),
        "missing_columns": lambda: [str(c) for c in frame.columns if frame[c].isna().any()][:5],
        "sparse": lambda: is_sparse_frame(frame),
        "input_sparse": input_sparse,
    }
