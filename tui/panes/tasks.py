"""Tasks pane: the task registry, a version's files and metadata, fit checks and uploads (SPEC §1, §2, §4).

The list of tasks sits on the left; the highlighted task's version (header,
metadata, a file's content or the last fit check's output) on the right. `enter`
opens a task, which swaps the list for the version's files; `esc` backs out.
"""

from __future__ import annotations

import textwrap

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import (
    ContentSwitcher,
    DataTable,
    Input,
    OptionList,
    Static,
)
from textual.widgets.data_table import ColumnKey
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from core.runtime.contract import LOCAL_ENV

from ..actions import bindings, pane_action
from ..screens.task_forms import FitCheckDialog, FitRequest, UploadDialog, UploadRequest
from ..widgets.access import cells_of, load_ownerships, widths
from ..widgets.codeview import CodeView
from ..widgets.keyshint import KeysHint
from ..widgets.reader import Reader
from ..widgets.streamlog import FedLog, StreamLog
from ..widgets.table import FittedTable
from . import Pane

NAME = "TasksPane"
ACTIONS = [
    pane_action(NAME, "open", "enter", "Open task", short="open"),
    pane_action(NAME, "filter", "slash", "Filter", short="filter"),
    pane_action(NAME, "fit_check", "f", "Fit check", short="fit check"),
    pane_action(NAME, "upload", "u", "Upload version", short="upload"),
    pane_action(NAME, "diff", "d", "Diff with previous version", show=False, short="diff"),
    pane_action(NAME, "previous_version", "left_square_bracket", "Previous version", show=False, short="older"),
    pane_action(NAME, "next_version", "right_square_bracket", "Next version", show=False, short="newer"),
    pane_action(NAME, "show_fit_log", "l", "Show the last fit check", show=False, short="fit output"),
    pane_action(NAME, "metadata", "m", "Read the metadata (j/k scroll it)", show=False, short="metadata"),
    pane_action(NAME, "back", "escape", "Back to the list", show=False, short="back"),
    pane_action(NAME, "reload", "r", "Reload the list", show=False),
]

EMPTY = "No tasks yet; upload a task folder with u. `taskbench demo` adds samples to try; `taskbench task add DIR` uploads from the shell."
NEEDS_TASK = frozenset({"open", "fit_check", "diff", "previous_version", "next_version", "show_fit_log", "metadata"})  # hidden with none

NEEDS_VERSIONS = frozenset({"diff", "previous_version", "next_version"})  # hidden for a task with one version
# Syntax highlighting by file suffix; anything else (and .txt) is shown as plain text.
LANGUAGES = {".py": "python", ".r": "r", ".yaml": "yaml", ".yml": "yaml", ".json": "json", ".toml": "toml", ".md": "markdown",
             ".sh": "bash"}  # R through pygments (tui.widgets.codeview), the others through tree-sitter
MAX_SHOWN_BYTES = 1 << 20  # a larger file shows its first megabyte
MAX_FIT_OUTPUT = 1 << 20  # task output shown in the pane; the job log keeps all of it
OPTIONAL = ("type", "env", "owner", "access")  # the columns after name and ver, in order; some give way to names
NAME_MIN = 10  # a task name is cut to no fewer cells than this, with an ellipsis
ENV_MAX = 16  # an environment name longer than this is cut with an ellipsis
SCROLLBAR = 2  # the table's vertical scrollbar, kept free when the list is longer than the table
OWNER_NAME_MIN = 24  # the owner column, then the env, shows only while names keep this many cells
STEP_LABELS = {"ok": ("ok", "green"), "fail": ("FAIL", "bold red"), "warn": ("warn", "yellow"), "info": ("..", "dim"), "start": ("..", "dim")}


@dataclass
class TaskRow:
    """One line of the task list."""

    name: str
    type: str
    latest: int
    env: str
    owner: str

    def matches(self, needle: str) -> bool:
        return any(needle in str(value).lower() for value in (self.name, self.type, self.env, self.owner))


@dataclass
class VersionView:
    """What the right side shows of one task version."""

    name: str
    version: int
    versions: list[int]
    header: tuple[Text, str, str, Text]  # version_header's parts, laid out for the pane's width by header_text
    metadata: Text
    files: list[tuple[str, int]]
    first_file: str | None
    target_type: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


class FitListener:
    """Hears the fit check in the worker thread and feeds each step and each whole output line to the pane's log
    (drawn in batches between keys, so a task printing tens of thousands of lines does not stall the workbench)."""

    def __init__(self, log: FedLog):
        self.log = log
        self.partial = b""
        self.shown = 0
        self.capped = False

    def step(self, name: str, status: str, text: str) -> None:
        if status == "start":
            return
        label, style = STEP_LABELS.get(status, (status, ""))
        self.log.feed(Text.assemble((f"{label:<4} ", style), f"{name:<8} {text}"))

    def task_output(self, chunk: bytes) -> None:
        if self.capped:
            return
        lines = (self.partial + chunk).split(b"\n")
        self.partial = lines.pop()
        if len(self.partial) > 4096:
            lines.append(self.partial)
            self.partial = b""
        for raw in lines:
            self.output_line(raw)

    def output_line(self, raw: bytes) -> None:
        self.shown += len(raw) + 1
        if self.shown > MAX_FIT_OUTPUT:
            self.capped = True
            self.log.feed(Text("  | (more task output than shown here; the job log keeps it)", "yellow"))
            return
        text = raw.decode("utf-8", "replace").rstrip("\r")
        self.log.feed(Text.assemble(("  | ", "dim"), text))

    def finish(self) -> None:
        if self.partial and not self.capped:
            self.output_line(self.partial)
        self.partial = b""


class MetadataReader(Reader):
    """The metadata, entered with m: j/k, space, g/G scroll it; the arrows up and down go back to the list and move
    it, as they did before m (a trial finding: after m they scrolled a metadata that fit, and the list seemed stuck)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "back_to_list('down')", "Down the list", show=False),
        Binding("up", "back_to_list('up')", "Up the list", show=False),
    ]

    def action_back_to_list(self, way: str) -> None:
        pane = self.query_ancestor(TasksPane)
        listing = pane.query_one("#tasks-files" if pane.opened else "#tasks-table")
        listing.focus()
        getattr(listing, f"action_cursor_{way}")()


class TasksPane(Pane):
    """Lists registered tasks; shows a version's header, metadata and files; runs fit checks and uploads."""

    KEY = "1"
    TITLE = "Tasks"
    ACTIONS = ACTIONS
    BINDINGS = bindings(ACTIONS) + [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    @dataclass
    class Loaded(Message):
        rows: list[TaskRow]
        select: str | None = None
        ownerships: dict | None = None  # a shared workspace's owners and access (tui.widgets.access); None: private

    @dataclass
    class Shown(Message):
        view: VersionView

    @dataclass
    class Refused(Message):
        """Core refused to show the version (a task the user may not read, a changed snapshot): its sentence."""

        ref: str
        text: str

    @dataclass
    class FileShown(Message):
        ref: str
        path: str
        text: str
        language: str | None

    @dataclass
    class FitDone(Message):
        ref: str
        passed: bool
        summary: str
        details: list[str] = field(default_factory=list)

    @dataclass
    class Uploaded(Message):
        ref: str
        name: str
        text: str

    @dataclass
    class Status(Message):
        text: str
        error: bool = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.rows: list[TaskRow] = []
        self.ownerships: dict | None = None
        self.view: VersionView | None = None
        self.wanted: str | None = None  # the ref the right side should show; older answers are dropped
        self.wanted_file: str | None = None
        self.opened = False
        self.fit_pinned = False  # the fit check's output stays on the right until the user picks a file
        self.fit_running = False
        self.last_fit: FitRequest | None = None
        self.fit_task: str | None = None  # the task whose fit check the log holds: l shows it for that task only
        self.refused: str | None = None  # the selected task's name when core refused to show it
        self.fitted_width = 0  # the table width the name column was last sized for
        self.header_width = 0  # the header width the shown version's header was laid out for

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with Horizontal(id="tasks-body"):
            with Vertical(id="tasks-left"):
                yield Static("Tasks  (/ filter)", classes="pane-title", id="tasks-title")
                yield Input(placeholder="filter: name, type, env, owner", id="tasks-filter", compact=True)
                with ContentSwitcher(initial="tasks-table", id="tasks-left-switch"):
                    yield FittedTable(id="tasks-table", cursor_type="row", zebra_stripes=False)
                    yield OptionList(id="tasks-files", markup=False)
            with Vertical(id="tasks-right"):
                yield Static("", id="tasks-header")
                with MetadataReader(id="tasks-meta-scroll"):
                    yield Static("", id="tasks-meta")
                with ContentSwitcher(initial="tasks-file", id="tasks-view"):
                    # soft wrap: a long code line is read whole, never cut at the pane's edge
                    yield CodeView.code_editor("", read_only=True, id="tasks-file", tab_behavior="focus", soft_wrap=True)
                    yield FedLog(id="tasks-fit-log", max_lines=5000, markup=False)  # folded at spaces, h/l for a long word
        yield KeysHint(ACTIONS, classes="status", id="tasks-status")

    def on_mount(self) -> None:
        self.set_columns(("type", "env", "owner"))
        self.query_one("#tasks-filter", Input).display = False

    def set_columns(self, optional: tuple[str, ...]) -> None:
        """The list's columns: name and ver, then those of type, env, owner and access that `optional` names."""
        table = self.query_one("#tasks-table", DataTable)
        table.clear(columns=True)
        table.add_column("name", key="name", width=NAME_MIN)  # sized to the room left by the data columns
        table.add_column(Text("ver", justify="right"), key="ver")
        for key in OPTIONAL:
            if key in optional:
                table.add_column(key, key=key, width=len(key) if key == "env" else None)

    def focus_default(self) -> None:
        if self.opened:
            self.query_one("#tasks-files", OptionList).focus()
        else:
            self.query_one("#tasks-table", DataTable).focus()

    def refresh_data(self) -> None:
        self.load()

    def action_reload(self) -> None:
        self.load()

    # ------------------------------------------------------------ the list

    @work(thread=True, exclusive=True, group="tasks-load", exit_on_error=False)
    def load(self, select: str | None = None) -> None:
        from core.errors import TaskbenchError

        try:
            tasks = self.app.workspace.tasks()
        except TaskbenchError as exc:
            self.post_message(self.Status(exc.message, error=True))
            return
        ownerships = load_ownerships(self.app, "task")
        rows = [
            TaskRow(
                name=t.name,
                type=(t.latest.target_type if t.latest.kind != "transform" else "transform") or t.latest.kind or "-",
                latest=t.latest.version,
                env=t.latest.env or LOCAL_ENV,
                owner=t.created_by,
            )
            for t in tasks
        ]
        self.post_message(self.Loaded(rows, select, ownerships))

    @on(Loaded)
    def show_rows(self, message: Loaded) -> None:
        self.rows = message.rows
        self.ownerships = message.ownerships
        self.fill_table(select=message.select or self.selected_name())
        if not self.rows:
            self.show_empty()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """Keys that cannot act now are hidden from the footer and the hint line: those that act on a task while
        none is listed, diff and [ ] on a task with one version, esc on the list with no filter to close."""
        if not self.is_mounted:
            return True
        filter_input = self.query_one("#tasks-filter", Input)
        if action == "back":  # esc closes a filter, leaves the right side, or closes an opened task
            focused = self.app.focused
            right = focused is not None and focused.id in ("tasks-file", "tasks-fit-log", "tasks-meta-scroll")
            return self.opened or right or bool(filter_input.value) or focused is filter_input
        if action in NEEDS_VERSIONS and self.view and len(self.view.versions) < 2:
            return False
        if action in NEEDS_TASK and self.refused is not None and self.refused == self.selected_name():
            return False  # a task core will not show: nothing to open, diff, read or check
        if self.query_one("#tasks-table", DataTable).row_count:
            return True
        return action not in NEEDS_TASK

    def fill_table(self, select: str | None = None) -> None:
        """Put the rows that match the filter in the table, keeping the cursor on `select` when it is listed."""
        table = self.query_one("#tasks-table", DataTable)
        needle = self.query_one("#tasks-filter", Input).value.strip().lower()
        shown = [row for row in self.rows if not needle or row.matches(needle)]
        name_width, env_width, optional = self.column_widths(shown)
        if list(optional) != [key.value for key in table.columns if key.value in OPTIONAL]:
            self.set_columns(optional)
        table.clear()
        table.columns[ColumnKey("name")].width = name_width
        if "env" in optional:
            table.columns[ColumnKey("env")].width = env_width
        for row in shown:
            cells = [
                Text(row.name, no_wrap=True, overflow="ellipsis"),
                Text(f"v{row.latest}", justify="right"),
                *([Text(row.type)] if "type" in optional else []),
                *([Text(row.env, no_wrap=True, overflow="ellipsis")] if "env" in optional else []),
            ]
            if self.ownerships is not None:
                cells += cells_of(self.ownerships, row.name)
            elif "owner" in optional:
                cells.append(Text(row.owner))
            table.add_row(*cells, key=row.name)
        names = [row.name for row in shown]
        if names:
            table.move_cursor(row=names.index(select) if select in names else 0)
            self.preview(self.selected_name())
        self.refresh_bindings()  # keys that act on a task show only while one is listed

    def column_widths(self, shown: list[TaskRow]) -> tuple[int, int, tuple[str, ...]]:
        """Widths of the name and env columns, and which of type, env, owner and access show: ver always in view,
        names cut with an ellipsis.

        The env column takes its longest name up to ENV_MAX; the task name takes
        what is left of the table's width. Columns said elsewhere give way, one by
        one, while names would get fewer than OWNER_NAME_MIN cells: the owner (in
        the header), then the env (in the metadata) in a private workspace; in a
        shared one, where the owner and your access always show, the env, then the
        type (in the header). At 80 columns a name kept 14 cells beside the env (a
        trial finding); without it, 28.
        """
        table = self.query_one("#tasks-table", DataTable)
        pad = 2 * table.cell_padding
        env = min(ENV_MAX, max([len("env"), *(len(row.env) for row in shown)]))
        sizes = {"type": max([len("type"), *(len(row.type) for row in shown)]), "env": env}
        if self.ownerships is None:
            sizes["owner"] = max([len("owner"), *(len(row.owner) for row in shown)])
            columns, droppable = ["type", "env", "owner"], ["owner", "env"]
        else:
            sizes.update(zip(("owner", "access"), widths(self.ownerships, [row.name for row in shown])))
            columns, droppable = ["type", "env", "owner", "access"], ["env", "type"]
        longest = max([len("name"), *(len(row.name) for row in shown)])
        scrollbar = SCROLLBAR if len(shown) > max(table.size.height - 1, 0) else 0
        fixed = table.size.width - scrollbar - 2 * pad - max([len("ver"), *(len(f"v{row.latest}") for row in shown)])
        self.fitted_width = table.size.width
        for drop in range(len(droppable) + 1):
            kept = [key for key in columns if key not in droppable[:drop]]
            room = fixed - sum(sizes[key] + pad for key in kept)
            if not table.size.width or longest <= room:
                return longest, env, tuple(kept)
            if room >= OWNER_NAME_MIN:
                return room, env, tuple(kept)  # the column keeps its place while names can give
        return max(NAME_MIN, min(longest, room)), env, tuple(kept)

    def on_resize(self) -> None:
        self.call_after_refresh(self.refit)

    def refit(self) -> None:
        """Size the name column again once the table's width changed (a resized terminal, a pane shown)."""
        table = self.query_one("#tasks-table", DataTable)
        if table.size.width and table.size.width != self.fitted_width and self.rows:
            self.fill_table(select=self.selected_name())
        if self.query_one("#tasks-header").size.width != self.header_width:
            self.show_header()

    def show_header(self) -> None:
        """Draw the shown version's header for the header's current width."""
        if not self.view:
            return
        header = self.query_one("#tasks-header", Static)
        header.remove_class("sentence")
        header.update(header_text(self.view.header, header.size.width or 80))
        self.header_width = header.size.width

    def show_empty(self) -> None:
        self.view = None
        self.wanted = None
        header = self.query_one("#tasks-header", Static)
        header.update(Text(EMPTY, "bold"))
        header.add_class("sentence")  # a sentence wraps; only a version's header is cut
        self.query_one("#tasks-meta", Static).update("")
        area = self.query_one("#tasks-file", CodeView)
        area.show_line_numbers = False  # no file: not even a line "1"
        area.set_code("", None)

    def selected_name(self) -> str | None:
        table = self.query_one("#tasks-table", DataTable)
        if table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return row_key.value

    @on(DataTable.RowHighlighted, "#tasks-table")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.preview(event.row_key.value)

    def preview(self, name: str | None) -> None:
        """Show the latest version of the highlighted task, unless that is already on the right."""
        if name and (self.wanted or "").partition("@")[0] != name:
            self.fit_pinned = False
            self.show_version(name)

    def show_version(self, ref: str) -> None:
        """Show a version ('name' for the latest, or 'name@N'); answers for an older request are dropped."""
        self.wanted = ref
        self.load_version(ref)

    @on(DataTable.RowSelected, "#tasks-table")
    def selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    def shared_object(self) -> tuple[str, str] | str:
        name = self.view.name if self.opened and self.view else self.selected_name()
        return ("task", name) if name else "no task is selected; pick one in the list first."

    def action_open(self) -> None:
        if self.opened:
            self.query_one("#tasks-files", OptionList).action_select()
            return
        name = self.selected_name()
        if not name:
            return
        self.opened = True
        self.add_class("opened")
        self.call_after_refresh(self.refit)  # the right side widened: lay the header out again
        self.query_one("#tasks-left-switch", ContentSwitcher).current = "tasks-files"
        self.query_one("#tasks-files", OptionList).focus()
        if self.view and self.view.name == name:
            self.fill_files(self.view)
        else:
            self.show_version(name)

    def action_back(self) -> None:
        focused = self.app.focused
        filter_input = self.query_one("#tasks-filter", Input)
        if focused is filter_input:
            self.close_filter()
        elif focused is not None and focused.id in ("tasks-file", "tasks-fit-log", "tasks-meta-scroll"):
            self.focus_default()
        elif self.opened:
            self.opened = False
            self.remove_class("opened")
            self.call_after_refresh(self.refit)
            self.query_one("#tasks-left-switch", ContentSwitcher).current = "tasks-table"
            self.update_title()
            self.query_one("#tasks-table", DataTable).focus()
        elif filter_input.value:
            self.close_filter()

    def action_metadata(self) -> None:
        """Move into the metadata to read all of it (it shows in at most 40% of the height); m again goes back."""
        meta = self.query_one("#tasks-meta-scroll")
        if meta.has_focus:
            self.focus_default()
        else:
            self.screen.set_focus(meta)

    def action_cursor_down(self) -> None:
        self.move_focused("down")

    def action_cursor_up(self) -> None:
        self.move_focused("up")

    def move_focused(self, way: str) -> None:
        """j/k: move the focused list's cursor, or scroll the focused log, as the arrow keys do."""
        widget = self.app.focused
        for name in (f"action_cursor_{way}", f"action_scroll_{way}"):
            if hasattr(widget, name):
                getattr(widget, name)()
                return

    # ------------------------------------------------------------ filter

    def action_filter(self) -> None:
        if self.opened:
            self.action_back()
        filter_input = self.query_one("#tasks-filter", Input)
        filter_input.display = True
        filter_input.focus()

    @on(Input.Changed, "#tasks-filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.fill_table(select=self.selected_name())

    @on(Input.Submitted, "#tasks-filter")
    def filter_submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self.close_filter()
        else:
            self.query_one("#tasks-table", DataTable).focus()

    def close_filter(self) -> None:
        filter_input = self.query_one("#tasks-filter", Input)
        filter_input.value = ""
        filter_input.display = False
        self.fill_table(select=self.selected_name())
        self.query_one("#tasks-table", DataTable).focus()

    # ------------------------------------------------------------ a version

    @work(thread=True, exclusive=True, group="tasks-version", exit_on_error=False)
    def load_version(self, ref: str) -> None:
        from core.errors import TaskbenchError
        from core.tasks.versions import get_task_version, task_versions

        try:
            with self.app.workspace.store() as store:
                version = get_task_version(store, ref)
                versions = [v.version for v in task_versions(store, version.task)]
        except TaskbenchError as exc:
            self.post_message(self.Refused(ref, exc.message))  # said on the right, where the version would be
            return
        files = [(f.path, f.size) for f in version.files]
        paths = [path for path, _ in files]
        custom = version.metadata.get("custom_file") or "custom.py"
        first = custom if custom in paths else (paths[0] if paths else None)
        view = VersionView(
            name=version.task,
            version=version.version,
            versions=versions,
            header=version_header(version, versions),
            metadata=metadata_text(version),
            files=files,
            first_file=first,
            target_type=version.target_type,
        )
        self.post_message(self.Shown(view))
        if first:
            self.post_message(self.file_message(version.ref, version.path, first))

    @staticmethod
    def file_message(ref: str, snapshot: Path, path: str) -> FileShown:
        """Read one snapshot file as text for the viewer (binary files are described, not shown)."""
        full = snapshot / path
        try:
            with open(full, "rb") as handle:
                data = handle.read(MAX_SHOWN_BYTES + 1)
        except OSError as exc:
            return TasksPane.FileShown(ref, path, f"({path} cannot be read: {exc.strerror})", None)
        if b"\0" in data[:8192]:
            return TasksPane.FileShown(ref, path, f"({path} is a binary file of {full.stat().st_size} bytes)", None)
        text = data[:MAX_SHOWN_BYTES].decode("utf-8", "replace")
        if len(data) > MAX_SHOWN_BYTES:
            text += "\n(only the first megabyte is shown)\n"
        return TasksPane.FileShown(ref, path, text, LANGUAGES.get(Path(path).suffix.lower()))

    @on(Refused)
    def refused(self, message: Refused) -> None:
        """Nothing of a version core would not show stays on the right (not even the previous task's code)."""
        if self.wanted != message.ref:
            return
        self.view = None
        self.wanted_file = None
        self.refused = message.ref.partition("@")[0]
        self.refresh_bindings()
        header = self.query_one("#tasks-header", Static)
        header.update(Text(message.text))
        header.add_class("sentence")
        self.query_one("#tasks-meta", Static).update("")
        area = self.query_one("#tasks-file", CodeView)
        area.show_line_numbers = False
        area.set_code("", None)
        self.query_one("#tasks-files", OptionList).clear_options()
        self.update_title()

    @on(Shown)
    def shown(self, message: Shown) -> None:
        view = message.view
        if self.wanted not in (view.ref, view.name):
            return
        self.view = view
        self.refused = None
        self.wanted_file = view.first_file
        self.show_header()
        self.query_one("#tasks-meta", Static).update(view.metadata)
        if view.first_file is None:
            self.query_one("#tasks-file", CodeView).set_code("(this version has no files)", None)
        if self.opened:
            self.fill_files(view)
        self.update_title()
        self.refresh_bindings()  # diff and [ ] show only for a task with more than one version

    def fill_files(self, view: VersionView) -> None:
        files = self.query_one("#tasks-files", OptionList)
        files.clear_options()
        files.add_options(Option(Text(path), id=path) for path, _ in view.files)
        paths = [path for path, _ in view.files]
        current = self.wanted_file if self.wanted_file in paths else view.first_file
        if current:
            files.highlighted = files.get_option_index(current)
        self.update_title()

    def update_title(self) -> None:
        title = self.query_one("#tasks-title", Static)
        if self.opened and self.view:
            title.update(Text(f"{self.view.ref} files", no_wrap=True, overflow="ellipsis"))  # esc back: in the hint line
        else:
            title.update(Text("Tasks  (/ filter)"))

    @on(OptionList.OptionHighlighted, "#tasks-files")
    def file_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if self.view and event.option.id and event.option.id != self.wanted_file:
            self.fit_pinned = False
            self.wanted_file = event.option.id
            self.show_file(self.view.ref, event.option.id)

    @on(OptionList.OptionSelected, "#tasks-files")
    def file_selected(self, event: OptionList.OptionSelected) -> None:
        """Enter on a file: show it and move into it to scroll."""
        if self.view and event.option.id:
            self.fit_pinned = False
            if event.option.id != self.wanted_file:
                self.wanted_file = event.option.id
                self.show_file(self.view.ref, event.option.id)
            self.query_one("#tasks-view", ContentSwitcher).current = "tasks-file"
            self.query_one("#tasks-file", CodeView).focus()

    @work(thread=True, exclusive=True, group="tasks-file", exit_on_error=False)
    def show_file(self, ref: str, path: str) -> None:
        from core.errors import TaskbenchError
        from core.tasks.versions import get_task_version

        try:
            with self.app.workspace.store() as store:
                version = get_task_version(store, ref)
        except TaskbenchError as exc:
            self.post_message(self.Status(exc.message, error=True))
            return
        self.post_message(self.file_message(ref, version.path, path))

    @on(FileShown)
    def file_shown(self, message: FileShown) -> None:
        if not self.view or message.ref != self.view.ref or message.path != self.wanted_file:
            return
        if not self.fit_pinned:
            self.query_one("#tasks-view", ContentSwitcher).current = "tasks-file"
        area = self.query_one("#tasks-file", CodeView)
        area.show_line_numbers = not message.path.startswith("diff ")
        area.set_code(message.text, message.language)

    def step_version(self, step: int) -> None:
        if not self.view:
            return
        versions = self.view.versions
        index = versions.index(self.view.version) + step
        if 0 <= index < len(versions):
            self.fit_pinned = False
            self.show_version(f"{self.view.name}@{versions[index]}")
        else:
            self.post_message(self.Status(f"{self.view.name} has no {'older' if step < 0 else 'newer'} version."))

    def action_previous_version(self) -> None:
        self.step_version(-1)

    def action_next_version(self) -> None:
        self.step_version(1)

    # ------------------------------------------------------------ diff

    def action_diff(self) -> None:
        if not self.view:
            return
        if self.view.version == self.view.versions[0]:
            self.post_message(self.Status(f"{self.view.ref} is the first version; there is nothing to compare it with."))
            return
        older = f"{self.view.name}@{self.view.versions[self.view.versions.index(self.view.version) - 1]}"
        self.fit_pinned = False
        self.wanted_file = f"diff {older} {self.view.ref}"
        self.post_message(self.Status(f"showing the diff of {older} and {self.view.ref}; pick a file to go back"))
        self.diff(older, self.view.ref)

    @work(thread=True, exclusive=True, group="tasks-file", exit_on_error=False)
    def diff(self, old: str, new: str) -> None:
        from core.errors import TaskbenchError
        from core.tasks.versions import diff_versions

        try:
            with self.app.workspace.store() as store:
                text = diff_versions(store, old, new)
        except TaskbenchError as exc:
            self.post_message(self.Status(exc.message, error=True))
            return
        self.post_message(self.FileShown(new, f"diff {old} {new}", text or f"{old} and {new} have the same files.\n", None))

    # ------------------------------------------------------------ fit check

    def action_fit_check(self) -> None:
        if self.fit_running:
            self.post_message(self.Status("a fit check is already running; wait for its result."))
            return
        ref = self.current_ref()
        if not ref:
            self.post_message(self.Status("no task selected; upload one with u first."))
            return
        target_type = self.view.target_type if self.view and self.view.ref == ref else None

        def run(request: FitRequest | None) -> None:
            if request is None:
                return
            self.last_fit = request
            self.fit_task = ref.partition("@")[0]
            self.fit_running = True
            self.fit_pinned = True
            if not self.opened:
                self.action_open()  # the output gets the wide right side
            log = self.query_one("#tasks-fit-log", FedLog)
            log.clear()
            log.write_line(Text(f"Fit check of {ref} on {request.data}", "bold"))
            self.query_one("#tasks-view", ContentSwitcher).current = "tasks-fit-log"
            # the file that had the focus is hidden now; the focus goes back to the list, where esc, m and l act
            # visibly (left on the hidden file, Textual moved it into the log and esc only moved it back)
            self.call_after_refresh(self.focus_default)
            self.post_message(self.Status(f"fit check of {ref} running..."))
            self.fit_check(ref, request, log)

        self.app.push_screen(FitCheckDialog(ref, target_type, self.last_fit), run)

    def current_ref(self) -> str | None:
        """The version the keys act on: the one shown when it is the selected task's, else the selected task's latest."""
        name = self.view.name if self.opened and self.view else self.selected_name()
        if self.view and self.view.name == name:
            return self.view.ref
        return name

    @work(thread=True, exclusive=True, group="tasks-fit", exit_on_error=False)
    def fit_check(self, ref: str, request: FitRequest, log: FedLog) -> None:
        """Run the check; cancelling this worker (quitting the app does) kills the check's worker process."""
        from core.tasks.fitcheck import FitCheckOptions, run_fit_check

        worker = get_current_worker()
        listener = FitListener(log)
        options = FitCheckOptions(
            code_dir=None,
            task=ref,
            input=Path(request.data).expanduser(),
            target=request.target or None,
            target_type=request.target_type or None,
            home=self.app.home,
        )
        report = None
        try:
            report = run_fit_check(options, listener, cancel=worker.cancelled_event)
        finally:
            listener.finish()
            if report is None:  # the engine reports task faults; this is a fault of its own, kept in the app's log
                self.post_message(self.FitDone(ref, False, f"FAIL the fit check of {ref} stopped unexpectedly; the Jobs pane has its log."))
        if report.passed:
            self.post_message(self.FitDone(ref, True, f"Fit check of {ref} passed in {report.seconds:.1f} s (job {report.job_id})."))
            return
        if report.cancelled:
            self.post_message(self.FitDone(ref, False, f"Fit check of {ref} cancelled (job {report.job_id})."))
            return
        where = f"job {report.job_id}, log {report.log_path}" if report.job_id else f"log {report.log_path}"
        details = report.details.splitlines() if report.details else []
        self.post_message(self.FitDone(ref, False, f"FAIL {report.message} ({where})", details))

    @on(FitDone)
    def fit_done(self, message: FitDone) -> None:
        self.fit_running = False
        log = self.query_one("#tasks-fit-log", FedLog)
        for line in message.details:  # fed, so they come after the task output still waiting to be drawn
            log.feed(Text(f"  {line}", "dim"))
        log.feed(Text(message.summary, "bold green" if message.passed else "bold red"))
        self.post_message(self.Status(message.summary, error=not message.passed))

    def action_show_fit_log(self) -> None:
        name = (self.current_ref() or "").partition("@")[0]
        if not self.query_one("#tasks-fit-log", StreamLog).texts or name != self.fit_task:
            self.post_message(self.Status("no fit check yet: f runs one."))
            return
        self.fit_pinned = True
        self.query_one("#tasks-view", ContentSwitcher).current = "tasks-fit-log"
        self.query_one("#tasks-fit-log", StreamLog).focus()

    # ------------------------------------------------------------ upload

    def action_upload(self) -> None:
        def run(request: UploadRequest | None) -> None:
            if request is not None:
                self.post_message(self.Status(f"uploading {request.folder}..."))
                self.upload(request)

        self.app.push_screen(UploadDialog((self.current_ref() or "").partition("@")[0]), run)

    @work(thread=True, exclusive=True, group="tasks-upload", exit_on_error=False)
    def upload(self, request: UploadRequest) -> None:
        from core.errors import TaskbenchError
        from core.tasks.versions import add_task, identical_content_sentence

        try:
            with self.app.workspace.store() as store:
                version, created = add_task(store, request.folder, name=request.name or None)
                # the CLI's sentence: which version has this content, and which one blueprints get
                same = None if created else identical_content_sentence(version, store.task_version(version.task))
        except TaskbenchError as exc:
            self.post_message(self.Status(exc.message, error=True))
            return
        text = f"Added {version.ref}" if created else same
        warnings = "; ".join(version.warnings) if created and version.warnings else ""
        self.post_message(self.Uploaded(version.ref, version.task, text + (f" (warning: {warnings})" if warnings else "")))

    @on(Uploaded)
    def uploaded(self, message: Uploaded) -> None:
        self.post_message(self.Status(message.text))
        self.show_version(message.ref)
        self.load(select=message.name)

    # ------------------------------------------------------------ status

    @on(Status)
    def status(self, message: Status) -> None:
        self.query_one("#tasks-status", KeysHint).say(message.text, error=message.error)


def version_header(version, versions: list[int]) -> tuple[Text, str, str, Text]:
    """The header's parts: the ref, its kind, its target type (or ""), then its versions and who uploaded it when."""
    from ..numbers import when

    kind = version.kind or "kind unknown"
    target = version.target_type if version.target_type and version.target_type != "transform" else ""
    rest = Text("versions")
    for number in versions:
        current = number == version.version
        rest.append(f" [{number}]" if current else f"  {number} ", "reverse" if current else "")
    rest.append(f"\nuploaded {when(version.created_at)} by {version.created_by}", "dim")
    return Text(version.ref, "bold"), kind, target, rest


def header_text(parts: tuple[Text, str, str, Text], width: int) -> Text:
    """The header laid out for `width` cells: `ref  kind` on one line when it fits, else the kind on the next line; so the versions.

    Lines are never wrapped (the pane's CSS cuts them with an ellipsis), so a
    long task name costs its own tail, never the kind, type or versions below it.
    """
    ref, kind, target, rest = parts
    if ref.cell_len + 2 + len(kind) <= width:
        first, second = Text.assemble(ref, f"  {kind}"), target
    else:
        first, second = ref, ", ".join(filter(None, (kind, target)))
    versions_len = len(rest.plain.partition("\n")[0])
    gap = "" if not second else "  " if len(second) + 2 + versions_len <= width else "\n"
    if "\n" in rest.plain and width > 0:  # `uploaded DATE TIME by USER` folds at spaces: read whole, never cut
        versions, uploaded = rest.divide([rest.plain.index("\n") + 1])
        folded = textwrap.wrap(uploaded.plain, width, break_long_words=False, break_on_hyphens=False)
        rest = Text.assemble(versions, Text("\n".join(folded), uploaded.style or "dim"))
    return Text.assemble(first, "\n", second, gap, rest, no_wrap=True, overflow="ellipsis")


def metadata_text(version) -> Text:
    """The version's metadata as label/value lines: language, target type, environment, network, hyperparameters,
    schema, warnings."""
    from core.environments.resolve import network_access
    from core.tasks.catalog import language_line
    from core.tasks.metadata import describe_default_schema

    meta = version.metadata
    out = Text()

    def line(label: str, value: str, style: str = "") -> None:
        out.append(f"{label:<9}", "bold")
        out.append(f"{value}\n", style)

    line("language", language_line(version.path))
    line("target", version.target_type or "unknown (no targetType in model-metadata.yaml)")
    line("env", version.env or f"{LOCAL_ENV} (default)")
    line("network", network_access(version.env, bool(meta.get("network"))))
    if not meta.get("file"):
        line("metadata", "no model-metadata.yaml (defaults apply)")
    hyperparameters = meta.get("hyperparameters") or []
    if not hyperparameters:
        line("params", "none declared")
    for hp in hyperparameters:
        line("param", f"{hp['name']} ({hp['type']}) default {hp.get('default')!r}{allowed(hp)}")
    schema = meta.get("type_schema") or {}
    if not schema.get("declared"):
        line("schema", describe_default_schema(version.target_type))
    else:
        for side, label in (("input_requirements", "input"), ("output_requirements", "output")):
            reqs = schema.get(side) or []
            line(label, "; ".join(requirement(req) for req in reqs) or "no requirements")
    for warning in version.warnings:
        line("warning", warning, "yellow")
    out.rstrip()
    return out


def requirement(req: dict) -> str:
    value = req["value"]
    shown = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
    return f"{req['field']} {req['condition']} {shown}"


def allowed(hp: dict) -> str:
    if hp.get("values"):
        return "; one of " + ", ".join(str(v) for v in hp["values"])
    if "min" in hp or "max" in hp:
        return f"; {hp.get('min')} to {hp.get('max')}"
    if hp.get("multi"):
        return "; " + "; ".join(f"{kind}: {spec}" for kind, spec in hp["multi"].items())
    return ""
