"""`taskbench predict`: score a CSV or Parquet file with a trained model or an exported package."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from .common import console, error_console, fail, open_workspace

HELP = """Score a CSV or Parquet file with a trained model, in chunks, with a progress bar.

Output columns: one per class plus `prediction` (the likeliest label) for
classification, `Predictions` for regression and anomaly detection, after the
input columns named by --include-input. With --package, scores with a model
exported by `taskbench export` (checked, then unpacked inside the workspace).
A package's task code runs with your rights, like any program you run: for a
package you do not trust, add --docker or --env NAME to score it in containers
(no network, package read-only).
"""

PACKAGE_HELP = (
    "Score with an exported model package (.zip) instead of MODEL. Its task code and pickles run with your rights "
    "unless you add --docker or --env. Unpacking stops at TASKBENCH_PACKAGE_MAX_BYTES (default 2g) and at members "
    "expanding over TASKBENCH_PACKAGE_MAX_RATIO times (default 100)."
)
DOCKER_HELP = (
    "With --package: score every node in a Docker container (no network, package read-only): each node in the Docker "
    "environment it was trained in, python-local nodes in the built-in python-sklearn environment."
)
ENV_HELP = "With --package: score every node in a container of this registered Docker environment (NAME or NAME@N)."


def predict(
    ctx: typer.Context,
    model: Annotated[Optional[str], typer.Argument(metavar="MODEL", help="Model number (see `taskbench leaderboard PROJECT`).")] = None,
    input: Annotated[Path, typer.Option("--input", "-i", help="CSV or Parquet file to score.")] = ...,
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write predictions (.csv or .parquet).")] = ...,
    include_input: Annotated[Optional[str], typer.Option("--include-input", help="Input columns to keep beside the predictions, comma-separated.")] = None,
    chunk_size: Annotated[int, typer.Option("--chunk-size", help="Rows read and scored at a time.", min=1)] = 50_000,
    package: Annotated[Optional[Path], typer.Option("--package", help=PACKAGE_HELP)] = None,
    docker: Annotated[bool, typer.Option("--docker", help=DOCKER_HELP)] = False,
    env: Annotated[Optional[str], typer.Option("--env", metavar="NAME", help=ENV_HELP)] = None,
    encoding: Annotated[Optional[str], typer.Option("--encoding", metavar="NAME", help="Text encoding of a CSV without a byte-order mark (default UTF-8), e.g. cp1252 or latin-1.")] = None,
) -> None:
    from core.deploy.batch import predict_file

    if (model is None) == (package is None):
        fail("name a MODEL or give --package FILE.zip (one of the two).", 2)
    if (docker or env) and package is None:
        fail("--docker and --env apply to --package; a workspace model scores in the environments it was trained in.", 2)
    if docker and env:
        fail("give --docker or --env NAME, not both.", 2)
    include = [c.strip() for c in include_input.split(",") if c.strip()] if include_input else []
    _refuse_binary(input, encoding)
    out = console()
    with open_workspace(ctx) as store:
        if package is not None:
            from core.deploy.package import import_package, in_docker

            source = import_package(store.root, package, on_note=_warn, contained=bool(docker or env))
            if docker or env:
                source = in_docker(store, source, env)
        else:
            from core.deploy.source import model_source

            source = model_source(store, model)
        columns = (TextColumn("scoring"), BarColumn(), TaskProgressColumn(), TextColumn("{task.fields[rows]:,} rows"), TimeRemainingColumn())
        # The bar appears with the first scored chunk (a terminal only): a refused input is its sentence alone,
        # with no blank line left by a bar that never moved.
        progress = Progress(*columns, console=out, transient=True, disable=not out.is_terminal)
        bar = progress.add_task("scoring", total=None, rows=0)

        def on_progress(rows: int, done: int, total: int) -> None:
            progress.start()
            progress.update(bar, completed=done, total=total, rows=rows)

        try:
            result = predict_file(store.root, source, input, output, include=include, chunk_size=chunk_size, on_progress=on_progress,
                                  encoding=encoding)
        finally:
            progress.stop()
    for warning in result.warnings:
        out.print(f"[yellow]warn[/] {escape(warning)}")
    out.print(f"Wrote {result.rows:,} predictions to {escape(str(result.output))} in {result.seconds:.1f} s.")


def _refuse_binary(path: Path, encoding: str | None) -> None:
    """A binary file that is not Parquet gets fit's and project create's sentence, naming the path as typed (a
    symlink is not shown resolved), before any scoring starts."""
    from core.runtime.textfile import csv_encoding
    from core.runtime.errors import BadInput

    if path.suffix.lower() in (".parquet", ".pq") or not path.is_file():
        return
    try:
        csv_encoding(str(path), encoding)
    except BadInput as exc:
        fail(exc.message, 2)


def _warn(sentence: str) -> None:
    error_console().print(f"[yellow]warn[/] {escape(sentence)}")
