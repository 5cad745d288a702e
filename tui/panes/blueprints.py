"""Blueprints pane: saved blueprints and built-in templates, an editor validated as you type, save, format, train.

The editor is a TextArea, so while it has focus it takes every printable key
(`q`, digits, `?`) before the app's bindings see them; ctrl keys and esc still
reach the pane. Validation runs in a worker a moment after the last keystroke;
the graph is redrawn from the last text that parsed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from core.runtime.contract import ESTIMATOR_TYPES

from ..actions import bindings, pane_action
from ..screens.clone import ClonePrompt, SaveAsPrompt
from ..screens.project_picker import ProjectPicker
from ..numbers import score
from ..widgets.access import COLUMNS, cells_of, load_ownerships, widths
from ..widgets.keyshint import KeysHint
from ..widgets.reader import Reader
from ..widgets.table import FittedTable
from . import Pane

NAME = "BlueprintsPane"
ACTIONS = [
    pane_action(NAME, "open", "enter", "Open blueprint (a template opens as a copy)", show=False, short="open"),
    pane_action(NAME, "edit", "e", "Back to the editor (esc leaves it)", show=False, short="editor"),
    pane_action(NAME, "problems", "p", "Problems list (enter jumps to one)", show=False, short="problems"),
    pane_action(NAME, "graph", "v", "Graph view (j/k scroll it)", show=False, short="graph"),
    pane_action(NAME, "copy", "c", "Copy into new buffer", short="copy"),
    # out of the footer, which is full at 80 columns with a blueprint open; the list's key line names it
    pane_action(NAME, "clone", "C", "Clone the saved blueprint as your own (its task versions kept)", show=False,
                short="clone"),
    pane_action(NAME, "new", "n", "New blueprint", show=False, short="new"),
    pane_action(NAME, "save", "ctrl+s", "Save blueprint", short="save"),
    pane_action(NAME, "format", "ctrl+f", "Format blueprint", short="format"),
    pane_action(NAME, "train", "t,ctrl+t", "Train on a project", short="train"),
    pane_action(NAME, "next_target_type", "y", "Next template type", show=False, short="type"),
    pane_action(NAME, "back", "escape", "Back to the list", short="list"),
    pane_action(NAME, "reload", "r", "Reload blueprints", show=False),
]
NEEDS_BUFFER = frozenset({"edit", "problems", "graph", "save", "format", "train"})  # hidden with no blueprint open

TARGET_TYPES = ESTIMATOR_TYPES
DEBOUNCE_SECONDS = 0.25
WIDE = 120  # columns from which the graph sits beside the editor and the list stays in view
BUFFER_PATH = "<editor>"

_TOKENS = re.compile(
    r"(?P<comment>#.*)|(?P<string>\"(?:[^\"\\]|\\.)*\"?|'(?:[^'\\]|\\.)*'?)"
    r"|(?P<channel>\b(?:NUM|CAT|TXT|DATE|ALL)\b)|(?P<task>(?<==)\s*[A-Za-z0-9_][A-Za-z0-9_.\-]*(?:\s*@\s*\w+)?)"
    r"|(?P<keyword>\b(?:true|false)\b)|(?P<number>(?<![\w.])[+-]?\d+\.?\d*(?:[eE][+-]?\d+)?)"
)
_STYLES = {
    "comment": Style(dim=True, italic=True),
    "string": Style(color="green"),
    "channel": Style(color="magenta", bold=True),
    "task": Style(color="cyan", bold=True),
    "keyword": Style(color="yellow"),
    "number": Style(color="yellow"),
}
_MARKS = {"error": Style(color="red", bold=True, underline=True, reverse=True), "warning": Style(color="yellow", underline=True)}
_WORD = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
_HEADER_NAME = re.compile(r"^(#\s*blueprint:\s*)\S+", re.IGNORECASE | re.MULTILINE)


def _ellipsis(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def blueprint_target_type(text: str) -> str | None:
    """The target type the blueprint's header names ('target: binary'), or None when it names none or does not parse."""
    from core.blueprints.syntax import BlueprintSyntaxError, parse_blueprint

    try:
        return parse_blueprint(text, BUFFER_PATH).target_type
    except BlueprintSyntaxError:
        match = re.search(r"^#.*\btarget:\s*([A-Za-z]+)", text, re.MULTILINE)
        return match.group(1).lower() if match else None


class BlueprintEditor(TextArea):
    """A TextArea for the blueprint syntax: light highlighting, and the spans validation complained about marked."""

    def __init__(self, **kwargs):
        super().__init__("", soft_wrap=False, show_line_numbers=True, tab_behavior="focus", **kwargs)
        self.marks: dict[int, list[tuple[int, str]]] = {}  # 0-based line -> [(0-based column, severity)]

    def set_marks(self, marks: dict[int, list[tuple[int, str]]]) -> None:
        if marks == self.marks:
            return
        self.marks = marks
        self._line_cache.clear()
        self.refresh()

    def get_line(self, line_index: int) -> Text:
        line = super().get_line(line_index)
        plain = line.plain
        for match in _TOKENS.finditer(plain):
            kind = match.lastgroup
            start, end = match.span()
            if kind == "task":
                start += len(match.group()) - len(match.group().lstrip())
            line.stylize(_STYLES[kind], start, end)
        for column, severity in sorted(self.marks.get(line_index, ()), key=lambda m: m[1] == "error"):
            if not plain:
                continue
            column = min(column, len(plain) - 1)
            word = _WORD.match(plain, column)
            line.stylize(_MARKS[severity], column, word.end() if word else column + 1)
        return line


@dataclass
class Buffer:
    """What the editor holds: where it came from and the text it had when opened or last saved."""

    origin: str = ""  # "saved", "copy" or "new"
    name: str = ""  # saved blueprint name, template name, or the name a copy started from
    ref: str | None = None  # "name@N" of the saved version `clean_text` is (training uses it while unedited)
    clean_text: str = ""
    key: str = ""  # the list row it was opened from


class BlueprintsPane(Pane):
    """Lists saved blueprints and templates; edits one with live validation, a text graph, save, format and train."""

    KEY = "3"
    TITLE = "Blueprints"
    ACTIONS = ACTIONS
    BINDINGS = bindings(ACTIONS) + [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        # In the problems list, run as the app reads each key (priority), in the order typed: the editor has the
        # focus before the key after enter is read, so text typed right after a jump lands at the problem.
        Binding("enter", "jump_to_highlighted_problem", "Jump to the problem", show=False, priority=True),
        Binding("j,down", "problem_step(1)", "Next problem", show=False, priority=True),
        Binding("k,up", "problem_step(-1)", "Previous problem", show=False, priority=True),
    ]

    @dataclass
    class Loaded(Message):
        target_type: str
        saved: list  # (name, version, target type)
        templates: list  # (name, target type, description)
        ownerships: dict | None = None  # a shared workspace's owners and access (tui.widgets.access); None: private

    @dataclass
    class Opened(Message):
        text: str
        buffer: Buffer

    @dataclass
    class Cloned(Message):
        text: str
        buffer: Buffer
        origin: str  # the "name@N" it was cloned from

    @dataclass
    class Checked(Message):
        generation: int
        problems: list  # validate.Message
        drawing: str | None  # None: the text did not parse; keep the last drawing

    @dataclass
    class Formatted(Message):
        before: str
        text: str

    @dataclass
    class Saved(Message):
        text: str
        name: str
        ref: str
        created: bool

    @dataclass
    class ProjectsListed(Message):
        projects: list  # (name, target type, rows, holdout unlocked)

    @dataclass
    class TrainEvent(Message):
        kind: str  # "started", "trained", "failed"
        data: dict = field(default_factory=dict)

    @dataclass
    class Failed(Message):
        text: str

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.target_type: str | None = None
        self.buffer = Buffer()
        self.problems: list = []
        self.generation = 0
        self._debounce = None
        self._discard_key: str | None = None
        self._select_key: str | None = None  # the row the next list load selects (a new clone)
        self.training: dict = {}
        self.last_trained: dict | None = None

    def compose(self) -> ComposeResult:
        with Horizontal():
            with Vertical(id="bp-left"):
                yield Static("Blueprints", classes="pane-title", id="bp-list-title", markup=False)
                yield FittedTable(id="bp-table", cursor_type="row", zebra_stripes=False)
                yield KeysHint(ACTIONS, classes="status", id="bp-list-hint")
            with Vertical(id="bp-right"):
                yield Static("nothing open: enter opens, c copies, n new",
                             classes="pane-title", id="bp-title", markup=False)
                with Vertical(id="bp-work"):
                    yield BlueprintEditor(id="bp-editor")
                    with Vertical(id="bp-graph-box"):
                        yield Static("graph", classes="bp-section")
                        with Reader(id="bp-graph-scroll"):
                            yield Static("", id="bp-graph", markup=False)
                yield Static("problems", classes="bp-section", id="bp-problems-title", markup=False)
                yield OptionList(id="bp-problems")
                yield Static("", classes="status", id="bp-status", markup=False)

    def on_mount(self) -> None:
        self.add_class("-closed")
        self.set_class(bool(self.app.sharing), "-shared")  # a wider list: the owner and your access beside names
        self.query_one("#bp-table", DataTable).add_columns("name", "ver", *(COLUMNS if self.app.sharing else ()))

    def on_resize(self) -> None:
        wide = self.size.width >= WIDE
        if wide != self.has_class("-wide"):
            self.set_class(wide, "-wide")
            self.schedule_check()

    # ------------------------------------------------------------ list

    def refresh_data(self) -> None:
        self.load()

    def action_reload(self) -> None:
        self.load()

    def _cursor_widget(self):
        problems = self.query_one("#bp-problems", OptionList)
        return problems if problems.has_focus else self.query_one("#bp-table", DataTable)

    def action_cursor_down(self) -> None:
        self._cursor_widget().action_cursor_down()  # the graph, once focused, scrolls with its own reading keys

    def action_cursor_up(self) -> None:
        self._cursor_widget().action_cursor_up()

    def action_graph(self) -> None:
        if not self.buffer.origin:
            self.status("open a blueprint first", error=True)
            return
        self.add_class("-editing")  # at 80 columns the graph shows under the editor only while editing
        self.screen.set_focus(self.query_one("#bp-graph-scroll"))  # now: j typed right after scrolls the graph

    def action_next_target_type(self) -> None:
        current = self.target_type or TARGET_TYPES[0]
        self.target_type = TARGET_TYPES[(TARGET_TYPES.index(current) + 1) % len(TARGET_TYPES)]
        self.load()

    @work(thread=True, exclusive=True, group="bp-load", exit_on_error=False)
    def load(self) -> None:
        from core.blueprints.templates import templates_for

        workspace = self.app.workspace
        saved = [(b.name, b.latest.version, b.latest.target_type or "-") for b in workspace.blueprints()]
        target_type = self.target_type
        if target_type is None:  # start with the templates that fit the newest project
            projects = workspace.projects()
            target_type = projects[-1].target_type if projects and projects[-1].target_type in TARGET_TYPES else TARGET_TYPES[0]
        templates = [(t.name, t.target_type, t.description) for t in templates_for(target_type)]
        self.post_message(self.Loaded(target_type, saved, templates, load_ownerships(self.app, "blueprint")))

    @on(Loaded)
    def show_list(self, message: Loaded) -> None:
        self.target_type = message.target_type
        table = self.query_one("#bp-table", DataTable)
        selected = self._select_key or self._row_key()
        table.clear()
        room = self._name_room() - sum(w + 2 for w in widths(message.ownerships, [n for n, _, _ in message.saved]))
        for name, version, kind in message.saved:
            table.add_row(_ellipsis(name, room), f"v{version}", *cells_of(message.ownerships, name), key=f"saved:{name}")
        templates_owned = ["", ""] if message.ownerships is not None else []  # taskbench's own, everyone's
        for name, kind, _ in message.templates:
            table.add_row(_ellipsis(name, room), "tmpl", *templates_owned, key=f"template:{kind}:{name}")
        keys = [f"saved:{n}" for n, _, _ in message.saved] + [f"template:{k}:{n}" for n, k, _ in message.templates]
        if keys:
            table.move_cursor(row=keys.index(selected) if selected in keys else 0)
        if self._select_key in keys:
            self._select_key = None  # selected; a load begun before the clone existed leaves it for the next
        self.query_one("#bp-list-title", Static).update(
            f"Blueprints ({len(message.saved)}) + {message.target_type} templates"
        )

    def _name_room(self) -> int:
        """Cells the name column may take so that the version column stays in view (names get a …)."""
        left = self.query_one("#bp-left")
        width = left.size.width or (44 if self.has_class("-wide") else 34) + (12 if self.app.sharing else 0)
        return max(12, width - 6 - 4 - 1)  # 'tmpl' and 'v123' column, cell padding, scrollbar

    def shared_object(self) -> tuple[str, str] | str:
        key = self._row_key() or ""
        if key.startswith("saved:"):
            return "blueprint", key.partition(":")[2]
        return "templates are taskbench's own; save a copy (c, then ctrl+s) to share it." if key else \
            "no blueprint is selected; pick a saved one in the list first."

    def _row_key(self) -> str | None:
        table = self.query_one("#bp-table", DataTable)
        if table.row_count == 0:
            return None
        try:
            return table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        except Exception:  # noqa: BLE001 - the cursor may point past a just-cleared table
            return None

    @on(DataTable.RowSelected, "#bp-table")
    def row_selected(self, event: DataTable.RowSelected) -> None:
        self.open_selected(copy=False, key=event.row_key.value)  # the row enter was pressed on, even if a reload moved it

    def action_open(self) -> None:
        if self.query_one(BlueprintEditor).has_focus:
            return
        self.open_selected(copy=False)

    def action_copy(self) -> None:
        self.open_selected(copy=True)

    @on(DataTable.RowHighlighted, "#bp-table")
    def row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.refresh_bindings()  # C clones a saved blueprint only, not a template

    def action_clone(self) -> None:
        key = self._row_key() or ""
        if not key.startswith("saved:"):
            self.status("pick a saved blueprint to clone (c copies a template into a new buffer)", error=True)
            return
        if not self._may_discard(f"clone:{key}"):
            return
        name = key.partition(":")[2]
        self.app.push_screen(ClonePrompt(name, f"{name}-copy"),
                             lambda answer: self.clone(name, answer or None) if answer is not None else None)

    @work(thread=True, exclusive=True, group="bp-open", exit_on_error=False)
    def clone(self, ref: str, name: str | None) -> None:
        """Clone through core (it refuses a blueprint you may not read or a name taken) and open the clone."""
        from core.blueprints.registry import clone_blueprint
        from core.errors import TaskbenchError

        try:
            with self.app.workspace.store() as store:
                version = clone_blueprint(store, ref, name)
        except TaskbenchError as exc:
            self.post_message(self.Failed(exc.message))
            return
        key = f"saved:{version.blueprint}"
        self.post_message(self.Cloned(version.text, Buffer("saved", version.blueprint, version.ref, version.text, key=key),
                                      version.origin))

    @on(Cloned)
    def show_clone(self, message: Cloned) -> None:
        self._select_key = message.buffer.key
        self.load()
        self.show_buffer(self.Opened(message.text, message.buffer))
        self.status(f"cloned {message.origin} as {message.buffer.ref}: edit it, ctrl+s saves a new version")

    def open_selected(self, *, copy: bool, key: str | None = None) -> None:
        key = key or self._row_key()
        if key is None:
            return
        if not self._may_discard(key):
            return
        self.fetch(key, copy)

    def pending_losses(self) -> list[str]:
        losses = super().pending_losses()
        if self.buffer.origin and self.query_one(BlueprintEditor).text != self.buffer.clean_text:
            where = {"saved": self.buffer.ref or self.buffer.name, "copy": f"copy of {self.buffer.name}"}.get(self.buffer.origin, "new blueprint")
            losses.insert(0, f"the blueprint buffer ({where}) has unsaved edits")
        return losses

    def _may_discard(self, key: str) -> bool:
        """True when the buffer has no unsaved edits, or the user asked for the same thing twice."""
        editor = self.query_one(BlueprintEditor)
        dirty = self.buffer.origin and editor.text != self.buffer.clean_text
        if dirty and self._discard_key != key:
            self._discard_key = key
            self.status("the buffer has unsaved edits: ctrl+s saves them; do the same again to discard them", error=True)
            return False
        self._discard_key = None
        return True

    @work(thread=True, exclusive=True, group="bp-open", exit_on_error=False)
    def fetch(self, key: str, copy: bool) -> None:
        from core.blueprints.registry import get_blueprint
        from core.blueprints.templates import get_template
        from core.errors import TaskbenchError

        kind, _, rest = key.partition(":")
        try:
            if kind == "template":  # templates are built in: opening one always edits a copy
                target_type, _, name = rest.partition(":")
                text = get_template(name, target_type).text
                buffer = Buffer("copy", f"template {name}", None, "", key=key)
            elif copy:  # a copy of a saved blueprint gets a name of its own, so saving it starts a new blueprint
                with self.app.workspace.store() as store:
                    version = get_blueprint(store, rest)
                text, renamed = _HEADER_NAME.subn(lambda m: f"{m.group(1)}{rest}-copy", version.text, count=1)
                if not renamed:
                    text = f"# blueprint: {rest}-copy\n{text}"
                buffer = Buffer("copy", version.ref, None, "", key=key)
            else:
                with self.app.workspace.store() as store:
                    version = get_blueprint(store, rest)
                text = version.text
                buffer = Buffer("saved", rest, version.ref, text, key=key)
        except TaskbenchError as exc:
            self.post_message(self.Failed(exc.message))
            return
        self.post_message(self.Opened(text, buffer))

    def action_new(self) -> None:
        if not self._may_discard("new"):
            return
        header = f"# blueprint: untitled    target: {self.target_type or TARGET_TYPES[0]}\n"
        self.post_message(self.Opened(header, Buffer("new", "untitled", None, "")))

    @on(Opened)
    def show_buffer(self, message: Opened) -> None:
        self.buffer = message.buffer
        self.refresh_bindings()  # the editor's keys show now that a blueprint is open
        editor = self.query_one(BlueprintEditor)
        editor.load_text(message.text)
        editor.move_cursor(editor.document.end if message.buffer.origin in ("copy", "new") else (0, 0))
        self.query_one("#bp-graph", Static).update("")
        self.show_title()
        self.status("")  # the footer names the editor's keys; esc leaves it (then e goes back, p to the problems)
        self.remove_class("-closed")
        self.add_class("-editing")
        editor.focus()
        self.call_after_refresh(self.check_now)  # after the editing layout applies: the graph is drawn for its width

    def show_title(self) -> None:
        editor = self.query_one(BlueprintEditor)
        b = self.buffer
        edited = editor.text != b.clean_text
        where = {"saved": b.ref or b.name, "copy": f"copy of {b.name}",
                 "new": "new blueprint"}.get(b.origin, "")
        self.query_one("#bp-title", Static).update(f"{where}{'  (edited)' if edited else ''}")

    def action_edit(self) -> None:
        if self.buffer.origin:
            self.add_class("-editing")
            self.query_one(BlueprintEditor).focus()

    def action_problems(self) -> None:
        problems = self.query_one("#bp-problems", OptionList)
        if not self.buffer.origin or problems.option_count == 0:
            self.status("no problems to go to" if self.buffer.origin else "open a blueprint first", error=not self.buffer.origin)
            return
        problems.focus()
        if problems.highlighted is None:
            problems.highlighted = 0

    def action_back(self) -> None:
        self.remove_class("-editing")
        self.query_one("#bp-table", DataTable).focus()

    def focus_default(self) -> None:
        self.remove_class("-editing")
        self.query_one("#bp-table", DataTable).focus()

    # ------------------------------------------------------------ live validation

    @on(TextArea.Changed, "#bp-editor")
    def edited(self, event: TextArea.Changed) -> None:
        self.show_title()
        self.schedule_check()

    def schedule_check(self) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(DEBOUNCE_SECONDS, self.check_now)

    def check_now(self) -> None:
        if not self.buffer.origin:
            return
        self.generation += 1
        graph = self.query_one("#bp-graph-scroll")
        width = max((graph.content_region.width or graph.size.width) - 1, 30)
        self.check(self.query_one(BlueprintEditor).text, self.generation, width)

    @work(thread=True, exclusive=True, group="bp-check", exit_on_error=False)
    def check(self, text: str, generation: int, width: int) -> None:
        from core.blueprints.export import draw_ascii
        from core.blueprints.validate import Message as Problem
        from core.blueprints.validate import check
        from core.errors import TaskbenchError

        try:
            with self.app.workspace.store() as store:
                checked = check(text, store, path=BUFFER_PATH)
        except TaskbenchError as exc:
            self.post_message(self.Checked(generation, [Problem("error", 1, 1, exc.message)], None))
            return
        drawing = None
        if checked.blueprint is not None and checked.blueprint.nodes:
            try:
                drawing = draw_ascii(checked.blueprint, width)
            except Exception as exc:  # noqa: BLE001 - a graph the drawer cannot lay out still validates
                drawing = f"(cannot draw this graph: {exc})"
        self.post_message(self.Checked(generation, list(checked.messages), drawing))

    @on(Checked)
    def show_problems(self, message: Checked) -> None:
        if message.generation != self.generation:
            return  # a newer check is on its way
        self.problems = message.problems
        marks: dict[int, list[tuple[int, str]]] = {}
        for p in message.problems:
            marks.setdefault(p.line - 1, []).append((max(p.column - 1, 0), p.severity))
        self.query_one(BlueprintEditor).set_marks(marks)
        problems = self.query_one("#bp-problems", OptionList)
        problems.clear_options()
        styles = {"error": "red", "warning": "yellow"}
        problems.add_options(
            [Option(Text(line, style=styles.get(p.severity, "")), id=f"{i}") for i, (p, line) in enumerate(zip(message.problems, self.problem_lines))]
        )
        errors = sum(p.severity == "error" for p in message.problems)
        warnings = len(message.problems) - errors
        summary = "no problems" if not message.problems else f"{errors} error(s), {warnings} warning(s)"
        self.query_one("#bp-problems-title", Static).update(f"problems: {summary} (p)" if message.problems else "problems: none")
        if message.drawing is not None:
            self.query_one("#bp-graph", Static).update(message.drawing)

    @property
    def problem_lines(self) -> list[str]:
        """Each problem as `LINE:COL: severity: text`, the way compilers print them."""
        return [f"{p.line}:{p.column}: {p.severity}: {p.text}" for p in self.problems]

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """enter jumps to a problem only from the problems list; elsewhere it keeps its own meaning. The keys that
        act on an open blueprint are hidden while none is open."""
        if action in ("jump_to_highlighted_problem", "problem_step"):
            return self.is_mounted and self.query_one("#bp-problems", OptionList).has_focus
        if action in NEEDS_BUFFER:
            return bool(self.buffer.origin)
        if action == "clone":
            return self.is_mounted and (self._row_key() or "").startswith("saved:")
        return True

    def action_problem_step(self, step: int) -> None:
        problems = self.query_one("#bp-problems", OptionList)
        problems.action_cursor_down() if step > 0 else problems.action_cursor_up()

    def action_jump_to_highlighted_problem(self) -> None:
        problems = self.query_one("#bp-problems", OptionList)
        if problems.highlighted is not None:
            self.jump_to(int(problems.get_option_at_index(problems.highlighted).id))

    @on(OptionList.OptionSelected, "#bp-problems")
    def jump_to_problem(self, event: OptionList.OptionSelected) -> None:
        self.jump_to(int(event.option.id))

    def jump_to(self, index: int) -> None:
        """Put the editor's cursor on a problem's line and column and give the editor the focus at once."""
        problem = self.problems[index]
        editor = self.query_one(BlueprintEditor)
        editor.move_cursor((problem.line - 1, max(problem.column - 1, 0)))
        self.add_class("-editing")
        self.screen.set_focus(editor)

    # ------------------------------------------------------------ format and save

    def action_format(self) -> None:
        if not self.buffer.origin:
            return
        self.format_buffer(self.query_one(BlueprintEditor).text)

    @work(thread=True, exclusive=True, group="bp-format", exit_on_error=False)
    def format_buffer(self, text: str) -> None:
        from core.blueprints.syntax import BlueprintSyntaxError, format_text

        try:
            self.post_message(self.Formatted(text, format_text(text, BUFFER_PATH)))
        except BlueprintSyntaxError as exc:
            first = exc.errors[0]
            self.post_message(self.Failed(f"cannot format until it parses: {first.line}:{first.column}: {first.message}"))

    @on(Formatted)
    def show_formatted(self, message: Formatted) -> None:
        editor = self.query_one(BlueprintEditor)
        if editor.text != message.before:
            return  # typed on meanwhile; a stale format would undo it
        if message.text == message.before:
            self.status("already formatted")
            return
        row, _ = editor.cursor_location
        editor.replace(message.text, (0, 0), editor.document.end)
        editor.move_cursor((min(row, editor.document.line_count - 1), 0))
        self.status("formatted")

    def action_save(self) -> None:
        if not self.buffer.origin:
            return
        if self.buffer.origin in ("new", "copy"):  # never saved: the name is asked, not taken silently from the header
            text = self.query_one(BlueprintEditor).text
            suggestion = next((m.group(0)[len(m.group(1)):] for m in [_HEADER_NAME.search(text)] if m), "")
            self.app.push_screen(SaveAsPrompt(suggestion), self._save_as)
            return
        self.status("saving…")
        fallback = self.buffer.name if self.buffer.origin == "saved" else None
        self.save(self.query_one(BlueprintEditor).text, fallback)

    def _save_as(self, name: str | None) -> None:
        """The answer to SaveAsPrompt: the header takes the name (so text and name agree), then the buffer is saved."""
        from core.errors import TaskbenchError
        from core.names import check_name

        if name is None:
            self.status("not saved (esc): ctrl+s asks for the name again")
            return
        try:
            check_name(name, "blueprint")
        except TaskbenchError as exc:
            self.status(f"not saved: {exc.message}", error=True)
            return
        editor = self.query_one(BlueprintEditor)
        for row, line in enumerate(editor.document.lines):
            if match := _HEADER_NAME.match(line):
                if match.group(0)[len(match.group(1)):] != name:
                    editor.replace(name, (row, len(match.group(1))), (row, match.end()))
                break
        else:
            editor.insert(f"# blueprint: {name}\n", (0, 0))
        self.status("saving…")
        self.save(editor.text, name)

    @work(thread=True, exclusive=True, group="bp-save", exit_on_error=False)
    def save(self, text: str, fallback_name: str | None) -> None:
        from core.blueprints.registry import save_blueprint
        from core.blueprints.syntax import BlueprintSyntaxError, parse_blueprint
        from core.blueprints.validate import BlueprintInvalid
        from core.errors import TaskbenchError

        try:
            header_name = parse_blueprint(text, BUFFER_PATH).name
        except BlueprintSyntaxError:
            header_name = None
        try:
            with self.app.workspace.store() as store:
                version, created = save_blueprint(store, text, name=None if header_name else fallback_name)
        except BlueprintInvalid as exc:
            errors = [m for m in exc.messages if m.severity == "error"]
            first = errors[0]
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            self.post_message(self.Failed(f"not saved: {first.line}:{first.column}: error: {first.text}{more}"))
            return
        except TaskbenchError as exc:
            self.post_message(self.Failed(f"not saved: {exc.message}"))
            return
        self.post_message(self.Saved(text, version.blueprint, version.ref, created))

    @on(Saved)
    def show_saved(self, message: Saved) -> None:
        editor = self.query_one(BlueprintEditor)
        if editor.text == message.text:
            self.buffer = Buffer("saved", message.name, message.ref, message.text)
        self.show_title()
        self.status(f"saved as {message.ref}" if message.created else f"unchanged: {message.ref} already has this text")
        self.load()

    # ------------------------------------------------------------ train

    def action_train(self) -> None:
        if not self.buffer.origin:
            self.status("open or copy a blueprint first; t trains the buffer", error=True)
            return
        self.list_projects()

    @work(thread=True, exclusive=True, group="bp-projects", exit_on_error=False)
    def list_projects(self) -> None:
        projects = [(p.name, p.target_type, p.rows, p.holdout_unlocked) for p in self.app.workspace.projects()]
        self.post_message(self.ProjectsListed(projects))

    @on(ProjectsListed)
    def pick_project(self, message: ProjectsListed) -> None:
        if not message.projects:
            self.status("there are no projects yet: create one with `taskbench project create DATA --target COL`", error=True)
            return
        text = self.query_one(BlueprintEditor).text
        target_type = blueprint_target_type(text)
        fitting = [p for p in message.projects if target_type is None or p[1] == target_type]
        if not fitting:
            self.status(f"no project has target type {target_type}: create one, or change the blueprint's 'target:' header", error=True)
            return
        clean = self.buffer.ref is not None and text == self.buffer.clean_text
        label = self.buffer.ref if clean else f"the buffer ({self.buffer.name})"
        self.app.push_screen(ProjectPicker(fitting, label, target_type, len(message.projects) - len(fitting)), self._train_on)

    def _train_on(self, project: str | None) -> None:
        if not project:
            return
        text = self.query_one(BlueprintEditor).text
        clean = self.buffer.ref is not None and text == self.buffer.clean_text
        self.training = {"project": project}
        self.status(f"training on {project}…")
        self.train(project, text, self.buffer.ref if clean else None, self.buffer.name)

    @work(thread=True, exclusive=True, group="bp-train", exit_on_error=False)
    def train(self, project: str, text: str, saved: str | None, fallback_label: str) -> None:
        from core.blueprints.syntax import BlueprintSyntaxError, parse_blueprint
        from core.errors import TaskbenchError
        from core.training.engine import BlueprintSource, train_blueprints

        if saved:
            source = BlueprintSource(saved, text, saved, saved=saved)
        else:
            try:
                label = parse_blueprint(text, BUFFER_PATH).name or fallback_label or "untitled"
            except BlueprintSyntaxError:
                label = fallback_label or "untitled"
            source = BlueprintSource(label, text, BUFFER_PATH)

        def on_event(kind: str, data: dict) -> None:
            self.post_message(self.TrainEvent(kind, {**data, "project": project}))

        from textual.worker import get_current_worker

        cancel = get_current_worker().cancelled_event  # set by Textual on quit: the training's workers are stopped
        try:
            with self.app.workspace.store() as store:
                train_blueprints(store, project, [source], on_event=on_event, cancel=cancel)
        except TaskbenchError as exc:
            self.post_message(self.TrainEvent("failed", {"label": source.label, "project": project, "error": exc.message}))

    @on(TrainEvent)
    def show_training(self, message: TrainEvent) -> None:
        data = message.data
        if message.kind == "started":
            self.training = dict(data)
            self.status(f"training {data['label']} on {data['project']}: job {data['job']}, model {data['model']} "
                        "(its log is in Jobs)")
        elif message.kind == "trained":
            self.last_trained = {**self.training, **data}
            validation = data.get("scores", {}).get("validation", {})
            scores = ", ".join(f"{k} {score(k, v)}" for k, v in validation.items())
            job = self.training.get("job")
            # in the editor a digit is typed into the blueprint: esc leaves it first, then 4 shows Projects
            where = "esc, then 4 shows it in Projects" if self.query_one(BlueprintEditor).has_focus else "4 shows it in Projects"
            self.status(f"model {data['model']} trained on {data['project']} in {data['seconds']:.1f} s"
                        + (f" (job {job})" if job else "") + f": validation {scores}; {where}")
        else:
            model = f"model {data['model']} " if data.get("model") else ""
            self.status(f"training {data.get('label', '')} on {data['project']} failed: {model}{data.get('error', '')}", error=True)

    # ------------------------------------------------------------ status

    @on(Failed)
    def show_failure(self, message: Failed) -> None:
        self.status(message.text, error=True)

    def status(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#bp-status", Static)
        status.update(text)
        status.set_class(error, "error")
