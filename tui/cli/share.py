"""`taskbench share`, `unshare` and `shares` (SPEC §10): an owner gives members read or write on an object."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer
from rich.markup import escape

from .common import console, fail, listing, open_workspace, print_json


class Kind(str, Enum):
    task = "task"
    env = "env"
    project = "project"
    blueprint = "blueprint"
    deployment = "deployment"


class Role(str, Enum):
    read = "read"
    write = "write"


KindArgument = Annotated[Kind, typer.Argument(metavar="KIND", help="task, env, project, blueprint or deployment.")]
NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="The object's name.")]
UserArgument = Annotated[Optional[str], typer.Argument(metavar="USER", help="A member of the workspace's group.")]
AllOption = Annotated[bool, typer.Option("--all", help="Every member of the workspace's group.")]

SHARE_HELP = "Give a member (or --all) read or write on a task, env, project, blueprint or deployment you own."
UNSHARE_HELP = "Take back a member's (or --all's) share of an object you own."
SHARES_HELP = "List who has what: every share, or one object's."


def _grantee(user: str | None, everyone: bool) -> str:
    """The member named, or '*' for --all; exactly one of the two."""
    from core.sharing import EVERYONE

    if (user is None) == (not everyone):
        fail("name one member (USER) or pass --all, not both and not neither.", 2)
    return EVERYONE if everyone else user


def _who(grantee: str) -> str:
    return "every member" if grantee == "*" else grantee


def share(
    ctx: typer.Context,
    kind: KindArgument,
    name: NameArgument,
    role: Annotated[Role, typer.Option("--role", help="read: see, download, use; write: also change.")],
    user: UserArgument = None,
    everyone: AllOption = False,
) -> None:
    from core import sharing, workspace

    grantee = _grantee(user, everyone)
    with open_workspace(ctx) as store:
        given = sharing.share(store, workspace.current_user(), kind.value, name, grantee, role.value)
    console().print(f"Shared the {sharing.NOUNS[given.kind]} {escape(given.name)} with {escape(_who(given.grantee))} "
                    f"({given.role}).")


def unshare(ctx: typer.Context, kind: KindArgument, name: NameArgument, user: UserArgument = None,
            everyone: AllOption = False) -> None:
    from core import sharing, workspace

    grantee = _grantee(user, everyone)
    with open_workspace(ctx) as store:
        sharing.unshare(store, workspace.current_user(), kind.value, name, grantee)
    console().print(f"The {sharing.NOUNS[kind.value]} {escape(name)} is no longer shared with "
                    f"{escape(_who(grantee))}.")


def shares(
    ctx: typer.Context,
    kind: Annotated[Optional[Kind], typer.Argument(metavar="[KIND", help="Only this object's shares…")] = None,
    name: Annotated[Optional[str], typer.Argument(metavar="NAME]", help="…the object called NAME.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    from core import sharing

    if kind is not None and name is None:
        fail("give both KIND and NAME to list one object's shares, or neither for every share.", 2)
    with open_workspace(ctx) as store:
        found = sharing.shares(store, kind.value if kind else None, name)
    if as_json:
        print_json([given.to_json() for given in found])
        return
    if not found:
        console().print("Nothing is shared" + (f": the {sharing.NOUNS[kind.value]} {escape(name)} is its owner's "
                                                "alone." if kind else " yet."))
        return
    rows = [[given.kind, escape(given.name), escape(_who(given.grantee)), given.role, escape(given.granted_by),
             given.granted_at] for given in found]
    console().print(listing(["kind", "name", "with", "role", "by", "at"], rows, keep=("name", "with")))


class AccessColumn:
    """What a listing adds in a shared workspace: the acting user's access to each object (and its owner, where
    the listing has no owner column); a private workspace's listings stay as they are."""

    def __init__(self, store, kind: str, *, owner: bool = False):
        from core import sharing, workspace

        self.found = {} if store.sharing is None else sharing.owners_and_access(store, workspace.current_user(), kind)
        self.shared = store.sharing is not None
        self.owner = owner

    def header(self, columns: list[str]) -> list[str]:
        return columns + (["owner"] if self.owner else []) + ["access"] if self.shared else columns

    def cells(self, name: str, row: list[str]) -> list[str]:
        if not self.shared:
            return row
        owner, access = self.found.get(name, ("-", "-"))
        return row + ([escape(owner)] if self.owner else []) + [access]

    def json(self, name: str, data: dict) -> dict:
        if not self.shared:
            return data
        owner, access = self.found.get(name, (None, None))
        return {**data, "owner": owner, "access": access}
