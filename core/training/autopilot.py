"""`train --autopilot`: templates, then tuning of the best models, then blenders of the best, within one time budget.

The stages share the budget: templates start no training past TEMPLATES_SHARE of it, their inner cross-validation
on the training folds stops by SCORING_SHARE; the blenders' time is then estimated from the scored models' training
times and kept aside, and tuning gets the rest (its winners come with their inner CV, scored on the same folds as
their parents, so nothing is scored between tuning and the blenders). What to tune and what
to blend is chosen by that inner score, never by validation, so the validation score of what the autopilot makes
stays an honest estimate; only the final ranking (the leaderboard's) is by validation. At the budget itself every
training still running is cancelled (its model row ends failed, its files removed), so the autopilot never leaves a
half-written model. The autopilot is a job of its own whose log says when each stage started and how long it took.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from .. import sharing
from ..errors import TaskbenchError, UsageError
from ..jobs import JobRun
from ..runtime.contract import BINARY, MULTICLASS, REGRESSION
from ..store import Model, Project, Store, files
from . import metrics
from .blend import AVERAGE, STACK, STACKERS, blend_source
from .engine import ROW_FREE_TASKS, BlueprintSource, Trainer, TrainOutcome, leaderboard, repeat_key, share_cores
from .projects import get_project
from .tune import InnerCV

DEFAULT_BUDGET = 600.0
TEMPLATES_SHARE = 0.40
SCORING_SHARE = 0.50
BLEND_MARGIN = 1.25  # the blenders' time kept aside before tuning: their estimate times this, plus BLEND_SLACK s
BLEND_SLACK = 5.0
BLEND_SHARE = 0.25  # blenders' members are left out (the weakest first, down to two each) to keep within this share
TUNE_TOP = 3  # models tuned, when the budget gives each at least MIN_TUNE_SECONDS
MIN_TUNE_SECONDS = 20.0
AVERAGE_SIZE = 3  # models the averaging blender combines without inner CV: the best of different families
AVERAGE_MAX = 5  # at most this many chosen on the inner CV's out-of-fold predictions
STACK_SIZE = 5  # the stacked blender weighs its members, so it may take weaker ones too
# A blender fits each member's estimator again (its transforms come from the cache): the average about as long as its
# members' trainings took together (10k_diabetes, -j 2: 33.6 s against 37.5 s). The stacker also fits each member
# once per inner fold (3, on two thirds of the training rows) for its out-of-fold predictions: about as many rows as
# the scoring stage's inner CV of the member fitted (4 folds on three quarters), without its transforms; it took
# STACK_FROM_INNER of that time (10k_diabetes 0.59, 41 s against 70 s; skyserver 0.57), else STACK_UNSCORED times
# the member's training (10k_diabetes 1.3 to 2.7). Each blender's worker also starts and loads the data.
STACK_FROM_INNER = 0.7
STACK_UNSCORED = 2.0
BLEND_START = 5.0

# Blueprints the autopilot trains beside the templates, chosen by inner 4-fold CV on 10k_diabetes's training folds
# (validation fold unused): a forest on target- and frequency-encoded categories (AUC 0.705 against 0.694 for the
# boosting and linear templates, 0.686 for the forest template) and a slower, more regularised booster (0.699 against
# 0.694), which tuning, changing a few parameters at a time, seldom reaches. Averaged with the linear text model they
# scored 0.711. Each: (name, estimator per target type, parameters, what it does).
EXTRA_BLUEPRINTS = [
    ("extra-trees", {BINARY: "extra_trees_classifier", MULTICLASS: "extra_trees_classifier",
                     REGRESSION: "extra_trees_regressor"}, "",
     "Raw numbers and ordinal categories into {task}, which encodes each category by its target rate\n"
     "# (cross-fitted) and its frequency."),
    ("slow-boosting", {BINARY: "hgb_classifier", MULTICLASS: "hgb_classifier", REGRESSION: "hgb_regressor"},
     ", learning_rate=0.02, max_leaf_nodes=8, min_samples_leaf=80, regularization=10.0",
     "Raw numbers and target-encoded categories into {task} with small, regularised trees learning slowly."),
]


def parse_duration(text: str) -> float:
    """Seconds from `90s`, `10m`, `1h` or a bare number of seconds; a clear error for anything else."""
    from ..units import parse_duration as seconds

    try:
        return seconds(text)
    except ValueError:
        raise UsageError(f"{text!r} is not a duration; write it as 90s, 10m or 1h.") from None


@dataclass
class Stage:
    """One stage of the autopilot: when it started (seconds into the run), how long it took, what it made."""

    name: str
    started: float
    seconds: float = 0.0
    models: list[int] = field(default_factory=list)
    note: str = ""


@dataclass
class AutopilotResult:
    """The stages run, every model trained (by stage), the best of them and the metric that ranked them."""

    metric: str
    stages: list[Stage] = field(default_factory=list)
    best: int | None = None
    best_score: float | None = None
    job_id: int | None = None


class Autopilot:
    """Runs the four stages on one project, emitting events (`stage-started`, `stage-finished`, and the
    engine's `started`, `trained`, `failed`) and writing each stage to the autopilot job's log."""

    def __init__(self, store: Store, project: Project, *, budget: float = DEFAULT_BUDGET, jobs: int = 1,
                 metric: str | None = None, on_event: Callable[[str, dict], None] | None = None,
                 cancel: threading.Event | None = None, clock: Callable[[], float] = time.monotonic):
        self.store, self.project = store, project
        self.budget, self.jobs = float(budget), max(1, jobs)
        self.metric = metric or metrics.DEFAULT_METRIC[project.target_type]
        if self.metric not in metrics.METRICS[project.target_type]:
            raise UsageError(f"metric {self.metric!r} does not apply to {project.target_type}; use one of "
                             f"{', '.join(metrics.METRICS[project.target_type])}.")
        self.on_event = on_event or (lambda kind, data: None)
        self.stop = cancel or threading.Event()  # set at the budget (or by the caller): running trainings end
        self.clock = clock
        self.start = clock()
        self.result = AutopilotResult(self.metric)
        self.trained: list[int] = []  # models of this run, in the order they were trained
        self.blended: set[int] = set()  # the blenders among them
        self.inner = InnerCV(project, self.metric)  # inner CV on the training folds (the scoring stage)
        self.log = None

    # ------------------------------------------------------------ time

    def elapsed(self) -> float:
        return self.clock() - self.start

    def until(self, share: float) -> float:
        """Seconds left until `share` of the budget."""
        return self.budget * share - self.elapsed()

    # ------------------------------------------------------------ running

    def run(self) -> AutopilotResult:
        """Run the stages as one `autopilot` job; Ctrl-C ends it cancelled and keeps every finished model."""
        project = self.project
        job = JobRun(self.store, "autopilot", f"autopilot on {project.name} ({self.budget:.0f} s)",
                     {"project": project.name, "budget_seconds": self.budget, "metric": self.metric})
        timer = threading.Timer(self.budget, self.stop.set)
        timer.daemon = True
        with job:
            self.log, self.result.job_id = job.log, job.id
            self.note(f"autopilot on project {project.name}: budget {self.budget:.0f} s, choosing by inner CV "
                      f"{self.metric} on the training folds, ranking by validation, {self.jobs} training(s) at once")
            timer.start()
            try:
                self.stage("templates", self.templates)
                self.stage("scoring", self.scoring)
                self.stage("tuning", self.tuning)
                self.stage("blenders", self.blenders)
            finally:
                timer.cancel()
            best = self.ranked(self.trained)
            if best:
                self.result.best = best[0].id
                self.result.best_score = (best[0].scores.get("validation") or {}).get(self.metric)
                self.note(f"best model {self.result.best}: validation {self.metric} {self.result.best_score:.4f}"
                          if self.result.best_score is not None else f"best model {self.result.best}")
            self.note(f"autopilot finished in {self.elapsed():.1f} s")
        return self.result

    def note(self, text: str) -> None:
        if self.log is not None:
            self.log.line(text)

    def stage(self, name: str, body: Callable[[Stage], None]) -> None:
        stage = Stage(name, self.elapsed())
        self.result.stages.append(stage)
        self.note(f"stage {name} started at {stage.started:.1f} s")
        self.on_event("stage-started", {"stage": name, "at": stage.started})
        try:
            if self.stop.is_set():
                stage.note = "skipped: the budget is spent"
            else:
                body(stage)
        finally:
            stage.seconds = self.elapsed() - stage.started
            done = f"stage {name} took {stage.seconds:.1f} s; {made_text(stage.models)}"
            self.note(done + (f" ({stage.note})" if stage.note else ""))
            self.on_event("stage-finished", {"stage": name, "seconds": stage.seconds, "models": list(stage.models),
                                             "note": stage.note})

    def train(self, sources: list[BlueprintSource], stage: Stage, stop_starting: float) -> list[TrainOutcome]:
        """Train `sources`, `jobs` at a time; none starts past `stop_starting` (seconds into the run)."""

        def one(source: BlueprintSource) -> TrainOutcome:
            if self.elapsed() >= stop_starting or self.stop.is_set():
                return TrainOutcome(source.label, error="not started: the stage's time is up")
            outcome = Trainer(self.store, self.project, on_event=self.on_event, cancel=self.stop).train(source)
            if outcome.model is not None:
                stage.models.append(outcome.model.id)
                self.trained.append(outcome.model.id)
            self.note(f"{source.label}: " + (f"model {outcome.model.id}" if outcome.model else outcome.error))
            return outcome

        jobs = min(self.jobs, len(sources))
        share_cores(jobs)
        if jobs <= 1:
            return [one(s) for s in sources]
        from joblib import Parallel, delayed

        return Parallel(n_jobs=jobs, backend="threading")(delayed(one)(s) for s in sources)

    # ------------------------------------------------------------ ranking

    def ranked(self, ids: list[int]) -> list[Model]:
        """Trained models among `ids`, best first by validation `metric`, repeats (same blueprint and task
        versions as a better one) left out."""
        _, _, rows = leaderboard(self.store, self.project.name, self.metric)
        wanted = set(ids)
        out, seen = [], set()
        for row in rows:
            if row["model"] not in wanted or row["state"] != "trained" or not row["validation"]:
                continue
            model = self.store.model(row["model"])
            key = repeat_key(model)
            if key not in seen:
                seen.add(key)
                out.append(model)
        return out

    def chosen(self, ids: list[int]) -> list[Model]:
        """Trained models among `ids`, best first by inner CV `metric` on the training folds (validation unused),
        repeats left out. A tuned model not scored (out of time) stands just ahead of its parent (its setting beat
        the parent's on an inner split of the training rows); models without a score come last, in validation order."""
        key = metrics.sort_key(self.metric)
        models = self.ranked(ids)

        def rank(item):
            order, model = item
            score = self.inner.scores.get(model.id, self.inner.scores.get(model.parent_id))
            return (score is None, key(score) if score is not None else 0, model.parent_id is None, order)

        return [model for _, model in sorted(enumerate(models), key=rank)]

    # ------------------------------------------------------------ stages

    def templates(self, stage: Stage) -> None:
        from ..blueprints.templates import templates_for

        sources = [BlueprintSource(t.name, t.text, f"<template {t.name}>") for t in templates_for(self.project.target_type)]
        sources += autopilot_blueprints(self.project.target_type)
        outcomes = self.train(sources, stage, self.budget * TEMPLATES_SHARE)
        skipped = [o for o in outcomes if o.model is None]
        if skipped:
            stage.note = (f"{len(skipped)} of {len(sources)} template(s) not trained: "
                          + ", ".join(f"{o.label} ({not_trained_why(o.error)})" for o in skipped))

    def scoring(self, stage: Stage) -> None:
        """Inner cross-validation of the templates' models on the training folds, `jobs` models at a time, until
        SCORING_SHARE of the budget: the score the later stages choose by."""
        ids = sorted(m.id for m in self.ranked(self.trained))  # in training order: no choice by validation
        if len(ids) < 2:
            stage.note = "skipped: fewer than two trained models to choose from"
            return
        self.score_inner(ids, SCORING_SHARE)
        best = self.chosen(ids)
        scored = [m for m in best if m.id in self.inner.scores]
        self.note("inner CV " + ", ".join(f"{m.id} {self.inner.scores[m.id]:.4f}" for m in scored))
        stage.note = scoring_note([m.id for m in scored], ids, self.inner.errors)

    def score_inner(self, ids: list[int], share: float) -> None:
        """Add the inner CV of `ids` to self.inner, `jobs` models at a time, until `share` of the budget."""
        from .tune import inner_cv_scores

        deadline = self.clock() + self.until(share)
        groups = [ids[i::self.jobs] for i in range(min(self.jobs, len(ids)))]

        def one(group: list[int]) -> InnerCV:
            return inner_cv_scores(self.store, group, metric=self.metric, deadline=deadline, cancel=self.stop)

        if len(groups) == 1:
            found = [one(groups[0])]
        else:
            from joblib import Parallel, delayed

            share_cores(len(groups))
            found = Parallel(n_jobs=len(groups), backend="threading")(delayed(one)(g) for g in groups)
        for scores in found:
            self.inner.update(scores)

    def tuning(self, stage: Stage) -> None:
        """Tune the best models (averages aside) until the blenders' time (estimated from the scored models) is
        left, `jobs` searches at once: each lane of searches tunes its models in turn, each until its share of the
        lane's time, the best model alone in the first lane. Only each tuning's winner becomes a model (keep="best"),
        so the search gets the time; its inner CV comes with it, for the blenders to choose by."""
        from concurrent.futures import ThreadPoolExecutor

        kept = 0.0
        if self.project.target_type in STACKERS:
            members = self.fit_blenders(self.blend_members(note=False)[1], self.budget * BLEND_SHARE)
            kept = self.blend_seconds(members) * BLEND_MARGIN + BLEND_SLACK
            self.note(f"{kept:.0f} s kept for the blenders: tuning until {self.budget - kept:.0f} s")
        ends = self.budget - kept
        left = ends - self.elapsed()
        count = max(0, min(TUNE_TOP, int(left * self.jobs // MIN_TUNE_SECONDS)))
        # An average's only choice is mean or median (tune searches the final node), settled in seconds: tuning it
        # would take a place from a model with a real search and leave the stage's time unused.
        tunable = [m for m in self.chosen(self.trained) if final_task(m) not in ROW_FREE_TASKS]
        if not tunable:
            stage.note = ("skipped: no trained model to tune" if not self.trained
                          else "skipped: no trained model to tune (averages are not tuned)")
            return
        if not count:
            reserve = f"the blenders' {kept:.0f} s kept aside" if kept else "the budget's end"
            stage.note = (f"skipped: no time left to tune: {max(left, 0):.0f} s left at {self.elapsed():.0f} s until "
                          f"{reserve} at {ends:.0f} s of {self.budget:.0f} s; a search needs "
                          f"{MIN_TUNE_SECONDS / self.jobs:.0f} s with {self.jobs} at once")
            return
        top = tunable[:count]
        lanes, sizes = [], [len(top) // self.jobs + (i >= self.jobs - len(top) % self.jobs) for i in range(self.jobs)]
        for size in sizes:  # the lanes with fewer models first: the best model gets a lane's whole time
            lanes.append(top[sum(map(len, lanes)):][:size])
        lanes = [lane for lane in lanes if lane]
        notes: list[str] = []
        share_cores(len(lanes))
        if len(lanes) == 1:
            self.tune_lane(lanes[0], ends, stage, notes)
        else:
            with ThreadPoolExecutor(len(lanes), thread_name_prefix="autopilot-tuning") as pool:
                futures = [pool.submit(self.tune_lane, lane, ends, stage, notes) for lane in lanes]
                try:
                    for future in futures:
                        future.result()
                except BaseException:
                    self.stop.set()  # Ctrl-C or a fault: the other lanes' searches end too
                    raise
        stage.note = "; ".join(notes)

    def tune_lane(self, models: list[Model], ends: float, stage: Stage, notes: list[str]) -> None:
        """Tune `models` in turn, each until its share of the time left before `ends` (seconds into the run)."""
        from .tune import TuneStopped, tune_model

        for i, model in enumerate(models):
            seconds = (ends - self.elapsed()) / (len(models) - i)  # the search keeps its winner's training time aside
            if seconds < MIN_TUNE_SECONDS / 2 or self.stop.is_set():
                why = ("the budget is spent" if self.stop.is_set()
                       else f"out of time ({max(seconds, 0):.0f} s left for it, a search needs {MIN_TUNE_SECONDS / 2:.0f} s)")
                notes.append(f"model {model.id} not tuned: {why}")
                continue
            self.note(f"tuning model {model.id} ({model.blueprint}) for up to {seconds:.0f} s")
            self.on_event("tuning", {"model": model.id, "label": model.blueprint, "seconds": seconds})
            try:
                result = tune_model(self.store, model.id, deadline=self.clock() + seconds, events=self.on_event,
                                    metric=self.metric, keep="best", cancel=self.stop,
                                    parent_folds=self.inner.folds.get(model.id))
            except TuneStopped as stopped:
                if not self.stop.is_set():
                    raise  # Ctrl-C: the autopilot ends here, its finished models kept
                result = stopped.result
            except TaskbenchError as exc:
                notes.append(f"model {model.id} not tuned: {exc.message}")
                self.note(f"tuning model {model.id} failed: {exc.message}")
                continue
            children = [m for m in result.model_ids if m != model.id]
            stage.models.extend(children)
            self.trained.extend(children)
            best = "its parent stays best" if result.best_model_id == model.id else f"best model {result.best_model_id}"
            if result.best_model_id != model.id and self.inner.add_tuned(result):
                best += (f", inner CV {self.metric} {self.inner.scores[result.best_model_id]:.4f} against "
                         f"{self.inner.scores.get(model.id, float('nan')):.4f}")
            self.note(f"tuned model {model.id} (job {result.job_id}): {len(result.trials)} setting(s) tried, {best}")

    def blend_members(self, note: bool = True) -> tuple[list[Model], dict[str, list[Model]]]:
        """The best model of each family by inner CV (those whose final estimator is the same task), and each
        blender's members: the stacker's, the best families (so that they differ); the average's, forward selection
        on the out-of-fold predictions."""
        families, seen, unscored = [], set(), []
        for model in self.chosen(self.trained):
            if model.id in self.blended:
                continue
            if model.id not in self.inner.scores:  # chosen by inner CV only: a model without one is not a member
                unscored.append(model.id)
                continue
            family = final_task(model)
            if family not in seen:
                seen.add(family)
                families.append(model)
        if note and unscored:
            self.note(f"not blended, having no inner CV score on the training folds (not scored in time, failed, or a "
                      f"tuning winner without one): models {', '.join(map(str, sorted(unscored)))}")
        sizes = {AVERAGE: AVERAGE_SIZE, STACK: STACK_SIZE}
        members = {kind: families[:size] for kind, size in sizes.items()}
        averaged = self.greedy_average(note)
        if averaged:
            members[AVERAGE] = averaged
        return families, members

    def blend_seconds(self, members: dict[str, list[Model]]) -> float:
        """About how long training the blenders takes, `jobs` at a time (see STACK_UNSCORED)."""

        def one(kind: str, model: Model) -> float:
            if kind == STACK:
                scored = self.inner.seconds.get(model.id)
                return scored * STACK_FROM_INNER if scored else (model.train_seconds or 0) * STACK_UNSCORED
            return model.train_seconds or 0

        each = [BLEND_START + sum(one(kind, m) for m in group) for kind, group in members.items()]
        return max(max(each, default=0.0), sum(each) / self.jobs)

    def fit_blenders(self, members: dict[str, list[Model]], seconds: float) -> dict[str, list[Model]]:
        """`members` with the weakest member of the longest blender left out while the blenders would take more
        than `seconds` (BLEND_MARGIN and BLEND_SLACK included), down to two members each."""
        while self.blend_seconds(members) * BLEND_MARGIN + BLEND_SLACK > seconds:
            longer = [kind for kind, group in members.items() if len(group) > 2]
            if not longer:
                break
            members[max(longer, key=lambda kind: self.blend_seconds({kind: members[kind]}))].pop()
        return members

    def blenders(self, stage: Stage) -> None:
        if self.project.target_type not in STACKERS:
            stage.note = f"skipped: {self.project.target_type} models are not blended"
            return
        families, members = self.blend_members()
        left = self.budget - self.elapsed()
        members = self.fit_blenders(members, left)  # so that they finish in the time left
        if len(families) < 2:
            stage.note = "skipped: fewer than two model families with inner CV scores to blend"
            return
        if self.blend_seconds(members) > left:  # it would be cancelled at the budget: a failed row and nothing learnt
            stage.note = (f"skipped: the blenders need about {self.blend_seconds(members):.0f} s and "
                          f"{max(left, 0):.0f} s are left")
            return
        sources = [blend_source(group, kind, self.project.target_type) for kind, group in members.items()]
        self.train(sources, stage, self.budget)
        self.blended.update(stage.models)
        if len(stage.models) < len(sources):
            stage.note = f"{len(sources) - len(stage.models)} of {len(sources)} blender(s) not trained"

    def greedy_average(self, note: bool = True) -> list[Model]:
        """The average's members by forward selection on the inner CV's out-of-fold predictions (Caruana's ensemble
        selection, without repeats): from the best model, add the one that most improves the average's inner score,
        at least once and then while it improves, up to AVERAGE_MAX. Empty when fewer than two models have
        out-of-fold predictions."""
        pool = [m for m in self.chosen(self.trained) if m.id in self.inner.predictions and m.id not in self.blended]
        if len(pool) < 2:
            return []
        picked, best, key = [pool[0]], self.inner.scores[pool[0].id], metrics.sort_key(self.metric)
        while len(picked) < min(AVERAGE_MAX, len(pool)):
            tried = [(self.inner.average_score([m.id for m in picked] + [m.id]), m) for m in pool if m not in picked]
            score, model = min(tried, key=lambda t: key(t[0]))
            if len(picked) > 1 and not metrics.better(self.metric, score, best):
                break
            picked.append(model)
            best = score
        if note:
            self.note(f"average chosen on the inner CV's out-of-fold predictions: models "
                      f"{', '.join(str(m.id) for m in picked)}, inner CV {self.metric} {best:.4f}")
        return picked


def not_trained_why(error: str | None) -> str:
    """Why a training of the autopilot made no model: out of time (never started), or failed and the first line of
    its error."""
    first = ((error or "").strip().splitlines() or ["no reason given"])[0]
    if first.startswith("not started"):
        return "out of time"
    return "out of time: cancelled at the budget" if first == "cancelled" else f"failed: {first}"


def scoring_note(scored: list[int], ids: list[int], errors: dict) -> str:
    """The scoring stage's summary: the models inner CV scored (best first), and those it did not, each with why."""
    note = f"inner CV scored models {', '.join(map(str, scored))}, best first" if scored else "inner CV scored no model"
    missed = [m for m in ids if m not in scored]
    if missed:
        late = [str(m) for m in missed if m not in errors]
        why = [f"{m} (failed: {errors[m]})" for m in missed if m in errors]
        if late:
            why.append(f"{' and '.join([', '.join(late[:-1]), late[-1]] if len(late) > 1 else late)} (out of time)")
        note += f"; {len(missed)} of {len(ids)} not scored: {', '.join(why)}"
    return note


def made_text(models: list[int]) -> str:
    """What a stage made, for its summary line: `models 3, 4` or `no new model` (scoring makes none)."""
    return f"models {', '.join(map(str, models))}" if models else "no new model"


def stage_models(result: AutopilotResult, name: str) -> list[int]:
    """The models the stage `name` made."""
    return [m for stage in result.stages if stage.name == name for m in stage.models]


def final_task(model: Model) -> str:
    """The task of the model's final node: the family it belongs to among the blenders' candidates."""
    from ..blueprints.syntax import parse_blueprint

    return parse_blueprint(model.blueprint_text, f"model {model.id}").final.task


def autopilot_blueprints(target_type: str) -> list[BlueprintSource]:
    """The blueprints the autopilot adds to the templates of `target_type` (EXTRA_BLUEPRINTS)."""
    sources = []
    for name, tasks, parameters, what in EXTRA_BLUEPRINTS:
        if target_type in tasks:
            task = tasks[target_type]
            text = (f"# blueprint: {name}    target: {target_type}\n# {what.format(task=task)}\n"
                    f"cat   = ordinal(CAT)\nmodel = {task}(NUM, cat{parameters})\n")
            sources.append(BlueprintSource(name, text, f"<autopilot {name}>"))
    return sources


def run_autopilot(store: Store, project_name: str, *, budget: float = DEFAULT_BUDGET, jobs: int = 1,
                  metric: str | None = None, on_event: Callable[[str, dict], None] | None = None,
                  cancel: threading.Event | None = None) -> AutopilotResult:
    """Run the autopilot on a project you may write: templates, tuning of the best, blenders, within `budget` seconds."""
    project = get_project(store, project_name)
    sharing.require(store, "project", project.name, "write", "train in")
    files.sweep_temps(store.root)
    return Autopilot(store, project, budget=budget, jobs=jobs, metric=metric, on_event=on_event, cancel=cancel).run()
