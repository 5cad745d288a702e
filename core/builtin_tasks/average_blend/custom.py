"""Built-in estimator: the average of other estimators' predictions (an averaging blender).

Its inputs are estimator nodes, whose predictions arrive as columns named `NODE__LABEL` (a class's
probability) or `NODE__Predictions` (a value). It learns nothing from the rows: for each class it
averages that class's probability over the inputs, for regression the predicted values.
"""
import numpy as np

from builtin_helpers import (
    column_names,
    dense_matrix,
    forbid_missing,
    label_key,
    output_frame,
    param,
    plain,
    prediction_frame,
    save,
    select_columns,
)

TASK = "average_blend"


def _label_of(column, labels):
    """The class label a `NODE__LABEL` column holds, or None."""
    keys = {label_key(label): label for label in labels}
    for label in labels:
        if column.endswith(f"__{label}"):
            return label
    return keys.get(label_key(column.rsplit("__", 1)[-1]))


def _groups(columns, labels):
    """Column positions per class label (classification) or of every column (regression); a clear error else."""
    if labels is None:
        return {None: list(range(len(columns)))}
    groups = {label_key(label): [] for label in labels}
    stray = []
    for i, column in enumerate(columns):
        label = _label_of(column, labels)
        (groups[label_key(label)] if label is not None else stray).append(i)
    sizes = {len(g) for g in groups.values()}
    if stray or len(sizes) != 1 or 0 in sizes:
        shown = ", ".join(repr(columns[i]) for i in stray[:3]) or "some classes"
        raise ValueError(f"{TASK}: {shown} are not predictions of estimators for the classes {list(labels)}; "
                         "feed average_blend with estimator nodes only, for example average_blend(model_a, model_b).")
    return groups


def _average(M, method):
    return np.median(M, axis=1) if method == "median" else M.mean(axis=1)


def fit(X, y, output_dir, class_order=None, parameters=None, **kwargs):
    """Record the input columns, how they group by class, and the averaging method; nothing is learned."""
    columns = column_names(X)
    forbid_missing(dense_matrix(X), columns, TASK)
    labels = None if class_order is None else [plain(c) for c in class_order]
    groups = _groups(columns, labels)
    method = str(param(parameters, "method", "mean"))
    save(output_dir, {"task": TASK, "columns": columns, "class_order": labels, "method": method})
    inputs = len(next(iter(groups.values())))
    print(f"{TASK}: {method} of {inputs} estimators' predictions, {len(X)} rows")


def _matrix(X, model):
    columns = model["columns"]
    M = dense_matrix(select_columns(X, columns, TASK))
    forbid_missing(M, columns, TASK)
    return M


def predict_proba(X, model, **kwargs):
    """One probability column per class label: each class's averaged probability, rows summing to 1."""
    M = _matrix(X, model)
    labels = list(kwargs.get("class_labels") or model["class_order"])
    groups = _groups(model["columns"], model["class_order"])
    out = np.column_stack([_average(M[:, groups[label_key(label)]], model["method"]) for label in labels])
    out = np.clip(out, 0.0, None)
    sums = out.sum(axis=1, keepdims=True)
    out = np.where(sums > 0, out / np.where(sums > 0, sums, 1.0), 1.0 / len(labels))
    return output_frame(out, labels)


def predict(X, model, **kwargs):
    """Return the averaged predictions as one Predictions column."""
    return prediction_frame(_average(_matrix(X, model), model["method"]))
