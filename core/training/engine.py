"""The training engine (SPEC §6): turn blueprints into plans, run them in workers, score, record models.

Each blueprint is one `train` job with its own worker process; jobs run in
parallel through joblib (threads that each drive a worker, so the work itself
happens in the workers). Fitted transforms are cached by content, so a
blueprint that shares a prefix with an earlier one reuses it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .. import sharing, workspace
from ..errors import TaskbenchError, UsageError
from ..jobs import JobRun
from ..runners.base import Limits, OutputRelay, WorkerSpec, ready
from ..runners.start import start_worker
from ..runtime import protocol
from ..runtime.contract import LOCAL_ENV, is_local
from ..store import Model, Project, Store, files
from ..store.integrity import folder_entries, verify_model
from . import metrics
from .projects import HOLDOUT, get_project

CACHE_VERSION = "1"
# Built-in estimators that learn nothing from their training rows (an average of their inputs' predictions): an
# estimator feeding only these needs no out-of-fold predictions, whose inner fits would cost it three fits more.
ROW_FREE_TASKS = frozenset({"average_blend"})


@dataclass
class BlueprintSource:
    """A blueprint to train: its label on the leaderboard and its text."""

    label: str
    text: str
    path: str = "<blueprint>"
    saved: str | None = None  # "name@N" of a saved blueprint: train it with the task versions it recorded
    pins: dict | None = None  # node → the exact task a model ran: retrain it with those (see retrain_source)


@dataclass
class TrainOutcome:
    """What one training produced: the model row, or the reason it failed."""

    label: str
    model: Model | None = None
    error: str | None = None
    reused: list[str] = field(default_factory=list)
    refused: bool = False  # the error is a sharing refusal (SPEC §10): the command exits 2


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def compile_blueprint(store: Store, project: Project, source: BlueprintSource):
    """Parse, fit to the project's data and validate a blueprint; errors block (one sentence with line:column).

    Returns the checked blueprint (each node's exact task version and validated
    parameters) and its warnings. A saved blueprint keeps the task versions it
    was saved with; channels the project lacks are dropped from templates and files.
    """
    from ..blueprints.model import CHANNELS
    from ..blueprints.registry import pinned_resolver, resolve_saved
    from ..blueprints.syntax import BlueprintSyntaxError, parse_blueprint
    from ..blueprints.validate import BlueprintInvalid, BlueprintRefused, check, project_facts

    channels = project.settings["channels"]
    facts = project_facts(channels, project.settings["missing"])
    try:
        if source.saved:
            checked = resolve_saved(store, source.saved, target_type=project.target_type, data_facts=facts)
        else:
            absent = {c for c in CHANNELS if c != "ALL" and not channels.get(c)}
            bp = parse_blueprint(source.text, source.path).without_channels(absent)
            resolver = pinned_resolver(store, source.pins) if source.pins is not None else None
            checked = check(bp, store, target_type=project.target_type, data_facts=facts, path=source.path,
                            resolver=resolver)
            if not checked.ok:
                raise BlueprintInvalid(source.path, list(checked.messages))
    except BlueprintSyntaxError as exc:
        raise UsageError(str(exc).splitlines()[0]) from None
    except BlueprintInvalid as exc:
        errors = [m for m in exc.messages if m.severity == "error"]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        error = BlueprintRefused if exc.refused else UsageError
        raise error(f"{errors[0].format(source.saved or source.path)}{more}") from None
    return checked, [m.format(source.saved or source.path) for m in checked.warnings]


def task_environment(store: Store, info) -> str:
    """The environment a node runs in: a registered task version's own (pinned to a version, NAME@N, so that
    scoring later uses the image it was trained in), else python-local."""
    if info.builtin:
        return LOCAL_ENV
    from ..environments.versions import environment_version_to_run
    from ..tasks.versions import task_version_to_run

    env = task_version_to_run(store, info.ref).env or LOCAL_ENV
    if env.split("@")[0] == LOCAL_ENV or "@" in env:
        return env
    return environment_version_to_run(store, env).ref


def environment_segments(nodes: list[dict]) -> list[tuple[str, list[dict]]]:
    """Consecutive nodes of the same environment and task requirements, in plan order, by their worker's key
    (resolve.segment_environment): each segment runs in one worker."""
    from ..environments.resolve import segment_environment

    segments: list[tuple[str, list[dict]]] = []
    for node in nodes:
        env = segment_environment(node)
        if segments and segments[-1][0] == env:
            segments[-1][1].append(node)
        else:
            segments.append((env, [node]))
    return segments


def data_payload(project: Project) -> dict:
    """Where the worker finds the project's rows, partition, target and weights."""
    return {
        "path": str(project.data_path),
        "partition_path": str(project.partition_path),
        "target": project.target,
        "weights": project.settings.get("weights"),
    }


def docker_reads(plan: dict) -> list[Path]:
    """What a job's container may read: the plan's task folders and the project's two files, never the rest of the
    workspace (its database, other projects, other models)."""
    paths = {Path(n["task_dir"]) for n in plan["nodes"]}
    paths |= {Path(plan["data"]["path"]), Path(plan["data"]["partition_path"])}
    return sorted(paths)


def build_plan(store: Store, project: Project, checked, fit_folds: list[int]) -> dict:
    """The worker's plan: nodes in order with task folders, parameters, inputs, and cache folders."""
    channels = dict(project.settings["channels"])
    all_columns = [c for cols in channels.values() for c in cols]
    data_key = {"data": project.data_path.name, "partition": project.partition_path.name, "folds": sorted(fit_folds)}
    needed = checked.needed()
    consumers: dict[str, int] = {}
    for resolved in reversed(needed):  # consumers first: a row-free node's own consumers are counted before it
        if resolved.task.builtin and resolved.task.name in ROW_FREE_TASKS and not consumers.get(resolved.node.name):
            continue  # an average nothing learns from: its inputs need no out-of-fold predictions
        for up in resolved.node.upstream():
            consumers[up] = consumers.get(up, 0) + 1
    keys: dict[str, str] = {}
    nodes, pins = [], {}
    for resolved in needed:
        node, info, params = resolved.node, resolved.task, resolved.parameters
        node_channels = {name: all_columns if name == "ALL" else channels.get(name, []) for name in node.channels()}
        inputs_key = [
            {"channel": i, "columns": node_channels[i]} if i in node_channels else {"node": keys[i]} for i in node.inputs
        ]
        key = _digest({"v": CACHE_VERSION, "task": info.sha256, "params": params, "inputs": inputs_key, **data_key})
        keys[node.name] = key
        kind = info.kind or "estimator"
        nodes.append(
            {
                "name": node.name,
                "env": task_environment(store, info),
                "task_ref": info.ref,
                "task_dir": str(info.path),
                "kind": kind,
                "params": params,
                "inputs": list(node.inputs),
                "channels": node_channels,
                "output_requirements": [
                    {"field": r.field, "condition": r.condition, "value": r.value, "line": r.line}
                    for r in info.metadata.type_schema.output_requirements
                ],
                "stack": kind == "estimator" and consumers.get(node.name, 0) > 0,
                "cache_dir": str(store.root / workspace.CACHE / key[:2] / key) if kind == "transform" else None,
            }
        )
        pins[node.name] = info.pin()
    return {
        "data": data_payload(project),
        "target_type": project.target_type,
        "class_labels": project.settings.get("class_labels"),
        "fit_folds": fit_folds,
        "nodes": nodes,
        "final": checked.final.node.name,
        "pins": pins,
    }


def _y(project: Project, frame, rows):
    return None if project.target is None else frame[project.target].iloc[rows].reset_index(drop=True)


def node_failure(exc: TaskbenchError, nodes: list[dict], model_dir: Path, log_line: Callable[[str], None]) -> TaskbenchError:
    """The failure of a segment's training (`nodes`, fitted into `model_dir`), named by its node and task version,
    its traceback in the job log: the worker fits nodes in order, each in its own folder made before its code runs,
    so the last folder is the node. Local and cluster training (`cluster.train_bundle`) both say it so."""
    started = [n for n in nodes if (model_dir / "nodes" / n["name"]).is_dir()]
    who = f"node {started[-1]['name']} ({started[-1]['task_ref']})" if started else None
    if exc.details:
        log_line(f"{who or 'the training step'} failed; the task's traceback:\n{exc.details.rstrip()}")
    if who is not None:
        exc.message = f"{who}: {exc.message}"
        exc.args = (exc.message,)
    return exc


class Trainer:
    """Trains blueprints in one project and records each as a model with scores and logs."""

    def __init__(self, store: Store, project: Project, *, cv: bool = False, on_event: Callable[[str, dict], None] | None = None,
                 cluster=None, cancel: threading.Event | None = None, limits: Limits | None = None):
        self.store = store
        # Each training step's wall time and memory (a segment's fit and scoring, each CV fold its own), as the
        # worker enforces them for the fit check: a hung or runaway task fails its model instead of the whole run.
        self.limits = {k: v for k, v in (("timeout", limits.timeout), ("memory", limits.memory)) if v} if limits else {}
        self.project = project
        self.cv = cv
        self.cluster = cluster  # a cluster.ClusterSession: jobs then run on its Dask workers
        self.cancel = cancel  # set by the caller (the workbench on quit): the job's workers are killed, it ends cancelled
        self.run: JobRun | None = None  # the job being trained
        self.on_event = on_event or (lambda kind, data: None)
        self._frame = None

    def frame(self):
        import numpy as np
        import pandas as pd

        if self._frame is None:
            self._frame = (pd.read_parquet(self.project.data_path), np.load(self.project.partition_path))
        return self._frame

    def train(self, source: BlueprintSource) -> TrainOutcome:
        """Train one blueprint as a `train` job whose model row ends with it (trained, or failed with its reason)."""
        if self.cancel is not None and self.cancel.is_set():
            return TrainOutcome(source.label, error="cancelled")
        store, project = self.store, self.project
        # The worker reads the project's data while the engine checks the blueprint (on a cluster, its worker does).
        worker = relay = None
        if self.cluster is None:
            worker, relay = take_worker(store.root)
            worker.send(protocol.LOAD_PROJECT, {"data": data_payload(project), "code_dirs": []})
        try:
            checked, warnings = compile_blueprint(store, project, source)
        except TaskbenchError as exc:
            from ..blueprints.validate import BlueprintRefused

            if worker is not None:
                worker.kill()
            self.on_event("failed", {"label": source.label, "error": exc.message})
            return TrainOutcome(source.label, error=exc.message, refused=isinstance(exc, BlueprintRefused))
        run = self.run = JobRun(store, "train", f"train {source.label} on {project.name}",
                                {"project": project.name, "blueprint": source.label},
                                cancel=self.cancel, announce=False, failure_exit_code=1)
        run.kept = "no model was saved, models trained before are kept"
        try:
            run.start()
        except BaseException:
            if worker is not None:
                worker.kill()
            raise
        model = None
        outcome = TrainOutcome(source.label)
        started = time.perf_counter()
        try:
            with run:
                if worker is not None:
                    run.adopt(worker)
                plan = build_plan(store, project, checked, fit_folds=list(range(1, project.settings["folds"])))
                model = store.add_model(project_id=project.id, blueprint=source.label, blueprint_text=source.text,
                                        resolved=plan["pins"], job_id=run.id)
                model_id = model.id
                run.on_end(lambda state, message: store.finish_model(
                    model_id, state="failed", message="cancelled" if state == "cancelled" else message))
                run.kept = (f"model {model.id} was not saved and its partial files were removed, "
                            "models trained before are kept")
                self.on_event("started", {"label": source.label, "model": model.id, "job": run.id})
                final_dir = store.root / workspace.MODELS / str(model.id)
                # Named for this process, so the sweep on open removes it if the engine dies (store.files.TEMP_LOCATIONS).
                work_dir = run.temporary(files.temp_path(store.root / workspace.MODELS, f"model-{model.id}"))
                self.scratch = run.scratch("train")
                log = run.log
                for warning in warnings:
                    log.line(warning)
                log.line(f"job {run.id}: training {source.label} on project {project.name} as model {model.id}")
                if worker is None:
                    scores, reused, speed = self._run_on_cluster(plan, work_dir, checked)
                else:
                    relay.attach(log.output)
                    info = worker.wait_ready()
                    log.line(f"worker pid {info.get('pid')} ready after {time.perf_counter() - started:.2f} s")
                    scores, reused, speed = self._run(worker, plan, work_dir, log, checked)
                run.stop(succeeded=True)
                # Fitted artifacts are code too (pickles): frozen read-only and recorded with their sha256, so a
                # later use refuses a copy another member (or anyone) changed (integrity.verify_model).
                files.make_read_only(work_dir)
                recorded = folder_entries(work_dir)
                os.rename(work_dir, final_dir)
                seconds = time.perf_counter() - started
                trained = []

                def record() -> None:  # the model and its job end together, or neither does
                    trained.append(store.finish_model(model_id, state="trained", artifact_path=final_dir,
                                                      scores=scores, train_seconds=seconds, predict_speed=speed,
                                                      files=recorded))

                try:
                    run.finish("succeeded", exit_code=0, rows=record)
                except BaseException:
                    files.remove_tree(final_dir)  # its row does not say trained, so the folder goes
                    raise
                model = trained[0]
                shown = _visible_scores(scores, project)
                log.line(f"model {model.id} trained in {seconds:.2f} s; validation {json.dumps(shown.get('validation'))}"
                         + (f"; holdout {json.dumps(shown['holdout'])}" if "holdout" in shown else ""))
                outcome.model, outcome.reused = model, reused
                self.on_event("trained", {"label": source.label, "model": model.id, "scores": shown, "seconds": seconds})
        except KeyboardInterrupt:
            raise
        except Exception:  # noqa: BLE001 - a failed training is recorded (JobRun), the others go on
            outcome.error = "cancelled" if run.state == "cancelled" else run.message or "the job could not be recorded"
            self.on_event("failed", {"label": source.label, "model": model and model.id, "error": outcome.error})
        return outcome

    def _request(self, worker, op, payload):
        reply = worker.request(op, payload)
        if not protocol.succeeded(reply):
            raise TaskbenchError(reply.get("message", f"{op} failed"), details=reply.get("details"))
        return reply

    def _score_sets(self) -> dict:
        score_sets = {"validation": [0]}
        if self.project.holdout_unlocked:
            score_sets["holdout"] = [HOLDOUT]
        return score_sets

    def _fold_plans(self, checked) -> list[tuple[int, dict]]:
        """(k, plan fitted on every fold but k) for cross-validation."""
        folds = self.project.settings["folds"]
        return [(k, build_plan(self.store, self.project, checked, fit_folds=[f for f in range(folds) if f != k]))
                for k in range(folds)]

    def _cv_means(self, per_fold: list[dict], log) -> dict:
        """Mean of each metric over the folds (each fold scored by a model fitted on the others), logged per fold."""
        import numpy as np

        for k, scores in enumerate(per_fold):
            log.line(f"cross-validation fold {k + 1}/{len(per_fold)}: {json.dumps(scores)}")
        return {name: float(np.mean([f[name] for f in per_fold])) for name in per_fold[0]}

    def _run_on_cluster(self, plan, work_dir: Path, checked):
        """Train on a Dask worker (the plan and any CV folds in one bundle); artifacts come back into `work_dir`."""
        plans, sets = [plan], [self._score_sets()]
        for k, fold_plan in self._fold_plans(checked) if self.cv else []:
            plans.append(fold_plan)
            sets.append({"fold": [k]})
        log = self.run.log
        log.line(f"job {self.run.id} goes to the Dask cluster at {self.cluster.address}")
        result = self.cluster.run(self.project, self.run, [{**p, **self.limits} for p in plans], sets)
        work_dir.mkdir(parents=True, exist_ok=True)
        for rel, content in result["files"].items():
            target = work_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        final, folds = result["replies"][0], result["replies"][1:]
        for node in final["nodes"]:
            log.line(f"node {node['node']}: {'reused' if node['reused'] else 'fitted and scored'} in {node['seconds']:.2f} s"
                     f" on {result['host']}")
        scores = dict(final["scores"])
        if folds:
            scores["cv"] = self._cv_means([r["scores"]["fold"] for r in folds], log)
        (work_dir / "plan.json").write_text(json.dumps(plan, indent=2))
        return scores, [n["node"] for n in final["nodes"] if n["reused"]], final.get("validation_rows_per_second")

    def _run(self, worker, plan, work_dir, log, checked):
        score_sets = self._score_sets()
        self._workers = {LOCAL_ENV: worker}
        self._log = log
        try:
            replies = self._train_plan(plan, work_dir, score_sets)
            cv = self._cross_validate(checked, work_dir, log) if self.cv else None
        finally:
            for env, other in self._workers.items():
                if env != LOCAL_ENV:
                    self.run.release(other)
        nodes = [n for reply in replies for n in reply["nodes"]]
        for node in nodes:
            log.line(f"node {node['node']}: {'reused' if node['reused'] else 'fitted and scored'} in {node['seconds']:.2f} s")
        reused = [n["node"] for n in nodes if n["reused"]]
        final = replies[-1]
        scores = final.get("scores") or self._score(final["predictions"])
        if cv is not None:
            scores["cv"] = cv
        (work_dir / "plan.json").write_text(json.dumps(plan, indent=2))
        speed = final.get("validation_rows_per_second") if len(replies) == 1 else None
        return scores, reused, speed

    def _train_plan(self, plan, model_dir: Path, score_sets: dict) -> list[dict]:
        """Run the plan segment by segment, each in a worker of its environment; data crosses as files."""
        replies = []
        segments = environment_segments(plan["nodes"])
        later_inputs = [set() for _ in segments]
        for i, (_, nodes) in enumerate(segments):
            for _, after in segments[i + 1 :]:
                later_inputs[i] |= {src for n in after for src in n["inputs"] if src not in n["channels"]}
        for i, (env, nodes) in enumerate(segments):
            worker = self._worker(env, nodes[0], plan, model_dir)
            if len(segments) > 1:
                self._log.line(f"segment {i + 1}/{len(segments)} in {env}: {', '.join(n['name'] for n in nodes)}")
            began = time.perf_counter()
            # Import the libraries of the nodes that will really be fitted; cached ones need none.
            to_fit = {n["task_dir"] for n in nodes if not _own_cache_entry(n["cache_dir"])}
            loaded = self._request(worker, protocol.LOAD_PROJECT, {"data": plan["data"], "code_dirs": sorted(to_fit)})
            self._log.line(f"worker loaded {loaded['rows']} rows and the tasks' libraries in {time.perf_counter() - began:.2f} s")
            handoff = sorted(later_inputs[i] & {n["name"] for n in nodes})
            try:
                replies.append(
                    self._request(
                        worker,
                        protocol.TRAIN,
                        {**plan, "nodes": nodes, "handoff": handoff, "model_dir": str(model_dir),
                         "score_sets": score_sets, "scratch_dir": str(self.scratch), **self.limits},
                    )
                )
            except TaskbenchError as exc:
                raise node_failure(exc, nodes, model_dir, self._log.line)
        shutil.rmtree(model_dir / "handoff", ignore_errors=True)
        return replies

    def _worker(self, env: str, node: dict, plan: dict, model_dir: Path):
        """The worker of segment key `env` (that of `node`) for this job, started on first use: Docker for registered
        images, and the task's requirements installed on top (a cached venv or image, pip's progress in the log)."""
        if env in self._workers:
            return self._workers[env]
        from ..environments.resolve import segment_resolved

        resolved = segment_resolved(self.store, node, self._log.line)
        if resolved.kind == "docker":
            cache = self.store.root / workspace.CACHE
            cache.mkdir(exist_ok=True)
            spec = WorkerSpec(on_output=self._log.output, read_only=docker_reads(plan),
                              writable=[model_dir, self.scratch, cache], env=dict(_THREADS))
        else:
            spec = WorkerSpec(on_output=self._log.output, writable=[self.store.root], env=dict(_THREADS))
        worker = self.run.adopt(start_worker(spec, image=resolved.image, python=resolved.python))
        info = worker.wait_ready()
        self._log.line(f"worker for {resolved.describe()} ready (Python {info.get('python')}, pandas {info.get('pandas')})")
        self._workers[env] = worker
        return worker

    def _score(self, predictions: dict, folds_of: dict | None = None) -> dict:
        """Metrics computed here, for workers whose environment has no scikit-learn."""
        import numpy as np
        import pandas as pd

        frame, parts = self.frame()
        folds_of = folds_of or {"validation": [0], "holdout": [HOLDOUT]}
        out = {}
        for group, path in predictions.items():
            rows = np.flatnonzero(np.isin(parts, folds_of[group]))
            out[group] = metrics.compute(
                self.project.target_type, _y(self.project, frame, rows), pd.read_pickle(path), self.project.settings.get("class_labels")
            )
        return out

    def fit_fold(self, plan: dict, folder: Path, fold: int):
        """Fit `plan` (on its fit_folds) in `folder`, removed after, and score it on the rows of partition fold `fold`:
        ({metric: value}, the final node's predictions of those rows, in row order). The job's workers run it, so
        the caller is training (train) or has set up the job as tune does."""
        import pandas as pd

        try:
            final = self._train_plan(plan, folder, {"fold": [fold]})[-1]
            scores = (final.get("scores") or self._score(final["predictions"], {"fold": [fold]}))["fold"]
            return scores, pd.read_pickle(final["predictions"]["fold"])
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _cross_validate(self, checked, work_dir, log) -> dict:
        """Mean of each metric over the K folds (fold k scored by a model fitted on the other folds)."""
        per_fold = [self.fit_fold(plan, work_dir / "cv" / str(k), k)[0] for k, plan in self._fold_plans(checked)]
        shutil.rmtree(work_dir / "cv", ignore_errors=True)
        return self._cv_means(per_fold, log)


# Modules nearly every training imports; a prestarted worker loads them while the engine compiles.
WARM_MODULES = ["numpy", "pandas", "pyarrow.parquet", "sklearn.base", "sklearn.metrics"]
_PRESTARTED: list = []


BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_THREADS: dict[str, str] = {}


def share_cores(jobs: int) -> None:
    """Give each worker its share of the cores for OpenMP, and one BLAS thread; variables the user set win.

    Multi-threaded BLAS made scikit-learn's lbfgs fits five times slower on the
    small matrices of typical blueprints here (10.7 s against 1.9 s).
    """
    _THREADS.clear()
    per_job = max(1, (os.cpu_count() or 1) // max(jobs, 1))
    wanted = {"OMP_NUM_THREADS": str(per_job), **{name: "1" for name in BLAS_VARIABLES}}
    _THREADS.update({name: value for name, value in wanted.items() if name not in os.environ})


def _new_worker(root: Path):
    relay = OutputRelay()
    spec = WorkerSpec(on_output=relay, writable=[Path(root)], env=dict(_THREADS))
    return start_worker(spec), relay


def prestart_workers(root: Path, count: int) -> None:
    """Start `count` workers now (and warm them), so their start-up overlaps the engine's own work; none when the
    workspace may not be entered (opening it says why)."""
    if _PRESTARTED:
        return  # already started by the command's entry point
    try:
        workspace.enter(root)  # a shared workspace's umask, inherited by the workers
    except TaskbenchError:
        return
    share_cores(count)
    for _ in range(count):
        worker, relay = _new_worker(root)
        worker.send(protocol.WARM, {"modules": WARM_MODULES})
        _PRESTARTED.append((worker, relay))


def take_worker(root: Path):
    """A prestarted worker when one is waiting, else a new one (with its output relay)."""
    try:
        return _PRESTARTED.pop()
    except IndexError:
        return _new_worker(root)


def release_prestarted() -> None:
    """Stop workers that were started ahead but not used."""
    while _PRESTARTED:
        worker, _ = _PRESTARTED.pop()
        worker.kill()


def _visible_scores(scores: dict, project: Project) -> dict:
    """Scores as users may see them: without the holdout until it is unlocked."""
    return {k: v for k, v in scores.items() if k != "holdout" or project.holdout_unlocked}


def visible_scores(model: Model, project: Project) -> dict:
    return _visible_scores(model.scores, project)


def train_blueprints(
    store: Store,
    project_name: str,
    sources: list[BlueprintSource],
    *,
    jobs: int = 1,
    cv: bool = False,
    on_event: Callable[[str, dict], None] | None = None,
    cluster: str | None = None,
    cancel: threading.Event | None = None,
    limits: Limits | None = None,
) -> list[TrainOutcome]:
    """Train each blueprint as its own job, `jobs` at a time (joblib threads, each driving a worker, or each
    waiting for a job on the Dask cluster at `cluster`)."""
    project = get_project(store, project_name)
    sharing.require(store, "project", project.name, "write", "train in")
    if not sources:
        raise UsageError("name at least one blueprint to train (a file, a saved blueprint, --templates, or "
                         "--retrain MODEL).")
    files.sweep_temps(store.root)  # with the fitted-step cache, which the sweep on open leaves out
    session = None
    if cluster:
        from .cluster import ClusterSession

        session = ClusterSession(cluster)

    def one(source):
        return Trainer(store, project, cv=cv, on_event=on_event, cluster=session, cancel=cancel,
                       limits=limits).train(source)

    share_cores(min(jobs, len(sources)))
    try:
        if jobs <= 1 or len(sources) == 1:
            return [one(s) for s in sources]
        from joblib import Parallel, delayed

        return Parallel(n_jobs=jobs, backend="threading")(delayed(one)(s) for s in sources)
    finally:
        if session is not None:
            session.close()


RETRAINS = re.compile(r" \(retrains model \d+\)$")


def retrain_source(store: Store, project: Project, model_id: int | str) -> BlueprintSource:
    """A model of `project` to train again: its recorded blueprint text with the exact task versions it ran,
    labelled as retraining it. Needs write on the project only (SPEC §10: execute through the project), not
    read on the blueprint or its tasks."""
    model, of = get_model(store, model_id)
    if of.id != project.id:
        raise UsageError(f"model {model.id} is not a model of the project {project.name!r}; `taskbench "
                         f"leaderboard {project.name}` lists its models.")
    sharing.require(store, "project", project.name, "write", "retrain models in")
    label = f"{RETRAINS.sub('', model.blueprint)} (retrains model {model.id})"
    return BlueprintSource(label, model.blueprint_text, f"model {model.id}", pins=model.resolved)


def repeat_key(model: Model) -> str:
    """What makes two trainings the same: the blueprint's text and the exact task versions it ran."""
    return _digest({"text": model.blueprint_text, "resolved": model.resolved})


def leaderboard(store: Store, project_name: str, metric: str | None = None,
                partition: str = "validation") -> tuple[Project, str, list[dict]]:
    """The project's models best first by `metric` on `partition` (validation, cv or an unlocked holdout), as the
    JSON rows of SPEC §11.

    A model trained from the same blueprint text on the same task versions as an earlier one is a repeat: its row
    names the first such model in `repeat_of`, and every row of the group counts its `runs`."""
    project = get_project(store, project_name)
    sharing.require(store, "project", project.name, "read", "see the leaderboard of")
    metric = metric or metrics.DEFAULT_METRIC[project.target_type]
    if metric not in metrics.METRICS[project.target_type]:
        raise UsageError(f"metric {metric!r} does not apply to {project.target_type}; use one of {', '.join(metrics.METRICS[project.target_type])}.")
    rows = []
    models = store.project_models(project.id)
    groups: dict[str, list[int]] = {}
    for model in sorted(models, key=lambda m: m.id):
        groups.setdefault(repeat_key(model), []).append(model.id)
    for model in models:
        group = groups[repeat_key(model)]
        scores = visible_scores(model, project)
        row = {
            "model": model.id,
            "blueprint": model.blueprint,
            "state": model.state,
            "validation": scores.get("validation", {}),
            "cv": scores.get("cv"),
            "train_seconds": model.train_seconds,
            "predict_rows_per_second": model.predict_speed,
            "created_by": model.created_by,
            "runs": len(group),
            "repeat_of": group[0] if group[0] != model.id else None,
            "tuned_from": model.parent_id,  # lineage (core/training/tune.py): the model this one was tuned from
            "tuning": model.tuning,  # {"changed": {node.param: value}, "inner": scores, "best": bool, ...} or None
        }
        if project.holdout_unlocked:
            row["holdout"] = scores.get("holdout")
        if model.state == "failed":
            row["message"] = model.message
        rows.append(row)
    return project, metric, rank(rows, metric, partition)


def rank(rows: list[dict], metric: str, partition: str = "validation") -> list[dict]:
    """Leaderboard rows best first by `metric` on `partition` in the metric's direction; ties (and rows without a
    score there, last) keep their validation order, then the store's: the one order every front end shows."""
    key = metrics.sort_key(metric)
    return sorted(rows, key=lambda r: (key((r.get(partition) or {}).get(metric)), key((r.get("validation") or {}).get(metric))))


def score_holdout_for_project(store: Store, project: Project) -> int:
    """After unlocking: score every trained model on the holdout and record it."""
    count = 0
    for model in store.project_models(project.id):
        if model.state != "trained" or "holdout" in model.scores:
            continue
        scores = dict(model.scores)
        predictions = predict_rows(store, project, model, "holdout")
        import numpy as np

        trainer = Trainer(store, project)
        frame, parts = trainer.frame()
        rows = np.flatnonzero(parts == HOLDOUT)
        scores["holdout"] = metrics.compute(project.target_type, _y(project, frame, rows), predictions, project.settings.get("class_labels"))
        store.update_model_scores(model.id, scores)
        count += 1
    return count


def _own_cache_entry(cache: str | None) -> bool:
    """True when a node's fitted step is cached by this user: the worker reuses only those (pipeline._reusable)."""
    if not cache:
        return False
    try:
        return Path(cache, "complete").exists() and os.stat(cache).st_uid == os.geteuid()
    except OSError:
        return False


def model_plan(store: Store, model: Model, project: Project) -> dict:
    """A trained model's plan, with its files and the registered task versions it pins verified (SPEC §10), since
    the caller is about to load its pickles, score with or package their code."""
    from ..tasks.versions import verify_pinned

    verify_model(model, project.name)
    plan = json.loads((model.artifact_path / "plan.json").read_text())
    verify_pinned(store, plan.get("pins", {}))
    return plan


def predict_rows(store: Store, project: Project, model: Model, rows: str, permute: list[str] | None = None):
    """Score one of the project's row sets with a trained model (and, optionally, with columns permuted).

    Like training, each run of consecutive nodes in one environment scores in a worker of that
    environment (a container for Docker ones); outputs cross between them as files in scratch space.
    """
    import pandas as pd

    plan = model_plan(store, model, project)
    scratch = workspace.scratch_dir(store.root, "predict")
    out = scratch / "predictions.pkl"
    segments = environment_segments(plan["nodes"])
    request = {**plan, "model_dir": str(model.artifact_path), "rows": rows,
               "score_sets": {rows: [HOLDOUT] if rows == "holdout" else [0]}, "output": str(out),
               "permute": permute or [], "scratch_dir": str(scratch), "handoff_dir": str(scratch)}
    workers: dict = {}
    try:
        for i, (env, nodes) in enumerate(segments):
            if env not in workers:
                workers[env] = _scoring_worker(store, nodes[0], plan, scratch, model)
            later = {s for _, after in segments[i + 1 :] for n in after for s in n["inputs"] if s not in n["channels"]}
            handoff = sorted(later & {n["name"] for n in nodes})
            reply = workers[env].request(protocol.PREDICT, {**request, "nodes": nodes, "handoff": handoff})
            if not protocol.succeeded(reply):
                raise TaskbenchError(reply.get("message", "scoring failed"), details=reply.get("details"))
        predictions = pd.read_pickle(out)
        if permute:
            return predictions, pd.read_pickle(f"{out}.permuted")
        return predictions
    finally:
        for worker in workers.values():
            worker.close()
        shutil.rmtree(scratch, ignore_errors=True)


def _discard(chunk: bytes) -> None:
    """Task output while scoring the project's rows: there is no job log to keep it in."""


def _scoring_worker(store: Store, node: dict, plan: dict, scratch: Path, model: Model):
    """A worker for predict_rows of `node`'s environment with its task's requirements: a local subprocess (of their
    cached venv), or a container that reads only the project's files, the model and its task folders, and writes
    only `scratch`."""
    from ..environments.resolve import segment_resolved

    env = node.get("env") or LOCAL_ENV
    if not is_local(env):
        from ..environments.docker_build import docker_status

        running, reason = docker_status()
        if not running:
            raise UsageError(f"model {model.id} has nodes in Docker environment {env}, but {reason}; start Docker and "
                             "try again.")
    resolved = segment_resolved(store, node, lambda line: None)
    if resolved.kind == "local":
        return ready(start_worker(WorkerSpec(on_output=_discard, writable=[store.root]), python=resolved.python))
    spec = WorkerSpec(on_output=_discard, read_only=[*docker_reads(plan), model.artifact_path], writable=[scratch], env=dict(_THREADS))
    return ready(start_worker(spec, image=resolved.image))


def get_model(store: Store, model_id: int | str) -> tuple[Model, Project]:
    try:
        number = int(str(model_id).lstrip("#"))
    except ValueError:
        raise UsageError(f"{model_id!r} is not a model number; see `taskbench leaderboard PROJECT`.") from None
    model = store.model(number)
    if model is None:
        raise UsageError(f"there is no model {number}; see `taskbench leaderboard PROJECT`.")
    return model, store.project_by_id(model.project_id)


def unusable_model(model: Model, project: Project, doing: str = "use it") -> UsageError | None:
    """Why a model that is not trained cannot be used (it failed, and its reason; or it is still training), as one
    sentence pointing at the leaderboard; None for a trained model."""
    if model.state == "trained" and model.artifact_path is not None:
        return None
    if model.state != "failed":
        why = f"model {model.id} is still {model.state}"
    elif model.message and len(model.message) <= SHORT_REASON:
        why = f"model {model.id} failed ({model.message.rstrip('.')})"
    elif model.job_id is not None:
        why = f"model {model.id} failed (`taskbench logs {model.job_id}` says why)"
    else:
        why = f"model {model.id} failed"
    return UsageError(f"{why}, so you cannot {doing}; pick a trained model from `taskbench leaderboard {project.name}`.")


SHORT_REASON = 80  # a failure reason quoted whole in another sentence; longer ones are pointed to

