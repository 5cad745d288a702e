"""Numpy-only scoring for a model that is a chain of taskbench's own built-in numeric nodes (`impute_median`,
`standardize`, `missing_indicator` -> `ridge` or `logistic_regression`): the arithmetic of their hooks on one float64
matrix, where the hooks themselves build a DataFrame per node and pass scikit-learn's input checks (~0.3 ms of a
single-row request).

Built-in tasks are trusted code whose hooks are known. A chain is used only when, on probe rows at load, it gave
bit for bit what the hooks give, and it takes only requests it plainly covers: a column that is not a number, a
missing value a hook refuses, a number too large for a float, or a prediction that is not finite goes the usual
way, which answers as before (the same predictions, or the same sentence).
"""

import numpy as np
import pandas as pd

from . import contract
from .serving import _label_index, column_dtypes, index_names

_PLAIN_NUMBERS = frozenset("fiu")


def _positions(names, columns):
    """Where each of `columns` is in `names` (None when they are the same list); False when one is absent."""
    if list(names) == list(columns):
        return None
    at = {name: i for i, name in enumerate(names)}
    if any(c not in at for c in columns):
        return False
    return np.array([at[c] for c in columns], dtype=np.intp)


def _impute_median(model, names, plan):
    """impute_median's transform: its columns as float64, each missing value filled with its training median."""
    columns = list(model.get("columns") or [])
    fills = model.get("fills")
    idx = _positions(names, columns)
    if idx is False or not isinstance(fills, dict) or any(c not in fills for c in columns):
        return None
    values_of = np.array([fills[c] for c in columns], dtype="float64")

    def run(M):
        values = np.array(M if idx is None else M[:, idx], dtype="float64", copy=True)
        holes = np.isnan(values)
        if holes.any():
            values[holes] = values_of[np.nonzero(holes)[1]]
        return values

    return run, columns


def _standardize(model, names, plan):
    """standardize's transform: StandardScaler's `X -= mean_; X /= scale_` on a copy; a missing or infinite value is
    the hook's to refuse."""
    from sklearn.preprocessing import StandardScaler

    scaler = model.get("scaler")
    columns = list(model.get("columns") or [])
    idx = _positions(names, columns)
    if idx is False or type(scaler) is not StandardScaler or getattr(scaler, "n_features_in_", None) != len(columns):
        return None
    mean = np.asarray(scaler.mean_, dtype="float64") if scaler.with_mean else None
    scale = np.asarray(scaler.scale_, dtype="float64") if scaler.with_std else None

    def run(M):
        values = np.array(M if idx is None else M[:, idx], dtype="float64", copy=True)
        if not np.isfinite(values).all():
            return None
        if mean is not None:
            values -= mean
        if scale is not None:
            values /= scale
        return values

    return run, columns


def _missing_indicator(model, names, plan):
    """missing_indicator's transform: 1.0 where a flagged column's value is missing (NaN), 0.0 elsewhere."""
    columns = list(model.get("columns") or [])
    flagged, out = list(model.get("flagged") or []), list(model.get("names") or [])
    idx = _positions(names, columns)
    if idx is False or not flagged or len(out) != len(flagged) or any(c not in columns for c in flagged):
        return None
    at = {name: i for i, name in enumerate(columns)}
    picked = np.array([at[c] if idx is None else idx[at[c]] for c in flagged], dtype=np.intp)

    def run(M):
        return np.isnan(M[:, picked]).astype(np.float64)

    return run, out


def _ridge(model, names, plan):
    """ridge's predict: scikit-learn's linear models' `X @ coef_ + intercept_`, on the matrix laid out as the hook
    gives it (rows by columns, column-major); a missing or infinite value is the hook's to refuse."""
    from sklearn.linear_model import LinearRegression, Ridge, RidgeCV

    if plan.get("target_type") != contract.REGRESSION:
        return None
    estimator = model.get("estimator")
    columns = list(model.get("columns") or [])
    idx = _positions(names, columns)
    if idx is False or type(estimator) not in (Ridge, RidgeCV, LinearRegression) or np.ndim(estimator.coef_) != 1:
        return None
    coef, intercept = estimator.coef_, estimator.intercept_
    if getattr(estimator, "n_features_in_", len(columns)) != len(columns):
        return None

    def run(M):
        X = M if idx is None else M[:, idx]
        if not np.isfinite(X).all():
            return None
        return np.asfortranarray(X) @ coef + intercept

    return run, None


def _logistic_regression(model, names, plan):
    """logistic_regression's predict_proba: scikit-learn's decision function `X @ coef_.T + intercept_`, then its
    expit (two classes) or softmax (more), then the hook's `probability_frame` in the project's class order."""
    from scipy.special import expit
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
    from sklearn.utils.extmath import softmax

    labels = plan.get("class_labels")
    estimator = model.get("estimator")
    columns = list(model.get("columns") or [])
    idx = _positions(names, columns)
    if (plan.get("target_type") not in contract.CLASSIFICATION_TYPES or not labels or idx is False
            or type(estimator) not in (LogisticRegression, LogisticRegressionCV) or np.ndim(estimator.coef_) != 2
            or getattr(estimator, "n_features_in_", None) != len(columns)):
        return None
    classes = list(model.get("classes") or [])
    if [_label_key(c) for c in classes] != [_label_key(c) for c in estimator.classes_]:
        return None
    coef_T, intercept, binary = estimator.coef_.T, estimator.intercept_, len(estimator.classes_) <= 2
    where = {_label_key(c): i for i, c in enumerate(classes)}
    pairs = [(j, where[_label_key(label)]) for j, label in enumerate(labels) if _label_key(label) in where]
    k = len(labels)

    def run(M):
        X = M if idx is None else M[:, idx]
        if not np.isfinite(X).all():
            return None
        scores = np.asfortranarray(X) @ coef_T + intercept
        if binary:
            positive = scores.reshape(-1)
            expit(positive, out=positive)
            proba = np.stack([1 - positive, positive], axis=1)
        else:
            proba = softmax(scores, copy=False)
        out = np.zeros((len(X), k))
        for j, i in pairs:
            out[:, j] = proba[:, i]
        out = np.clip(np.nan_to_num(out, nan=0.0), 0.0, 1.0)
        sums = out.sum(axis=1, keepdims=True)
        empty = sums[:, 0] <= 0
        if empty.any():
            out[empty] = 1.0 / k
            sums = out.sum(axis=1, keepdims=True)
        return out / sums

    return run, None


def _label_key(label):
    """The built-in tasks' own `label_key` (their shared helper file), which maps a class label to its column."""
    global _LABEL_KEY
    if _LABEL_KEY is None:
        import importlib.util
        import os

        from .serving import BUILTIN_TASKS

        spec = importlib.util.spec_from_file_location(
            "_taskbench_builtin_helpers", os.path.join(BUILTIN_TASKS, "_shared", "builtin_helpers.py"))
        helpers = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(helpers)
        _LABEL_KEY = helpers.label_key
    return _LABEL_KEY(label)


_LABEL_KEY = None

KERNELS = {"impute_median": ("transform", _impute_median), "standardize": ("transform", _standardize),
           "missing_indicator": ("transform", _missing_indicator), "ridge": ("estimator", _ridge),
           "logistic_regression": ("estimator", _logistic_regression)}


class ArrayChain:
    """The built-in nodes of a whole plan as numpy kernels, in plan order; `__call__(frame)` is the final node's
    checked predictions (Predictions, or one probability column per class label), or None to score `frame` the usual
    way."""

    def __init__(self, names, kernels, labels):
        self.names = names
        self.kernels = kernels
        self.labels = labels

    def __call__(self, frame):
        X = frame if index_names(frame.columns) == self.names else _select(frame, self.names)
        if X is None or any(dtype.kind not in _PLAIN_NUMBERS for dtype in column_dtypes(X)):
            return None
        values = X.to_numpy(dtype="float64")
        for run in self.kernels:
            values = run(values)
            if values is None:
                return None
        if not np.isfinite(values).all():
            return None  # the usual checks say which rule the predictions break
        if values.ndim == 2:  # class probabilities
            return pd.DataFrame(values, columns=self.labels)
        try:  # pandas' own constructor of ready columns (its DataFrame() re-checks them: ~6 µs more)
            return pd.DataFrame._from_arrays([values], columns=self.labels, index=pd.RangeIndex(len(values)),
                                             verify_integrity=False)
        except (AttributeError, TypeError):  # a pandas without it
            return pd.DataFrame(values.reshape(len(values), 1), columns=self.labels)


def _select(frame, names):
    if any(name not in frame.columns for name in names):
        return None
    return frame[names]


def array_chain(plan, steps, usual, probe=None):
    """An ArrayChain for a plan whose nodes are all trusted built-ins with a kernel, each taking the one before
    (the first one feature channel) and the last an estimator; None otherwise, or when the chain's output on
    `probe(names, model)` rows (default: values near the first node's fills or means, with and without missing ones)
    is not what `usual(frame)`, the nodes' own hooks, gives."""
    nodes = [runner.node for runner, _ in steps]
    if len(nodes) != len(plan["nodes"]) or not nodes:
        return None
    if nodes[-1]["name"] != plan["final"]:
        return None
    names = None
    kernels = []
    for i, (runner, call) in enumerate(steps):
        node = runner.node
        kind, make = KERNELS.get(node.get("task_ref"), (None, None))
        expected = "estimator" if i == len(steps) - 1 else "transform"
        if make is None or kind != expected or node.get("kind") != kind or not call.trusted:
            return None
        model = call.scorer.model
        if not isinstance(model, dict) or model.get("task") != node["task_ref"]:
            return None
        if i == 0:
            channels = node.get("channels") or {}
            if len(node["inputs"]) != 1 or node["inputs"][0] not in channels:
                return None
            names = list(channels[node["inputs"][0]])
            have = names
        elif node["inputs"] != [nodes[i - 1]["name"]]:
            return None
        made = make(model, have, plan)
        if made is None:
            return None
        run, have = made
        kernels.append(run)
    chain = ArrayChain(names, kernels, _label_index(plan.get("target_type"), plan.get("class_labels")))
    rows = (probe or _probe)(names, steps[0][1].scorer.model)
    return chain if _same(chain, usual, rows) else None


def _probe(names, first_model):
    """Rows to check a chain on: the first node's fill values (or its scaler's means), scaled; the second row has
    some missing."""
    fills = first_model.get("fills")
    scaler = first_model.get("scaler")
    if not isinstance(fills, dict):
        means = getattr(scaler, "mean_", None)
        fills = dict(zip(first_model.get("columns") or [], np.ravel(means))) if means is not None else {}
    base = np.array([float(fills.get(name, 0.0)) for name in names], dtype="float64")
    rows = np.vstack([base, base * 1.25 + 0.37, base * -0.5 - 1.0])
    rows[1, ::3] = np.nan
    return pd.DataFrame({name: rows[:, j] for j, name in enumerate(names)})


def _same(chain, usual, frame) -> bool:
    """Whether the chain gives bit for bit what `usual` (the nodes' own hooks) gives on `frame`, all rows and the
    first alone (which must score); where the hooks refuse the rows, the chain must step aside."""
    for rows in (frame.iloc[:1].reset_index(drop=True), frame):
        got = chain(rows)
        try:
            out = usual(rows)
        except Exception:  # noqa: BLE001 - a hook that refuses the probe: so must the chain, or no chain
            if got is None and len(rows) > 1:
                continue
            return False
        if got is None or got.shape != out.shape or got.columns.tolist() != out.columns.tolist():
            return False
        if got.to_numpy().tobytes() != out.to_numpy(dtype="float64").tobytes():
            return False
    return True
