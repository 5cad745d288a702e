"""`taskbench train`, `leaderboard`, `insights` and `artifacts`: training blueprints and comparing models."""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Annotated, Callable, Optional

import typer
from rich.markup import escape
from rich.table import Table

from ..numbers import TUNED, lineage_note, number, score
from .common import PIPED_WIDTH, console, error_console, fail, open_workspace, print_json, listing

TRAIN_HELP = """Train blueprints on a project: fit on the training partition, score validation.

BLUEPRINT is a blueprint file (.bp) or a saved blueprint NAME[@N]. With
--templates, trains every built-in template for the project's target type.
With --retrain MODEL, trains a model of the project again: its recorded
blueprint text with the exact task versions it ran (write on the project is
enough, even for blueprints and tasks you cannot read).

In a shared workspace, a file whose `# blueprint:` header names your clone
(`taskbench blueprint clone`) may use the task versions its origin pinned,
and a task named there without @N means that pinned version.

With --cluster tcp://HOST:PORT each job runs on a worker of that Dask cluster
(start one with `dask scheduler` and `dask worker tcp://HOST:8786` on machines
with taskbench installed): the task code and the project's rows travel with
the job, its log streams back live, and the model lands in this workspace.

With --autopilot, trains the templates (starting none past 40 % of --budget),
cross-validates them on the training folds only (until 50 %; what is tuned and
blended is chosen by that score, never by validation or holdout rows), tunes
the best models until the time kept for the blenders (estimated from the
scored models' times), then blends: an average of members chosen by
forward selection on their out-of-fold predictions, and a linear model stacked
on the best model of each kind (blend-avg-#3-#5-#7, blend-stack-#3-#5-#7).
Models still training at the budget are cancelled; each stage's start and time
are printed and logged in the autopilot's own job.
"""


def _sources(store, project, blueprints: list[str], templates: bool, retrain: list[str] = ()):
    from core.errors import UsageError
    from core.training.engine import BlueprintSource, retrain_source

    sources = [retrain_source(store, project, model) for model in retrain]
    if templates:
        from core.blueprints.templates import templates_for

        for name, text in _template_items(templates_for(project.target_type)):
            sources.append(BlueprintSource(name, text, f"<template {name}>"))
    for ref in blueprints:
        path = Path(ref)
        if path.is_file():
            text = path.read_text()
            sources.append(BlueprintSource(_header_name(text) or path.stem, text, str(path)))
            continue
        if path.suffix == ".bp" or "/" in ref:
            raise UsageError(f"blueprint file {ref} does not exist; give a .bp file or a saved blueprint's NAME[@N].")
        from core.blueprints.registry import get_blueprint

        saved = get_blueprint(store, ref)
        sources.append(BlueprintSource(saved.ref, saved.text, saved.ref, saved=saved.ref))
    return sources


def _header_name(text: str) -> str | None:
    """The name in a blueprint's `# blueprint: NAME` header (None without one, or when the text does not parse:
    training reports that error with its line and column)."""
    from core.blueprints.syntax import BlueprintSyntaxError, parse_blueprint

    try:
        return parse_blueprint(text).name
    except BlueprintSyntaxError:
        return None


def _template_items(templates):
    """(name, text) pairs from whatever shape templates_for returns (mapping or objects)."""
    if isinstance(templates, dict):
        return list(templates.items())
    items = []
    for t in templates:
        if isinstance(t, tuple):
            items.append(t)
        else:
            items.append((getattr(t, "name"), getattr(t, "text")))
    return items


def train(
    ctx: typer.Context,
    project: Annotated[str, typer.Argument(metavar="PROJECT", help="Project name.")],
    blueprints: Annotated[Optional[list[str]], typer.Argument(metavar="BLUEPRINT", help="Blueprint files or saved NAME[@N].")] = None,
    templates: Annotated[bool, typer.Option("--templates", help="Train every built-in template for the target type.")] = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Blueprints trained at once.", min=1)] = 1,
    cv: Annotated[bool, typer.Option("--cv", help="Also cross-validate over every fold.")] = False,
    retrain: Annotated[
        Optional[list[str]],
        typer.Option("--retrain", metavar="MODEL", help="Train this model of the project again (repeatable)."),
    ] = None,
    cluster: Annotated[
        Optional[str],
        typer.Option("--cluster", help="Train on the Dask cluster at tcp://HOST:PORT (needs taskbench[cluster] here and there)."),
    ] = None,
    autopilot: Annotated[
        bool, typer.Option("--autopilot", help="Templates, then tuning of the best models, then blenders of the best, within --budget."),
    ] = False,
    budget: Annotated[
        Optional[str], typer.Option("--budget", metavar="DURATION", help="The autopilot's time: 90s, 10m, 1h (default 10m)."),
    ] = None,
    metric: Annotated[
        Optional[str], typer.Option("--metric", help="The metric the autopilot ranks models by (default: the project's).")
    ] = None,
    timeout: Annotated[
        Optional[float],
        typer.Option("--timeout", metavar="SECONDS", min=0.1,
                     help="Time limit for each training step (a model's fit and scoring, each CV fold its own): a model "
                          "past it fails, the others go on (default: none)."),
    ] = None,
    memory: Annotated[
        Optional[str],
        typer.Option("--memory", metavar="SIZE", help="Memory limit for each training step, e.g. 512m or 2g (default: none)."),
    ] = None,
) -> None:
    from core import workspace
    from core.runners.base import Limits
    from core.tasks.fitcheck import parse_size
    from core.training.engine import prestart_workers, release_prestarted, train_blueprints
    from core.training.projects import get_project

    if autopilot or budget is not None or metric is not None:
        _autopilot(ctx, project, jobs, budget, metric,
                   other=bool(blueprints or templates or retrain or cluster or cv or timeout or memory), autopilot=autopilot)
        return
    limits = Limits(timeout=timeout, memory=parse_size(memory) if memory else None)
    # Workers boot while the engine opens the workspace and checks the blueprints (on a cluster, its workers do).
    if cluster is None:
        count = min(jobs, len(blueprints or []) or jobs)
        prestart_workers(workspace.home((ctx.obj or {}).get("home")), count)
    out = console()
    progress = {"running": 0, "done": 0, "total": 0}
    status = out.status("training", spinner="line")

    def update() -> None:
        status.update(
            f"training: {progress['done']} of {progress['total']} done, {progress['running']} running "
            "(follow one with `taskbench logs JOB --follow`)"
        )

    started: dict[int, str] = {}  # model id -> the blueprint it trains, for the summary after a Ctrl-C

    def event(kind: str, data: dict) -> None:
        if kind == "started":
            started[data["model"]] = data["label"]
            progress["running"] += 1
            earlier = _repeat_of(ctx, data["model"])
            again = f"; same blueprint and versions as model {earlier}; training again" if earlier else ""
            out.print(f"[dim]..   {escape(data['label'])}: training as model {data['model']} (job {data['job']}){again}[/]")
        elif kind == "trained":
            progress["running"] -= 1
            val = data["scores"].get("validation", {})
            shown = ", ".join(f"{k} {score(k, v)}" for k, v in val.items())
            out.print(f"[green]ok[/]   {escape(data['label'])}: model {data['model']} in {data['seconds']:.1f} s; validation {shown}")
        elif kind == "failed":
            progress["running"] -= 1 if data.get("model") else 0
            out.print(f"[bold red]FAIL[/] {escape(data['label'])}: {escape(data['error'])}")
        progress["done"] += kind in ("trained", "failed")
        update()

    try:
        with open_workspace(ctx) as store:
            proj = get_project(store, project)
            sources = _sources(store, proj, blueprints or [], templates, retrain or [])
            progress["total"] = len(sources)
            update()
            if cluster:
                from core.training.cluster import CONNECT_SECONDS

                address = cluster if "://" in cluster else f"tcp://{cluster}"  # as cluster.connect dials it
                out.print(f"connecting to {escape(address)} (up to {CONNECT_SECONDS:.0f} s)")
            cancel = threading.Event()
            with status:
                outcomes = _until_ctrl_c(cancel, lambda: train_blueprints(
                    store, project, sources, jobs=jobs, cv=cv, on_event=event, cluster=cluster, limits=limits,
                    cancel=cancel))
    finally:
        release_prestarted()
    if cancel.is_set():
        _report_cancelled(out, outcomes, started)
    failed = [o for o in outcomes if o.error]
    trained = len(outcomes) - len(failed)
    hint = f" See `taskbench leaderboard {escape(project)}`." if trained else ""
    out.print(f"Trained {trained} of {len(outcomes)} blueprint(s).{hint}")
    if failed:
        raise typer.Exit(2 if any(o.refused for o in failed) else 1)


def _until_ctrl_c(cancel: threading.Event, work: Callable[[], list]) -> list:
    """Run `work` (a training that honours `cancel`) beside this thread; Ctrl-C sets `cancel` and waits for it to
    end its jobs `cancelled` (a second Ctrl-C leaves at once, and the next command marks them interrupted)."""
    done: dict = {}
    finished = threading.Event()  # not Thread.join: a Ctrl-C inside join can leave it returning early

    def run() -> None:
        try:
            done["result"] = work()
        except BaseException as exc:  # noqa: BLE001 - raised again in the command's thread
            done["error"] = exc
        finally:
            finished.set()

    threading.Thread(target=run, name="train", daemon=True).start()
    try:
        while not finished.wait(0.2):
            pass
    except KeyboardInterrupt:
        cancel.set()
        error_console().print("cancelling: stopping the running jobs (Ctrl-C again to leave at once)")
        while not finished.wait(0.2):
            pass
    if "error" in done:
        raise done["error"]
    return done["result"]


def _report_cancelled(out, outcomes, started: dict[int, str]) -> None:
    """After a Ctrl-C: which models were cancelled, which blueprints never started, what was trained; exit 130."""
    from collections import Counter

    cancelled = [o for o in outcomes if o.error == "cancelled"]
    labels = Counter(o.label for o in cancelled)
    models = []
    for model_id, label in sorted(started.items()):
        if labels[label] > 0 and not any(o.model is not None and o.model.id == model_id for o in outcomes):
            labels[label] -= 1
            models.append(f"model {model_id} ({label})")
    never = list(labels.elements())
    parts = [f"Cancelled {', '.join(models)}." if models else "No model was in training."]
    if never:
        parts.append(f"{len(never)} blueprint(s) never started: {', '.join(never)}.")
    trained = sum(1 for o in outcomes if not o.error)
    parts.append(f"Trained {trained} of {len(outcomes)} blueprint(s).")
    out.print(escape(" ".join(parts)))
    out.print("Training cancelled (exit 130).")
    raise typer.Exit(130)


def _autopilot(ctx: typer.Context, project: str, jobs: int, budget: str | None, metric: str | None, *,
               other: bool, autopilot: bool) -> None:
    """`train --autopilot`: each stage's start and time, each model as it is trained, then the stages and the best."""
    from core import workspace
    from core.errors import EXIT_USAGE, UsageError
    from core.training.autopilot import (DEFAULT_BUDGET, SCORING_SHARE, TEMPLATES_SHARE, made_text, parse_duration,
                                         run_autopilot)
    from core.training.engine import prestart_workers, release_prestarted

    if not autopilot:
        fail("--budget and --metric go with --autopilot; add --autopilot, or leave them out.", EXIT_USAGE)
    if other:
        fail("--autopilot picks its own blueprints and limits; leave out BLUEPRINT, --templates, --retrain, --cv, "
             "--cluster, --timeout and --memory.", EXIT_USAGE)
    try:
        seconds = parse_duration(budget) if budget is not None else DEFAULT_BUDGET
    except UsageError as exc:
        fail(exc.message, exc.exit_code)
    out = console()
    prestart_workers(workspace.home((ctx.obj or {}).get("home")), jobs)

    def event(kind: str, data: dict) -> None:
        if kind == "stage-started":
            out.print(f"[bold]stage {data['stage']}[/] starts at {data['at']:.0f} s")
        elif kind == "stage-finished":
            note = f" ({escape(data['note'])})" if data["note"] else ""
            out.print(f"[bold]stage {data['stage']}[/] took {data['seconds']:.1f} s; {made_text(data['models'])}{note}")
        elif kind == "tuning":
            out.print(f"..   tuning model {data['model']} ({escape(data['label'])}) for up to {data['seconds']:.0f} s "
                      "(follow it with `taskbench logs JOB --follow`)")
        elif kind == "tune_started":
            out.print(f"[dim]..   tuning model {data['model']} as job {data['job']}[/]")
        elif kind == "tune_done":
            won = ("its own settings stay best" if data["best"] == data["model"]
                   else f"best model {data['best']} ({escape(', '.join(f'{k}={v}' for k, v in data['setting'].items()))})")
            out.print(f"ok   tuned model {data['model']}: {won}")
        elif kind == "started":
            out.print(f"[dim]..   {escape(data['label'])}: training as model {data['model']} (job {data['job']})[/]")
        elif kind == "trained":
            val = data["scores"].get("validation", {})
            shown = ", ".join(f"{k} {score(k, v)}" for k, v in val.items())
            out.print(f"[green]ok[/]   {escape(data['label'])}: model {data['model']} in {data['seconds']:.1f} s; validation {shown}")
        elif kind == "failed":
            out.print(f"[bold red]FAIL[/] {escape(data['label'])}: {escape(data['error'])}")

    out.print(f"autopilot on {escape(project)}: budget {seconds:.0f} s (templates up to {TEMPLATES_SHARE:.0%}, "
              f"inner CV on the training folds up to {SCORING_SHARE:.0%}, tuning until the time kept for the blenders, "
              "then blenders)")
    try:
        with open_workspace(ctx) as store:
            result = run_autopilot(store, project, budget=seconds, jobs=jobs, metric=metric, on_event=event)
    except KeyboardInterrupt:
        out.print("autopilot interrupted; the models it finished are kept. See "
                  f"`taskbench leaderboard {escape(project)}`.")
        raise typer.Exit(130)
    finally:
        release_prestarted()
    for stage in result.stages:
        out.print(f"  {stage.name:<10} at {stage.started:6.1f} s, {stage.seconds:6.1f} s, {len(stage.models)} new model(s)")
    if result.best is None:
        out.print(f"The autopilot trained no model (job {result.job_id}: `taskbench logs {result.job_id}`).")
        raise typer.Exit(1)
    best = "" if result.best_score is None else f": validation {result.metric} {score(result.metric, result.best_score)}"
    out.print(f"Best model {result.best}{best}. See `taskbench leaderboard {escape(project)} --metric "
              f"{escape(result.metric)}`.")


def _repeat_of(ctx: typer.Context, model_id: int) -> int | None:
    """The first earlier model of the same project with the same blueprint text and task versions, if any.
    Training calls this from its own threads, so it reads through a connection of its own."""
    from core.service import Workspace
    from core.training.engine import repeat_key

    try:
        with Workspace((ctx.obj or {}).get("home")).store() as store:
            model = store.model(model_id)
            key = repeat_key(model)
            same = [m.id for m in store.project_models(model.project_id) if m.id < model.id and repeat_key(m) == key]
    except Exception:  # a note on screen only: never let it stop a training
        return None
    return min(same) if same else None


def leaderboard(
    ctx: typer.Context,
    project: Annotated[str, typer.Argument(metavar="PROJECT", help="Project name.")],
    metric: Annotated[Optional[str], typer.Option("--metric", help="Sort by this metric (default: the project's).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The project's models, best first on validation; holdout scores only after unlocking.

    rows/s is the model's scoring speed on the validation rows, measured when
    one worker fitted every node in the model's own training job (models that
    reused cached nodes or ran in several environments show '-').
    """
    from core.sharing import standing
    from core.training.engine import leaderboard as board

    with open_workspace(ctx) as store:
        proj, metric, rows = board(store, project, metric)
        shared = standing(store, "project", proj.name)
    if as_json:
        print_json(rows)
        return
    out = console()
    out.print(leaderboard_table(proj, metric, rows, width=out.width if out.is_terminal else None, shared=shared))


def leaderboard_table(proj, metric: str, rows: list[dict], width: int | None = None,
                      shared: tuple[str, str] | None = None):
    """The leaderboard as a rich table, with a legend under it when it uses one; the holdout column appears once
    the holdout is unlocked (the title says so). In a terminal `width` cells wide, repeats are marked `2≡1` and
    runs `1×2` (as in the workbench) when the spelled-out marks would make rows fold. In a shared workspace
    (`shared`: the project's owner and your access) the title names them and a `by` column says who trained each."""
    from rich.console import Group

    table = _board(proj, metric, rows, short=False, shared=shared)
    short = width is not None and _natural_width(table) > width
    if short:
        table = _board(proj, metric, rows, short=True, shared=shared)
    legend = []
    if short and any(r.get("runs", 1) > 1 for r in rows):
        legend.append("N≡M: model N repeats model M (same blueprint and task versions); M×R: model M ran R times.")
    elif any(r.get("runs", 1) > 1 for r in rows):
        legend.append("(R runs): the same blueprint and task versions trained R times, failed attempts included; "
                      "the later ones say 'repeat of'.")
    speeds = [r["predict_rows_per_second"] for r in rows]
    if None in speeds and any(v is not None for v in speeds):
        legend.append("rows/s: scoring speed on the validation rows, measured only when one worker fitted every "
                      "node of the model itself; '-' for models that reused cached nodes or ran in several "
                      "environments.")
    return Group(table, *(f"[dim]{line}[/]" for line in legend)) if legend else table


def _natural_width(renderable) -> int:
    """How many cells `renderable` takes when nothing constrains it."""
    from rich.console import Console
    from rich.measure import Measurement

    wide = Console(width=PIPED_WIDTH, file=io.StringIO())
    return Measurement.get(wide, wide.options, renderable).maximum




def _board(proj, metric: str, rows: list[dict], *, short: bool, shared: tuple[str, str] | None = None) -> Table:
    cells = []
    parts = {part: [(r.get(part) or {}).get(metric) for r in rows] for part in ("validation", "cv", "holdout")}
    for r in rows:
        val = r["validation"].get(metric)
        cv = (r.get("cv") or {}).get(metric)
        hold = (r.get("holdout") or {}).get(metric) if proj.holdout_unlocked else None
        runs = r.get("runs", 1) > 1 and not r.get("repeat_of")
        model = str(r["model"])
        shown = TUNED.sub("", r["blueprint"]) if r.get("tuned_from") is not None else r["blueprint"]
        # One parenthesis for the state and the repeat marks: 'bp (failed; 3 runs)', not 'bp (failed) (3 runs)'.
        notes = [] if r["state"] == "trained" else [f"[red]{r['state']}[/]"]
        if short:
            model += f"≡{r['repeat_of']}" if r.get("repeat_of") else f"×{r['runs']}" if runs else ""
        elif r.get("repeat_of"):
            notes.append(f"[dim]repeat of {r['repeat_of']}[/]")
        elif runs:
            notes.append(f"[dim]{r['runs']} runs[/]")
        label = escape(shown) + (f" ({'; '.join(notes)})" if notes else "") + _lineage(r, short)
        cells.append([
            model, label,
            score(metric, val, parts["validation"]), score(metric, cv, parts["cv"]), score(metric, hold, parts["holdout"]),
            number(r["train_seconds"], 1), _count(r["predict_rows_per_second"]),
        ] + ([escape(r.get("created_by") or "-")] if shared else []))
    holdout = f"holdout {metric}"
    columns = ["model", "blueprint", f"validation {metric}", f"cv {metric}", holdout, "train s", "rows/s"]
    right = tuple(columns[2:])
    locked = "" if proj.holdout_unlocked else "; holdout locked"
    whose = ""
    if shared:
        columns.append("by")
        whose = f"; owner {escape(shared[0])}, your access {shared[1]}"
    return listing(columns, cells, keep=("model", "blueprint", f"validation {metric}") + ((holdout,) if proj.holdout_unlocked else ()),
                   title=f"{proj.name} ({proj.target_type}), sorted by validation {metric}{locked}{whose}",
                   right=right)


def _lineage(row: dict, short: bool) -> str:
    """A tuned model's note after its label: 'from #3' and 'best' when it won its tuning, with the parameters it
    changed unless the table is short of room."""
    note = lineage_note(row, short=short)
    if not note:
        return ""
    return f" [dim]({escape(note)})[/]" + (" [green]best[/]" if (row.get("tuning") or {}).get("best") else "")


def _count(value) -> str:
    """A large count in a few characters: 950, 31.7k, 243k, 1.2M."""
    if value is None:
        return "-"
    for limit, unit in ((1e6, "M"), (1e3, "k")):
        if value >= limit:
            scaled = value / limit
            return f"{scaled:.1f}{unit}" if scaled < 100 else f"{scaled:.0f}{unit}"
    return f"{value:.0f}"
