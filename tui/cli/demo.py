"""`taskbench demo`: register the sample tasks, create a project, train blueprints, show the leaderboard."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from .common import console, open_workspace

HELP = """Run the whole workflow on bundled data and print the leaderboard.

Registers the sample tasks, creates a binary project from 10k_diabetes.csv,
and trains the built-in templates plus blueprints that use the sample tasks,
in the workspace chosen by --home / $TASKBENCH_HOME (default ./taskbench-demo).
"""


def demo(
    ctx: typer.Context,
    samples: Annotated[Optional[Path], typer.Option("--samples", help="The sample_tasks folder (default ./sample_tasks).")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Blueprints trained at once.", min=1)] = 2,
) -> None:
    from core.demo import find_samples, run_demo
    from tui.cli.train import leaderboard_table

    if not (ctx.obj or {}).get("home"):
        ctx.obj = {"home": Path("taskbench-demo").resolve()}
    out = console()
    out.print(f"Workspace: {escape(str(ctx.obj['home']))}")

    def event(kind: str, data: dict) -> None:
        if kind == "trained":
            val = data["scores"].get("validation", {})
            out.print(f"[green]ok[/]   {escape(data['label'])}: model {data['model']} in {data['seconds']:.1f} s; "
                      + ", ".join(f"{k} {v:.4g}" for k, v in val.items()))
        elif kind == "failed":
            out.print(f"[bold red]FAIL[/] {escape(data['label'])}: {escape(data['error'])}")

    with open_workspace(ctx) as store:
        folder = find_samples(samples)
        project, metric, rows = run_demo(store, folder, jobs=jobs, on_step=lambda s: out.print(f"..   {escape(s)}"), on_event=event)
    out.print(leaderboard_table(project, metric, rows))
    out.print(f"Next: taskbench --home {escape(str(ctx.obj['home']))} leaderboard {escape(project.name)}")
