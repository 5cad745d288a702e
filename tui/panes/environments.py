"""Environments pane: built-in and custom environments, their versions and Dockerfiles, and image builds.

A build's log streams in on the right; enter moves into it to read it with the
log keys (j/k, pgup/pgdn, g/G), esc goes back to the list.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from ..actions import bindings, pane_action
from ..widgets.streamlog import StreamLog
from ..widgets.table import FittedTable
from . import Pane

NAME = "EnvironmentsPane"
ACTIONS = [
    pane_action(NAME, "build", "b", "Build the selected environment's image"),
    pane_action(NAME, "open", "enter", "Read the build log (j/k, pgup/pgdn, g/G scroll it)"),
    pane_action(NAME, "back", "escape", "Back to the list", show=False),
    pane_action(NAME, "reload", "r", "Reload the list", show=False),
]
HINT = "b build  enter read the log  esc back"


class EnvironmentsPane(Pane):
    """Lists environments (name, kind, latest version, build state); shows the Dockerfile; builds live."""

    KEY = "2"
    TITLE = "Environments"
    ACTIONS = ACTIONS
    BINDINGS = bindings(ACTIONS) + [("j", "cursor_down", "Down"), ("k", "cursor_up", "Up")]

    @dataclass
    class Loaded(Message):
        rows: list

    @dataclass
    class Detail(Message):
        text: str

    @dataclass
    class BuildLine(Message):
        line: str

    def compose(self) -> ComposeResult:
        with Horizontal():
            with Vertical(id="env-left"):
                yield Static("Environments", classes="pane-title")
                yield FittedTable(id="env-table", cursor_type="row", zebra_stripes=False)
                yield Static(HINT, classes="status", id="env-status")
            with Vertical(id="env-right"):
                yield Static("", id="env-detail")
                yield StreamLog(id="env-log", max_lines=5000, wrap=False, markup=False)

    def on_mount(self) -> None:
        table = self.query_one("#env-table", DataTable)
        table.add_columns("name", "kind", "latest", "build")

    def refresh_data(self) -> None:
        self.load()

    def action_reload(self) -> None:
        self.load()

    def action_cursor_down(self) -> None:
        self.query_one("#env-table", DataTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one("#env-table", DataTable).action_cursor_up()

    @on(DataTable.RowSelected, "#env-table")
    def row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_open(self) -> None:
        self.query_one("#env-log", StreamLog).focus()

    def action_back(self) -> None:
        self.query_one("#env-table", DataTable).focus()

    @work(thread=True, exclusive=True, group="env-load", exit_on_error=False)
    def load(self) -> None:
        from core.registry.environments import list_environments
        from core.store import open_store

        with open_store(self.app.home) as store:
            envs = list_environments(store)
        rows = [
            (e.name, e.kind, f"v{e.latest.version}" if e.latest else "-", e.latest.status if e.latest else ("built" if e.kind == "local" else "-"))
            for e in envs
        ]
        self.post_message(self.Loaded(rows))

    @on(Loaded)
    def show_rows(self, message: Loaded) -> None:
        table = self.query_one("#env-table", DataTable)
        selected = table.cursor_row
        table.clear()
        for row in message.rows:
            table.add_row(*row, key=row[0])
        if message.rows:
            table.move_cursor(row=min(selected, len(message.rows) - 1))

    def selected_name(self) -> str | None:
        table = self.query_one("#env-table", DataTable)
        if table.row_count == 0:
            return None
        return str(table.get_row_at(table.cursor_row)[0])

    @on(DataTable.RowHighlighted, "#env-table")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        name = self.selected_name()
        if name:
            self.describe(name)

    @work(thread=True, exclusive=True, group="env-detail", exit_on_error=False)
    def describe(self, name: str) -> None:
        from core.registry.environments import LOCAL, get_environment_version
        from core.store import open_store

        if name == LOCAL:
            import sys

            self.post_message(self.Detail(f"{LOCAL}: the Python taskbench runs on ({sys.executable}); nothing to build."))
            return
        with open_store(self.app.home) as store:
            version = get_environment_version(store, name)
        dockerfile = version.dockerfile.read_text(errors="replace") if version.dockerfile.exists() else "(no Dockerfile)"
        header = f"{version.ref}  {version.status}" + (f"  image {version.image_id[:19]}" if version.image_id else "")
        self.post_message(self.Detail(f"{header}\n{dockerfile}"))

    @on(Detail)
    def show_detail(self, message: Detail) -> None:
        self.query_one("#env-detail", Static).update(message.text)

    def action_build(self) -> None:
        name = self.selected_name()
        if not name:
            return
        self.query_one("#env-log", StreamLog).clear()
        self.query_one("#env-status", Static).update(f"building {name}…")
        self.build(name)

    @work(thread=True, exclusive=True, group="env-build", exit_on_error=False)
    def build(self, name: str) -> None:
        from core.environments.build import build_environment
        from core.environments.resolve import docker_ready
        from core.errors import TaskbenchError
        from core.store import open_store

        try:
            docker_ready()
            with open_store(self.app.home) as store:
                version, tag, built = build_environment(store, name, lambda line: self.post_message(self.BuildLine(line)))
            self.post_message(self.BuildLine(f"{'built' if built else 'up to date:'} {version.ref} as {tag}"))
        except TaskbenchError as exc:
            self.post_message(self.BuildLine(f"error: {exc.message}"))
        self.load()

    @on(BuildLine)
    def show_build_line(self, message: BuildLine) -> None:
        self.query_one("#env-log", StreamLog).write(message.line)
        if message.line.startswith(("built", "up to date", "error")):
            self.query_one("#env-status", Static).update(message.line)
