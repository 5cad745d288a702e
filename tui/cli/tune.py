"""`taskbench tune`: search a trained model's hyperparameters; each tried setting becomes a child model."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.markup import escape

from ..numbers import score
from .common import console, open_workspace, print_json

HELP = """Tune a trained model's hyperparameters (like DataRobot's Advanced Tuning).

Searches the ranges its tasks declare in model-metadata.yaml (built-in and
custom tasks alike; int, float, select and multi parameters) by successive
halving: many settings are scored on one fold of an inner cross-validation of
the project's training folds, the best third go on to more folds, and the
last rung scores on all of them (1, 2, 4 of 4 by default). Candidates are fitted and scored on training rows only; validation
and holdout rows never choose the winner. Each tried setting is trained as a
child model on the leaderboard ('from #N' there, with the parameters it
changed), and the one that scored best in the inner CV is marked best.

By default the final estimator's parameters are searched; --node picks
another node. Each random setting changes one to three of them from the
model's own values (numbers within a factor 100 of the current value, 10
for integers, log-scaled when wide). --set NODE.PARAM=A,B,C searches only
the values given (a grid when every searched parameter is --set); with
--node as well, the node's other parameters are searched too. Seeds and
text parameters are searched only when --set names them.

--budget is a number of settings to try (default 10) or a time such as 90s,
10m or 1h. Ctrl-C stops the search; the child models already trained are
kept. Follow the search with `taskbench logs JOB --follow`.

Examples:

\b
  taskbench tune 3
  taskbench tune 3 --budget 10m
  taskbench tune 3 --set model.alpha=0.01,0.1,1,10
  taskbench tune 7 --node model --set model.loss=exponential
"""


def parse_budget(text: str | None) -> int | float | None:
    """A budget as tune_model takes it: a whole number of settings, or seconds (a float) from 90s, 10m, 1h."""
    from core.errors import UsageError
    from core.units import parse_duration

    if text is None:
        return None
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        return parse_duration(text)
    except ValueError:
        raise UsageError(f"--budget {text!r} is neither a number of settings (such as 20) nor a time (such as "
                         "90s, 10m or 1h).") from None


def tune(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(metavar="MODEL", help="The trained model to tune (its number).")],
    node: Annotated[Optional[str], typer.Option("--node", metavar="NAME",
                                                help="Search this node's parameters (default: the final estimator).")] = None,
    budget: Annotated[Optional[str], typer.Option("--budget", metavar="N|DURATION",
                                                  help="Settings to try (default 10), or a time: 90s, 10m, 1h.")] = None,
    settings: Annotated[Optional[list[str]], typer.Option(
        "--set", metavar="NODE.PARAM=VALUES", help="Try only these values of a parameter, comma-separated "
        "(repeatable).")] = None,
    metric: Annotated[Optional[str], typer.Option("--metric", metavar="METRIC", help="Choose by this metric (default: the project's).")] = None,
    keep: Annotated[str, typer.Option("--keep", metavar="all|best",
                                      help="Train every tried setting as a model (all), or only the winner (best).")] = "all",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    from core import workspace
    from core.training.engine import prestart_workers, release_prestarted
    from core.training.tune import TuneStopped, changes_text, parse_settings, tune_model

    prestart_workers(workspace.home((ctx.obj or {}).get("home")), 1)  # the search's worker boots meanwhile
    out = console()
    quiet = as_json
    progress = {"tried": 0, "children": 0, "best": None}
    status = out.status("tuning", spinner="line")

    def say(text: str) -> None:
        if not quiet:
            out.print(text)

    def event(kind: str, data: dict) -> None:
        if kind == "tune_started":
            rows = ", ".join(str(r) for r in data["rows"])
            folds = data.get("folds") or []
            rungs = (f"rungs score on {', '.join(map(str, folds))} of the {folds[-1]} folds ({rows} rows scored), "
                     f"each fold by a fit on the other training folds" if folds else f"rungs score {rows} rows")
            limit = " or ".join(([f"{data['budget']} settings"] if data.get("budget") else [])
                                + ([f"{data['seconds']:.0f} s"] if data.get("seconds") is not None else []))
            say(f"tuning model {data['model']} by {escape(data['metric'])} (job {data['job']}; follow it with "
                f"`taskbench logs {data['job']} --follow`): inner CV on {data['inner_rows']} training rows scores the "
                f"settings; {rungs}; budget {limit}")
            for dimension in data["dimensions"]:
                say(f"[dim]  {escape(dimension)}[/]")
        elif kind == "tune_trial":
            progress["tried"] += data["rung"] == 0
            who = "parent" if data["trial"] == 0 else f"#{data['trial']}"
            rung = f"rung {data['rung'] + 1}/{data['rungs']}"
            if data.get("error"):
                say(f"[red]fail[/] {who} {rung}: {escape(data['error'])}")
            else:
                say(f"[dim]..   {who} {rung} ({data['rows']} rows): inner {escape(data['metric'])} "
                    f"{score(data['metric'], data['score'])}  {escape(changes_text(data['setting']))}[/]")
        elif kind == "trained":
            progress["children"] += 1
            val = data["scores"].get("validation", {})
            shown = ", ".join(f"{k} {score(k, v)}" for k, v in val.items())
            say(f"[green]ok[/]   model {data['model']} ({escape(changes_text(data['setting']))}); validation {shown}")
        elif kind == "failed":
            say(f"[bold red]FAIL[/] {escape(changes_text(data.get('setting') or {}))}: {escape(data['error'])}")
        status.update(f"tuning: {progress['tried']} setting(s) tried, {progress['children']} model(s) trained "
                      "(Ctrl-C stops and keeps them)")

    try:
        with open_workspace(ctx) as store:
            chosen = parse_settings(settings or [])
            amount = parse_budget(budget)
            with status:
                result = tune_model(store, model, node=node, budget=amount, settings=chosen or None,
                                    events=event, metric=metric, keep=keep)
    except TuneStopped as stopped:
        kept = stopped.result.model_ids
        out.print(f"tuning stopped; {len(kept)} child model(s) kept" +
                  (f" ({', '.join(map(str, kept))}), best so far model {stopped.result.best_model_id}" if kept else "")
                  + ".")
        raise typer.Exit(130)
    finally:
        release_prestarted()
    if as_json:
        print_json({"project": result.project, "parent": result.parent_id, "best": result.best_model_id, "models": result.model_ids,
                    "best_settings": result.best_settings, "metric": result.metric, "job": result.job_id,
                    "trials": result.trials})
        return
    if result.best_model_id == result.parent_id:
        verdict = f"no setting beat model {result.parent_id}'s own in the inner CV; it stays the best"
    else:
        verdict = f"best: model {result.best_model_id} ({escape(changes_text(result.best_settings))})"
    out.print(f"Tried {len(result.trials) - 1} setting(s), trained {len(result.model_ids)} child model(s); "
              f"{verdict}. See `taskbench leaderboard {escape(result.project)}`.")
