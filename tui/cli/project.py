"""`taskbench project …`: create a project from a data file, list and show projects, unlock the holdout."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from .common import confirm_or_stop, console, error_console, fail, open_workspace, print_json, listing
from .share import AccessColumn

app = typer.Typer(help="Projects: a data set, a target and a fixed partitioning.", no_args_is_help=True)


@app.command("create", no_args_is_help=True)
def create(
    ctx: typer.Context,
    data: Annotated[Path, typer.Argument(metavar="DATA", help="CSV or Parquet file; it is copied into the workspace.")],
    target: Annotated[Optional[str], typer.Option("--target", help="Target column (omit for anomaly detection).")] = None,
    target_type: Annotated[
        Optional[str], typer.Option("--target-type", help="binary, multiclass or regression (inferred when omitted).")
    ] = None,
    weights: Annotated[Optional[str], typer.Option("--weights", help="Column of row weights.")] = None,
    positive_class: Annotated[Optional[str], typer.Option("--positive-class", help="The positive class (binary).")] = None,
    holdout: Annotated[float, typer.Option("--holdout", help="Share of rows kept back as holdout.")] = 0.2,
    folds: Annotated[int, typer.Option("--folds", help="Cross-validation folds over the rest (fold 1 validates).")] = 5,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the partitioning.")] = 0,
    name: Annotated[Optional[str], typer.Option("--name", help="Project name (default: the file name).")] = None,
    encoding: Annotated[
        Optional[str],
        typer.Option("--encoding", metavar="NAME", help="Text encoding of a CSV without a byte-order mark (default UTF-8), "
                     "such as cp1252 or latin-1."),
    ] = None,
    keep_column: Annotated[
        Optional[list[str]],
        typer.Option("--keep-column", metavar="COLUMN", help="Keep this id-like column as a feature (repeatable); "
                     "by default columns with one distinct value per row (ids) are left out."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object instead of the name.")] = False,
) -> None:
    """Create a project; prints its name (or JSON with name, target_type and partition sizes).

    Id-like columns are left out of the features and named: one distinct value per row, nothing missing, and either
    whole numbers close to a sequence (spanning at most twice the row count, such as 1..N) or strings without
    spaces. Distinct whole numbers with wide gaps (amounts, counts, timestamps) stay features, because such columns
    usually measure something; remove an id of that kind from the file yourself.
    """

    from core.training.projects import create_project, project_json

    err = error_console()
    status = err.status(f"reading {escape(data.name)}", spinner="line")
    with open_workspace(ctx) as store, status:
        project, note = create_project(
            store, data, target=target, target_type=target_type, weights=weights, positive_class=positive_class,
            holdout=holdout, folds=folds, seed=seed, name=name, encoding=encoding, keep_columns=keep_column or (),
            on_step=lambda text: status.update(escape(text) + " …"),
        )
    for column in project.settings.get("excluded") or {}:
        err.print(f"excluded id-like column {escape(repr(column))} (use --keep-column {escape(column)} to keep it)")
    if as_json:
        print_json(project_json(project))
        return
    sizes = project.settings["partition_sizes"]
    err.print(f"{escape(note)}.", highlight=False)  # the partition on a line of its own: it stays whole in a terminal
    err.print(f"{project.rows} rows: training {sizes['training']}, validation {sizes['validation']}, "
              f"holdout {sizes['holdout']} (locked).", highlight=False)
    typer.echo(project.name)


@app.command("list")
def list_(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List the workspace's projects."""
    from core.training.projects import list_projects, project_json

    with open_workspace(ctx) as store:
        projects = list_projects(store)
        access = AccessColumn(store, "project")
    if as_json:
        print_json([access.json(p.name, project_json(p)) for p in projects])
        return
    rows = [access.cells(p.name, [escape(p.name), escape(p.target or "-"), p.target_type, str(p.rows),
                                  "unlocked" if p.holdout_unlocked else "locked", escape(p.created_by)])
            for p in projects]
    table = listing(access.header(["name", "target", "type", "rows", "holdout", "by"]), rows, keep=("name",))
    console().print(table)


@app.command("show", no_args_is_help=True)
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Project name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a project's target, partitions and columns by data type."""
    from core.training.projects import get_project, project_json

    with open_workspace(ctx) as store:
        project = get_project(store, name)
    data = project_json(project)
    if as_json:
        print_json(data)
        return
    out = console()
    out.print(f"[bold]{escape(project.name)}[/] from {escape(project.source)}")
    out.print(f"  {escape(data['inference'])}")
    sizes = data["partitions"]
    out.print(f"  rows {project.rows}: training {sizes['training']}, validation {sizes['validation']}, holdout {sizes['holdout']}")
    for kind, columns in project.settings["channels"].items():
        shown = ", ".join(columns[:6]) + (f" and {len(columns) - 6} more" if len(columns) > 6 else "")
        out.print(f"  {kind}: {escape(shown)}")
    if data.get("excluded"):
        out.print(f"  excluded (id-like): {escape(', '.join(data['excluded']))}")
    state = f"unlocked by {project.holdout_unlocked_by} at {project.holdout_unlocked_at}" if project.holdout_unlocked else "locked"
    out.print(f"  holdout: {escape(state)}")


@app.command("unlock-holdout", no_args_is_help=True)
def unlock_holdout(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Project name.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation (for scripts).")] = False,
) -> None:
    """Unlock the holdout for good: its scores then appear everywhere. Asks first unless --yes."""
    from core.training.projects import get_project, unlock

    with open_workspace(ctx) as store:
        project = get_project(store, name)
        if project.holdout_unlocked:
            console().print(f"The holdout of {escape(name)} was already unlocked by {project.holdout_unlocked_by}.")
            return
        if not yes:
            confirm_or_stop(f"Unlock the holdout of {name}? This is permanent: holdout scores will be shown from now on.",
                            "Nothing changed: the holdout stays locked.")
        project = unlock(store, name)
        from core.training.engine import score_holdout_for_project

        scored = score_holdout_for_project(store, project)
    console().print(f"Unlocked the holdout of {escape(name)}; scored {scored} model(s) on it.")
