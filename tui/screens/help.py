"""`?`: every key binding, generated from the action registry."""

from __future__ import annotations

from rich.text import Text
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
        text = Text()
        text.append("Keys", style="bold")
        text.append("  (esc closes; ctrl+p searches every action)\n")
        text.append("In a text field or the blueprint editor every printable key is typed, 1–6, q and ? too: "
                    "esc leaves it (then the keys below work), e goes back into the editor, p to its problems.\n")
        current = object()
        for action, pane in self.actions:
            if pane is not current:
                current = pane
                text.append(f"\n{pane.TITLE if pane else 'Everywhere'}\n", style="bold")
            text.append(f"  {key_label(action.key):<12} {action.description}\n")
        with VerticalScroll(id="help-body"):
            yield Static(text, id="help-text")
