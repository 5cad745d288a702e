"""`taskbench env …`: built-in and custom environments and their versions (SPEC §3, §11)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.text import Text

from core.errors import TaskbenchError

from .common import console, counted, open_workspace, print_json, size, when, listing
from .share import AccessColumn

app = typer.Typer(
    help="Environments tasks run in: the local Python, built-in and custom Docker images.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@app.command("add", no_args_is_help=True)
def add(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(metavar="FOLDER", help="A folder holding a Dockerfile and the files it copies.")],
    name: Annotated[Optional[str], typer.Option("--name", help="Environment name (default: the folder's name).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Register a Dockerfile folder as a new environment version; identical content makes no new version."""
    from core.environments.versions import add_environment

    with open_workspace(ctx) as store:
        version, created = add_environment(store, folder, name=name)
    if as_json:
        print_json({"environment": version.environment, "version": version.version, "created": created,
                    "sha256": version.sha256})
        return
    if created:
        console().print(
            f"Added [bold]{escape(version.ref)}[/] ({counted(len(version.files), 'file')}, sha256 {version.sha256[:12]}); "
            f"build it with `taskbench env build {escape(version.ref)}`."
        )
    else:
        console().print(
            f"{escape(version.ref)} already has this content (sha256 {version.sha256[:12]}); no new version was made."
        )


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List environments: built-ins first, then custom ones."""
    from core.environments.versions import list_environments

    with open_workspace(ctx) as store:
        envs = list_environments(store)
        access = AccessColumn(store, "env")
    if as_json:
        print_json([access.json(env.name, env.to_json()) for env in envs])
        return
    rows = [
        access.cells(env.name, [
            escape(env.name) + (" [dim](built-in)[/]" if env.builtin else ""),
            env.kind,
            f"v{env.latest.version}" if env.latest else "-",
            env.to_json()["status"],
            escape((env.latest.image_id or "-")[:19]) if env.latest else "-",
            escape(env.created_by),
        ])
        for env in envs
    ]
    table = listing(access.header(["name", "kind", "latest", "build", "image", "owner"]), rows, keep=("name",))
    console().print(table)


@app.command("show", no_args_is_help=True)
def show(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="NAME[@N]", help="Environment name, optionally pinned to a version.")],
    as_json: JsonOption = False,
) -> None:
    """Show an environment version: its Dockerfile, files, build state and image."""
    from core.environments.versions import get_environment, get_environment_version

    with open_workspace(ctx) as store:
        env = get_environment(store, ref)
        version = None if env.kind == "local" else get_environment_version(store, ref)
    out = console()
    if version is None:
        if as_json:
            print_json({**env.to_json(), "python": sys.executable, "python_version": sys.version.split()[0]})
            return
        out.print(f"[bold]{escape(env.name)}[/] · built-in · local")
        out.print(f"  {escape(env.description)}")
        out.print(f"  python   {escape(sys.executable)} ({sys.version.split()[0]})")
        out.print("  runs     as you: your files, your network; only time and memory are limited")
        return
    dockerfile = version.dockerfile.read_text(errors="replace") if version.dockerfile.is_file() else ""
    if as_json:
        print_json({**version.to_json(), "builtin": env.builtin, "dockerfile": dockerfile})
        return
    origin = "built-in" if env.builtin else f"custom, by {escape(env.created_by)}"
    out.print(f"[bold]{escape(version.ref)}[/] · {origin} · docker · version {version.version} of {env.version_count}")
    out.print(f"  sha256    {version.sha256}")
    out.print(f"  build     {version.status}" + (f" at {when(version.built_at)}" if version.built_at else ""))
    out.print(f"  image     {escape(version.image_id or '-')}")
    if version.build_job_id:
        out.print(f"  build log `taskbench logs {version.build_job_id}`")
    out.print(f"  added     {when(version.created_at)} by {escape(version.created_by)}")
    out.print("\n[bold]Files[/]")
    for entry in version.files:
        out.print(Text(f"  {entry.path:<40} {size(entry.size):>10}"), soft_wrap=True)
    out.print("\n[bold]Dockerfile[/]")
    for line in dockerfile.splitlines():
        out.print(Text(f"  {line}"), soft_wrap=True)  # user text: never markup, backslashes as written


@app.command("download", no_args_is_help=True)
def download(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="NAME[@N]", help="Environment name, optionally pinned to a version.")],
    to: Annotated[Path, typer.Option("--to", help="A new or empty folder to write the Dockerfile and files into.")],
) -> None:
    """Write an environment version's Dockerfile and files into a folder."""
    from core.environments.versions import download_environment

    with open_workspace(ctx) as store:
        version = download_environment(store, ref, to)
    console().print(f"Wrote {escape(version.ref)} ({counted(len(version.files), 'file')}) to {escape(str(to))}.")


@app.command("build", no_args_is_help=True)
def build(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="NAME[@N]", help="Environment name, optionally pinned to a version.")],
    force: Annotated[bool, typer.Option("--force", help="Build even when the image already exists.")] = False,
) -> None:
    """Build an environment's Docker image, streaming the build log (kept as a job log)."""
    from core.environments.build import build_environment

    out = console()
    with open_workspace(ctx) as store:
        try:
            version, tag, built = build_environment(
                store, ref, lambda line: out.print(f"[dim]  |[/] {escape(line)}", highlight=False), force=force
            )
        except TaskbenchError as exc:
            if exc.details:
                for line in exc.details.splitlines()[-15:]:
                    out.print(f"  {escape(line)}", highlight=False)
            raise
    verb = "Built" if built else "Up to date:"
    out.print(f"{verb} {escape(version.ref)} as image {escape(tag)}.")
