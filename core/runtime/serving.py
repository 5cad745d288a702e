"""Score new rows with a trained model: every node loaded once, then any number of frames scored.

Used by batch prediction and by the prediction server, both of which run in a
process of their own (task code runs there, never in the engine). Nodes of
python-local are scored in that process; a run of consecutive nodes in another
environment (a Docker image) is loaded once in a worker of that environment and
scored there, frames crossing as files. The runtime starts no such worker
itself: whoever builds the scorer passes a function that does. A plan marked
`untrusted_code` (a package scored in containers) reads back only Parquet
frames from those workers, never a pickle, which would run code here. Standard
library, numpy and pandas only, like the rest of the runtime.
"""

import os
import shutil
import tempfile

import numpy as np
import pandas as pd

from . import contract, protocol
from .checks import (check_predictions, check_read_rows, check_schema, check_transform_output, is_sparse_frame,
                     quick_predictions)
from .errors import RuleViolation, SchemaViolation, StepFailure, TaskCrash, BadInput
from .contract import LOCAL_ENV, Hooks, is_local
from .pipeline import NodeRunner
from .taskcode import accepted_kwargs, call_task, positional_count

BUILTIN_TASKS = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "builtin_tasks"))


class MissingColumns(BadInput):
    """The rows to score lack columns the model was trained on."""


def plan_segments(nodes):
    """Consecutive nodes of the same environment, in plan order: (env, nodes) pairs."""
    segments = []
    for node in nodes:
        env = node.get("env") or LOCAL_ENV
        if segments and segments[-1][0] == env:
            segments[-1][1].append(node)
        else:
            segments.append((env, [node]))
    return segments


class PlanScorer:
    """A trained model's nodes, each loaded once (DRUM layout, fresh `load_model`), ready to score frames.

    `workers(env, scratch)` starts a worker of a non-local environment that sees
    `scratch` read-write at the same path; it is needed only when the plan has such nodes.
    """

    def __init__(self, plan, model_dir, scratch_dir=None, workers=None, arrays=False):
        self.plan = plan
        self.nodes = plan["nodes"]
        self.final = plan["final"]
        self.target_type = plan["target_type"]
        self.class_labels = plan.get("class_labels")
        self.final_kind = next(n["kind"] for n in self.nodes if n["name"] == self.final)
        self.features = list(dict.fromkeys(c for n in self.nodes for cols in n["channels"].values() for c in cols))
        # Columns the model saw as numbers: text in them is read as a number, or as missing with a warning.
        self.numeric = list(dict.fromkeys(c for n in self.nodes for c in n["channels"].get("NUM", [])))
        self.unreadable = []  # (column, count, example) of text the last score() read as missing
        self._scratch = tempfile.mkdtemp(prefix="scorer-", dir=scratch_dir)
        self._workers = {}
        self._segments = []
        try:
            self._load(str(model_dir), workers, arrays)
        except BaseException:
            self.close()
            raise

    def _load(self, model_dir, workers, arrays=False):
        segments = plan_segments(self.nodes)
        for i, (env, nodes) in enumerate(segments):
            if is_local(env):
                self._segments.append(NodeSegment(self.plan, nodes, model_dir, self._scratch, arrays=arrays))
                continue
            if workers is None:
                raise BadInput(f"node(s) {', '.join(n['name'] for n in nodes)} run in environment {env}, and this scorer "
                                 "was given no way to start its worker; score with `taskbench predict` or `taskbench serve`.")
            if env not in self._workers:
                self._workers[env] = workers(env, self._scratch)
            later = {s for _, after in segments[i + 1:] for n in after for s in n["inputs"] if s not in n["channels"]}
            keep = [n["name"] for n in nodes if n["name"] in later or n["name"] == self.final]
            self._segments.append(WorkerSegment(self._workers[env], env, i, self.plan, nodes, model_dir, self._scratch, keep,
                                                trusted=not self.plan.get("untrusted_code")))

    def close(self):
        """Stop the workers of other environments and remove the scratch folder; safe to call twice."""
        workers, self._workers = list(self._workers.values()), {}
        for worker in workers:
            try:
                worker.close()
            except Exception:  # noqa: BLE001 - closing one worker must not keep the others running
                pass
        shutil.rmtree(self._scratch, ignore_errors=True)

    @property
    def is_transform(self):
        return self.final_kind == "transform"

    def input_reader(self):
        """The `read_input_data` hook of a one-node plan scored in this process (a fitted folder, `serve --code-dir`),
        as `input_reader` gives it; None for any other plan, or a task without the hook."""
        if len(self.nodes) != 1 or len(self._segments) != 1 or not isinstance(self._segments[0], NodeSegment):
            return None
        return self._segments[0].input_reader()

    def missing(self, columns):
        """Training features absent from `columns`, in training order."""
        if not self.features:
            return []
        have = set(index_names(columns) if isinstance(columns, pd.Index) else columns)
        return [c for c in self.features if c not in have]

    def score(self, frame):
        """The final node's output for `frame`: class probabilities, a Predictions column, or a transform's frame."""
        absent = self.missing(frame.columns)
        if absent:
            shown = ", ".join(repr(c) for c in absent[:5]) + (f" and {len(absent) - 5} more" if len(absent) > 5 else "")
            hint = ""
            if len(frame.columns) == 1 and any(sep in str(frame.columns[0]) for sep in ";\t|"):
                hint = " (its one column looks like several joined by ';', tab or '|': save it comma-separated)"
            raise MissingColumns(f"the data lacks {len(absent)} column(s) the model was trained on: {shown}{hint}.")
        if not _plain_index(frame):
            frame = frame.reset_index(drop=True)
        frame, self.unreadable = numbers_as_trained(frame, self.numeric)
        outputs = {}
        for segment in self._segments:
            segment.run(frame, outputs)
        return outputs[self.final]


def numbers_as_trained(frame, columns):
    """`frame` with its text in numeric `columns` read as numbers ("12" -> 12.0), and (column, count, example) for
    values that are not numbers: they become missing, which callers say (a task would otherwise do it silently)."""
    unreadable = []
    changed = None
    if not columns:
        return frame, unreadable
    kinds = dict(zip(index_names(frame.columns), (dtype.kind for dtype in column_dtypes(frame))))  # one pass per request
    for name in columns:
        if kinds.get(name, "f") in "biufc":
            continue
        series = frame[name]
        values = pd.to_numeric(series, errors="coerce")
        text = series.astype("string").str.strip()
        bad = values.isna() & series.notna() & text.ne("").fillna(False)
        if bad.any():
            unreadable.append((name, int(bad.sum()), str(series[bad].iloc[0])))
        if changed is None:
            changed = frame.copy()
        changed[name] = values.astype("float64")
    return (frame if changed is None else changed), unreadable


def column_dtypes(frame):
    """Each column's dtype, in order: from pandas' block manager where it has them (`frame.dtypes` builds a Series,
    ~30 µs per single-row request in pandas 3), else `frame.dtypes`."""
    try:
        return frame._mgr.get_dtypes().tolist()
    except AttributeError:
        return frame.dtypes.tolist()


_LISTED = (None, [])  # the column Index listed last, and its list


def index_names(index):
    """`index.tolist()`, kept for the Index listed last: the frames of one served header share their column Index, and
    listing pandas 3's Arrow-backed text costs ~5 µs each time. The list is shared: read it, never change it."""
    global _LISTED
    last = _LISTED
    if last[0] is not index:
        last = _LISTED = (index, index.tolist())
    return last[1]


def unreadable_sentence(column, count, example):
    return f"column {column!r}: {count:,} value(s) are not numbers (like {example!r}); they were scored as missing."


def _plain_index(frame):
    """True when `frame`'s index is already 0..n-1 (reset_index would only copy it)."""
    index = frame.index
    return type(index) is pd.RangeIndex and index.start == 0 and index.step == 1


def _columns(frame, names):
    """`frame[names]`, or `frame` itself when it holds just those columns in that order (a single-row request's
    usual case: selecting columns by text labels costs ~0.3 ms in pandas 3)."""
    if len(frame.columns) == len(names) and index_names(frame.columns) == names:
        return frame
    return frame[names]


def input_reader(task):
    """DRUM's `read_input_data(input_binary_data)` of a loaded task as a function from the raw input (a request's
    body, a multipart request's file X, the file `taskbench score` reads) to the rows to score, in place of the CSV
    reader; None when the task has none (a CustomTask class's module is not searched for it, as in DRUM)."""
    fn = None if task.uses_class else task.hooks.get(Hooks.READ_INPUT_DATA)
    if fn is None:
        return None

    def read(data):
        return check_read_rows(call_task(Hooks.READ_INPUT_DATA, task.code_dir, fn, data), Hooks.READ_INPUT_DATA)

    return read


def fed_all(node, frame):
    """`frame` with text column names, given whole to a fitted folder's one node (channel ALL): a folder is fed
    whatever columns each request or file holds, as in DRUM. The node reads its channel at each run."""
    names = index_names(frame.columns)
    if not all(type(c) is str for c in names):  # renaming builds a new Index: ~0.2 ms a request
        frame = frame.set_axis([str(c) for c in names], axis=1)
        names = index_names(frame.columns)
    node["channels"]["ALL"] = list(names)
    return frame


class NodeCall:
    """One loaded node's scoring, with what `steps.Scorer` works out per call worked out once: the hook's arguments,
    and for a built-in node of taskbench's own (trusted code, known output schema) no output-schema check. Every
    output rule of SPEC §2.3 still applies to every other task: outputs that plainly pass are checked in numpy, and
    anything else goes through the same checks, and error sentences, as `steps.Scorer`."""

    def __init__(self, runner, scorer):
        self.scorer = scorer
        self.node = runner.node
        self.target_type = scorer.target_type
        self.transform = self.target_type == contract.TRANSFORM
        task = scorer.task
        self.trusted = os.path.realpath(self.node["task_dir"]).startswith(BUILTIN_TASKS + os.sep)
        self.requirements = scorer.output_requirements
        self.orders = {}
        self.args = None  # None: call the Scorer itself (R tasks, estimators with a preprocessing transform or post_process)
        if getattr(task, "language", "python") != "python" or scorer.post is not None:
            return
        if task.uses_class:
            self.args, self.kwargs = (), accepted_kwargs(scorer.fn, {} if self.transform else scorer.kwargs)
        elif self.transform:
            self.args, self.kwargs = ((scorer.model, None) if positional_count(scorer.fn) == 3 else (scorer.model,)), {}
        elif not task.has(Hooks.TRANSFORM):
            self.args, self.kwargs = (scorer.model,), accepted_kwargs(scorer.fn, scorer.kwargs)

    def __call__(self, X):
        if self.args is None:
            return self.scorer(X)
        scorer = self.scorer
        out = call_task(scorer.hook, scorer.task.code_dir, scorer.fn, X, *self.args, **self.kwargs)
        n = len(X)
        if self.transform:
            if not (type(out) is pd.DataFrame and len(out) == n and out.columns.is_unique and _plain_index(out)):
                out = check_transform_output(out, scorer.hook, n)
            if self.requirements and not self.trusted:
                check_schema(out, self.requirements, f"the output of {scorer.hook}", input_sparse=is_sparse_frame(X))
            return out
        values = quick_predictions(out, self.target_type, scorer.class_labels, n, self.orders)
        if values is None:
            return check_predictions(out, scorer.hook, self.target_type, scorer.class_labels, n)
        return predictions_frame(values.reshape(n, -1), _label_index(self.target_type, scorer.class_labels))


_LABELS = {}


def _label_index(target_type, class_labels):
    """The columns of checked predictions (as `check_predictions` names them), as an Index built once."""
    key = (target_type, tuple(class_labels or ()))
    index = _LABELS.get(key)
    if index is None:
        names = ([str(c) for c in class_labels] if target_type in contract.CLASSIFICATION_TYPES
                 else [contract.PREDICTIONS_COLUMN])
        index = _LABELS[key] = pd.Index(names)
    return index


def frame_from_blocks(blocks: list, rows: int, columns):
    """A frame of columns given as pandas' blocks hold them, (values of shape (columns, rows), their positions) per
    dtype, built without pandas' constructor and its checks; None for a pandas without that API (before 2.3)."""
    make = getattr(getattr(pd.api, "internals", None), "create_dataframe_from_blocks", None)
    if make is None:
        return None
    return make([(values, np.asarray(positions, dtype=np.intp)) for values, positions in blocks],
                index=pd.RangeIndex(rows), columns=columns)


def predictions_frame(values, labels):
    """Checked predictions (rows by columns, float64) as a frame of its own copy of them (they may be a view of the
    task's output), named by `labels` (`_label_index`), as one block."""
    frame = frame_from_blocks([(values.T.copy(), range(values.shape[1]))], len(values), labels)
    return pd.DataFrame(values, columns=labels, copy=True) if frame is None else frame


class NodeSegment:
    """Consecutive nodes loaded in this process; `run` adds their outputs to `outputs`. With `arrays`, a whole plan
    of built-in nodes that `array_chain` covers scores in numpy (the server's single rows)."""

    def __init__(self, plan, nodes, model_dir, scratch, arrays=False):
        self.final = plan["final"]
        req = {**plan, "scratch_dir": scratch}
        runners = [NodeRunner(node, req) for node in nodes]
        self._steps = []
        for runner in runners:
            scorer = runner.scorer(os.path.join(model_dir, "nodes", runner.node["name"]))
            self._steps.append((runner, NodeCall(runner, scorer)))
        self._feature_names = {}
        self._chain = None
        if arrays:
            from .array_chain import array_chain

            self._chain = array_chain(plan, self._steps, self._final_output)

    def _final_output(self, frame):
        outputs = {}
        self.run(frame, outputs)
        return outputs[self.final]

    def input_reader(self):
        """The `read_input_data` hook of this segment's one node (`input_reader`), or None."""
        if len(self._steps) != 1:
            return None
        return input_reader(self._steps[0][1].scorer.task)

    def read_raw(self, raw):
        """A fitted folder's rows from the file `raw["path"]`: its bytes through the task's `read_input_data`, or
        without one read as `taskbench score` reads files (CSV, Parquet, MatrixMarket); fed whole to the node."""
        reader = self.input_reader()
        if reader is None:
            from .data import read_table

            frame = read_table(raw["path"], raw.get("sparse_columns"), raw.get("encoding"))
        else:
            with open(raw["path"], "rb") as fh:
                frame = reader(fh.read())
        return fed_all(self._steps[0][0].node, frame)

    def run(self, frame, outputs):
        if self._chain is not None:
            out = self._chain(frame)
            if out is not None:
                outputs[self.final] = out
                return
        for runner, call in self._steps:
            node = runner.node
            channels = node["channels"]
            pieces = [_columns(frame, channels[s]) if s in channels else outputs[s] for s in node["inputs"]]
            X = pd.concat(pieces, axis=1) if len(pieces) > 1 else pieces[0]
            if len(pieces) > 1 and X.columns.duplicated().any():
                X = X.loc[:, ~X.columns.duplicated()]
            out = call(X)
            if node["kind"] == "estimator" and node["name"] != self.final:
                out = self._as_features(runner, out)
            outputs[node["name"]] = out

    def _as_features(self, runner, predictions):
        """`runner.as_features(predictions)` with the renamed columns' Index built once per node and layout."""
        key = (runner.node["name"], tuple(predictions.columns.tolist()))
        names = self._feature_names.get(key)
        if names is None:
            names = self._feature_names[key] = runner.as_features(predictions).columns
        return predictions.set_axis(names, axis=1)


class WorkerSegment:
    """Consecutive nodes of another environment, loaded once in its worker; frames cross as files in `scratch`."""

    def __init__(self, worker, env, session, plan, nodes, model_dir, scratch, keep, trusted=True):
        self.worker, self.env, self.session = worker, env, session
        self.scratch = scratch
        self.keep = keep
        self.trusted = trusted
        names = {n["name"] for n in nodes}
        self.columns = list(dict.fromkeys(c for n in nodes for cols in n["channels"].values() for c in cols))
        self.upstream = list(dict.fromkeys(s for n in nodes for s in n["inputs"] if s not in n["channels"] and s not in names))
        facts = {k: plan.get(k) for k in ("target_type", "class_labels", "final")}
        self._call(protocol.SCORING_LOAD, {"session": session, "plan": facts, "nodes": nodes,
                                    "model_dir": model_dir, "scratch_dir": scratch})

    def run(self, frame, outputs, raw=None):
        """Score `frame` in the worker, adding the kept outputs to `outputs`; with `raw` (a fitted folder's one node:
        {"path", "sparse_columns", "encoding"}) the worker reads the rows from that file itself (`NodeSegment.read_raw`)."""
        folder = tempfile.mkdtemp(prefix="frames-", dir=self.scratch)
        try:
            if raw is None:
                features = save_frame(frame[self.columns], os.path.join(folder, "features"))
                rows = {"features": features, "inputs": {name: save_frame(outputs[name], os.path.join(folder, f"in-{name}"))
                                                         for name in self.upstream}}
            else:
                rows = {"raw": raw, "inputs": {}}
            reply = self._call(protocol.SCORING_RUN, {"session": self.session, **rows, "keep": self.keep, "folder": folder})
            returned = reply.get("outputs")
            if not isinstance(returned, dict) or set(returned) != set(self.keep):
                raise TaskCrash(f"the worker of environment {self.env} answered without the outputs of "
                                f"{', '.join(map(repr, self.keep))}.")
            for name, path in returned.items():
                outputs[name] = load_frame(self._frame_path(name, path, folder))
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _frame_path(self, name, path, folder):
        """A path the worker returned, accepted only inside `folder`, and only as Parquet from untrusted code."""
        real = os.path.realpath(str(path))
        if os.path.dirname(real) != os.path.realpath(folder):
            raise TaskCrash(f"the worker of environment {self.env} returned node {name!r}'s output outside its folder.")
        if not self.trusted and not real.endswith(".parquet"):
            raise TaskCrash(f"node {name!r} returned its output from the container as a pickle, which is never read from "
                            "a package's code (unpickling runs code here); only tables Parquet can hold (dense, with "
                            "text column names) cross between containers and this process.")
        return real

    def _call(self, op, payload):
        try:
            reply = self.worker.request(op, payload)
        except Exception as exc:  # noqa: BLE001 - the worker's end (a dead container) is the model's failure here
            raise TaskCrash(f"the worker of environment {self.env} stopped: {exc}.") from None
        if not protocol.succeeded(reply):
            raise failure_from_reply(reply)
        return reply


_FAILURES = {cls.kind: cls for cls in (RuleViolation, TaskCrash, SchemaViolation, BadInput)}


def failure_from_reply(reply):
    """A worker's failure reply as the StepFailure it was raised as (kind, message, details, rule)."""
    cls = _FAILURES.get(reply.get(protocol.STATUS), StepFailure)
    return cls(reply.get(protocol.MESSAGE) or "scoring failed in the worker.", details=reply.get(protocol.DETAILS),
               rule=reply.get(protocol.RULE))


def save_frame(frame, base):
    """Write a frame for another process: Parquet where it round-trips (dense, string column names), else a pickle."""
    dense = not any(isinstance(t, pd.SparseDtype) for t in frame.dtypes)
    if dense and all(isinstance(c, str) for c in frame.columns):
        try:
            frame.to_parquet(base + ".parquet", index=False)
            return base + ".parquet"
        except Exception:  # noqa: BLE001 - e.g. an object column mixing numbers and text; a pickle keeps it as is
            try:
                os.unlink(base + ".parquet")
            except OSError:
                pass
    frame.to_pickle(base + ".pkl")
    return base + ".pkl"


def load_frame(path):
    """A frame `save_frame` wrote."""
    return pd.read_parquet(path) if path.endswith(".parquet") else pd.read_pickle(path)


def load_segment(req, state):
    """Worker op `scoring_load`: load a segment's nodes once, kept for the session's `scoring_run` requests."""
    state.setdefault("scoring", {})[req["session"]] = NodeSegment(req["plan"], req["nodes"], req["model_dir"], req["scratch_dir"])
    return protocol.ok()


def run_segment(req, state):
    """Worker op `scoring_run`: score the frames in `features`/`inputs`, write the outputs named in `keep`."""
    segment = state.get("scoring", {}).get(req["session"])
    if segment is None:
        raise StepFailure(f"scoring session {req['session']} was never loaded in this worker.")
    outputs = {name: load_frame(path) for name, path in req["inputs"].items()}
    segment.run(segment.read_raw(req["raw"]) if req.get("raw") else load_frame(req["features"]), outputs)
    written = {name: save_frame(outputs[name], os.path.join(req["folder"], f"out-{name}")) for name in req["keep"]}
    return protocol.ok(outputs=written)


def output_frame(scorer, predictions):
    """Predictions as files show them: one column per class plus `prediction` (the likeliest label), or `Predictions`."""
    if scorer.target_type in contract.CLASSIFICATION_TYPES and not scorer.is_transform:
        out = predictions.copy()
        labels = np.asarray(scorer.class_labels, dtype=object)
        out["prediction"] = labels[predictions.to_numpy().argmax(axis=1)] if len(out) else []
        return out
    return predictions


def json_predictions(scorer, predictions):
    """DRUM's `predictions` list: numbers for regression and anomaly, {label: probability} per row for classes."""
    if scorer.target_type in contract.CLASSIFICATION_TYPES:
        names = [str(c) for c in predictions.columns.tolist()]
        return [dict(zip(names, row)) for row in predictions.to_numpy().tolist()]
    if predictions.columns is _label_index(scorer.target_type, None):  # checked here: one float64 column, Predictions
        return predictions.to_numpy()[:, 0].tolist()
    return predictions[contract.PREDICTIONS_COLUMN].to_numpy().tolist()
