"""Jobs pane: every job with its state, refreshed live, and the selected job's log tailed below (or beside) it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Container, Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from ..actions import bindings, pane_action
from ..numbers import duration
from ..widgets.logview import LogView
from ..widgets.table import FittedTable
from . import Pane

NAME = "JobsPane"
REFRESH_SECONDS = 1.0
JOB_LIMIT = 1000  # newest jobs listed; older ones stay reachable with `taskbench jobs`
WIDE = 160  # from this width the log sits beside the list, each still about 80 columns wide
LIST_SHARE = 45  # per cent of the width the list gets beside the log (as in jobs.tcss)
OTHER_COLUMNS = 46  # id, kind, state, time, by, cell padding and scrollbar: what the title column leaves

# Every key here works anywhere in the pane; the log's keys act on the open log even from the list.
PANE_ACTIONS = [
    pane_action(NAME, "open", "enter", "Open the job's log", short="log"),
    pane_action(NAME, "filter", "slash", "Filter jobs", short="filter"),
    pane_action(NAME, "log('toggle_follow')", "f", "Follow the log", short="follow"),
    pane_action(NAME, "log('previous_error')", "e", "Previous error in the log", short="error"),
    pane_action(NAME, "log('next_error')", "E", "Next error down in the log", show=False),
    pane_action(NAME, "log('next_match')", "n", "Next match up in the log", show=False),
    pane_action(NAME, "log('previous_match')", "N", "Next match down in the log", show=False),
    pane_action(NAME, "log('toggle_wrap')", "w", "Wrap long log lines", short="wrap"),
    pane_action(NAME, "log('right')", "l", "Scroll the log right", show=False),
    pane_action(NAME, "log('left')", "h", "Scroll the log left", show=False),
    pane_action(NAME, "log('top')", "g", "Start of the log", show=False),
    pane_action(NAME, "log('bottom')", "G", "End of the log, following", show=False),
    pane_action(NAME, "cursor_down", "j", "Down (in the list or the log)", show=False),
    pane_action(NAME, "cursor_up", "k", "Up (in the list or the log)", show=False),
    pane_action(NAME, "back", "escape", "Back to the job list", show=False),
    pane_action(NAME, "reload", "r", "Reload the list", show=False),
]
# With the focus in the log view, its own bindings answer first: there `/` searches the log.
ACTIONS = [*PANE_ACTIONS, pane_action(NAME, "log('search')", "slash", "Search the log (from the log)", show=False)]

COLUMNS = [("id", "id"), ("kind", "kind"), ("title", "title"), ("state", "state"), ("time", "duration"), ("by", "by")]
STATE_STYLES = {"running": "bold", "queued": "dim", "failed": "red", "interrupted": "yellow", "cancelled": "yellow", "succeeded": "green"}


@dataclass(frozen=True)
class JobRow:
    """What the list shows of one job."""

    id: int
    kind: str
    title: str
    state: str
    seconds: float | None
    by: str
    log_path: Path | None
    active: bool
    message: str | None = None  # the engine's sentence on how it ended (a failure's reason)

    def cells(self, title_width: int) -> tuple:
        title = self.title if len(self.title) <= title_width else self.title[: title_width - 1] + "…"
        return (f"#{self.id}", self.kind, title, Text(self.state, style=STATE_STYLES.get(self.state, "")), duration(self.seconds), self.by)

    def matches(self, text: str) -> bool:
        return text in f"#{self.id} {self.kind} {self.title} {self.state} {self.by}".lower()


NO_JOBS = "none yet: fit checks, builds, trainings and predictions appear here"


class JobsPane(Pane):
    """Lists jobs newest first (refreshed every second, no key needed); enter tails the selected job's log."""

    KEY = "5"
    TITLE = "Jobs"
    ACTIONS = ACTIONS
    BINDINGS = bindings(PANE_ACTIONS)

    @dataclass
    class Loaded(Message):
        rows: list[JobRow]

    @dataclass
    class LogChecked(Message):
        """Core's answer on reading a job's log in a shared workspace: None allows it, else its one sentence."""

        job: int
        refusal: str | None

    def __init__(self, *, id: str | None = None):
        super().__init__(id=id)
        self.rows: list[JobRow] = []
        self.shown: list[JobRow] = []
        self.log_job: JobRow | None = None  # the job whose log is open
        self.title_width = 28
        self._had_rows = True  # whether the list had jobs when the keys were last shown

    def compose(self) -> ComposeResult:
        with Container(id="jobs-body"):
            with Vertical(id="jobs-list"):
                yield Static("Jobs", classes="pane-title", id="jobs-title", markup=False)
                yield Input(placeholder="filter: id, kind, title, state or user (enter keeps it, esc clears)", id="jobs-filter")
                yield FittedTable(id="jobs-table", cursor_type="row", zebra_stripes=False)
            with Vertical(id="jobs-log-box"):
                yield Static("Log · enter on a job opens its log", classes="pane-title", id="jobs-log-title", markup=False)
                yield Static("", id="jobs-failure", markup=False)
                yield LogView(id="jobs-log")

    def on_mount(self) -> None:
        table = self.query_one("#jobs-table", DataTable)
        for label, key in COLUMNS:
            table.add_column(label, key=key)
        self.watch(self.log_view.lines, "following", lambda _: self._show_log_title())
        self.set_interval(REFRESH_SECONDS, self._tick)

    @property
    def log_view(self) -> LogView:
        return self.query_one("#jobs-log", LogView)

    @property
    def table(self) -> DataTable:
        return self.query_one("#jobs-table", DataTable)

    def on_resize(self) -> None:
        wide = self.size.width >= WIDE
        self.set_class(wide, "-wide")
        self._fit_titles(self.size.width * LIST_SHARE // 100 if wide else self.size.width)

    def _fit_titles(self, list_width: int) -> None:
        """Give the title column what the list's width leaves, so the other columns stay in view."""
        width = max(12, min(60, list_width - OTHER_COLUMNS))
        if width != self.title_width:
            self.title_width = width
            self.shown = []  # redraw every row
            self._show_rows()

    def focus_default(self) -> None:
        self.table.focus()

    # ------------------------------------------------------------ loading

    def refresh_data(self) -> None:
        self.load()

    def action_reload(self) -> None:
        self.load()

    def _tick(self) -> None:
        if self.display:
            self.load()

    @work(thread=True, exclusive=True, group="jobs-load", exit_on_error=False)
    def load(self) -> None:
        jobs = self.app.workspace.jobs(limit=JOB_LIMIT)
        rows = [JobRow(j.id, j.kind, j.title, j.state, j.seconds, j.created_by, j.log_path, j.active, j.message) for j in jobs]
        if rows != self.rows:  # nothing changed: leave the UI thread alone (the list scrolls without stalls)
            self.post_message(self.Loaded(rows))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        self.rows = message.rows
        if self.log_job is not None:
            self.log_job = next((r for r in self.rows if r.id == self.log_job.id), self.log_job)
            self._show_log_title()
        self._show_rows()

    def _show_rows(self) -> None:
        """Show the rows that pass the filter, keeping the cursor on the same job; only changed cells are redrawn."""
        text = self.query_one("#jobs-filter", Input).value.strip().lower()
        shown = [r for r in self.rows if r.matches(text)] if text else list(self.rows)
        table = self.table
        if [r.id for r in shown] == [r.id for r in self.shown]:
            for old, new in zip(self.shown, shown):
                if old != new:
                    for (_, column), before, after in zip(COLUMNS, old.cells(self.title_width), new.cells(self.title_width)):
                        if before != after:
                            table.update_cell(str(new.id), column, after, update_width=True)
        else:
            selected = self.selected()
            table.clear()
            for row in shown:
                table.add_row(*row.cells(self.title_width), key=str(row.id))
            if selected is not None and any(r.id == selected.id for r in shown):
                table.move_cursor(row=table.get_row_index(str(selected.id)))
        self.shown = shown
        count = f"{len(shown)} of {len(self.rows)}" if text else f"{len(self.rows)}"
        running = sum(r.active for r in self.rows)
        self.query_one("#jobs-title", Static).update(
            Text(f"Jobs  {count}" + (f" matching '{text}'" if text else "") + (f" · {running} active" if running else "")
                 + ("" if self.rows else f" · {NO_JOBS}"))
        )
        if bool(self.rows) != self._had_rows:
            self._had_rows = bool(self.rows)
            self.refresh_bindings()  # the log's keys show once there is a job to read

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """With no job yet, the keys that open, filter or move in a log are hidden from the footer."""
        if action in ("open", "log", "filter") and not self.rows:
            return False
        return True

    def selected(self) -> JobRow | None:
        table = self.table
        if not self.shown or table.row_count == 0:
            return None
        return self.shown[min(table.cursor_row, len(self.shown) - 1)]

    # ------------------------------------------------------------ keys

    def action_cursor_down(self) -> None:
        self.table.action_cursor_down()

    def action_cursor_up(self) -> None:
        self.table.action_cursor_up()

    def action_filter(self) -> None:
        box = self.query_one("#jobs-filter", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#jobs-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._show_rows()

    @on(Input.Submitted, "#jobs-filter")
    def _filter_kept(self, event: Input.Submitted) -> None:
        if not event.value:
            event.input.display = False
        self.table.focus()

    def action_back(self) -> None:
        box = self.query_one("#jobs-filter", Input)
        if box.has_focus:
            box.value = ""
            box.display = False
            self._show_rows()
        self.table.focus()

    @on(DataTable.RowSelected, "#jobs-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_open(self) -> None:
        row = self.selected()
        if row is None:
            return
        if row.log_path is not None and self.app.sharing is not None:
            self.check_log(row.id)  # a shared workspace: core says first whether this user may read it
            return
        self.open_log(row)

    @work(thread=True, exclusive=True, group="jobs-log-check", exit_on_error=False)
    def check_log(self, job_id: int) -> None:
        from core.errors import TaskbenchError
        from core.jobs.queries import get_job, require_log

        try:
            with self.app.workspace.store() as store:
                require_log(store, get_job(store, job_id))
        except TaskbenchError as exc:
            self.post_message(self.LogChecked(job_id, exc.message))
            return
        self.post_message(self.LogChecked(job_id, None))

    @on(LogChecked)
    def log_checked(self, message: LogChecked) -> None:
        row = self.selected()
        if row is None or row.id != message.job:
            return
        if message.refusal is None:
            self.open_log(row)
            return
        self.log_job = None
        self.log_view.lines.close()  # nothing of another log stays under the refusal
        title = self.query_one("#jobs-log-title", Static)
        title.update(Text(message.refusal))
        title.add_class("sentence")

    def open_log(self, row: JobRow) -> None:
        """Show `row`'s log (following it while the job runs)."""
        self.log_job = row
        self.query_one("#jobs-log-title").remove_class("sentence")
        if row.log_path is None:
            self.query_one("#jobs-log-title", Static).update(f"#{row.id} has no log file")
            return
        log = self.log_view
        follow = row.active
        log.open(row.log_path, follow=follow)
        if follow:  # follow by default: stay at the end even if a layout pass scrolled the view meanwhile
            self.call_after_refresh(setattr, log, "following", True)
        log.focus_lines()
        self._show_log_title()

    def action_log(self, name: str) -> None:
        """Run one of the log view's actions (from the pane's keys or the command palette)."""
        if self.log_job is None:
            self.notify("Open a job's log first (enter on a job).", severity="warning")
            return
        self.log_view.run_action(name)

    def _show_log_title(self) -> None:
        row = self.log_job
        if row is None:
            return
        if row.active:
            follow = " · log following" if self.log_view.following else " · log paused"
        else:
            follow = ""  # an ended job's log is whole: following or paused would mean nothing
        self.query_one("#jobs-log-title", Static).update(Text(f"#{row.id} {row.kind} {row.state}{follow} · {row.title}", no_wrap=True, overflow="ellipsis"))
        failure = self.query_one("#jobs-failure", Static)
        ended_badly = row.state in ("failed", "interrupted", "cancelled") and bool(row.message)
        failure.display = ended_badly
        if ended_badly:  # the job's own sentence, whole and wrapped, whatever the log's width
            failure.update(Text(f"{row.state}: {row.message}", style="bold red" if row.state == "failed" else "yellow"))
