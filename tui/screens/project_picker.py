"""The Blueprints pane's question before training: on which project (only those whose target type fits)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option


class ProjectPicker(ModalScreen):
    """Choose the project to train on: only projects whose target type fits the blueprint are offered (so the
    highlighted one always can be trained on); j/k or the arrows move, enter picks, esc cancels."""

    BINDINGS: ClassVar = [
        Binding("escape", "dismiss", "Cancel"),
        Binding("j", "move(1)", "Down", show=False),
        Binding("k", "move(-1)", "Up", show=False),
    ]

    def __init__(self, projects: list[tuple[str, str, int, bool]], label: str, target_type: str | None = None, left_out: int = 0):
        super().__init__()
        self.projects = projects
        self.label = label
        self.target_type = target_type
        self.left_out = left_out

    def compose(self) -> ComposeResult:
        fits = f" (its target type: {self.target_type})" if self.target_type else ""
        other = f"; {self.left_out} project(s) of another target type not shown" if self.left_out else ""
        with Vertical(id="bp-picker"):
            yield Static(f"Train {self.label} on which project?{fits}{other}\nj/k move, enter trains, esc cancels",
                         id="bp-picker-title", markup=False)
            yield OptionList(
                *(Option(Text(f"{name}  {kind}  {rows:,} rows" + ("  holdout unlocked" if unlocked else "")), id=name)
                  for name, kind, rows, unlocked in self.projects),
                id="bp-picker-list",
            )

    def on_mount(self) -> None:
        options = self.query_one("#bp-picker-list", OptionList)
        options.focus()
        options.highlighted = 0  # every project offered fits, so enter on the first one trains

    def action_move(self, step: int) -> None:
        options = self.query_one("#bp-picker-list", OptionList)
        options.action_cursor_down() if step > 0 else options.action_cursor_up()

    @on(OptionList.OptionSelected, "#bp-picker-list")
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
