"""`taskbench task …`: register task folders as versions and look at them (SPEC §1, §11)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from core.runtime.contract import LOCAL_ENV

from .common import fail, console, counted, open_workspace, print_json, size, when, listing
from .share import AccessColumn

app = typer.Typer(
    help="Register task folders as versions, list, show, compare and download them.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@app.command("add", no_args_is_help=True)
def add(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(metavar="FOLDER", help="The task folder (holding exactly one custom.py or custom.R).")],
    name: Annotated[
        Optional[str], typer.Option("--name", help="Task name (default: name in model-metadata.yaml, else the folder's).")
    ] = None,
    env: Annotated[
        Optional[str], typer.Option("--env", help=f"Environment to run in, NAME or NAME@N (default: {LOCAL_ENV}).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Upload a task folder as a new version; identical content makes no new version."""
    from core.tasks.versions import add_task, identical_content_sentence

    with open_workspace(ctx) as store:
        version, created = add_task(store, folder, name=name, env=env)
        latest = version if created else store.task_version(version.task)
        same = None if created else identical_content_sentence(version, latest)
    if as_json:
        print_json({"task": version.task, "version": version.version, "created": created, "sha256": version.sha256,
                    "latest": latest.version})
        return
    out = console()
    for warning in version.warnings if created else ():
        out.print(f"[yellow]warn[/] {escape(warning)}")
    if created:
        out.print(
            f"Added [bold]{escape(version.ref)}[/] ({counted(len(version.files), 'file')}, sha256 {version.sha256[:12]})."
        )
    else:
        out.print(escape(same))


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List registered tasks with their latest version."""
    from core.tasks.catalog import language_name
    from core.tasks.versions import list_tasks

    with open_workspace(ctx) as store:
        tasks = list_tasks(store)
        access = AccessColumn(store, "task")
        languages = {task.name: language_name(task.latest.path) for task in tasks}
    if as_json:
        print_json([access.json(task.name, {**task.to_json(), "language": languages[task.name].lower()}) for task in tasks])
        return
    out = console()
    if not tasks:
        out.print("No tasks yet; add one with `taskbench task add FOLDER`.")
        return
    rows = [
        access.cells(task.name, [
            escape(task.name),
            f"v{task.latest.version}",
            task.latest.kind or "-",
            task.latest.target_type or "-",
            escape(task.latest.env or LOCAL_ENV),
            languages[task.name],
            escape(task.created_by),
            when(task.latest.created_at, short=True),
        ])
        for task in tasks
    ]
    columns = ["name", "latest", "kind", "target", "environment", "language", "owner", "updated"]
    if all(language == "Python" for language in languages.values()):  # the column says something only beside R tasks
        at = columns.index("language")
        rows = [row[:at] + row[at + 1:] for row in rows]
        columns.remove("language")
    table = listing(access.header(columns), rows, keep=("name", "latest"))
    out.print(table)


@app.command("versions", no_args_is_help=True)
def versions(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Task name.")],
    as_json: JsonOption = False,
) -> None:
    """List every version of a task."""
    from core.tasks.versions import task_versions

    with open_workspace(ctx) as store:
        found = task_versions(store, name)
    if as_json:
        print_json([v.to_json() for v in found])
        return
    rows = [
        [str(v.version), v.sha256[:12], str(len(v.files)), v.target_type or "-", escape(v.env or LOCAL_ENV),
         escape(v.created_by), when(v.created_at, short=True)]
        for v in found
    ]
    table = listing(["version", "sha256", "files", "target", "environment", "uploaded by", "uploaded"], rows,
                    keep=("version",))
    console().print(table)


@app.command("show", no_args_is_help=True)
def show(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="NAME[@N]", help="Task name, optionally pinned to a version.")],
    as_json: JsonOption = False,
) -> None:
    """Show a task version: files, metadata, schema, hyperparameters and environment."""
    from core.environments.resolve import network_access
    from core.tasks.catalog import language_line, language_name
    from core.tasks.versions import get_task_version
    from core.tasks.metadata import describe_default_schema

    with open_workspace(ctx) as store:
        version = get_task_version(store, ref)
        count = len(store.task_versions(version.task))
        language = language_line(version.path)
    meta = version.metadata
    schema = meta.get("type_schema", {})
    default_sentence = None if schema.get("declared") else describe_default_schema(version.target_type)
    if as_json:
        data = version.to_json()
        data["version_count"] = count
        data["default_schema"] = default_sentence
        data["network_access"] = network_access(version.env, bool(meta.get("network")))
        data["language"] = language_name(version.path).lower()
        print_json(data)
        return

    out = console()
    kind = version.kind or "kind unknown (no targetType in model-metadata.yaml)"
    if version.target_type and version.target_type != "transform":
        kind += f" ({version.target_type})"
    out.print(f"[bold]{escape(version.ref)}[/] · version {version.version} of {count} · {escape(kind)}")
    out.print(f"  sha256       {version.sha256}")
    out.print(f"  language     {escape(language)}")
    env = version.env or f"{LOCAL_ENV} (default)"
    out.print(f"  environment  {escape(env)}")
    out.print(f"  network      {escape(network_access(version.env, bool(meta.get('network'))))}")
    out.print(f"  uploaded     {when(version.created_at)} by {escape(version.created_by)}")
    out.print(f"  metadata     {escape(meta.get('file') or 'none (defaults apply)')}")

    out.print("\n[bold]Files[/]")
    files = Table(box=None, show_header=False, pad_edge=False)
    files.add_column(justify="left")
    files.add_column(justify="right")
    for entry in version.files:
        files.add_row("  " + escape(entry.path), size(entry.size))
    out.print(files)

    out.print("\n[bold]Hyperparameters[/]")
    hps = meta.get("hyperparameters") or []
    if not hps:
        out.print("  none declared")
    else:
        table = Table(box=None, header_style="bold", pad_edge=False)
        for column in ("  name", "type", "default", "allowed"):
            table.add_column(column)
        for hp in hps:
            table.add_row("  " + escape(hp["name"]), hp["type"], escape(repr(hp.get("default"))), escape(_allowed(hp)))
        out.print(table)

    out.print("\n[bold]Schema[/]")
    if default_sentence:
        out.print(f"  {escape(default_sentence)}")
    else:
        for side, label in (("input_requirements", "input"), ("output_requirements", "output")):
            reqs = schema.get(side) or []
            if not reqs:
                out.print(f"  {label}: no requirements")
            for req in reqs:
                value = req["value"]
                shown = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
                out.print(f"  {label}: {req['field']} {req['condition']} {escape(shown)}")

    if version.warnings:
        out.print("\n[bold]Warnings[/]")
        for warning in version.warnings:
            out.print(f"  [yellow]warn[/] {escape(warning)}")


def _allowed(hp: dict) -> str:
    if hp.get("values"):
        return ", ".join(str(v) for v in hp["values"])
    if "min" in hp or "max" in hp:
        return f"{hp.get('min')} … {hp.get('max')}"
    if hp.get("multi"):
        return "; ".join(f"{kind}: {spec}" for kind, spec in hp["multi"].items())
    return "-"


@app.command("diff", no_args_is_help=True)
def diff(
    ctx: typer.Context,
    a: Annotated[str, typer.Argument(metavar="NAME[@A]", help="The task, or its older version.")],
    b: Annotated[Optional[str], typer.Argument(metavar="[NAME@B]", help="The newer version (default: the latest).")] = None,
) -> None:
    """Show what changed between two task versions, as a unified diff; `task diff NAME` compares its last two."""
    from core.errors import EXIT_USAGE
    from core.names import parse_ref
    from core.tasks.versions import diff_versions, task_versions

    with open_workspace(ctx) as store:
        if b is None:
            name, version = parse_ref(a, "task")
            numbers = [v.version for v in task_versions(store, name)]
            if len(numbers) < 2:
                fail(f"task {name} has only version {numbers[0]}; diff needs two (upload another with task add).", EXIT_USAGE)
            if version is None:
                a, b = f"{name}@{numbers[-2]}", f"{name}@{numbers[-1]}"
            elif version == numbers[-1]:
                fail(f"{name}@{version} is the latest version; give an older one, or two: task diff {name}@A {name}@B.",
                     EXIT_USAGE)
            else:
                b = f"{name}@{numbers[-1]}"
        text = diff_versions(store, a, b)
    if not text:
        typer.echo(f"{a} and {b} have the same files.")
        return
    typer.echo(text, nl=False)


@app.command("download", no_args_is_help=True)
def download(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="NAME[@N]", help="Task name, optionally pinned to a version.")],
    to: Annotated[Path, typer.Option("--to", help="A new or empty folder to write the task's files into.")],
) -> None:
    """Write a task version's files into a folder, byte for byte."""
    from core.tasks.versions import download as download_task

    with open_workspace(ctx) as store:
        version = download_task(store, ref, to)
    console().print(f"Wrote {escape(version.ref)} ({counted(len(version.files), 'file')}) to {escape(str(to))}.")
