"""A yes/no question in a small modal: the workbench asks before it throws work away (quitting with unsaved edits or running jobs)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class ConfirmQuit(ModalScreen[bool]):
    """Says what quitting would lose; `q` or `y` quits anyway, esc or `n` stays."""

    BINDINGS = [
        Binding("q,y", "answer(True)", "Quit anyway"),
        Binding("escape,n", "answer(False)", "Stay"),
    ]
    DEFAULT_CSS = """
    ConfirmQuit { align: center middle; }
    #confirm-box { width: 64; height: auto; max-height: 90%; border: round $warning; background: $surface; padding: 0 1; }
    #confirm-keys { margin-top: 1; text-style: bold; }
    """

    def __init__(self, losses: list[str]):
        super().__init__()
        self.losses = losses

    def compose(self) -> ComposeResult:
        text = Text("Quit taskbench?", style="bold")
        for loss in self.losses:
            text.append(f"\n• {loss}", style="not bold")  # user text (blueprint and task names) stays plain text
        with Vertical(id="confirm-box"):
            yield Static(text, id="confirm-text")
            yield Static("q quit anyway    esc stay", id="confirm-keys", markup=False)

    def action_answer(self, quit_anyway: bool) -> None:
        self.dismiss(quit_anyway)
