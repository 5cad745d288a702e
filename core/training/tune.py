"""Hyperparameter tuning of a trained model (DataRobot's Advanced Tuning): successive halving over the declared
ranges of its blueprint's tasks (SPEC §2.5), built-in and custom alike.

Candidates are scored by inner cross-validation on the training folds only: the tuning run writes a partition file
of its own in which validation and holdout rows belong to no fold, so the worker never fits on or scores them; fold
k is scored by the candidate fitted on the other training folds. Early rungs score on a few of the folds, the last
on all of them, exactly as the autopilot's scoring stage (inner_cv_scores) scores models, so a candidate that wins
has beaten its parent on the same folds. Each tried setting is then trained as a child model (the parent's
blueprint text with parameters set), recorded with its lineage; the child whose setting scored best is marked.
"""

from __future__ import annotations

import hashlib
import io
import math
import queue
import re
import threading
import time
from concurrent.futures import CancelledError
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace

from ..errors import TaskbenchError, UsageError

ETA = 3  # successive halving keeps the best third at each rung
MAX_RUNGS = 3  # rungs score on about a quarter, half and all of the inner CV's folds (1, 2, 4 of 4)
INNER_FOLDS = 3  # a project with one training fold (--folds 2) has its training rows split into this many
MIN_TRAINING_ROWS = 20
DEFAULT_BUDGET = 10  # candidates tried when neither a count nor a duration is given
MAX_CANDIDATES = 1000  # a duration budget samples at most this many
OUTSIDE = -100  # tuning partition: validation and holdout rows, never fitted on or scored
MAX_CHANGED = 3  # a random candidate changes at most this many of the parent's parameters
PARALLEL_CHILDREN = True  # children train in a thread of their own (one at a time) while the search goes on
NOT_TUNED = {"seed", "random_state", "random_seed", "n_jobs", "verbose", "verbosity"}  # unless named with --set
SUFFIXES = re.compile(r" \((?:retrains|tuned from) model \d+\)$")


@dataclass
class TuneResult:
    """What a tuning run produced: the parent, every child model trained, and the winner's settings."""

    parent_id: int
    best_model_id: int
    model_ids: list[int] = field(default_factory=list)
    best_settings: dict = field(default_factory=dict)  # {"node.param": value} of the best child ({} for the parent)
    metric: str = ""
    trials: list[dict] = field(default_factory=list)  # every candidate: settings, inner scores per rung, child model
    job_id: int | None = None
    project: str = ""
    # The winning child's inner CV on every training fold: its mean scores, per-fold scores and out-of-fold predictions
    # (indexed by row number), what inner_cv_scores would find for it; empty when the parent stays best.
    best_inner: dict = field(default_factory=dict)
    best_folds: dict = field(default_factory=dict)
    best_predictions: object = None
    best_seconds: float | None = None  # how long its folds took to fit and score


class TuneStopped(KeyboardInterrupt):
    """Ctrl-C or a cancel ended the tuning: the children finished before are kept, `result` lists them."""

    def __init__(self, result: TuneResult):
        super().__init__("tuning stopped")
        self.result = result


# ---------------------------------------------------------------------------------------------- the search space


@dataclass(frozen=True)
class Dimension:
    """One parameter to search: `node.param`, its declaration, and either explicit values or a sampler."""

    key: str
    node: str
    param: str
    hp: object  # core.tasks.metadata.Hyperparameter
    values: tuple | None = None  # --set values (a grid), or None to sample the declared range
    log: bool = False
    low: float | None = None
    high: float | None = None

    def sample(self, rng):
        """One value: a --set value, or a draw from the declared range (log-uniform on wide positive ranges)."""
        if self.values is not None:
            return self.values[rng.integers(len(self.values))]
        hp = self.hp
        if hp.type == "select":
            return hp.values[rng.integers(len(hp.values))]
        if hp.type == "multi":
            form = sorted(hp.multi)[rng.integers(len(hp.multi))]
            part = hp.multi[form]
            if form == "select":
                return part["values"][rng.integers(len(part["values"]))]
            return _draw(form, *_span(form, part["min"], part["max"], None), rng)
        return _draw(hp.type, self.low, self.high, self.log, rng)

    def describe(self) -> str:
        """How the search covers this parameter, for the log."""
        if self.values is not None:
            return f"{self.key} in {list(self.values)}"
        hp = self.hp
        if hp.type == "select":
            return f"{self.key} in {list(hp.values)}"
        if hp.type == "multi":
            return f"{self.key}: {', '.join(sorted(hp.multi))} forms"
        low, high = (math.ceil(self.low), math.floor(self.high)) if hp.type == "int" else (self.low, self.high)
        notes = ["log scale"] if self.log else []
        if (float(self.low), float(self.high)) != (float(hp.min), float(hp.max)):  # near the current value, or > 0
            notes.append(f"part of the declared {float(hp.min):g} to {float(hp.max):g}; "
                         f"--set {self.key}=A,B,C tries other values")
        return f"{self.key} from {low:g} to {high:g}" + (f" ({'; '.join(notes)})" if notes else "")


def _span(kind: str, low, high, current) -> tuple[float, float, bool]:
    """The searched interval of a numeric range and whether to search it on a log scale: around a positive current
    value, within a factor 100 (floats) or 10 (integers) of it; else the declared range, log-uniform when it spans
    two decades or more of positive values."""
    low, high = float(low), float(high)
    if current is not None and not isinstance(current, bool) and isinstance(current, (int, float)) and current > 0:
        factor = 10.0 if kind == "int" else 100.0
        near_low, near_high = max(low, current / factor), min(high, current * factor)
        return near_low, near_high, near_high / near_low >= 10
    positive_low = low if low > 0 else (1.0 if kind == "int" else max(high * 1e-6, 1e-6))
    if high > 0 and high / positive_low >= 100:
        return positive_low, high, True
    return low, high, False


def _draw(kind: str, low: float, high: float, log: bool, rng):
    if log:
        value = math.exp(rng.uniform(math.log(low), math.log(high)))
    else:
        value = rng.uniform(low, high) if kind == "float" else rng.integers(int(low), int(high) + 1)
    if kind == "int":
        return int(min(max(round(value), math.ceil(low)), math.floor(high)))
    return float(f"{min(max(value, low), high):.4g}")  # four digits read well on the leaderboard and in the text


def _allowed(hp) -> str:
    """What a hyperparameter accepts, in words."""
    from ..tasks.metadata import _describe_multi

    if hp.type == "int":
        return f"an integer from {hp.min} to {hp.max}"
    if hp.type == "float":
        return f"a number from {hp.min} to {hp.max}"
    if hp.type == "select":
        return "one of " + ", ".join(str(v) for v in hp.values)
    if hp.type == "multi":
        return _describe_multi(hp.multi)
    return "any text"


def _parse_value(text: str):
    """A --set value as the blueprint syntax would read it: a number, true/false, else text."""
    from ..blueprints.syntax import _INTEGER, _NUMBER

    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    if _INTEGER.match(text):
        return int(text)
    if _NUMBER.fullmatch(text):
        return float(text)
    if text in ("true", "false"):
        return text == "true"
    return text


def parse_settings(items: list[str]) -> dict[str, list]:
    """`--set NODE.PARAM=V1,V2,…` options as {"NODE.PARAM": [values]}; a malformed one is one sentence."""
    out: dict[str, list] = {}
    for item in items:
        key, equals, values = item.partition("=")
        node, dot, param = key.strip().partition(".")
        if not equals or not dot or not node or not param or not values.strip():
            raise UsageError(f"--set {item!r} should read NODE.PARAM=VALUE[,VALUE…], such as model.alpha=0.1,1,10.")
        if key.strip() in out:
            raise UsageError(f"--set names {key.strip()} twice; list all its values in one --set.")
        out[key.strip()] = [_parse_value(v) for v in values.split(",") if v.strip()]
    return out


def search_space(checked, node: str | None, settings: dict[str, list] | None, model_id: int) -> list[Dimension]:
    """The dimensions to search: the --set parameters with their values; and every tunable parameter of `node`
    (by default the final estimator, when nothing is --set) over its declared range."""
    from ..tasks.metadata import ParameterError, resolve_parameters

    nodes = checked.nodes
    with_params = sorted(n for n, r in nodes.items() if r.task.metadata.hyperparameters)

    def known_node(name: str, how: str):
        if name not in nodes:
            names = ", ".join(with_params) or "none"
            raise UsageError(f"{how} names node {name!r}, which model {model_id}'s blueprint does not have; "
                             f"nodes with parameters: {names}.")
        return nodes[name]

    dims: list[Dimension] = []
    for key, values in (settings or {}).items():
        node_name, _, param = key.partition(".")
        resolved = known_node(node_name, f"--set {key}")
        declared = {hp.name: hp for hp in resolved.task.metadata.hyperparameters}
        if param not in declared:
            listing = ", ".join(declared) or "none"
            raise UsageError(f"--set {key}: task {resolved.task.ref} has no parameter {param!r}; it declares: "
                             f"{listing}.")
        hp = declared[param]
        if not values:
            raise UsageError(f"--set {key} gives no values; list them as {key}=A,B,C.")
        conformed = []
        for value in values:
            try:
                conformed.append(resolve_parameters([hp], {param: value})[param])
            except ParameterError:
                raise UsageError(f"--set {key}={value} is outside what {resolved.task.ref}'s {param} accepts: "
                                 f"{_allowed(hp)}.") from None
        dims.append(Dimension(key, node_name, param, hp, values=tuple(dict.fromkeys(conformed))))
    if settings and node is None:
        return dims
    target = node or checked.final.name
    resolved = known_node(target, "--node")
    named = {d.key for d in dims}
    for hp in resolved.task.metadata.hyperparameters:
        key = f"{target}.{hp.name}"
        if key in named or hp.name in NOT_TUNED or hp.type == "string":
            continue
        if hp.type in ("int", "float"):
            if hp.min == hp.max:
                continue
            low, high, log = _span(hp.type, hp.min, hp.max, resolved.parameters.get(hp.name))
            dims.append(Dimension(key, target, hp.name, hp, log=log, low=low, high=high))
        elif hp.type == "select" and len(hp.values) < 2:
            continue
        else:
            dims.append(Dimension(key, target, hp.name, hp))
    if not dims:
        others = [n for n in with_params if n != target]
        hint = f"; pick another node with --node ({', '.join(others)})" if others else ""
        raise UsageError(f"node {target!r} of model {model_id} ({resolved.task.ref}) has no parameter to tune "
                         f"(none declared with a range or values){hint}, or give values with --set NODE.PARAM=A,B.")
    return dims


def candidates(dims: list[Dimension], count: int | None, current: dict, seed: int):
    """Settings to try, as {"node.param": value} holding only what differs from the parent's `current` values: the
    grid of --set values when every dimension is a list (in a random order); else random draws that change one to
    MAX_CHANGED of the declared ranges at a time (a tuned default is a good start; changing ten parameters at once
    rarely is), every --set parameter drawn from its values each time. Never the parent's setting, never one twice."""
    import numpy as np
    from sklearn.model_selection import ParameterGrid

    rng = np.random.default_rng(seed)
    seen = {_setting_key(current)}
    limit = count if count is not None else MAX_CANDIDATES
    if all(d.values is not None for d in dims):
        grid = list(ParameterGrid({d.key: list(d.values) for d in dims}))
        draws = (grid[index] for index in rng.permutation(len(grid)))
        misses_allowed = None
    else:
        given = [d for d in dims if d.values is not None]
        ranged = [d for d in dims if d.values is None]

        def draw():
            changed = rng.choice(len(ranged), size=rng.integers(1, min(MAX_CHANGED, len(ranged)) + 1), replace=False)
            return {d.key: d.sample(rng) for d in given + [ranged[i] for i in sorted(changed)]}

        draws = iter(draw, None)
        misses_allowed = 50
    misses = 0
    for drawn in draws:
        setting = {key: value for key, value in drawn.items() if repr(value) != repr(current.get(key))}
        key = _setting_key({**current, **setting})
        if key in seen:
            misses += 1
            if misses_allowed is not None and misses >= misses_allowed:
                return
            continue
        seen.add(key)
        misses = 0
        yield setting
        limit -= 1
        if limit <= 0:
            return


def _setting_key(setting: dict) -> tuple:
    return tuple(sorted((k, repr(v)) for k, v in setting.items()))


# --------------------------------------------------------------------------------------- the blueprint text


def with_parameters(text: str, changes: dict[str, object]) -> str:
    """The blueprint text with `changes` ({"node.param": value}) set on its nodes, in the formatter's layout."""
    from ..blueprints.model import Param
    from ..blueprints.syntax import format_blueprint, parse_blueprint

    bp = parse_blueprint(text)
    by_node: dict[str, dict] = {}
    for key, value in changes.items():
        node, _, param = key.partition(".")
        by_node.setdefault(node, {})[param] = value
    nodes = []
    for node in bp.nodes:
        wanted = by_node.get(node.name)
        if wanted:
            params = [replace(p, value=wanted[p.name], text=None) if p.name in wanted else p for p in node.params]
            params += [Param(name, value, node.position, node.position)
                       for name, value in wanted.items() if name not in node.parameters]
            node = replace(node, params=tuple(params))
        nodes.append(node)
    return format_blueprint(replace(bp, nodes=tuple(nodes)))


def child_label(label: str, parent_id: int) -> str:
    """A tuned child's leaderboard label: its parent's, saying which model it was tuned from."""
    return f"{SUFFIXES.sub('', label)} (tuned from model {parent_id})"


def changes_text(changes: dict) -> str:
    """`alpha=0.1, loss="exponential"` for the log and the screen."""
    from ..blueprints.syntax import render_value

    return ", ".join(f"{k}={render_value(v)}" for k, v in changes.items()) or "(the parent's own setting)"


# --------------------------------------------------------------------------------------- the inner folds


def training_folds_partition(project):
    """The inner cross-validation's partition and its folds: the project's partition with validation and holdout rows
    set OUTSIDE, so only the training folds remain; a project with one training fold (--folds 2) has its training
    rows split into INNER_FOLDS folds (stratified by class for classification, the same split each time)."""
    import numpy as np

    parts = np.load(project.partition_path)
    out = np.where(parts >= 1, parts, OUTSIDE).astype("int8")
    folds = sorted(int(f) for f in np.unique(out[out >= 1]))
    training = np.flatnonzero(out >= 1)
    if len(folds) >= 2 or len(training) < MIN_TRAINING_ROWS:
        return out, folds
    import pandas as pd
    from sklearn.model_selection import KFold, StratifiedKFold

    from ..runtime import contract

    seed = (getattr(project, "settings", None) or {}).get("seed", 0)
    plain = KFold(INNER_FOLDS, shuffle=True, random_state=seed)
    splits = None
    if project.target_type in contract.CLASSIFICATION_TYPES:
        y = pd.read_parquet(project.data_path, columns=[project.target])[project.target].astype(str).to_numpy()
        try:
            splits = list(StratifiedKFold(INNER_FOLDS, shuffle=True, random_state=seed).split(training, y[training]))
        except ValueError:  # a class too rare to stratify
            splits = None
    for fold, (_, rows) in enumerate(splits or plain.split(training), start=1):
        out[training[rows]] = fold
    return out, list(range(1, INNER_FOLDS + 1))


def rung_sizes(folds: int) -> list[int]:
    """How many of the inner CV's folds each rung scores on: all of them at the last rung, half as many at each rung
    below (at least one), at most MAX_RUNGS rungs; the folds of a rung include those of the rungs below it."""
    sizes = [folds]
    while sizes[0] > 1 and len(sizes) < MAX_RUNGS:
        sizes.insert(0, sizes[0] // 2)
    return sizes


def _fold_means(per_fold: list[dict]) -> dict:
    """Each metric's mean over the folds' scores."""
    return {name: float(sum(f[name] for f in per_fold) / len(per_fold)) for name in per_fold[0]}


# ------------------------------------------------------------------------------------------- tuning


@dataclass
class _Trial:
    number: int
    setting: dict  # {"node.param": value}: only what differs from the parent
    text: str
    scores: dict = field(default_factory=dict)  # rung → {metric: value}, the mean over the rung's folds
    rows: dict = field(default_factory=dict)  # rung → rows scored
    folds: dict = field(default_factory=dict)  # inner fold → {metric: value}
    frames: dict = field(default_factory=dict)  # inner fold → out-of-fold predictions, indexed by row number
    seconds: float = 0.0  # fitting and scoring its folds
    error: str | None = None
    model_id: int | None = None
    promoted: set = field(default_factory=set)  # rungs it has been promoted from

    @property
    def parent(self) -> bool:
        return self.number == 0

    def top(self) -> int:
        return max(self.scores) if self.scores else -1


class _Evaluator:
    """Fits blueprints on all the inner folds but one and scores them on that one, in the workers of one `tune` job
    (fitted transforms are cached by content, so a node no candidate changes is fitted once per fold, and those the
    scoring stage fitted are reused)."""

    def __init__(self, store, project, run, parent_source):
        from .engine import Trainer

        self.parts, self.folds = training_folds_partition(project)
        tune_project = _project_for_tuning(store, project, self.parts)
        self.store, self.project, self.tune_project, self.run = store, project, tune_project, run
        self.parent_source = parent_source
        self.trainer = Trainer(store, tune_project)
        self.trainer.run = run
        self.trainer._workers = {}
        self.trainer._log = run.log
        self.trainer.scratch = run.scratch("tune")
        self.work = self.trainer.scratch

    def start_local_worker(self) -> None:
        from ..runtime.contract import LOCAL_ENV
        from .engine import take_worker

        worker, relay = take_worker(self.store.root)
        self.run.adopt(worker)
        relay.attach(self.run.log.output)
        worker.wait_ready()
        self.trainer._workers[LOCAL_ENV] = worker

    def compile(self, text: str):
        from .engine import BlueprintSource, compile_blueprint

        source = BlueprintSource(self.parent_source.label, text, self.parent_source.path, pins=self.parent_source.pins)
        return compile_blueprint(self.store, self.tune_project, source)[0]

    def fit_fold(self, checked, fold: int, name: str):
        """The blueprint fitted on the other inner folds, scored on `fold`: ({metric: value}, its predictions of the
        fold's rows indexed by row number)."""
        import numpy as np

        from .engine import build_plan

        plan = build_plan(self.store, self.tune_project, checked, fit_folds=[f for f in self.folds if f != fold])
        try:
            scores, frame = self.trainer.fit_fold(plan, self.work / f"{name}-fold-{fold}", fold)
        except TaskbenchError:
            self.drop_dead_workers()  # a task that crashed may have taken its worker along
            raise
        return scores, frame.set_axis(np.flatnonzero(self.parts == fold), axis=0)

    def drop_dead_workers(self) -> None:
        """Forget workers that died, so the next candidate starts fresh ones for their environments."""
        for env, worker in list(self.trainer._workers.items()):
            if not worker.alive():
                self.run.release(worker)
                del self.trainer._workers[env]

    def kill_workers(self) -> None:
        """Stop the candidate being scored (from another thread); its request fails and new workers start on need."""
        for worker in list(self.trainer._workers.values()):
            worker.kill()

    def close(self) -> None:
        for worker in list(self.trainer._workers.values()):
            self.run.release(worker)
        self.trainer._workers = {}


def _budget(budget, deadline) -> tuple[int | None, float | None]:
    """(candidate count or None, monotonic deadline or None) from `budget` (a count, or seconds as a float)."""
    if isinstance(budget, bool):
        raise UsageError("--budget is a number of candidates or a duration such as 10m.")
    count = None
    if isinstance(budget, int):
        if budget < 1:
            raise UsageError(f"--budget {budget} tries no candidate; give 1 or more, or a duration such as 10m.")
        count = budget
    elif isinstance(budget, float):
        if budget <= 0:
            raise UsageError("--budget must be a positive duration, such as 90s or 10m.")
        ends = time.monotonic() + budget
        deadline = ends if deadline is None else min(deadline, ends)
    if count is None and deadline is None:
        count = DEFAULT_BUDGET
    return count, deadline


def _project_for_tuning(store, project, parts):
    """The project as the tuning workers see it: the same rows with the tuning partition, written by content into
    the workspace cache (so fitted transforms are reused across candidates and tuning runs)."""
    import numpy as np

    from .. import workspace
    from ..store.files import write_bytes_atomic

    buffer = io.BytesIO()
    np.save(buffer, parts)
    payload = buffer.getvalue()
    digest = hashlib.sha256(payload + project.data_path.name.encode()).hexdigest()[:16]
    path = store.root / workspace.CACHE / "tune" / f"{digest}.npy"
    if not path.exists():
        write_bytes_atomic(path, payload)
    return replace(project, partition_path=path)


def tune_model(store, model_id, *, node: str | None = None, budget: int | float | None = None,
               deadline: float | None = None, settings: dict[str, list] | None = None,
               events=None, metric: str | None = None, keep: str = "all", seed: int = 0,
               cancel: threading.Event | None = None, parent_folds: dict | None = None) -> TuneResult:
    """Tune model MODEL_ID's hyperparameters by successive halving on inner cross-validation over its project's
    training folds; every tried setting (`keep="all"`, or only the winner with `keep="best"`) is trained as a child
    model recorded with its lineage, and the winner is marked. `budget` is a candidate count (int) or seconds (float);
    `deadline` a time.monotonic() value to stop by; `parent_folds` the parent's scores per inner fold when known
    (InnerCV.folds), so it is not fitted again. Ctrl-C raises TuneStopped with the children kept so far."""
    from ..runtime import contract
    from . import metrics
    from .engine import get_model, retrain_source, unusable_model

    parent, project = get_model(store, model_id)
    problem = unusable_model(parent, project, "tune it")
    if problem is not None:
        raise problem
    source = retrain_source(store, project, parent.id)  # write on the project; the exact task versions it ran
    if project.target_type == contract.ANOMALY:
        raise UsageError(f"model {parent.id} is an anomaly detector; tuning needs a target to score candidates "
                         "against, which anomaly projects have not.")
    metric = metric or metrics.DEFAULT_METRIC[project.target_type]
    if metric not in metrics.METRICS[project.target_type]:
        raise UsageError(f"metric {metric!r} does not apply to {project.target_type}; use one of "
                         f"{', '.join(metrics.METRICS[project.target_type])}.")
    if keep not in ("all", "best"):
        raise UsageError(f"keep must be 'all' or 'best', not {keep!r}.")
    count, deadline = _budget(budget, deadline)
    tuning = _Tuning(store, project, parent, source, metric=metric, keep=keep, seed=seed, cancel=cancel,
                     emit=events or (lambda kind, data: None), parent_folds=parent_folds)
    return tuning.run(node, settings, count, deadline)


class _Tuning:
    """One tuning run: the `tune` job that scores candidates, the children it trains, and the winner."""

    def __init__(self, store, project, parent, source, *, metric, keep, seed, cancel, emit, parent_folds=None):
        from . import metrics

        self.store, self.project, self.parent, self.source = store, project, parent, source
        self.metric, self.keep, self.seed, self.cancel, self.emit = metric, keep, seed, cancel, emit
        self.parent_folds = parent_folds or {}
        self.key = metrics.sort_key(metric)
        self.label = child_label(parent.blueprint, parent.id)
        self.result = TuneResult(parent_id=parent.id, best_model_id=parent.id, metric=metric, project=project.name)
        self.trials: list[_Trial] = []
        self.durations: list[float] = []  # seconds per fold fitted and scored
        self.child_seconds: list[float] = []
        self.warmed = False
        self.stop = threading.Event()  # the children's cancel: set on Ctrl-C, a failure, the caller's cancel, the deadline
        self.searching = True  # until the search and its children are done: the deadline stops what still runs
        self.timed_out = False
        self.lock = threading.Lock()
        self.children = None  # a one-thread executor training children beside the search (PARALLEL_CHILDREN)
        self.pending: list = []  # its futures
        self.events: queue.SimpleQueue = queue.SimpleQueue()  # children's events, passed on from the main thread
        self.deadline: float | None = None

    # ------------------------------------------------------------------ the run

    def run(self, node, settings, count, deadline) -> TuneResult:
        from ..jobs import JobRun
        from ..jobs.run import Cancelled

        store, project, parent = self.store, self.project, self.parent
        self.deadline = deadline
        parts, self.folds = training_folds_partition(project)
        training = int((parts >= 1).sum())
        if training < MIN_TRAINING_ROWS or len(self.folds) < 2:
            raise UsageError(f"project {project.name} has {training} training rows, too few to tune by inner "
                             f"cross-validation; tuning needs at least {MIN_TRAINING_ROWS}.")
        self.sizes = rung_sizes(len(self.folds))
        self.rungs = len(self.sizes)
        self.rows = {r: _count(parts, self.folds[:size]) for r, size in enumerate(self.sizes)}
        job = self.job = JobRun(store, "tune", f"tune model {parent.id} on {project.name}",
                                {"project": project.name, "model": parent.id}, cancel=self.cancel, failure_exit_code=1)
        with job:
            self.result.job_id = job.id
            self.log = job.log
            self.evaluator = _Evaluator(store, project, job, self.source)
            searched, timer = False, None
            try:
                checked = self.evaluator.compile(parent.blueprint_text)
                dims = search_space(checked, node, settings, parent.id)
                current = {d.key: checked.nodes[d.node].parameters.get(d.param) for d in dims}
                self.announce(dims, count, training)
                self.evaluator.start_local_worker()
                self.warm_worker()
                pool = candidates(dims, count, current, seed=project.settings.get("seed", 0) + self.seed)
                if PARALLEL_CHILDREN and self.keep == "all":
                    from concurrent.futures import ThreadPoolExecutor

                    self.children = ThreadPoolExecutor(1, thread_name_prefix=f"tune-{job.id}-children")
                if deadline is not None:
                    timer = threading.Timer(max(0.0, deadline - time.monotonic()), self.time_up)
                    timer.daemon = True
                    timer.start()
                self.search(pool)
                self.wait_for_children()
                searched = True
            except (KeyboardInterrupt, Cancelled) as exc:
                self.stop.set()
                self.evaluator.close()
                self.wait_for_children(cancel=True)
                self.conclude()
                job.fail(exc)
                raise TuneStopped(self.result) from None
            finally:
                if timer is not None:
                    timer.cancel()
                with self.lock:
                    self.searching = False
                self.evaluator.close()
                if self.children is not None:
                    if not searched:  # an error ended the search: the child in training goes too
                        self.stop.set()
                    self.children.shutdown(wait=True, cancel_futures=True)
                    self.children = None
                self.flush()
                if self.warmed:
                    from .engine import release_prestarted

                    release_prestarted()
            best = self.conclude()
            if self.keep == "best" and best is not None and not best.parent:
                self.train_child(best)
                self.conclude()
            self.emit("tune_done", {"model": parent.id, "best": self.result.best_model_id,
                                    "setting": self.result.best_settings, "children": list(self.result.model_ids),
                                    "job": job.id})
        return self.result

    def announce(self, dims, count, inner_rows) -> None:
        left = None if self.deadline is None else max(0.0, self.deadline - time.monotonic())
        rows = [self.rows[r] for r in range(self.rungs)]
        self.log.line(f"tuning model {self.parent.id} ({self.parent.blueprint}) by {self.metric} on inner cross-"
                      f"validation over the training folds {', '.join(map(str, self.folds))} ({inner_rows} rows), "
                      f"each scored by the candidate fitted on the others: the rungs score on "
                      f"{', '.join(map(str, self.sizes))} of them ({', '.join(map(str, rows))} rows); validation "
                      "and holdout rows are not used")
        self.log.line("searching " + "; ".join(d.describe() for d in dims))
        budget = " or ".join(([f"{count} candidates"] if count is not None else [])
                             + ([f"{left:.0f} s"] if left is not None else []))
        self.log.line(f"budget: {budget}")
        self.emit("tune_started", {"model": self.parent.id, "job": self.job.id, "metric": self.metric,
                                   "rungs": self.rungs, "rows": rows, "inner_rows": inner_rows,
                                   "folds": [len(self.folds[:size]) for size in self.sizes],
                                   "dimensions": [d.describe() for d in dims], "budget": count, "seconds": left})

    def search(self, pool) -> None:
        """Asynchronous successive halving: the parent is scored on every rung first (from `parent_folds` when
        known); then promote a candidate in the best third of its rung (and, above the first rung, better than the
        parent there) when one waits, else try a new one; when none is left to try, the best of the highest rung
        reached goes on to the last. New candidates wait while two children are still to train, so the search keeps
        pace with them."""
        parent = _Trial(0, {}, self.parent.blueprint_text)
        parent.folds = {k: self.parent_folds[k] for k in self.folds if k in self.parent_folds}
        self.trials.append(parent)
        for rung in range(self.rungs):
            self.evaluate(parent, rung)
            if rung not in parent.scores:
                break
        parent.promoted = set(range(self.rungs))
        sampling = True
        while True:
            typical = sorted(self.durations)[len(self.durations) // 2] if self.durations else 0.0
            if self.out_of_time(typical + (self.child_estimate() if self.keep == "best" else 0.0)):
                self.log.line("the time budget is spent: no more candidates")
                return
            step = self.promotion()
            if step is not None and self.out_of_time(typical * self.folds_to_fit(*step)
                                                     + (self.child_estimate() if self.keep == "best" else 0.0)):
                self.log.line("the time budget is spent: no time to score the next promotion")
                return
            if step is None and sampling:
                waiting = [f for f in self.pending if not f.done()]
                if len(waiting) >= 2:
                    self.wait_for(waiting[0])
                    continue
                step = self.new_candidate(pool)
                sampling = step is not None
                if step is None:
                    continue
            step = step or self.last_promotion()
            if step is None:
                return
            trial, rung = step
            if rung > 0:
                trial.promoted.add(rung - 1)
            self.evaluate(trial, rung)
            if trial.parent or trial.error:
                continue
            self.flush()
            if trial.model_id is not None:
                self.store.set_model_lineage(trial.model_id, parent_id=self.parent.id, tuning=self.record(trial))
            elif self.keep == "all" and rung == 0:
                if self.children is not None:
                    self.pending.append(self.children.submit(self.train_child, trial))
                else:
                    self.train_child(trial)

    def time_up(self) -> None:
        """At the deadline (a timer thread): stop the candidate being scored and the child in training; a winner
        still to train (keep="best") has its time kept aside and goes on."""
        with self.lock:
            if not self.searching:
                return
            self.timed_out = True
            if self.keep == "all":
                self.stop.set()
            self.evaluator.kill_workers()

    def folds_to_fit(self, trial: _Trial, rung: int) -> int:
        """How many folds scoring `trial` at `rung` fits (those of the rungs below are known)."""
        return sum(k not in trial.folds for k in self.folds[: self.sizes[rung]])

    def out_of_time(self, extra: float = 0.0) -> bool:
        return self.deadline is not None and time.monotonic() + extra >= self.deadline

    def child_estimate(self) -> float:
        """How long a child takes to train: the median so far, else the parent's own training time."""
        if self.child_seconds:
            return sorted(self.child_seconds)[len(self.child_seconds) // 2]
        return self.parent.train_seconds or 0.0

    def promotion(self):
        """A candidate in the best third of its rung, not yet promoted, and the rung it goes to; highest first."""
        for rung in range(self.rungs - 2, -1, -1):
            trial = self.promotable(rung)
            if trial is not None:
                return trial, rung + 1
        return None

    def new_candidate(self, pool):
        setting = next(pool, None)
        if setting is None:
            return None
        trial = _Trial(len(self.trials), setting, with_parameters(self.parent.blueprint_text, setting))
        self.trials.append(trial)
        return trial, 0

    def last_promotion(self):
        """With nothing left to try: the best of the highest rung reached goes up, until one reaches the last."""
        for rung in range(self.rungs - 2, -1, -1):
            if any(rung + 1 in t.scores for t in self.trials if not t.parent):
                return None  # a candidate reached the rung above: the winner is chosen there
            waiting = [t for t in self.ok(rung) if rung not in t.promoted]
            if waiting:
                return min(waiting, key=lambda t: self.key(t.scores[rung].get(self.metric))), rung + 1
        return None

    def ok(self, rung: int) -> list[_Trial]:
        return [t for t in self.trials if rung in t.scores and not t.error]

    def promotable(self, rung: int) -> _Trial | None:
        from . import metrics

        done = sorted(self.ok(rung), key=lambda t: self.key(t.scores[rung].get(self.metric)))
        parent = self.trials[0].scores.get(rung, {}).get(self.metric) if rung > 0 else None
        for trial in done[: len(done) // ETA]:
            if rung not in trial.promoted and (
                    parent is None or metrics.better(self.metric, trial.scores[rung].get(self.metric), parent)):
                return trial
        return None

    def evaluate(self, trial: _Trial, rung: int) -> None:
        self.job.check_cancel()
        try:
            checked = None
            for k in self.folds[: self.sizes[rung]]:
                if k in trial.folds:
                    continue
                began = time.monotonic()
                checked = checked or self.evaluator.compile(trial.text)
                trial.folds[k], trial.frames[k] = self.evaluator.fit_fold(checked, k, f"trial-{trial.number}")
                self.durations.append(time.monotonic() - began)
                trial.seconds += self.durations[-1]
            trial.scores[rung] = _fold_means([trial.folds[k] for k in self.folds[: self.sizes[rung]]])
            trial.rows[rung] = self.rows[rung]
        except TaskbenchError as exc:
            if self.timed_out:
                self.log.line(f"the time budget ran out while {'the parent' if trial.parent else f'candidate {trial.number}'}"
                              f" was scored at rung {rung + 1}; it keeps the rungs it finished")
                return
            trial.error = exc.message
        who = "parent" if trial.parent else f"candidate {trial.number}"
        data = {"trial": trial.number, "rung": rung, "rungs": self.rungs, "rows": self.rows[rung],
                "metric": self.metric, "setting": trial.setting, "model": trial.model_id}
        if trial.error:
            self.log.line(f"{who} failed at rung {rung + 1}/{self.rungs}: {trial.error}")
            self.emit("tune_trial", {**data, "error": trial.error})
            return
        value = trial.scores[rung].get(self.metric)
        self.log.line(f"{who} rung {rung + 1}/{self.rungs} ({self.sizes[rung]} fold(s), {self.rows[rung]} rows): "
                      f"inner {self.metric} {value:.6g}; {changes_text(trial.setting)}")
        self.emit("tune_trial", {**data, "score": value})

    def record(self, trial: _Trial, best: bool = False) -> dict:
        """A child's tuning record: what changed, its inner scores at the highest rung it reached, whether it won."""
        top = trial.top()
        return {"job": self.job.id, "changed": trial.setting, "metric": self.metric,
                "inner": trial.scores.get(top, {}), "rung": top + 1, "rungs": self.rungs,
                "rows": trial.rows.get(top), "folds": self.sizes[top] if top >= 0 else 0, "best": best}

    def train_child(self, trial: _Trial) -> None:
        """Train the candidate as a model of the project, like any other (training partition, validation scores),
        with its lineage recorded as it starts."""
        from .engine import BlueprintSource, Trainer

        if self.stop.is_set():
            return
        if self.out_of_time(self.child_estimate()):
            self.log.line(f"candidate {trial.number}: no time left to train it as a model")
            return
        threaded = threading.current_thread() is not threading.main_thread()

        def forward(kind: str, data: dict) -> None:
            if kind == "started":
                trial.model_id = data["model"]
                self.store.set_model_lineage(data["model"], parent_id=self.parent.id, tuning=self.record(trial))
            event = (kind, {**data, "tuned_from": self.parent.id, "setting": trial.setting})
            self.events.put(event) if threaded else self.emit(*event)

        child = BlueprintSource(self.label, trial.text, f"model {self.parent.id}", pins=self.source.pins)
        began = time.monotonic()
        outcome = Trainer(self.store, self.project, on_event=forward, cancel=self.stop).train(child)
        self.child_seconds.append(time.monotonic() - began)
        self.warm_worker()  # the next child's worker starts while the search goes on
        if outcome.model is not None:
            self.result.model_ids.append(outcome.model.id)
            self.log.line(f"candidate {trial.number} trained as model {outcome.model.id}")
        else:
            trial.model_id = None
            self.log.line(f"candidate {trial.number}: its model failed: {outcome.error}")

    def flush(self) -> None:
        """Pass on the events the children's thread queued (callers' handlers run on the main thread only)."""
        while True:
            try:
                kind, data = self.events.get_nowait()
            except queue.Empty:
                return
            self.emit(kind, data)

    def wait_for_children(self, cancel: bool = False) -> None:
        """Wait for the children in training (and those queued, unless cancelling), passing on their events."""
        for future in self.pending:
            if cancel:
                future.cancel()
            self.wait_for(future)
        self.pending = []

    def wait_for(self, future) -> None:
        """Wait for one child, passing on events meanwhile and the caller's cancel to the children."""
        while True:
            try:
                future.result(timeout=0.1)
                break
            except FutureTimeout:
                self.flush()
                if self.cancel is not None and self.cancel.is_set():
                    self.stop.set()
            except CancelledError:
                break
            except Exception:  # noqa: BLE001 - an engine fault in one child: logged, the others stand
                self.log.exception("a child model could not be trained")
                break
        self.flush()

    def warm_worker(self) -> None:
        """Start a worker for the next child now (engine.prestart_workers), so its start-up overlaps the search."""
        from .engine import prestart_workers

        if self.keep == "all":
            prestart_workers(self.store.root, 1)
            self.warmed = True

    def conclude(self) -> _Trial | None:
        """Pick the winner: the best inner score at the highest rung reached among the parent and the candidates
        that have a model (all of them with keep="all"); mark it in every child's record."""
        result, metric = self.result, self.metric
        result.trials = [{"trial": t.number, "setting": t.setting, "model": t.model_id, "error": t.error,
                          "inner": {r + 1: s for r, s in sorted(t.scores.items())}} for t in self.trials]
        eligible = [t for t in self.trials if t.scores and not t.error
                    and (t.parent or t.model_id is not None or self.keep == "best")]
        if not eligible:
            return None
        best = min(eligible, key=lambda t: (-t.top(), self.key(t.scores[t.top()].get(metric)), t.number))
        result.best_model_id = best.model_id if best.model_id is not None else self.parent.id
        result.best_settings = dict(best.setting) if best.model_id is not None else {}
        if best.model_id is not None and set(best.frames) == set(self.folds):  # scored on every fold: its inner CV
            import pandas as pd

            result.best_inner = _fold_means([best.folds[k] for k in self.folds])
            result.best_folds = dict(best.folds)
            result.best_predictions = pd.concat([best.frames[k] for k in self.folds]).sort_index()
            result.best_seconds = best.seconds
        for trial in self.trials:
            if trial.model_id is not None:
                self.store.set_model_lineage(trial.model_id, parent_id=self.parent.id,
                                             tuning=self.record(trial, best=trial is best))
        who = "the parent's own setting" if best.parent else f"candidate {best.number} ({changes_text(best.setting)})"
        self.log.line(f"best by inner CV: {who}, inner {metric} {best.scores[best.top()].get(metric):.6g} "
                      f"at rung {best.top() + 1}; model {result.best_model_id}")
        return best


def _count(parts, folds) -> int:
    import numpy as np

    return int(np.isin(parts, folds).sum())


# ------------------------------------------------------------------------ inner cross-validation


@dataclass
class InnerCV:
    """Models' inner cross-validation on a project's training folds: mean scores, and the out-of-fold predictions
    (one frame per model, indexed by row number) that averages of them are scored from."""

    project: object
    metric: str
    scores: dict = field(default_factory=dict)  # model -> mean of `metric` over the training folds
    predictions: dict = field(default_factory=dict)  # model -> out-of-fold prediction frame of the training rows
    folds: dict = field(default_factory=dict)  # model -> {fold: {metric: value}}, as tune_model's parent_folds
    seconds: dict = field(default_factory=dict)  # model -> how long its inner CV took (its folds fitted and scored)
    errors: dict = field(default_factory=dict)  # model -> the first line of the error that kept it from a score
    truth: tuple | None = None  # (partition, training folds, target), read once

    def update(self, other: "InnerCV") -> None:
        self.scores.update(other.scores)
        self.predictions.update(other.predictions)
        self.folds.update(other.folds)
        self.seconds.update(other.seconds)
        self.errors.update(other.errors)

    def add_tuned(self, result: TuneResult) -> bool:
        """Take a tuning winner's inner CV (scored on every fold as these models were); False if it has none."""
        if result.best_predictions is None or self.metric not in result.best_inner:
            return False
        self.scores[result.best_model_id] = result.best_inner[self.metric]
        self.predictions[result.best_model_id] = result.best_predictions
        self.folds[result.best_model_id] = result.best_folds
        self.seconds[result.best_model_id] = result.best_seconds
        return True

    def average_score(self, model_ids: list[int]) -> float:
        """The inner CV score of the mean of these models' out-of-fold predictions (what average_blend computes),
        fold by fold as the models were scored."""
        import numpy as np
        import pandas as pd

        from . import metrics

        project = self.project
        if self.truth is None:
            parts, folds = training_folds_partition(project)
            self.truth = parts, folds, pd.read_parquet(project.data_path, columns=[project.target])[project.target]
        parts, folds, y = self.truth
        frames = [self.predictions[m] for m in model_ids]
        mean = sum(frames[1:], frames[0]) / len(frames)
        labels = project.settings.get("class_labels")
        if labels:  # class probabilities clipped and made to sum to 1, as average_blend does
            mean = mean.clip(lower=0.0)
            mean = mean.div(mean.sum(axis=1).where(lambda s: s > 0, 1.0), axis=0)
        per_fold = []
        for k in folds:
            rows = np.flatnonzero(parts == k)
            per_fold.append(metrics.compute(project.target_type, y.iloc[rows].reset_index(drop=True),
                                            mean.loc[rows].reset_index(drop=True), labels)[self.metric])
        return float(np.mean(per_fold))


def inner_cv_scores(store, model_ids: list[int], *, metric: str, deadline: float | None = None,
                    cancel: threading.Event | None = None) -> InnerCV:
    """Each model's mean `metric` over the project's training folds, fold k scored by its blueprint fitted on the
    other training folds (validation and holdout rows neither fitted on nor scored), so that choices made from it
    (what to tune, what to blend) leave the validation score honest. Models not scored by `deadline` are left out."""
    import numpy as np
    import pandas as pd

    from ..jobs import JobRun
    from .engine import get_model, retrain_source

    _, project = get_model(store, model_ids[0])
    found = InnerCV(project, metric)
    parts, folds = training_folds_partition(project)
    if len(folds) < 2:
        return found
    job = JobRun(store, "tune", f"inner cross-validation of models {', '.join(map(str, model_ids))} on {project.name}",
                 {"project": project.name, "models": list(model_ids)}, cancel=cancel, failure_exit_code=1)
    with job:
        job.log.line(f"scoring by {metric} on the training folds {', '.join(map(str, folds))}, each fitted on the others; "
                     "validation and holdout rows are not used")
        evaluator = None
        try:
            for model_id in model_ids:
                if (deadline is not None and time.monotonic() >= deadline) or (cancel is not None and cancel.is_set()):
                    job.log.line("out of time: the models left are not scored")
                    break
                model, _ = get_model(store, model_id)
                source = retrain_source(store, project, model.id)
                if evaluator is None:
                    evaluator = _Evaluator(store, project, job, source)
                    evaluator.start_local_worker()
                evaluator.parent_source = source
                per_fold, frames, began = {}, [], time.monotonic()
                try:
                    checked = evaluator.compile(model.blueprint_text)
                    for k in folds:
                        per_fold[k], frame = evaluator.fit_fold(checked, k, f"model-{model.id}")
                        frames.append(frame)
                except TaskbenchError as exc:
                    job.log.line(f"model {model.id} not scored: {exc.message}")
                    found.errors[model.id] = (exc.message.strip().splitlines() or ["failed"])[0]
                    continue
                values = [per_fold[k][metric] for k in folds]
                found.scores[model.id] = float(np.mean(values))
                found.predictions[model.id] = pd.concat(frames).sort_index()
                found.folds[model.id] = per_fold
                found.seconds[model.id] = time.monotonic() - began
                job.log.line(f"model {model.id} ({model.blueprint}): inner CV {metric} {found.scores[model.id]:.4f} "
                             f"(folds {', '.join(f'{v:.4f}' for v in values)})")
        finally:
            if evaluator is not None:
                evaluator.close()
    return found
