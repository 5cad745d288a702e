"""`?`: every key binding, generated from the action registry."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..actions import key_label


class HelpScreen(ModalScreen):
    """A list of every action and its key, global first, then pane by pane; esc closes it."""

    BINDINGS = [Binding("escape", "dismiss", "Close"), Binding("question_mark", "dismiss", "Close", show=False)]

    def __init__(self, actions):
        super().__init__()
        self.actions = actions

    def compose(self) -> ComposeResult:
        lines = ["[b]Keys[/b]  (esc closes; ctrl+p searches every action)", ""]
        current = object()
        for action, pane in self.actions:
            if pane is not current:
                current = pane
                lines += ["", f"[b]{pane.TITLE if pane else 'Everywhere'}[/b]"]
            lines.append(f"  {key_label(action.key):<12} {action.description}")
        with VerticalScroll(id="help-body"):
            yield Static("\n".join(lines), id="help-text")
