"""Environments pane: built-in and custom environments, their versions and Dockerfiles, and image builds.

The right side is the version's header, its Dockerfile and its build log, each
sized by its content: with no build log yet, one line says so and the Dockerfile
gets the room. A build's log streams in; enter moves into it and d into the
Dockerfile to read them with the reading keys (j/k, h/l, pgup/pgdn, g/G), esc
goes back to the list.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from core.runtime.contract import LOCAL_ENV

from ..actions import bindings, pane_action
from ..widgets.access import COLUMNS, cells_of, load_ownerships
from ..widgets.keyshint import KeysHint
from ..widgets.reader import Reader
from ..widgets.streamlog import StreamLog
from ..widgets.table import FittedTable
from . import Pane

NAME = "EnvironmentsPane"
ACTIONS = [
    pane_action(NAME, "build", "b", "Build the selected environment's image", short="build"),
    pane_action(NAME, "open", "enter", "Read the build log (j/k, h/l, pgup/pgdn, g/G scroll it)", short="log"),
    pane_action(NAME, "dockerfile", "d", "Read the Dockerfile (j/k, h/l, pgup/pgdn, g/G scroll it)", short="Dockerfile"),
    pane_action(NAME, "checks", "c", "Check what this machine can do (taskbench doctor) into the log", short="checks"),
    pane_action(NAME, "back", "escape", "Back to the list", show=False, short="back"),
    pane_action(NAME, "reload", "r", "Reload the list", show=False),
]
MIN_LIST = 30  # columns the list keeps however short its rows: its keys and messages need a line
HISTORY_LINES = 2000  # of an earlier build's job log, the last ones shown


def short_image(image: str) -> str:
    """An image as the header shows it: a tag whole (a name is never cut), an id as Docker's short form."""
    return image[:19] if image.startswith("sha256:") else image


class EnvironmentsPane(Pane):
    """Lists environments (name, kind, latest version, build state); shows the Dockerfile; builds live."""

    KEY = "2"
    TITLE = "Environments"
    ACTIONS = ACTIONS
    BINDINGS = bindings(ACTIONS) + [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        # d on python-local: the Dockerfile action is off (and not offered), so this one answers why instead of silence
        Binding("d", "no_dockerfile", "Why no Dockerfile", show=False),
    ]

    @dataclass
    class Loaded(Message):
        rows: list

    @dataclass
    class Detail(Message):
        header: str
        dockerfile: str | None  # None: the environment has no Dockerfile to show (python-local)

    @dataclass
    class BuildLine(Message):
        line: str

    @dataclass
    class Checked(Message):
        lines: list  # the report, one check per line (its fix on the next), the summary last
        blocking: int  # how many failed checks the configuration needs

    @dataclass
    class History(Message):
        name: str
        lines: list  # the latest build's log, header first; empty when there is none
        note: str = ""  # what to say instead when there is no log

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.building: str | None = None  # the environment whose build streams into the log now
        self.streamed: str | None = None  # the environment whose live build is what the log shows
        self.log_note = ""  # the sentence shown instead of a build log, when there is none
        self.rows: list | None = None  # the last rows loaded, laid out again when the pane is resized

    def compose(self) -> ComposeResult:
        with Horizontal():
            with Vertical(id="env-left"):
                yield Static("Environments", classes="pane-title")
                yield FittedTable(id="env-table", cursor_type="row", zebra_stripes=False)
                yield KeysHint(ACTIONS, classes="status", id="env-status")
            with Vertical(id="env-right"):
                yield Static("", id="env-header", markup=False)
                with Reader(id="env-detail-box"):
                    yield Static("", id="env-detail", markup=False)
                yield Static("", id="env-log-note", markup=False)
                yield StreamLog(id="env-log", max_lines=5000, min_width=20, markup=False)

    def on_mount(self) -> None:
        table = self.query_one("#env-table", DataTable)
        # a shared workspace shows the owner and your access instead of the kind (the header on the right says it)
        table.add_columns("name", *(("ver", "build", *COLUMNS) if self.app.sharing else ("kind", "ver", "build")))
        self.show_log_note("")

    def refresh_data(self) -> None:
        self.load()

    def action_reload(self) -> None:
        self.load()

    @on(DataTable.RowSelected, "#env-table")
    def row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_open(self) -> None:
        log = self.query_one("#env-log", StreamLog)
        if log.display:
            self.screen.set_focus(log)  # now, so keys typed right after land in the log
        else:
            self.say(self.log_note)

    def action_dockerfile(self) -> None:
        box = self.query_one("#env-detail-box", Reader)
        if box.display:
            self.screen.set_focus(box)
        else:
            self.say("this environment has no Dockerfile")

    def action_no_dockerfile(self) -> None:
        self.say(f"{LOCAL_ENV} runs on this machine's own Python, not in an image: it has no Dockerfile.")

    def action_cursor_down(self) -> None:
        self.query_one("#env-table", DataTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one("#env-table", DataTable).action_cursor_up()

    def say(self, text: str, error: bool = False) -> None:
        """A message in the narrow left pane: an image tag is never split across rows (the log beside has it whole)."""
        self.query_one("#env-status", KeysHint).say(text, error, cut_long_words=True)

    def show_log_note(self, note: str) -> None:
        """With a note, the log's place is one sentence and the Dockerfile takes the room; without, the log shows."""
        self.log_note = note
        self.query_one("#env-log-note", Static).update(Text(note))
        self.query_one("#env-log-note").display = bool(note)
        self.query_one("#env-log", StreamLog).display = not note
        self.set_class(bool(note), "-no-log")
        self.refresh_bindings()

    def action_back(self) -> None:
        self.query_one("#env-table", DataTable).focus()

    def shared_object(self) -> tuple[str, str] | str:
        name = self.selected_name()
        return ("env", name) if name else "no environment is selected; pick one in the list first."

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """python-local has no image to build and no Dockerfile, and with no build log there is none to open: those
        keys are hidden from the footer and the hint line rather than answering "nothing to do"."""
        if not self.is_mounted:
            return True
        if action in ("build", "dockerfile"):
            return self.selected_name() not in (None, LOCAL_ENV)
        if action == "no_dockerfile":
            return self.selected_name() == LOCAL_ENV
        if action == "open":
            return not self.log_note or self.streamed == "checks"
        if action == "back":  # esc leaves the log or the Dockerfile; on the list it has nowhere to go
            return not self.query_one("#env-table", DataTable).has_focus
        return True

    @work(thread=True, exclusive=True, group="env-load", exit_on_error=False)
    def load(self) -> None:
        envs = self.app.workspace.environments()
        ownerships = load_ownerships(self.app, "env")
        rows = [
            (e.name, *([] if ownerships is not None else [e.kind]), f"v{e.latest.version}" if e.latest else "-",
             e.latest.status if e.latest else ("built" if e.kind == "local" else "-"), *cells_of(ownerships, e.name))
            for e in envs
        ]
        self.post_message(self.Loaded(rows))

    def on_resize(self) -> None:
        if self.rows is not None:
            self.show_rows(self.Loaded(self.rows))  # the list's width follows the pane's

    @on(Loaded)
    def show_rows(self, message: Loaded) -> None:
        self.rows = message.rows
        table = self.query_one("#env-table", DataTable)
        selected = self.selected_name()  # kept by name: a reload may add or remove rows above it
        table.clear()
        # the list is as wide as its rows, up to half the pane (65% when shared; the Dockerfile gets the rest); a name longer than
        # that is cut with …, so the state is never pushed out of view
        share = 0.65 if self.app.sharing else 0.5  # the owner and access columns take room of their own
        limit = max(MIN_LIST, int((self.size.width or 80) * share))
        labels = [str(column.label) for column in table.ordered_columns][1:]
        others = sum(max([len(label), *(len(str(r[i])) for r in message.rows)]) + 2 for i, label in enumerate(labels, 1))
        room = max(12, limit - others - 2 - 1)
        for row in message.rows:
            name = row[0] if len(row[0]) <= room else row[0][: room - 1] + "…"
            table.add_row(name, *row[1:], key=row[0])
        content = sum(column.get_render_width(table) for column in table.ordered_columns) + 1
        self.query_one("#env-left").styles.width = min(limit, max(MIN_LIST, content))
        names = [row[0] for row in message.rows]
        if names:
            table.move_cursor(row=names.index(selected) if selected in names else 0)

    def selected_name(self) -> str | None:
        table = self.query_one("#env-table", DataTable)
        if table.row_count == 0:
            return None
        return table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value  # the whole name, not the cut cell

    @on(DataTable.RowHighlighted, "#env-table")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        name = self.selected_name()
        if name:
            self.describe(name)
        self.refresh_bindings()

    @work(thread=True, exclusive=True, group="env-detail", exit_on_error=False)
    def describe(self, name: str) -> None:
        from core.environments.versions import LOCAL, get_environment_version

        if name == LOCAL:
            import sys

            self.post_message(self.Detail(f"{LOCAL}: the Python taskbench runs on ({sys.executable}); nothing to build.", None))
            self.post_message(self.History(name, [], f"{LOCAL} has no image to build"))
            return
        from core.errors import TaskbenchError

        try:
            with self.app.workspace.store() as store:
                version = get_environment_version(store, name)
                job = None
                if version.build_job_id is not None:
                    from core.jobs import get_job

                    job = get_job(store, version.build_job_id)
        except TaskbenchError as exc:  # e.g. a changed stored version (integrity): its sentence, and nothing of it
            self.post_message(self.Detail(f"error: {exc.message}", None))
            self.post_message(self.History(name, [], "nothing shown: see the error above"))
            return
        dockerfile = version.dockerfile.read_text(errors="replace") if version.dockerfile.exists() else "(no Dockerfile)"
        header = f"{version.ref}  {version.status}" + (f"  image {short_image(version.image_id)}" if version.image_id else "")
        self.post_message(self.Detail(header, dockerfile))
        if job is not None:
            lines = [f"build job #{job.id} {job.state}" + (f": {job.message}" if job.message else "")]
            if job.log_path is not None and job.log_path.exists():
                from collections import deque

                with open(job.log_path, encoding="utf-8", errors="replace") as fh:
                    lines += [line.rstrip("\n") for line in deque(fh, HISTORY_LINES)]
            self.post_message(self.History(name, lines))
        elif version.status == "built":  # found present by a fit or a build with nothing to do: no job, no log
            self.post_message(self.History(name, [], "image present, built without a build job here (so no log); b checks it is still there"))
        else:
            self.post_message(self.History(name, [], "no build yet: b builds the image"))

    @on(Detail)
    def show_detail(self, message: Detail) -> None:
        self.query_one("#env-header", Static).update(Text(message.header))  # wraps: a path is read whole
        box = self.query_one("#env-detail-box", Reader)
        box.display = message.dockerfile is not None
        self.query_one("#env-detail", Static).update(Text(message.dockerfile or ""))  # a Dockerfile's [global] is text, not markup
        box.scroll_to(0, 0, animate=False, immediate=True)

    @on(History)
    def show_history(self, message: History) -> None:
        if self.building is not None or message.name != self.selected_name() or message.name == self.streamed:
            return  # a build streams into the log now, the cursor moved on, or this build's live lines are shown
        self.streamed = None
        log = self.query_one("#env-log", StreamLog)
        log.clear()
        self.show_log_note(message.note if not message.lines else "")
        for line in message.lines:
            log.write_line(line)

    def action_build(self) -> None:
        name = self.selected_name()
        if not name:
            return
        self.building = self.streamed = name
        self.query_one("#env-log", StreamLog).clear()
        self.show_log_note("")
        self.say(f"building {name}…")
        self.build(name)

    @work(thread=True, exclusive=True, group="env-build", exit_on_error=False)
    def build(self, name: str) -> None:
        from core.environments.build import build_environment
        from core.environments.resolve import docker_ready
        from core.errors import TaskbenchError

        try:
            docker_ready()
            with self.app.workspace.store() as store:
                version, tag, built = build_environment(store, name, lambda line: self.post_message(self.BuildLine(line)))
            self.post_message(self.BuildLine(f"built {version.ref} as {tag}" if built else f"up to date: {version.ref}'s image is present, nothing to build"))
        except TaskbenchError as exc:
            self.post_message(self.BuildLine(f"error: {exc.message}"))
        self.load()

    def action_checks(self) -> None:
        self.streamed = "checks"  # a history arriving for the selected environment leaves the report alone
        self.query_one("#env-log", StreamLog).clear()
        self.show_log_note("")
        self.say("checking this machine…")
        self.run_checks()

    @work(thread=True, exclusive=True, group="env-checks", exit_on_error=False)
    def run_checks(self) -> None:
        from core.doctor import report_lines, run_checks

        checks = run_checks(self.app.workspace.home)
        self.post_message(self.Checked(report_lines(checks), sum(c.blocking for c in checks)))

    @on(Checked)
    def show_checks(self, message: Checked) -> None:
        log = self.query_one("#env-log", StreamLog)
        log.clear()
        for line in message.lines:
            log.write_line(line)
        self.say(message.lines[-1], error=bool(message.blocking))

    @on(BuildLine)
    def show_build_line(self, message: BuildLine) -> None:
        self.query_one("#env-log", StreamLog).write_line(message.line)
        if message.line.startswith(("built", "up to date", "error")):
            self.building = None
            self.say(message.line, error=message.line.startswith("error"))
