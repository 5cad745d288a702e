"""`taskbench blueprint …`: check, format, save, show and export blueprints (SPEC §7, §11)."""

from __future__ import annotations

import os

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from .common import console, counted, fail, open_workspace, print_json, when, listing
from .share import AccessColumn

app = typer.Typer(
    help="Check, format, save, show and export blueprints: graphs of tasks ending in an estimator.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
TargetTypeOption = Annotated[
    Optional[str],
    typer.Option("--target-type", help="Check against this target type: binary, multiclass, regression or anomaly."),
]
FORMATS = ("json", "dot", "mermaid")


def _read(path: Path) -> str:
    """A blueprint file's text, or a one-sentence error (exit 2)."""
    from core.errors import EXIT_USAGE

    if not path.is_file():
        fail(f"{path} is not a file; give a blueprint file such as model.bp.", EXIT_USAGE)
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        fail(f"{path} is not UTF-8 text; save it as UTF-8.", EXIT_USAGE)
    except OSError as exc:
        fail(f"{path} cannot be read ({exc.strerror}).", EXIT_USAGE)
    return ""


def _check_new_file(output: Path) -> None:
    """A one-sentence error (exit 2) unless `output` can be written as a new file."""
    from core.errors import EXIT_USAGE

    if not output.parent.is_dir():
        fail(f"{output.parent} is not a folder; give --output a file in an existing folder.", EXIT_USAGE)
    if not os.access(output.parent, os.W_OK | os.X_OK):  # before exists(), which a folder you cannot enter refuses
        fail(f"you may not write in {output.parent}; give --output a file in a folder of yours.", EXIT_USAGE)
    if output.exists():
        fail(f"{output} exists already; give a new file name.", EXIT_USAGE)


def _hand_over(output: Path) -> None:
    """The user's own file: their umask's modes, not the shared workspace's (imported late: startup time)."""
    from core.workspace import hand_over

    hand_over(output)


def _check_target(target_type: str | None) -> None:
    from core.blueprints.templates import TARGET_TYPES
    from core.errors import EXIT_USAGE

    if target_type is not None and target_type not in TARGET_TYPES:
        fail(f"target type '{target_type}' is not one of {', '.join(TARGET_TYPES)}.", EXIT_USAGE)


SHOWN_MESSAGES = 20


def _more(hidden: list[str]) -> str:
    """The compiler-style last line for messages left unprinted: '… and 790 more errors (--json lists them all)'."""
    parts = []
    for severity in ("error", "warning"):
        count = hidden.count(severity)
        if count:
            parts.append(f"{count} more {severity}{'s' if count != 1 else ''}")
    return f"… and {' and '.join(parts)} (--json lists them all)"


def _print_messages(messages, path: str, err: bool = False) -> None:
    """The first SHOWN_MESSAGES messages, then one line counting the rest (a file that is not a blueprint has hundreds)."""
    for message in messages[:SHOWN_MESSAGES]:
        typer.echo(message.format(path), err=err)
    if len(messages) > SHOWN_MESSAGES:
        typer.echo(_more([m.severity for m in messages[SHOWN_MESSAGES:]]), err=err)


@app.command("check", no_args_is_help=True)
def check(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The blueprint file.")],
    project: Annotated[
        Optional[str], typer.Option("--project", help="Check against this project's target type and columns.")
    ] = None,
    target_type: TargetTypeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Validate a blueprint; print FILE:LINE:COL: error|warning: sentence, and exit 1 on any error (2 when one
    is a task you may not use). A file whose `# blueprint:` header names your clone may use the task versions its
    origin pinned; a task named there without @N means that pinned version."""
    from core.blueprints.validate import exit_code, project_facts, refused, validate
    from core.errors import EXIT_USAGE

    if project and target_type:
        fail("give --project or --target-type, not both.", EXIT_USAGE)
    _check_target(target_type)
    text = _read(file)
    with open_workspace(ctx) as store:
        facts = None
        if project:
            from core.training.projects import get_project

            found = get_project(store, project)
            target_type = found.target_type
            facts = project_facts(found.settings.get("channels", {}), found.settings.get("missing", {}))
        messages = validate(text, store, target_type=target_type, data_facts=facts, path=str(file))
    errors = [m for m in messages if m.severity == "error"]
    if as_json:
        print_json({"file": str(file), "target_type": target_type, "ok": not errors,
                    "refused": refused(errors), "messages": [m.to_json() for m in messages]})
    else:
        _print_messages(messages, str(file))
        if not messages:
            typer.echo(f"{file}: ok" + (f" for target type {target_type}" if target_type else ""))
    if errors:
        raise typer.Exit(exit_code(errors))


@app.command("fmt", no_args_is_help=True)
def fmt(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The blueprint file.")],
    check_only: Annotated[
        bool, typer.Option("--check", help="Change nothing; exit 1 when the file is not formatted.")
    ] = False,
    write: Annotated[bool, typer.Option("--write", help="Rewrite the file in place.")] = False,
) -> None:
    """Format a blueprint: align the = signs and order parameters; prints the result unless --write or --check."""
    from core.blueprints.syntax import BlueprintSyntaxError, format_text
    from core.errors import EXIT_USAGE
    from core.store.files import write_text_atomic

    if check_only and write:
        fail("give --check or --write, not both.", EXIT_USAGE)
    text = _read(file)
    try:
        formatted = format_text(text, str(file))
    except BlueprintSyntaxError as exc:
        for issue in exc.errors[:SHOWN_MESSAGES]:
            typer.echo(f"{file}:{issue.line}:{issue.column}: error: {issue.message}")
        if len(exc.errors) > SHOWN_MESSAGES:
            typer.echo(_more(["error"] * (len(exc.errors) - SHOWN_MESSAGES)).replace(" (--json lists them all)", ""))
        raise typer.Exit(1)
    if check_only:
        if formatted != text:
            typer.echo(f"{file} would be reformatted; run `taskbench blueprint fmt --write {file}`.")
            raise typer.Exit(1)
        typer.echo(f"{file} is formatted.")
        return
    if write:
        if formatted == text:
            typer.echo(f"{file} is already formatted.")
            return
        write_text_atomic(file, formatted)
        typer.echo(f"Formatted {file}.")
        return
    typer.echo(formatted, nl=False)


@app.command("add", no_args_is_help=True)
def add(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The blueprint file.")],
    name: Annotated[
        Optional[str],
        typer.Option("--name", help="Blueprint name (default: the `# blueprint:` header's, else the file's)."),
    ] = None,
    target_type: TargetTypeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Validate and save a blueprint as a new version, pinned to exact task versions (in your clone, a task
    named without @N means the version its origin pinned)."""
    from core.blueprints.registry import save_blueprint, saving_name
    from core.blueprints.validate import exit_code, validate

    _check_target(target_type)
    text = _read(file)
    with open_workspace(ctx) as store:
        messages = validate(text, store, target_type=target_type, path=str(file),
                            name=saving_name(text, name, file))
        _print_messages(messages, str(file), err=True)
        errors = [m for m in messages if m.severity == "error"]
        if errors:
            fail(f"{file} has {counted(len(errors), 'error')}; it was not saved.", exit_code(errors))
        version, created = save_blueprint(store, text, name=name, path=str(file), target_type=target_type)
    if as_json:
        print_json({"blueprint": version.blueprint, "version": version.version, "ref": version.ref,
                    "created": created, "sha256": version.sha256, "resolved": version.resolved})
        return
    out = console()
    if not created:
        out.print(f"{escape(version.ref)} already has this content; no new version was made.")
        return
    pins = [_pin_text(pin) for pin in version.pins.values()]
    out.print(f"Saved [bold]{escape(version.ref)}[/] ({len(pins)} nodes; tasks: {escape(', '.join(sorted(set(pins))))}).")


def _pin_text(pin: dict) -> str:
    return pin["task"] if pin.get("builtin") else f"{pin['task']}@{pin['version']}"


@app.command("clone", no_args_is_help=True)
def clone(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="NAME[@N]", help="A saved blueprint you can read (default: latest).")],
    name: Annotated[Optional[str], typer.Option("--name", help="The clone's name (default: NAME-copy).")] = None,
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="Also write the clone's text to this new file, to edit.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Copy a saved blueprint as version 1 of your own, with the same text and task versions.

    The clone records its origin and keeps execute on the task versions the
    origin pinned: edit it (its `# blueprint:` header names the clone), save
    it with `blueprint add`, and train it, even with tasks you cannot read.
    """
    from core.blueprints.registry import clone_blueprint
    from core.store.files import write_text_atomic

    if output is not None:
        _check_new_file(output)
    with open_workspace(ctx) as store:
        version = clone_blueprint(store, ref, name)
    if output is not None:
        write_text_atomic(output, version.text)
        _hand_over(output)
    if as_json:
        print_json({**version.to_json(), "output": str(output) if output is not None else None})
        return
    wrote = f"; its text is in {escape(str(output))}" if output is not None else ""
    console().print(f"Cloned {escape(version.origin)} as [bold]{escape(version.ref)}[/]{wrote}.")


@app.command("show", no_args_is_help=True)
def show(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="NAME[@N]", help="Saved blueprint, optionally pinned to a version.")],
    as_json: JsonOption = False,
    width: Annotated[int, typer.Option("--width", help="Drawing width in columns.", min=20)] = 80,
) -> None:
    """Show a saved blueprint version: its text, its graph drawn, and the exact tasks it runs."""
    from core.blueprints.export import draw_ascii, to_json
    from core.blueprints.registry import blueprint_versions, get_blueprint
    from core.blueprints.syntax import parse_blueprint
    from core.errors import EXIT_USAGE

    if ("/" in ref or ref.endswith(".bp")) and Path(ref).is_file():
        fail(f"{ref} is a file; `blueprint show` shows a saved blueprint by NAME[@N] (see `taskbench blueprint list`): "
             f"check the file with `taskbench blueprint check {ref}`, or save it with `taskbench blueprint add {ref}`.",
             EXIT_USAGE)
    with open_workspace(ctx) as store:
        version = get_blueprint(store, ref)
        count = len(blueprint_versions(store, version.blueprint))
    bp = parse_blueprint(version.text, version.ref)
    if as_json:
        data = version.to_json()
        data["version_count"] = count
        data["graph"] = to_json(bp, version.pins)
        print_json(data)
        return
    out = console()
    target = version.target_type or "any target type"
    out.print(f"[bold]{escape(version.ref)}[/] · version {version.version} of {count} · {escape(target)}")
    out.print(f"  saved  {when(version.created_at)} by {escape(version.created_by)}")
    if version.origin:
        out.print(f"  origin {escape(version.origin)} (cloned)")
    out.print(f"  sha256 {version.sha256}")
    out.print("\n[bold]Text[/]")
    for line in version.text.rstrip("\n").splitlines():
        out.print("  " + escape(line), soft_wrap=True)
    out.print("\n[bold]Graph[/]")
    for line in draw_ascii(bp, width=max(20, width - 2)).rstrip("\n").splitlines():
        out.print("  " + escape(line), soft_wrap=True)
    out.print("\n[bold]Tasks[/]")
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("  node", "task", "sha256"):
        table.add_column(column)
    for node, pin in version.pins.items():
        task = f"{pin['task']} (built-in)" if pin.get("builtin") else f"{pin['task']}@{pin['version']}"
        table.add_row("  " + escape(node), escape(task), (pin.get("sha256") or "-")[:12])
    out.print(table)


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List saved blueprints with their latest version."""
    from core.blueprints.registry import list_blueprints

    with open_workspace(ctx) as store:
        saved = list_blueprints(store)
        access = AccessColumn(store, "blueprint")
    if as_json:
        print_json([access.json(item.name, item.to_json()) for item in saved])
        return
    out = console()
    if not saved:
        out.print("No blueprints yet; save one with `taskbench blueprint add FILE`.")
        return
    rows = [
        access.cells(item.name, [escape(item.name), f"v{item.latest.version}", item.latest.target_type or "-",
                                 str(len(item.latest.pins)), escape(item.created_by),
                                 when(item.latest.created_at, short=True)])
        for item in saved
    ]
    table = listing(access.header(["name", "latest", "target", "nodes", "owner", "updated"]), rows,
                    keep=("name", "latest"))
    out.print(table)


@app.command("from-task", no_args_is_help=True)
def from_task(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="TASK[@N]", help="An estimator task: built-in or registered.")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the blueprint to this file.")] = None,
) -> None:
    """Make a single-task blueprint from one estimator task (imputing numbers when it forbids missing values)."""
    from core.blueprints.templates import task_blueprint
    from core.store.files import write_text_atomic

    with open_workspace(ctx) as store:
        text = task_blueprint(store, ref)
    if output is None:
        typer.echo(text, nl=False)
        return
    _check_new_file(output)
    write_text_atomic(output, text)
    _hand_over(output)
    typer.echo(f"Wrote {output}.")


@app.command("export", no_args_is_help=True)
def export(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="NAME[@N]|FILE", help="A saved blueprint or a blueprint file.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="json, dot or mermaid.")] = "json",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write to this file.")] = None,
) -> None:
    """Export a blueprint's graph as JSON, Graphviz DOT or Mermaid."""
    import json

    from core.blueprints.export import to_dot, to_json, to_mermaid
    from core.blueprints.registry import get_blueprint
    from core.blueprints.syntax import BlueprintSyntaxError, parse_blueprint
    from core.errors import EXIT_USAGE
    from core.store.files import write_text_atomic

    if fmt not in FORMATS:
        fail(f"format '{fmt}' is not one of {', '.join(FORMATS)}.", EXIT_USAGE)
    path = Path(source)
    pins = None
    if path.is_file():
        text, where = _read(path), str(path)
    else:
        with open_workspace(ctx) as store:
            version = get_blueprint(store, source)
        text, where, pins = version.text, version.ref, version.pins
    try:
        bp = parse_blueprint(text, where)
    except BlueprintSyntaxError as exc:
        for issue in exc.errors:
            typer.echo(f"{where}:{issue.line}:{issue.column}: error: {issue.message}", err=True)
        fail(f"{where} does not parse; fix it before exporting.", 1)
    if fmt == "json":
        result = json.dumps(to_json(bp, pins), indent=2) + "\n"
    elif fmt == "dot":
        result = to_dot(bp)
    else:
        result = to_mermaid(bp)
    if output is None:
        typer.echo(result, nl=False)
        return
    write_text_atomic(output, result)
    _hand_over(output)
    typer.echo(f"Wrote {output}.")


@app.command("templates")
def templates(
    target_type: Annotated[
        Optional[str], typer.Option("--target-type", help="Print only the templates for binary, multiclass, regression or anomaly.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Print the built-in blueprint templates (of one target type, or all), to copy and edit."""
    from core.blueprints.templates import templates_for

    _check_target(target_type)
    found = templates_for(target_type)
    if as_json:
        print_json([{"name": t.name, "target_type": t.target_type, "description": t.description, "text": t.text}
                    for t in found])
        return
    typer.echo("\n".join(t.text for t in found), nl=False)
