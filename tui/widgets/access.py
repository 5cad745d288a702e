"""The owner and access columns every list shows in a shared workspace (SPEC §10), with a shared-with badge.

Core decides who owns what and who may do what (`core.sharing.owners_and_access`); this only draws it, the same
way in every pane. A private workspace reads nothing here: its lists stay as they were.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

COLUMNS = ("owner", "access")
ACCESS_STYLES = {"owner": "bold", "write": "green", "read": "cyan", "none": "red"}


@dataclass(frozen=True)
class Ownership:
    """One object's owner, the acting user's access to it, and who it is shared with ('*': every member)."""

    owner: str
    access: str
    shared_with: tuple[str, ...] = ()

    @property
    def badge(self) -> str:
        """'+all' when shared with every member, '+N' with N members, '' when shared with nobody."""
        if not self.shared_with:
            return ""
        return "+all" if "*" in self.shared_with else f"+{len(self.shared_with)}"

    def cells(self) -> list[Text]:
        """The owner and access cells, plain text (names are never markup)."""
        access = Text(self.access, ACCESS_STYLES.get(self.access, ""))
        if self.badge:
            access.append(f" {self.badge}", "yellow")
        return [Text(self.owner, no_wrap=True, overflow="ellipsis"), access]


def ownerships(store, kind: str) -> dict[str, Ownership] | None:
    """Every object of `kind` by name, with its owner, the acting user's access and its grantees; None in a private
    workspace (no query is made there)."""
    if store.sharing is None:
        return None
    from core import sharing, workspace

    grantees: dict[str, list[str]] = {}
    for given in store.list_shares(kind):
        grantees.setdefault(given.name, []).append(given.grantee)
    found = sharing.owners_and_access(store, workspace.current_user(), kind)
    return {name: Ownership(owner, access, tuple(grantees.get(name, ()))) for name, (owner, access) in found.items()}


def load_ownerships(app, kind: str) -> dict[str, Ownership] | None:
    """`ownerships` for a pane's worker: None at once in a private workspace, else read on a store of its own."""
    if getattr(app, "sharing", None) is None:
        return None
    with app.workspace.store() as store:
        return ownerships(store, kind)


def cells_of(found: dict[str, Ownership] | None, name: str) -> list[Text]:
    """The owner and access cells of `name` (none in a private workspace; '-' for an object core does not list)."""
    if found is None:
        return []
    known = found.get(name)
    return known.cells() if known else [Text("-"), Text("-")]


def widths(found: dict[str, Ownership] | None, names) -> list[int]:
    """The widths the owner and access columns take for `names`, labels included (none in a private workspace)."""
    if found is None:
        return []
    rows = [cells_of(found, name) for name in names]
    return [max([len(label), *(row[i].cell_len for row in rows)]) for i, label in enumerate(COLUMNS)]


__all__ = ["COLUMNS", "Ownership", "cells_of", "load_ownerships", "ownerships", "widths"]
