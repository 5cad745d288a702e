"""`taskbench doctor`: what this machine can do for taskbench, one line per check with the fix."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.text import Text

from .common import console, print_json

HELP = """Check what this machine can do for taskbench and say what is missing, one line each with the fix.

Checks Python and package versions, the workspace (writable, disk space, schema, a shared workspace's group and
modes), the Docker engine (answers, version, rootless), the base image environment builds start from (here or
pullable), the package index pip would use, R and the R packages DRUM's templates use, the Dask scheduler (with
--cluster) and a free port for `serve`. The workbench's Environments pane runs the same checks (key c).

Exits 0 when everything your configuration needs works: Docker, the base image and the index count as needed when a
registered task runs in a Docker environment, TASKBENCH_BASE_IMAGE is set or --docker is given; R when a registered
task is written in R. Other failures are reported, not counted. Nothing in the workspace is written.
"""

STYLES = {"ok": "green", "warn": "yellow", "FAIL": "red", "-": "dim", "fix:": "bold"}


def doctor(
    ctx: typer.Context,
    cluster: Annotated[Optional[str], typer.Option("--cluster", metavar="tcp://HOST:PORT",
                                                   help="Also check this Dask scheduler.")] = None,
    port: Annotated[int, typer.Option("--port", help="The port `serve` would use.", min=0, max=65535)] = 8080,
    docker: Annotated[bool, typer.Option("--docker", help="Count Docker and the base image as needed.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    from core.doctor import report_lines, run_checks

    checks = run_checks((ctx.obj or {}).get("home"), cluster=cluster, port=port, docker=docker)
    blocking = [c for c in checks if c.blocking]
    if as_json:
        print_json({"ok": not blocking, "checks": [c.to_json() for c in checks]})
    else:
        out = console()
        for line in report_lines(checks):
            first = line.split(maxsplit=1)[0] if line.strip() else ""
            text = Text(line)  # user text (paths, image names) is never markup
            if first in STYLES:
                start = line.index(first)
                text.stylize(STYLES[first], start, start + len(first))
            out.print(text, soft_wrap=True)
    if blocking:
        raise typer.Exit(1)
