"""The Blueprints pane's question before a clone: the name of the new blueprint (default NAME-copy)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class ClonePrompt(ModalScreen):
    """Asks for the clone's name; enter clones (an emptied field: core's default name), esc cancels."""

    BINDINGS: ClassVar = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    ClonePrompt { align: center middle; }
    #bp-clone { width: 64; height: auto; border: round $accent; background: $surface; padding: 0 1; }
    """

    def __init__(self, ref: str, suggestion: str):
        super().__init__()
        self.ref = ref
        self.suggestion = suggestion

    def compose(self) -> ComposeResult:
        with Vertical(id="bp-clone"):
            yield Static(Text(f"Clone {self.ref} as your own blueprint named:"))  # a name: never markup
            yield Input(self.suggestion, id="bp-clone-name")
            yield Static("enter clones and opens it   esc cancels", classes="status")

    @on(Input.Submitted, "#bp-clone-name")
    def submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or "")

    def action_cancel(self) -> None:
        self.dismiss(None)
