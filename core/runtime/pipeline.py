"""Train and score a blueprint inside one worker child: nodes run in order, data stays in memory.

The engine sends a plan (nodes in execution order, their task folders,
parameters and inputs, the rows to fit on and the row sets to score). Each node
fits on the training rows and transforms or predicts every row set; an
estimator feeding another node passes out-of-fold predictions on the training
rows (stacking). A node whose cache folder is complete is not fitted again: its
artifacts and outputs are read back ("reused").
"""

import os
import pickle
import shutil
import tempfile
import time

import numpy as np
import pandas as pd

from . import contract, protocol
from .errors import StepFailure
from .layout import model_layout
from .steps import Scorer, _task_and_init, fit_task, list_artifacts, load_model

_FRAMES = {}
INNER_FOLDS = 3


def project_frame(path):
    """The project's data, read once per worker (children inherit it through fork)."""
    if path not in _FRAMES:
        _FRAMES.clear()
        _FRAMES[path] = pd.read_parquet(path)
    return _FRAMES[path]


def preload_data(req):
    """Load the project data in the worker itself, before forking step children."""
    frame = project_frame(req["data"]["path"])
    return protocol.ok(rows=len(frame))


def _log(text):
    print(f"[taskbench] {text}", flush=True)


def _row_sets(req):
    parts = np.load(req["data"]["partition_path"])
    sets = {"train": np.flatnonzero(np.isin(parts, req["fit_folds"]))}
    for name, folds in req.get("score_sets", {}).items():
        sets[name] = np.flatnonzero(np.isin(parts, folds))
    return sets


def _node_input(node, features, outputs, rows, group):
    pieces = []
    for source in node["inputs"]:
        if source in node["channels"]:
            columns = node["channels"][source]
            pieces.append(features.iloc[rows][columns].reset_index(drop=True))
        else:
            pieces.append(outputs[source][group])
    frame = pd.concat(pieces, axis=1) if len(pieces) > 1 else pieces[0].copy()
    if frame.columns.duplicated().any():
        frame = frame.loc[:, ~frame.columns.duplicated()]
    return frame


class NodeRunner:
    """Fits one node and produces its outputs for every row group."""

    def __init__(self, node, req):
        self.node = node
        self.req = req
        self.kind = node["kind"]
        self.target_type = contract.TRANSFORM if self.kind == "transform" else req["target_type"]
        self.labels = req.get("class_labels")

    def fit(self, X, y, weights, out_dir):
        task = _task_and_init(self.node["task_dir"], self.node["task_dir"])
        fit_task(
            task, X, y, target_type=self.target_type, output_dir=out_dir, weights=weights,
            class_labels=self.labels, parameters=self.node.get("params") or {},
        )
        return self.scorer(out_dir)

    def scorer(self, out_dir):
        """Load the fitted node as scoring does (fresh `load_model`, DRUM layout) and wrap it in a Scorer."""
        task = _task_and_init(self.node["task_dir"], self.node["task_dir"])
        # The DRUM layout (code + artifacts side by side) lives in scratch space, never in the model folder.
        layout = tempfile.mkdtemp(prefix=f"layout-{self.node['name']}-", dir=self.req.get("scratch_dir"))
        os.rmdir(layout)
        model_layout(self.node["task_dir"], out_dir, layout)
        spec = {"model_dir": layout, "output_dir": out_dir, "target_type": self.target_type,
                "schema": {"output_requirements": self.node.get("output_requirements") or []}}
        model = load_model(task, spec)
        return Scorer(task, model, spec, self.labels)

    def as_features(self, predictions):
        """An estimator's predictions as input columns for the node it feeds."""
        prefix = self.node["name"]
        return predictions.set_axis([f"{prefix}__{c}" for c in predictions.columns], axis=1)


def train_step(_dataset, req):
    """Fit every node on the training rows, score every row set, save artifacts and final predictions."""
    frame = project_frame(req["data"]["path"])
    target, weights_col = req["data"].get("target"), req["data"].get("weights")
    features = frame.drop(columns=[c for c in (target, weights_col) if c])
    sets = _row_sets(req)
    y_all = frame[target] if target else None
    w_all = frame[weights_col] if weights_col else None
    y_train = None if y_all is None or req["target_type"] == contract.ANOMALY else y_all.iloc[sets["train"]].reset_index(drop=True)
    w_train = None if w_all is None else w_all.iloc[sets["train"]].reset_index(drop=True)
    model_dir = req["model_dir"]
    os.makedirs(model_dir, exist_ok=True)
    outputs, timings, scoring = {}, [], {}
    groups = list(sets)
    wanted = _outputs_needed(req["nodes"], req["final"], groups) | set(req.get("handoff", []))
    names = {n["name"] for n in req["nodes"]}
    for node in req["nodes"]:
        for source in node["inputs"]:
            if source not in node["channels"] and source not in names and source not in outputs:
                outputs[source] = read_handoff(model_dir, source, groups)
    for node in req["nodes"]:
        lock = _lock(node.get("cache_dir"))  # one job fits a shared step; the others wait, then reuse it
        try:
            started = time.perf_counter()
            runner = NodeRunner(node, req)
            out_dir = os.path.join(model_dir, "nodes", node["name"])
            cache = node.get("cache_dir")
            if cache and _reusable(cache, node):
                _link_tree(os.path.join(cache, "artifacts"), out_dir)
                if node["name"] not in wanted:
                    timings.append({"node": node["name"], "seconds": time.perf_counter() - started, "reused": True})
                    _log(f"node {node['name']} ({node['task_ref']}): reused the fitted step from the cache")
                    continue  # every node it feeds is cached too, so its outputs are never read
                with open(os.path.join(cache, "outputs.pkl"), "rb") as fh:
                    produced = pickle.load(fh)
                missing = [g for g in groups if g not in produced]
                if missing:  # e.g. the holdout, unlocked after the step was cached
                    scorer = runner.scorer(out_dir)
                    for group in missing:
                        produced[group] = scorer(_node_input(node, features, outputs, sets[group], group))
                outputs[node["name"]] = produced
                timings.append({"node": node["name"], "seconds": time.perf_counter() - started, "reused": True})
                _log(f"node {node['name']} ({node['task_ref']}): reused the fitted step from the cache")
                continue
            _log(f"node {node['name']} ({node['task_ref']}): fitting on {len(sets['train'])} rows")
            os.makedirs(out_dir)
            X_train = _node_input(node, features, outputs, sets["train"], "train")
            scorer = runner.fit(X_train, y_train, w_train, out_dir)
            produced = {}
            for group in groups:
                began = time.perf_counter()
                X = X_train if group == "train" else _node_input(node, features, outputs, sets[group], group)
                produced[group] = scorer(X)
                scoring[group] = scoring.get(group, 0.0) + time.perf_counter() - began
            if node["kind"] == "estimator" and node.get("stack"):
                produced["train"] = _out_of_fold(runner, X_train, y_train, w_train, model_dir)
            if node["kind"] == "estimator":
                if node["name"] != req["final"]:
                    produced = {g: runner.as_features(p) for g, p in produced.items()}
            outputs[node["name"]] = produced
            if cache and node["kind"] == "transform":
                _write_cache(cache, out_dir, produced)
            timings.append({"node": node["name"], "seconds": time.perf_counter() - started, "reused": False})
        finally:
            _unlock(lock)
    for name in req.get("handoff", []):
        write_handoff(model_dir, name, outputs[name])
    if req["final"] not in names:  # a segment in one environment; a later one scores
        return protocol.ok(nodes=timings, predictions={}, scores=None)
    predictions = {}
    final = outputs[req["final"]]
    pred_dir = os.path.join(model_dir, "predictions")
    os.makedirs(pred_dir, exist_ok=True)
    for group in groups:
        if group == "train":
            continue
        path = os.path.join(pred_dir, f"{group}.pkl")
        final[group].to_pickle(path)
        predictions[group] = path
    scores = _scores(req, predictions, y_all, sets)
    speed = None
    if "validation" in scoring and not any(t["reused"] for t in timings):
        speed = len(sets["validation"]) / max(scoring["validation"], 1e-9)
    return protocol.ok(
        nodes=timings,
        predictions=predictions,
        validation_rows_per_second=speed,
        scores=scores,
        artifacts=list_artifacts(os.path.join(model_dir, "nodes")),
    )


def write_handoff(model_dir, name, produced):
    """Write a node's outputs for a worker in another environment: Parquet (Arrow) for dense frames."""
    folder = os.path.join(model_dir, "handoff", name)
    os.makedirs(folder, exist_ok=True)
    for group, frame in produced.items():
        dense = not any(isinstance(t, pd.SparseDtype) for t in frame.dtypes)
        if dense and all(isinstance(c, str) for c in frame.columns):
            frame.to_parquet(os.path.join(folder, f"{group}.parquet"), index=False)
        else:
            frame.to_pickle(os.path.join(folder, f"{group}.pkl"))


def read_handoff(model_dir, name, groups):
    """Outputs another environment's worker wrote for node `name`."""
    folder = os.path.join(model_dir, "handoff", name)
    produced = {}
    for group in groups:
        path = os.path.join(folder, f"{group}.parquet")
        if os.path.exists(path):
            produced[group] = pd.read_parquet(path)
        elif os.path.exists(path[: -len(".parquet")] + ".pkl"):
            produced[group] = pd.read_pickle(path[: -len(".parquet")] + ".pkl")
        else:
            raise StepFailure(f"node {name!r} left no outputs for the {group} rows; its environment's step did not finish.")
    return produced


def _lock(cache):
    """An exclusive lock on a cache entry (flock on a file beside it); None when the node is not cached."""
    if not cache:
        return None
    import fcntl

    os.makedirs(os.path.dirname(cache), exist_ok=True)
    fd = os.open(f"{cache}.lock", os.O_CREAT | os.O_RDWR, 0o666)  # the umask decides: 0660 in a shared workspace
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def _unlock(fd):
    if fd is not None:
        os.close(fd)  # closing releases the flock


def _cached(node, groups=None):
    """True when the node's fitted step is cached (and, given `groups`, holds outputs for all of them)."""
    cache = node.get("cache_dir")
    if not cache or not _reusable(cache):
        return False
    if groups is None:
        return True
    try:
        with open(os.path.join(cache, "groups")) as fh:
            return set(groups) <= set(fh.read().split())
    except OSError:
        return False


def _outputs_needed(nodes, final, groups):
    """Names of nodes whose outputs must be in memory: the final one and inputs of nodes that will run
    (a cached node runs too when it lacks a row set, such as a holdout unlocked after it was cached)."""
    wanted = {final}
    for node in nodes:
        if not _cached(node, groups) or node["name"] == final:
            wanted.update(i for i in node["inputs"] if i not in node["channels"])
    return wanted


def _link_tree(source, target):
    """Copy a cached artifact folder by hard links (the cache never changes files), else by copying."""
    def link(src, dst):
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, target, copy_function=link)


def _scores(req, predictions, y_all, sets):
    """Metrics of each scored row set, computed here where the data already is (None without scikit-learn)."""
    try:
        from .metrics import compute
    except ImportError:
        return None
    out = {}
    for group, path in predictions.items():
        y = None if y_all is None else y_all.iloc[sets[group]].reset_index(drop=True)
        try:
            out[group] = compute(req["target_type"], y, pd.read_pickle(path), req.get("class_labels"))
        except ImportError:
            return None
    return out


def _out_of_fold(runner, X, y, weights, model_dir):
    """Predictions on the training rows from models that never saw them (inner K-fold), for stacking."""
    n = len(X)
    order = np.random.default_rng(0).permutation(n)
    folds = np.array_split(order, INNER_FOLDS)
    pieces = [None] * n
    result = None
    for k, held in enumerate(folds):
        keep = np.setdiff1d(np.arange(n), held)
        tmp = os.path.join(model_dir, "stacking", f"{runner.node['name']}-{k}")
        os.makedirs(tmp)
        scorer = runner.fit(
            X.iloc[keep].reset_index(drop=True),
            None if y is None else y.iloc[keep].reset_index(drop=True),
            None if weights is None else weights.iloc[keep].reset_index(drop=True),
            tmp,
        )
        pred = scorer(X.iloc[held].reset_index(drop=True))
        if result is None:
            result = pd.DataFrame(np.zeros((n, pred.shape[1])), columns=pred.columns)
        result.iloc[held] = pred.to_numpy()
    shutil.rmtree(os.path.join(model_dir, "stacking"), ignore_errors=True)
    del pieces
    return result


def _write_cache(cache, out_dir, produced):
    """Store a fitted transform's artifacts and outputs under a temporary name, then rename into place."""
    parent = os.path.dirname(cache)
    os.makedirs(parent, exist_ok=True)
    tmp = f"{cache}.tmp-{os.getpid()}"
    if os.path.isdir(tmp):
        _remove(tmp)
    try:
        shutil.copytree(out_dir, os.path.join(tmp, "artifacts"))
        with open(os.path.join(tmp, "outputs.pkl"), "wb") as fh:
            pickle.dump(produced, fh, protocol=pickle.HIGHEST_PROTOCOL)
        with open(os.path.join(tmp, "groups"), "w") as fh:
            fh.write("\n".join(sorted(produced)) + "\n")
        open(os.path.join(tmp, "complete"), "w").close()
        _freeze(tmp)
        os.rename(tmp, cache)
    except OSError:
        _remove(tmp)  # another job cached the same step first (or another member's entry holds the name)


def _remove(folder):
    """Remove a folder of ours, frozen or not (write bits are given back first)."""
    for base, dirs, _ in os.walk(folder):
        os.chmod(base, os.stat(base).st_mode | 0o700)
    shutil.rmtree(folder, ignore_errors=True)


def _freeze(folder):
    """Drop the write bits of a cache entry's files and folders (the setgid bit stays): once cached, a fitted step
    is code another job unpickles, so no other member may change it (only its owner could chmod it back)."""
    for base, dirs, names in os.walk(folder, topdown=False):
        for name in names + dirs:
            path = os.path.join(base, name)
            if not os.path.islink(path):
                os.chmod(path, os.stat(path).st_mode & ~WRITE_BITS)
    os.chmod(folder, os.stat(folder).st_mode & ~WRITE_BITS)


WRITE_BITS = 0o222


def _reusable(cache, node=None):
    """True when a cache entry is complete and every entry of it belongs to this user: in a shared workspace
    another member could plant an entry (a pickle is code), and only our own frozen entries are beyond their reach."""
    if not os.path.exists(os.path.join(cache, "complete")):
        return False
    uid = os.geteuid()
    try:
        owners = {os.stat(cache, follow_symlinks=False).st_uid}
        for base, dirs, names in os.walk(cache):
            owners.update(os.stat(os.path.join(base, n), follow_symlinks=False).st_uid for n in names + dirs)
    except OSError:
        owners = {None}
    if owners == {uid}:
        return True
    if node is not None:
        _log(f"node {node['name']} ({node['task_ref']}): the cached fitted step at {cache} is not all owned by this "
             "user, so it is not reused; fitting afresh")
    return False


def predict_step(_dataset, req):
    """Score rows with a trained model's saved artifacts: a row set of the project, or a data file.

    With `handoff_dir`, the nodes are one environment's segment of the plan: outputs of
    earlier segments are read from there and those later ones need (`handoff`) written to it.
    """
    if req.get("input"):
        from .data import read_table

        features = read_table(req["input"])
        rows = np.arange(len(features))
    else:
        frame = project_frame(req["data"]["path"])
        target, weights_col = req["data"].get("target"), req["data"].get("weights")
        features = frame.drop(columns=[c for c in (target, weights_col) if c])
        rows = _row_sets(req)[req["rows"]]
    base = features.iloc[rows].reset_index(drop=True)
    permute = req.get("permute") or []
    groups = ["rows"] + [f"permuted-{i}" for i in range(len(permute))]
    handoff_dir = req.get("handoff_dir")
    names = {n["name"] for n in req["nodes"]}
    earlier = {}
    for node in req["nodes"]:
        for source in node["inputs"]:
            if source not in node["channels"] and source not in names and source not in earlier:
                earlier[source] = read_handoff(handoff_dir, source, groups)
    kept = {req["final"], *req.get("handoff", [])}  # permuted runs keep only these, not every node's output
    scorers = {}
    for node in req["nodes"]:
        scorers[node["name"]] = NodeRunner(node, req).scorer(os.path.join(req["model_dir"], "nodes", node["name"]))

    def run(X_base, group):
        outputs = {name: {"rows": produced[group]} for name, produced in earlier.items()}
        for node in req["nodes"]:
            runner = NodeRunner(node, req)
            X = _node_input(node, X_base, outputs, np.arange(len(X_base)), "rows")
            out = scorers[node["name"]](X)
            if node["kind"] == "estimator" and node["name"] != req["final"]:
                out = runner.as_features(out)
            outputs[node["name"]] = {"rows": out}
        return {name: outputs[name]["rows"] for name in kept if name in outputs}

    started = time.perf_counter()
    result = protocol.ok()
    scored = {"rows": run(base, "rows")}
    result["rows_per_second"] = len(base) / max(time.perf_counter() - started, 1e-9)
    for i, (column, order) in enumerate(zip(permute, _permutations(handoff_dir, len(permute), len(base)))):
        shuffled = base.copy()
        shuffled[column] = shuffled[column].to_numpy()[order]
        scored[f"permuted-{i}"] = run(shuffled, f"permuted-{i}")
    for name in req.get("handoff", []):
        write_handoff(handoff_dir, name, {group: scored[group][name] for group in groups})
    if req["final"] not in names:  # a segment in one environment; a later one scores
        return result
    out_path = req["output"]
    scored["rows"][req["final"]].to_pickle(out_path)
    result["predictions"] = out_path
    if permute:
        pd.to_pickle({column: scored[f"permuted-{i}"][req["final"]] for i, column in enumerate(permute)}, out_path + ".permuted")
        result["permuted"] = out_path + ".permuted"
    return result


def _permutations(handoff_dir, count, n):
    """The row order of each permuted column (seed 0), shared through `handoff_dir` by every segment."""
    path = os.path.join(handoff_dir, "permutations.npy") if handoff_dir else None
    if path and os.path.exists(path):
        return list(np.load(path))
    rng = np.random.default_rng(0)
    orders = [rng.permutation(n) for _ in range(count)]
    if path and count:
        os.makedirs(handoff_dir, exist_ok=True)
        np.save(path, np.array(orders).reshape(count, n))
    return orders


__all__ = ["train_step", "predict_step", "preload_data", "StepFailure"]
