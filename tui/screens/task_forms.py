"""The Tasks pane's forms: a fit check's data, target and target type, and a task folder to upload; each a small
modal whose enter moves to the next field and runs from the last."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Static


@dataclass
class FitRequest:
    data: str
    target: str
    target_type: str


@dataclass
class UploadRequest:
    folder: str
    name: str


class PathSuggester(Suggester):
    """Completes file and folder names as the user types a path (right arrow accepts)."""

    def __init__(self, folders_only: bool = False):
        super().__init__(use_cache=False, case_sensitive=True)
        self.folders_only = folders_only

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        typed = Path(value).expanduser()
        base, stem = (typed, "") if value.endswith("/") else (typed.parent, typed.name)
        try:
            entries = sorted(os.scandir(base), key=lambda e: e.name)
        except OSError:
            return None
        for entry in entries:
            if not entry.name.startswith(stem) or entry.name == stem or (entry.name.startswith(".") and not stem.startswith(".")):
                continue
            is_dir = entry.is_dir()
            if self.folders_only and not is_dir:
                continue
            return value[: len(value) - len(stem)] + entry.name + ("/" if is_dir else "")
        return None


class Dialog(ModalScreen):
    """A small form: enter moves to the next field and runs from the last; esc cancels.

    Enter is a priority binding of the form rather than each field's submit: the
    app runs it as it reads the key, so the focus has moved before it reads the
    next one, and text typed right after enter lands in the next field.
    """

    BINDINGS: ClassVar = [
        Binding("escape", "cancel", "Cancel"),
        Binding("enter", "next_field", "Next field", show=False, priority=True),
    ]
    TITLE_TEXT = ""
    HINT = "enter: next field, run from the last  right arrow: complete a path  esc: cancel"

    def fields(self) -> ComposeResult:
        yield from ()

    def compose(self) -> ComposeResult:
        with Vertical(classes="task-dialog"):
            yield Static(Text(self.TITLE_TEXT), classes="pane-title")  # holds a task ref: never markup
            yield from self.fields()
            yield Static(self.HINT, classes="status")

    def action_next_field(self) -> None:
        inputs = list(self.query(Input))
        focused = self.focused
        index = inputs.index(focused) if focused in inputs else -1
        if index + 1 < len(inputs):
            self.set_focus(inputs[index + 1])  # now, so the keys read next go to the next field
        elif focused is not None:
            focused.call_later(self.submit)  # once the field has taken the keys already sent to it
        else:
            self.submit()

    def submit(self) -> None:
        raise NotImplementedError

    def action_cancel(self) -> None:
        self.dismiss(None)


class FitCheckDialog(Dialog):
    """Asks for the data file, the target column and (optionally) the target type of a fit check."""

    def __init__(self, ref: str, target_type: str | None, last: FitRequest | None):
        super().__init__()
        self.ref = ref
        self.target_type = target_type
        self.last = last or FitRequest("", "", "")
        self.TITLE_TEXT = f"Fit check {ref}"

    def fields(self) -> ComposeResult:
        yield Static("Data file (CSV or Parquet)", classes="label")
        yield Input(self.last.data, placeholder="path/to/data.csv", id="fit-data", suggester=PathSuggester(), compact=True)
        yield Static("Target column (empty for transforms and anomaly)", classes="label")
        yield Input(self.last.target, placeholder="column name", id="fit-target", compact=True)
        yield Static("Target type (optional)", classes="label")
        default = f"empty: {self.target_type} (from the metadata)" if self.target_type else "binary, multiclass, regression, anomaly or transform"
        yield Input(self.last.target_type, placeholder=default, id="fit-target-type", compact=True)

    def submit(self) -> None:
        data = self.query_one("#fit-data", Input).value.strip()
        if not data:
            self.set_focus(self.query_one("#fit-data", Input))
            return
        target = self.query_one("#fit-target", Input).value.strip()
        target_type = self.query_one("#fit-target-type", Input).value.strip()
        self.dismiss(FitRequest(data, target, target_type))


class UploadDialog(Dialog):
    """Asks for the task folder to upload and the name to register it under; opened on a task, the name is that
    task's and the title and label say the folder becomes its new version (core refuses one of another kind)."""

    TITLE_TEXT = "Upload a task version"

    def __init__(self, name: str):
        super().__init__()
        self.task_name = name
        if name:
            self.TITLE_TEXT = f"Upload a new version of {name}"

    def fields(self) -> ComposeResult:
        yield Static("Task folder (holding custom.py or custom.R)", classes="label")
        yield Input(placeholder="path/to/task_folder", id="upload-folder", suggester=PathSuggester(folders_only=True), compact=True)
        if self.task_name:
            label = Text(f"Task name (as filled: a new version of {self.task_name}; empty: from model-metadata.yaml, else the folder)")
        else:
            label = Text("Task name (empty: from model-metadata.yaml, else the folder)")
        yield Static(label, classes="label long", id="upload-name-label")  # holds a task name: never markup
        yield Input(self.task_name, placeholder="task name", id="upload-name", compact=True)

    def submit(self) -> None:
        folder = self.query_one("#upload-folder", Input).value.strip()
        if not folder:
            self.set_focus(self.query_one("#upload-folder", Input))
            return
        self.dismiss(UploadRequest(folder, self.query_one("#upload-name", Input).value.strip()))
