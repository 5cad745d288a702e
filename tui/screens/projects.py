"""The Projects pane's questions: unlocking a project's holdout for good, and where to export a model's artifacts."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from .prompt import LinePrompt


class ConfirmUnlock(ModalScreen):
    """Asks once before the holdout of a project is unlocked for good: y unlocks, n or esc keeps it locked."""

    BINDINGS: ClassVar = [Binding("y", "answer(True)", "Unlock"), Binding("n,escape", "answer(False)", "Keep locked")]

    def __init__(self, project: str):
        super().__init__()
        self.project = project

    def compose(self) -> ComposeResult:
        with Vertical(id="proj-confirm"):
            yield Static(
                f"Unlock the holdout of {self.project}?\n\nThis is permanent: every model is scored on the holdout and "
                "holdout scores are shown from now on.\n\ny unlocks   n keeps it locked",
                markup=False,
            )

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class ExportPrompt(LinePrompt):
    """Asks for the folder to export a model's artifacts to; enter exports, esc cancels."""

    BOX = "proj-export"
    FIELD = "proj-export-path"
    HINT = "enter exports   esc cancels"

    def __init__(self, model_id: int, suggestion: str):
        super().__init__(f"Export the artifacts of model {model_id} to a new or empty folder:", suggestion)
        self.model_id = model_id
