"""Numpy-only scoring for a model that is a chain of taskbench's own built-in nodes (the linear blueprint's
`impute_median` -> `ridge`): the arithmetic of their hooks on one float64 matrix, where the hooks themselves build
a DataFrame per node and pass scikit-learn's input checks (~0.3 ms of a single-row request).

Built-in tasks are trusted code whose hooks are known. A chain is used only when, on probe rows at load, it gave
bit for bit what the hooks give, and it takes only requests it plainly covers: a column that is not a number, a
missing value a hook refuses, a number too large for a float, or a prediction that is not finite goes the usual
way, which answers as before (the same predictions, or the same sentence).
"""

import numpy as np
import pandas as pd

from . import contract
from .serving import _label_index, column_dtypes

_PLAIN_NUMBERS = frozenset("fiu")


def _positions(names, columns):
    """Where each of `columns` is in `names` (None when they are the same list); False when one is absent."""
    if list(names) == list(columns):
        return None
    at = {name: i for i, name in enumerate(names)}
    if any(c not in at for c in columns):
        return False
    return np.array([at[c] for c in columns], dtype=np.intp)


def _impute_median(model, names):
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


def _ridge(model, names):
    """ridge's predict: scikit-learn's linear models' `X @ coef_ + intercept_`, on the matrix laid out as the hook
    gives it (rows by columns, column-major); a missing or infinite value is the hook's to refuse."""
    from sklearn.linear_model import LinearRegression, Ridge, RidgeCV

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


KERNELS = {"impute_median": ("transform", _impute_median), "ridge": ("estimator", _ridge)}


class ArrayChain:
    """The built-in nodes of a whole plan as numpy kernels, in plan order; `__call__(frame)` is the final node's
    checked Predictions frame, or None to score `frame` the usual way."""

    def __init__(self, names, kernels, labels):
        self.names = names
        self.kernels = kernels
        self.labels = labels

    def __call__(self, frame):
        X = frame if frame.columns.tolist() == self.names else _select(frame, self.names)
        if X is None or any(dtype.kind not in _PLAIN_NUMBERS for dtype in column_dtypes(X)):
            return None
        values = X.to_numpy(dtype="float64")
        for run in self.kernels:
            values = run(values)
            if values is None:
                return None
        if not np.isfinite(values).all():
            return None  # the usual checks say which rule the predictions break
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
    (the first one feature channel) and the last a regression estimator; None otherwise, or when the chain's
    output on `probe(names, model)` rows (default: the first node's fills, some missing) is not what `usual(frame)`,
    the nodes' own hooks, gives."""
    nodes = [runner.node for runner, _ in steps]
    if plan.get("target_type") != contract.REGRESSION or len(nodes) != len(plan["nodes"]) or not nodes:
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
        made = make(model, have)
        if made is None:
            return None
        run, have = made
        kernels.append(run)
    chain = ArrayChain(names, kernels, _label_index(contract.REGRESSION, None))
    rows = (probe or _probe)(names, steps[0][1].scorer.model)
    return chain if _same(chain, usual, rows) else None


def _probe(names, first_model):
    """Rows to check a chain on: the first node's fill values, scaled, with some missing."""
    fills = first_model.get("fills") or {}
    base = np.array([float(fills.get(name, 0.0)) for name in names], dtype="float64")
    rows = np.vstack([base, base * 1.25 + 0.37, base * -0.5 - 1.0])
    rows[1, ::3] = np.nan
    return pd.DataFrame({name: rows[:, j] for j, name in enumerate(names)})


def _same(chain, usual, frame) -> bool:
    """Whether the chain gives bit for bit what `usual` (the nodes' own hooks) gives on `frame`, all rows and the
    first alone."""
    for rows in (frame, frame.iloc[:1].reset_index(drop=True)):
        got = chain(rows)
        try:
            out = usual(rows)
        except Exception:  # noqa: BLE001 - a hook that refuses the probe: no chain, the hooks answer every request
            return False
        if got is None or got.shape != out.shape or got.columns.tolist() != out.columns.tolist():
            return False
        if got.to_numpy().tobytes() != out.to_numpy(dtype="float64").tobytes():
            return False
    return True
