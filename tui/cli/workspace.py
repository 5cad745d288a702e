"""`taskbench workspace init DIR --group GROUP` and `workspace show` (SPEC §10): a team's shared workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from .common import console, fail, open_workspace, print_json

app = typer.Typer(help="Workspaces: create one shared by a Unix group, show the current one.", no_args_is_help=True)


@app.command("init", no_args_is_help=True)
def init(
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="A new or empty folder, or your private workspace to share.")],
    group: Annotated[str, typer.Option("--group", help="The Unix group whose members share it (one of yours).")],
) -> None:
    """Create a shared workspace: group-owned setgid folders (2770), every file group-readable and -writable.

    DIR may also be a private workspace whose files are all yours: it becomes shared in place, its objects kept."""
    from core import workspace
    from core.errors import TaskbenchError
    from core.service import Workspace
    from core.sharing import KINDS

    existing = folder.is_dir() and any(folder.iterdir())
    try:
        shared = workspace.create_shared(folder, group)
        store = Workspace(folder).open_store()
        try:
            owners = sorted({owner for kind in KINDS for owner in store.owners(kind).values()})
        finally:
            store.close()
    except TaskbenchError as exc:
        fail(exc.message, exc.exit_code)
    root = workspace.home(folder)
    members = ", ".join(shared.members()) or "none yet"
    made = "Shared the private workspace" if existing else "Created the shared workspace"
    console().print(f"{made} {escape(str(root))} for the group {escape(group)} "
                    f"(members: {escape(members)}); use it with --home {escape(str(root))} or "
                    f"TASKBENCH_HOME={escape(str(root))}.")
    others = [owner for owner in owners if owner != workspace.system_user()]
    if others:
        console().print(f"Objects recorded as made by {escape(', '.join(others))} keep that owner: only the Unix "
                        "user of that name can share or change them.")


@app.command("show")
def show(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Print the workspace's path, whether it is shared, its group and members, its mode and who you are in it."""
    from core import workspace

    with open_workspace(ctx) as store:
        found = workspace.describe(store.root, store.sharing)
    if as_json:
        print_json(found)
        return
    rows = [
        ("path", found["path"]),
        ("shared", f"yes, by the group {found['group']}" if found["shared"] else "no (private)"),
        ("group", found["group"]),
        ("members", ", ".join(found["members"]) if found["shared"] else "(private: just you)"),
        ("mode", f"{found['mode']} ({found['permissions']}), owner {found['owner']}"),
        ("you", found["user"]),
    ]
    out = console()
    for name, value in rows:
        out.print(f"{name:<8} {escape(value)}")
