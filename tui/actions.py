"""One registry of the workbench's actions: key bindings, the `?` help and the command palette all read it.

A pane declares its own actions with `pane_action`; global ones live here. Nothing
else lists keys, so the help screen and the palette cannot drift from the bindings.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Action:
    """A named action: its key, what it does in a phrase, and where it applies (None = everywhere)."""

    name: str
    key: str
    description: str
    pane: str | None = None
    show: bool = True  # in the footer (secondary bindings stay out of it)

    priority: bool = False  # checked before the focused widget's own keys (pane switching)
    short: str = ""  # the footer's word for it at 80 columns; help, palette and README use `description`

    def binding(self) -> Binding:
        return Binding(self.key, self.name, self.short or self.description, show=self.show, priority=self.priority)


GLOBAL_ACTIONS = [
    Action("next_pane", "tab", "Next pane", show=False, priority=True),
    Action("previous_pane", "shift+tab", "Previous pane", show=False, priority=True),
    Action("help", "question_mark", "Keys (help)", short="keys"),
    Action("command_palette", "ctrl+p", "Commands", show=False),
    # in the footer only in a shared workspace (TaskbenchApp): in a private one it says sharing needs one
    Action("shares", "S", "Shares of the selected object (a share, x unshare)", show=False, short="shares"),
    Action("quit", "q", "Quit", short="quit"),
]


def pane_action(pane: str, name: str, key: str, description: str, show: bool = True, short: str = "") -> Action:
    """An action that applies inside one pane (`short`: a one-word footer label, so the footer fits 80 columns)."""
    return Action(name, key, description, pane=pane, show=show, short=short)


def bindings(actions: list[Action]) -> list[Binding]:
    return [a.binding() for a in actions]


def key_label(key: str) -> str:
    """A key as people write it: '?' rather than 'question_mark'."""
    names = {
        "question_mark": "?",
        "slash": "/",
        "escape": "esc",
        "left_square_bracket": "[",
        "right_square_bracket": "]",
    }
    return names.get(key, key)
