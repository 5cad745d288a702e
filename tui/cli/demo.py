"""`taskbench demo`: register the sample tasks, create a project, train blueprints, show the leaderboard."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from ..numbers import score
from .common import console, open_workspace

HELP = """Run the whole workflow on bundled data and print the leaderboard.

Registers the sample tasks, creates a binary project from 10k_diabetes.csv,
and trains the built-in templates plus blueprints that use the sample tasks,
in the workspace chosen by --home, else $TASKBENCH_HOME, else ./taskbench-demo
(not ~/.taskbench); it says which at the start and at the end.
"""


def demo(
    ctx: typer.Context,
    samples: Annotated[Optional[Path], typer.Option("--samples", help="The sample_tasks folder (default ./sample_tasks).")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Blueprints trained at once.", min=1)] = 2,
) -> None:
    from core.demo import find_samples, run_demo
    from tui.cli.train import leaderboard_table

    chosen = _chosen_by(ctx)
    if not (ctx.obj or {}).get("home"):
        ctx.obj = {"home": Path("taskbench-demo").resolve()}
    home = Path(ctx.obj["home"]).expanduser().resolve()
    out = console()
    out.print(f"Workspace: {escape(str(home))} ({escape(chosen)})")

    def event(kind: str, data: dict) -> None:
        if kind == "trained":
            val = data["scores"].get("validation", {})
            out.print(f"[green]ok[/]   {escape(data['label'])}: model {data['model']} in {data['seconds']:.1f} s; "
                      + ", ".join(f"{k} {score(k, v)}" for k, v in val.items()))
        elif kind == "failed":
            out.print(f"[bold red]FAIL[/] {escape(data['label'])}: {escape(data['error'])}")

    with open_workspace(ctx) as store:
        folder = find_samples(samples)
        project, metric, rows = run_demo(store, folder, jobs=jobs, on_step=lambda s: out.print(f"..   {escape(s)}"), on_event=event)
    out.print(leaderboard_table(project, metric, rows, width=out.width if out.is_terminal else None))
    out.print(f"The demo's workspace is {escape(str(home))} ({escape(chosen)}).")
    out.print(f"Next: taskbench --home {escape(str(home))} leaderboard {escape(project.name)}")


def _chosen_by(ctx: typer.Context) -> str:
    """Why the demo uses the workspace it does: --home, $TASKBENCH_HOME, or its own default ./taskbench-demo."""
    root = ctx.find_root()
    source = root.get_parameter_source("home") if root.params.get("home") else None
    if getattr(source, "name", None) == "ENVIRONMENT":  # by name: typer may carry its own copy of click
        return "from $TASKBENCH_HOME"
    if source is not None:
        return "from --home"
    return "the demo's default ./taskbench-demo; choose another with --home"
