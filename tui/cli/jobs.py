"""`taskbench jobs` and `taskbench logs JOB [--follow]` (SPEC §6, §11)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.markup import escape

from .common import console, duration, open_workspace, print_json, when, listing

STATE_STYLE = {
    "queued": "dim",
    "running": "cyan",
    "succeeded": "green",
    "failed": "red",
    "cancelled": "yellow",
    "interrupted": "magenta",
}

JOBS_HELP = """List jobs, newest first: fit checks, builds, trainings, with their state.

In a shared workspace every member's jobs are listed (rows only, no log).
"""
LOGS_HELP = """Print a job's log; --follow keeps printing as it grows until the job ends.

In a shared workspace you read your own jobs' logs, a training's or
prediction's log with read on its project, and a fit check's or build's log
with read on its task or environment.
"""


def jobs(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    state: Annotated[
        Optional[str],
        typer.Option("--state", help="Only jobs in this state: queued, running, succeeded, failed, cancelled, interrupted."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many jobs.")] = 50,
) -> None:
    from core.jobs import list_jobs

    with open_workspace(ctx) as store:
        found = list_jobs(store, limit=limit, state=state)
    if as_json:
        print_json([job.to_json() for job in found])
        return
    out = console()
    if not found:
        out.print("No jobs" + (f" in state {state}." if state else " yet."))
        return
    rows = [
        [
            f"#{job.id}",
            escape(job.kind),
            escape(job.title),
            f"[{STATE_STYLE.get(job.state, '')}]{job.state}[/]",
            duration(job.seconds),
            escape(job.created_by),
            when(job.created_at, short=True),
            escape(job.message or ""),
        ]
        for job in found
    ]
    table = listing(["id", "kind", "title", "state", "time", "by", "created", "message"], rows, keep=("id", "state"))
    out.print(table)


def logs(
    ctx: typer.Context,
    job: Annotated[str, typer.Argument(metavar="JOB", help="The job id `taskbench jobs` shows, such as 42.")],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines until the job leaves the running state.")
    ] = False,
) -> None:
    from core.jobs import follow_log, get_job, read_log

    with open_workspace(ctx) as store:
        found = get_job(store, job)
        try:
            for chunk in (follow_log if follow else read_log)(store, found.id):
                typer.echo(chunk, nl=False)
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        if follow:
            final = get_job(store, found.id)
            note = f"job {final.id} {final.state}" + (f": {final.message}" if final.message else "")
            typer.echo(note, err=True)
