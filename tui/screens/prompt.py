"""A question answered on one line (a folder to export to, a clone's name), for the panes' keys that need one."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class LinePrompt(ModalScreen):
    """Asks `question` with `value` filled in: enter answers with the text (stripped), esc cancels (None).
    A subclass names its box and field (`BOX`, `FIELD`, styled by id) and its keys line (`HINT`)."""

    BINDINGS: ClassVar = [Binding("escape", "cancel", "Cancel")]
    BOX = ""
    FIELD = ""
    HINT = ""

    def __init__(self, question: str, value: str):
        super().__init__()
        self.question = question
        self.initial = value

    def compose(self) -> ComposeResult:
        with Vertical(id=self.BOX):
            yield Static(Text(self.question))  # it may hold a name or a path: never markup
            yield Input(self.initial, id=self.FIELD)
            yield Static(self.HINT, classes="status")

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)
