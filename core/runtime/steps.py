"""What a worker's child process does for one step: fit a task, or load it fresh and score.

Each function returns a JSON-able result dict or raises a StepFailure.
"""

import os
import pickle
import time

import numpy as np
import pandas as pd

from . import contract, protocol
from .checks import (
    check_predictions,
    check_schema,
    check_transform_output,
    column_types,
    first_difference,
    is_sparse_frame,
)
from .contract import Hooks
from .errors import StepFailure
from .layout import model_layout  # noqa: F401 - part of this module's interface
from .taskcode import accepted_kwargs, call_task, load_native, load_task, positional_count


def _task_and_init(code_dir, init_dir):
    task = load_task(code_dir)
    if task.has(Hooks.INIT):
        task.call(Hooks.INIT, **accepted_kwargs(task.hooks[Hooks.INIT], {"code_dir": init_dir}))
    return task


def _is_estimator(target_type):
    return target_type in contract.ESTIMATOR_TYPES


def _preprocess(task, X, model, target_type):
    """DRUM's preprocessing hook: a module-level `transform` on an estimator runs before fit and scoring."""
    if not (_is_estimator(target_type) and not task.uses_class and task.has(Hooks.TRANSFORM)):
        return X
    out = task.call(Hooks.TRANSFORM, X, model)
    return check_transform_output(out, "transform (preprocessing)", len(X))


def _input_schema_check(X, req):
    reqs = req.get("schema", {}).get("input_requirements") or []
    check_schema(X, reqs, "the input data")


def fit_step(dataset, req):
    """Run the task's `fit` on the dataset and report the artifacts it wrote."""
    _input_schema_check(dataset.X, req)
    task = _task_and_init(req["code_dir"], req["code_dir"])
    started = time.perf_counter()
    fit_task(
        task,
        dataset.X,
        dataset.y,
        target_type=req["target_type"],
        output_dir=req["output_dir"],
        weights=dataset.weights,
        class_labels=dataset.class_labels,
        parameters=req.get("parameters") or {},
    )
    seconds = time.perf_counter() - started
    return protocol.ok(fit_seconds=seconds, artifacts=list_artifacts(req["output_dir"]))


def fit_task(task, X, y, *, target_type, output_dir, weights=None, class_labels=None, parameters=None):
    """Call a loaded task's `fit` (module hooks or `CustomTask`) the way DRUM does; artifacts land in output_dir."""
    kwargs = {"row_weights": weights if _is_estimator(target_type) else None, "parameters": parameters or {}}
    if target_type in contract.CLASSIFICATION_TYPES:
        kwargs["class_order"] = list(class_labels)
    if task.uses_class:
        instance = call_task(f"{contract.CUSTOM_TASK_CLASS}()", task.code_dir, task.task_class)
        fit = getattr(instance, "fit", None)
        if not callable(fit):
            raise StepFailure(
                f"class {contract.CUSTOM_TASK_CLASS} in custom.py has no fit method; define fit(self, X, y, **kwargs).",
                rule="fit is required",
            )
        kwargs["output_dir"] = output_dir
        call_task("CustomTask.fit", task.code_dir, fit, X, y, **accepted_kwargs(fit, kwargs))
        _save_instance(task, instance, output_dir)
    else:
        if not task.has(Hooks.FIT):
            raise StepFailure(
                f"{getattr(task, 'custom_file', contract.CUSTOM_FILE)} defines no fit hook; every task needs "
                "fit(X, y, output_dir, ...) "
                f"(or, in Python, a class {contract.CUSTOM_TASK_CLASS} with a fit method).",
                rule="fit is required",
            )
        X = _preprocess(task, X, None, target_type)
        fit = task.hooks[Hooks.FIT]
        kwargs.update(X=X, y=y, output_dir=output_dir)
        if target_type not in contract.CLASSIFICATION_TYPES:
            kwargs["class_order"] = None
        task.call(Hooks.FIT, **accepted_kwargs(fit, kwargs))
    if not list_artifacts(output_dir):
        raise StepFailure(
            "fit wrote nothing into output_dir; save the trained object there "
            "(a task with no state writes a small 'artificial' artifact).",
            rule="fit writes an artifact",
        )


def _save_instance(task, instance, output_dir):
    save = getattr(instance, "save", None)
    if callable(save):
        call_task("CustomTask.save", task.code_dir, save, output_dir)
        return
    path = os.path.join(output_dir, contract.CLASS_ARTIFACT)
    try:
        with open(path, "wb") as fh:
            pickle.dump(instance, fh)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise StepFailure(
            f"the fitted {contract.CUSTOM_TASK_CLASS} instance cannot be pickled ({exc}); "
            "define save(self, output_dir) and a classmethod load(cls, code_dir).",
            rule="artifact can be saved",
        ) from None


def list_artifacts(folder):
    """Files under `folder` as (relative path, size) pairs, sorted."""
    out = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            out.append([os.path.relpath(path, folder), os.path.getsize(path)])
    return out


def load_model(task, req):
    """Read the fitted model back as scoring does: `load`, `load_model`, or one native artifact."""
    model_dir, artifacts_dir = req["model_dir"], req["output_dir"]
    if getattr(task, "language", "python") == "r":
        return task.load_model(model_dir, req["target_type"])
    if task.uses_class:
        load = getattr(task.task_class, "load", None)
        if callable(load):
            return call_task("CustomTask.load", task.code_dir, load, model_dir)
        return _load_native_file(task, os.path.join(model_dir, contract.CLASS_ARTIFACT))
    if task.has(Hooks.LOAD_MODEL):
        return task.call(Hooks.LOAD_MODEL, model_dir)
    natives = _native_files(artifacts_dir) or _native_files(model_dir)
    if len(natives) == 1:
        return _load_native_file(task, os.path.join(model_dir, natives[0]))
    if not natives:
        raise StepFailure(
            "fit wrote no artifact in a native format (.pkl, .joblib, .pth, .h5) and custom.py has no "
            "load_model hook; save one such file or define load_model(code_dir).",
            rule="artifact can be loaded",
        )
    raise StepFailure(
        f"fit wrote {len(natives)} native artifacts ({', '.join(natives)}) and custom.py has no "
        "load_model hook to choose; keep one or define load_model(code_dir).",
        rule="artifact can be loaded",
    )


def _native_files(folder):
    return sorted(
        name
        for name in os.listdir(folder)
        if name.endswith(contract.NATIVE_EXTENSIONS) and os.path.isfile(os.path.join(folder, name))
    )


def _load_native_file(task, path):
    return call_task(f"loading {os.path.basename(path)}", task.code_dir, load_native, path)


class Scorer:
    """Calls the task's scoring hook on a frame and applies the output rules to the result."""

    def __init__(self, task, model, req, class_labels):
        self.task = task
        self.model = model
        self.target_type = req["target_type"]
        self.class_labels = class_labels
        self.kwargs = {"target_type": self.target_type}
        if self.target_type in contract.CLASSIFICATION_TYPES:
            self.kwargs["class_labels"] = list(class_labels)
        if self.target_type == contract.BINARY:
            self.kwargs["negative_class_label"] = class_labels[0]
            self.kwargs["positive_class_label"] = class_labels[1]
        self.hook, self.fn = self._pick_hook()
        self.output_requirements = req.get("schema", {}).get("output_requirements") or []
        # DRUM's post_process(predictions, model), on an estimator's checked predictions (a module hook: DRUM does
        # not look for it beside a CustomTask class). custom.R's runs in the bridge's score, after R's score.
        post = None if task.uses_class or self.target_type == contract.TRANSFORM else task.hooks.get(Hooks.POST_PROCESS)
        self.post = post if getattr(task, "language", "python") == "python" else None
        self.checked = Hooks.POST_PROCESS if post is not None and self.post is None else self.hook

    def _pick_hook(self):
        task, tt = self.task, self.target_type
        if task.uses_class:
            name = {contract.TRANSFORM: "transform"}.get(tt) or (
                "predict_proba" if tt in contract.CLASSIFICATION_TYPES else "predict"
            )
            fn = getattr(self.model, name, None)
            if not callable(fn):
                raise StepFailure(
                    f"class {contract.CUSTOM_TASK_CLASS} has no {name} method, which a {tt} task needs.",
                    rule=f"{name} is required",
                )
            return f"CustomTask.{name}", fn
        if tt == contract.TRANSFORM:
            names = [Hooks.TRANSFORM]
        elif tt in contract.CLASSIFICATION_TYPES:
            names = [Hooks.PREDICT_PROBA, Hooks.SCORE]
        else:
            names = [Hooks.PREDICT, Hooks.SCORE]
        for name in names:
            if task.has(name):
                return name, task.hooks[name]
        defaults = getattr(task, "defaults", {})  # an R task without the hook: R's predict() or recipes' bake()
        for name in names:
            if name in defaults:
                return name, defaults[name]
        raise StepFailure(
            f"custom.py defines no {' or '.join(names)} hook, which a {tt} task needs to score.",
            rule=f"{names[0]} is required",
        )

    def __call__(self, X, y=None):
        task, tt = self.task, self.target_type
        if task.uses_class:
            extra = {} if tt == contract.TRANSFORM else self.kwargs
            out = call_task(self.hook, task.code_dir, self.fn, X, **accepted_kwargs(self.fn, extra))
        elif tt == contract.TRANSFORM:
            args = (X, self.model, y) if positional_count(self.fn) == 3 else (X, self.model)
            out = call_task(self.hook, task.code_dir, self.fn, *args)
        else:
            X = _preprocess(task, X, self.model, tt)
            out = call_task(self.hook, task.code_dir, self.fn, X, self.model, **accepted_kwargs(self.fn, self.kwargs))
        if tt == contract.TRANSFORM:
            out = check_transform_output(out, self.hook, len(X))
            # Every transform call meets the output schema, as in DRUM (not just the first).
            check_schema(out, self.output_requirements, f"the output of {self.hook}", input_sparse=is_sparse_frame(X))
            return out
        out = check_predictions(out, self.checked, tt, self.class_labels, len(X))
        if self.post is None:
            return out
        out = call_task(Hooks.POST_PROCESS, task.code_dir, self.post, out, self.model)
        return check_predictions(out, Hooks.POST_PROCESS, tt, self.class_labels, len(X))


def sample_positions(n_rows, fraction=0.1, minimum=10, seed=0):
    """Sorted row positions of the scoring sample: a tenth of the rows, at least `minimum`."""
    size = min(n_rows, max(minimum, int(n_rows * fraction)))
    return np.sort(np.random.default_rng(seed).choice(n_rows, size=size, replace=False))


def score_step(dataset, req):
    """Load the artifact in this fresh process, score all rows and a sample, and compare them."""
    target_type = req["target_type"]
    task = _task_and_init(req["code_dir"], req["model_dir"])
    model = load_model(task, req)
    scorer = Scorer(task, model, req, dataset.class_labels)
    X, y = dataset.X, dataset.y
    started = time.perf_counter()
    full = scorer(X, y)
    seconds = time.perf_counter() - started
    result = protocol.ok(score_seconds=seconds, rows=len(full), hook=scorer.hook)
    if target_type == contract.TRANSFORM:
        result["output_columns"] = [str(c) for c in full.columns][:200]
        result["output_column_count"] = int(full.shape[1])
        result["output_types"] = sorted(set(column_types(full).values()))
        result["output_sparse"] = is_sparse_frame(full)
    else:
        result["summary"] = prediction_summary(full, target_type)

    positions = sample_positions(len(X))
    sample = scorer(X.iloc[positions].reset_index(drop=True), None if y is None else y.iloc[positions].reset_index(drop=True))
    diff = first_difference(full, sample, positions)
    if diff:
        raise StepFailure(
            f"{scorer.hook} gave different results for the same rows when scoring all {len(X)} rows and a "
            f"sample of {len(positions)}: {diff}; predictions must depend only on each row.",
            rule="full and sample scoring agree",
        )
    result["sample_rows"] = len(positions)

    if req.get("check_missing"):
        if _forbids_missing(req):
            result["missing_checked"] = []
            result["missing_skipped"] = "the task's input schema forbids missing values"
        else:
            result["missing_checked"] = _check_missing(scorer, X, y)
    return result


def _forbids_missing(req):
    reqs = req.get("schema", {}).get("input_requirements") or []
    return any(r["field"] == "contains_missing" and r["value"] == "FORBIDDEN" for r in reqs)


def _check_missing(scorer, X, y):
    """Score once per column with that column blanked, as DRUM's null-value imputation check does."""
    checked = []
    for name in X.columns:
        blanked = X.copy()
        column = blanked[name]
        blanked[name] = pd.Series(
            np.nan if pd.api.types.is_numeric_dtype(column) else None, index=blanked.index, dtype=column.dtype
        )
        try:
            scorer(blanked, y)
        except StepFailure as exc:
            exc.message = f"with column {name!r} blanked (--check-missing), {exc.message}"
            raise
        checked.append(str(name))
    return checked


def prediction_summary(frame, target_type):
    """A few numbers describing the predictions, for the fit-check report."""
    if target_type in contract.CLASSIFICATION_TYPES:
        winners = frame.columns[frame.to_numpy().argmax(axis=1)]
        counts = pd.Series(winners).value_counts()
        return {
            "columns": [str(c) for c in frame.columns],
            "mean_probability": {str(c): float(frame[c].mean()) for c in frame.columns},
            "predicted_counts": {str(k): int(v) for k, v in counts.items()},
        }
    col = frame[contract.PREDICTIONS_COLUMN]
    return {
        "columns": [contract.PREDICTIONS_COLUMN],
        "mean": float(col.mean()),
        "std": float(col.std()) if len(col) > 1 else 0.0,
        "min": float(col.min()),
        "max": float(col.max()),
    }
