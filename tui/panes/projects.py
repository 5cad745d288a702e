"""Projects pane: projects, their leaderboards (live), a model's page with scores, insights and files, holdout unlock.

Every number on screen comes from the engine: the leaderboard from
`leaderboard`, scores from `visible_scores`, charts from `compute_insights`.
The pane re-reads the selected leaderboard every couple of seconds, so a model
trained elsewhere (the Blueprints pane, the CLI, a colleague) appears by itself.
"""

from __future__ import annotations


from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, ScrollableContainer, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import (
    ContentSwitcher,
    DataTable,
    Static,
    TabbedContent,
    TabPane,
)

from ..actions import bindings, pane_action
from ..insights_view import draw_charts, draw_impact, impact_rows  # noqa: F401 - impact_rows for tests
from ..numbers import TUNED, lineage_note, metric_digits, score, size, tuned_setting, when
from ..screens.projects import ConfirmUnlock, ExportPrompt
from ..widgets.access import COLUMNS, cells_of, load_ownerships
from ..widgets.charts import Chart, number, text_table
from ..widgets.keyshint import KeysHint
from ..widgets.table import FittedTable
from . import Pane

NAME = "ProjectsPane"
ACTIONS = [
    pane_action(NAME, "open", "enter", "Open (a project's board, a model, a file's preview)", show=False, short="open"),
    pane_action(NAME, "next_metric", "s", "Sort by next metric", short="sort"),
    pane_action(NAME, "next_partition", "p", "Next partition", short="partition"),
    pane_action(NAME, "unlock", "u", "Unlock holdout", short="unlock"),
    pane_action(NAME, "export", "a", "Export artifacts", short="export"),
    # out of the footer, which is full at 80 columns on the board; the model page's key line names it
    pane_action(NAME, "retrain", "R", "Retrain the model (its blueprint and task versions)", show=False,
                short="retrain"),
    pane_action(NAME, "next_tab", "l", "Next model tab", show=False),
    pane_action(NAME, "previous_tab", "h", "Previous model tab", show=False),
    pane_action(NAME, "back", "escape", "Back", short="back"),
    pane_action(NAME, "reload", "r", "Reload projects", show=False),
]

PARTITIONS = ("validation", "cv", "holdout")
REFRESH_SECONDS = 2.0
WIDE = 120
NO_PROJECTS = ("no projects yet: create one with `taskbench project create DATA --target COL`, "
               "or try `taskbench demo`, which makes one with models")
TABS_HINT = "h l tabs  R retrain"  # the model page's keys the footer does not show (u, a, esc are in it)
NEEDS_PROJECT = frozenset({"open", "next_metric", "next_partition", "unlock", "export", "retrain", "back"})
PROJECT_LIST = 34  # columns the project list keeps however short its rows (its keys need a line)
NAME_ROOM = 20  # cells a blueprint name keeps on the board before a score column beyond the sorted one shows
TABS = ("tab-scores", "tab-impact", "tab-charts", "tab-files")
WITHHELD = "withheld:"  # the key of a file row standing for a node whose files the user may not see
LIST_COLUMNS = {False: ("name", "type", "rows", "holdout"), True: ("name", "holdout", *COLUMNS)}  # by shared


class ProjectsPane(Pane):
    """Lists projects; shows the selected one's leaderboard live; opens a model's page; unlocks the holdout."""

    KEY = "4"
    TITLE = "Projects"
    ACTIONS = ACTIONS
    BINDINGS = bindings(ACTIONS) + [Binding("j", "cursor_down", "Down", show=False), Binding("k", "cursor_up", "Up", show=False)]

    @dataclass
    class ProjectsLoaded(Message):
        rows: list  # (name, target type, rows, holdout unlocked)
        ownerships: dict | None = None  # a shared workspace's owners and access (tui.widgets.access); None: private

    @dataclass
    class BoardRefused(Message):
        """Core refused the project's leaderboard: its one sentence takes the board's place."""

        project: str
        text: str

    @dataclass
    class BoardLoaded(Message):
        project: dict  # name, target_type, rows, unlocked, unlocked_by, unlocked_at
        metrics: list
        metric: str
        partition: str
        higher_is_better: bool
        rows: list  # leaderboard rows (engine JSON), sorted

    @dataclass
    class ModelLoaded(Message):
        model: dict

    @dataclass
    class InsightsLoaded(Message):
        model_id: int
        insights: dict | None
        error: str | None = None

    @dataclass
    class Previewed(Message):
        path: str
        text: str

    @dataclass
    class Notice(Message):
        text: str
        error: bool = False

    @dataclass
    class TrainEvent(Message):
        kind: str  # "started", "trained", "failed" (core's events, as the Blueprints pane gets them)
        data: dict

    @dataclass
    class Unlocked(Message):
        project: str
        scored: int | None  # None: the unlock failed

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.project: str | None = None
        self.metric: str | None = None
        self.partition = "validation"
        self.board: ProjectsPane.BoardLoaded | None = None
        self.model_id: int | None = None
        self.model: dict | None = None
        self.insights: dict | None = None
        self._board_shape: tuple | None = None
        self._board_rows: tuple | None = None
        self._projects_rows: list | None = None
        self._ownerships: dict | None = None
        self.model_notice: str | None = None  # said on the model page while its insights are recomputed; kept after

    def compose(self) -> ComposeResult:
        with ContentSwitcher(initial="proj-main", id="proj-views"):
            with Horizontal(id="proj-main"):
                with Vertical(id="proj-left"):
                    yield Static("Projects", classes="pane-title")
                    yield FittedTable(id="proj-table", cursor_type="row", zebra_stripes=False)
                    yield KeysHint(ACTIONS, classes="status", id="proj-keys")
                with Vertical(id="proj-right"):
                    yield Static(NO_PROJECTS, id="proj-board-title", classes="pane-title sentence", markup=False)
                    yield FittedTable(id="proj-board", cursor_type="row", zebra_stripes=False)
                    yield Static("", id="proj-status", classes="status", markup=False)
            with Vertical(id="proj-model"):
                yield Static("", id="model-head", classes="pane-title", markup=False)
                with TabbedContent(id="model-tabs"):
                    with TabPane("Scores", id="tab-scores"), VerticalScroll(id="model-scores-scroll"):
                        yield Static("", id="model-scores", markup=False)
                    with TabPane("Impact", id="tab-impact"), VerticalScroll(id="model-impact-scroll"):
                        yield Chart(id="model-impact")
                    with TabPane("Charts", id="tab-charts"), VerticalScroll(id="model-charts-scroll"):
                        yield Chart(id="model-charts")
                    with TabPane("Files", id="tab-files"):
                        yield FittedTable(id="model-files", cursor_type="row", zebra_stripes=False)
                        with VerticalScroll(id="model-preview-scroll"):
                            yield Static("", id="model-preview", markup=False)
                yield Static("", id="model-status", classes="status", markup=False)

    def on_mount(self) -> None:
        # a shared workspace shows the owner and your access instead of type and rows (the board's title says them)
        self.query_one("#proj-table", DataTable).add_columns(*LIST_COLUMNS[bool(self.app.sharing)])
        self.query_one("#model-files", DataTable).add_columns("node", "file", "kind", "size")
        self.set_interval(REFRESH_SECONDS, self._tick)

    def on_resize(self) -> None:
        self.set_class(self.size.width >= WIDE, "-wide")
        if self._projects_rows is not None:
            self.lay_out_projects()
        self.call_after_refresh(self._redraw_board)

    # ------------------------------------------------------------ loading

    def refresh_data(self) -> None:
        self.load(self.project, self.metric, self.partition)

    def action_reload(self) -> None:
        self.refresh_data()

    def _tick(self) -> None:
        """The live refresh: re-read projects and the leaderboard while the pane is on screen."""
        if self.display and self.is_mounted and self.app.screen is self.screen:
            self.refresh_data()

    @work(thread=True, exclusive=True, group="proj-load", exit_on_error=False)
    def load(self, project: str | None, metric: str | None, partition: str) -> None:
        from core.errors import UsageError

        workspace = self.app.workspace
        projects = workspace.projects()
        self.post_message(self.ProjectsLoaded([(p.name, p.target_type, p.rows, p.holdout_unlocked) for p in projects],
                                              load_ownerships(self.app, "project")))
        names = [p.name for p in projects]
        if project not in names:
            project, metric = (names[0], None) if names else (None, None)
        if project is None:
            return
        try:
            board = workspace.leaderboard(project, metric, partition)  # ranked in core, as `taskbench leaderboard`
        except UsageError as exc:  # a project of another member's that is not shared with this user
            self.post_message(self.BoardRefused(project, exc.message))
            return
        proj = board.project
        info = {"name": proj.name, "target_type": proj.target_type, "rows": proj.rows, "unlocked": proj.holdout_unlocked,
                "unlocked_by": proj.holdout_unlocked_by, "unlocked_at": proj.holdout_unlocked_at}
        self.post_message(self.BoardLoaded(info, list(board.metrics), board.metric, board.partition,
                                           board.higher_is_better, board.rows))

    @on(ProjectsLoaded)
    def show_projects(self, message: ProjectsLoaded) -> None:
        if message.rows == self._projects_rows and message.ownerships == self._ownerships:
            return
        self._projects_rows = message.rows
        self._ownerships = message.ownerships
        self.lay_out_projects()
        if not message.rows:
            self.query_one("#proj-board-title", Static).update(NO_PROJECTS)
        self.query_one("#proj-board-title").set_class(not message.rows, "sentence")
        self.refresh_bindings()

    def lay_out_projects(self) -> None:
        """Fill the project list, as wide as its rows up to about half the pane: a name longer than that is cut
        with …, so the row count and holdout state are never pushed past the edge."""
        rows = self._projects_rows or []
        found = self._ownerships
        if found is None:
            cells = [(name, kind, f"{count:,}", "unlocked" if unlocked else "locked") for name, kind, count, unlocked in rows]
        else:
            cells = [(name, "unlocked" if unlocked else "locked", *cells_of(found, name)) for name, _, _, unlocked in rows]
        labels = LIST_COLUMNS[found is not None]
        widths = [max([len(label), *(len(str(c[i])) for c in cells)]) + 2 for i, label in enumerate(labels)]
        bar = 1 if len(cells) + 1 > max(1, self.size.height - 3) else 0  # a vertical scrollbar only when rows overflow
        limit = max(PROJECT_LIST, self.size.width // 2 + 2)
        width = min(limit, sum(widths) + bar)
        self.query_one("#proj-left").styles.width = max(PROJECT_LIST, width) if self.size.width else None
        room = max(8, width - sum(widths[1:]) - bar - 2)
        table = self.query_one("#proj-table", DataTable)
        keep = self.project
        table.clear()
        for name, *rest in cells:
            table.add_row(_ellipsis(name, room), *rest, key=name)
        names = [r[0] for r in rows]
        if keep in names:
            table.move_cursor(row=names.index(keep))

    @on(BoardRefused)
    def refused(self, message: BoardRefused) -> None:
        if self.project is not None and message.project != self.project:
            return
        self.project, self.board, self._board_rows = message.project, None, None
        self.query_one("#proj-board", DataTable).clear()
        title = self.query_one("#proj-board-title", Static)
        title.update(Text(message.text))
        title.add_class("sentence")

    @on(BoardLoaded)
    def show_board(self, message: BoardLoaded) -> None:
        if self.project is not None and message.project["name"] != self.project:
            return  # an answer for a project no longer selected
        self.board = message
        self.project = message.project["name"]
        self.metric = message.metric
        self.partition = message.partition
        p = message.project
        self.query_one("#proj-board-title").remove_class("sentence")
        better = "higher" if message.higher_is_better else "lower"
        holdout = "holdout unlocked" if p["unlocked"] else "holdout locked"
        self.query_one("#proj-board-title", Static).update(Text(  # one row each, cut with … rather than wrapped
            f"{p['name']} · {p['target_type']} · {p['rows']:,} rows · {holdout}\n"
            f"sorted by {message.partition} {message.metric} ({better} is better)"
            + (" · N≡M repeats model M" if any(r.get("repeat_of") for r in message.rows) else ""),
            no_wrap=True, overflow="ellipsis",
        ))
        table = self.query_one("#proj-board", DataTable)
        sorted_column = {"validation": 3, "cv": 4, "holdout": 5}[message.partition]
        labels = ["#", "model", "blueprint", f"valid {message.metric}", f"cv {message.metric}"]
        if p["unlocked"]:
            labels.append(f"holdout {message.metric}")
        labels += ["train s", "rows/s"]
        shared = self.app.sharing is not None
        if shared:
            labels.append("by")  # who trained each model; last, so it gives way first
        rows = board_cells(message.rows, message.metric, bool(p["unlocked"]), by=shared)
        width = table.size.width or self.size.width
        holdout = [labels.index(f"holdout {message.metric}")] if p["unlocked"] else []
        keep = whole_columns(rows, labels, width, [sorted_column, *holdout])  # never a column cut mid-header
        hidden = [label for i, label in enumerate(labels) if i not in keep]
        sorted_column = keep.index(sorted_column)
        labels = [labels[i] for i in keep]
        rows = [tuple(r[i] for i in keep) for r in rows]
        shape = tuple(labels) + (sorted_column,)
        rows = tuple(fit_names(rows, 2, width, labels))
        if shape == self._board_shape and rows == self._board_rows:
            return
        selected = self.selected_model()
        if shape != self._board_shape:
            if hidden:
                where = "enter shows the whole board" if not self.has_class("-board") else "a wider terminal shows them"
                self.status(f"not shown here: {', '.join(hidden)} ({where})")
            elif self._board_shape is not None:
                self.status("")
            table.clear(columns=True)
            for i, label in enumerate(labels):
                justify = "left" if i == 2 else "right"  # numbers right-aligned under right-aligned labels
                table.add_column(Text(label, style="bold underline" if i == sorted_column else "", justify=justify), key=label)
            self._board_shape = shape
        else:
            table.clear()
        self._board_rows = rows
        for r, cells in zip(message.rows, rows):
            table.add_row(*cells, key=str(r["model"]))
        ids = [str(r["model"]) for r in message.rows]
        if ids:
            table.move_cursor(row=ids.index(selected) if selected in ids else 0)


    def shared_object(self) -> tuple[str, str] | str:
        return ("project", self.project) if self.project else "no project is selected; create one with taskbench project create."

    def selected_model(self) -> str | None:
        table = self.query_one("#proj-board", DataTable)
        if not 0 <= table.cursor_row < table.row_count:  # empty, or asked (by a key check) mid-reload
            return None
        return table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value  # the model id, kept across reloads

    @property
    def board_rows(self) -> list[dict]:
        """The leaderboard rows on screen, as the engine returned them."""
        return list(self.board.rows) if self.board else []

    # ------------------------------------------------------------ keys

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """Board keys only on the board, model-page keys only on a model's page (hidden from the footer otherwise)."""
        if action in NEEDS_PROJECT and not self._projects_rows:
            return False  # an empty workspace: nothing to open, sort, unlock or export
        on_model = self.is_mounted and self.query_one("#proj-views", ContentSwitcher).current == "proj-model"
        if action in ("next_metric", "next_partition"):
            return not on_model
        if action in ("next_tab", "previous_tab"):
            return on_model
        if action in ("export", "retrain"):  # a model: the one open, or the leaderboard row under the cursor
            board = self.query_one("#proj-board") if self.is_mounted else None
            return on_model or (board is not None and board.has_focus and bool(self.selected_model()))
        return True

    @on(DataTable.RowHighlighted, "#proj-table")
    def project_highlighted(self, event: DataTable.RowHighlighted) -> None:
        name = event.row_key.value if event.row_key else None
        if name and name != self.project:
            self.project, self.metric, self.partition = name, None, "validation"
            self._board_shape = self._board_rows = None
            self.load(name, None, "validation")

    @on(DataTable.RowSelected, "#proj-table")
    def project_selected(self, event: DataTable.RowSelected) -> None:
        self.focus_board()

    @on(DataTable.RowSelected, "#proj-board")
    def model_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key and event.row_key.value:
            self.open_model(int(event.row_key.value))

    def action_open(self) -> None:
        focused = self.screen.focused
        if focused is self.query_one("#proj-table"):
            self.focus_board()
        elif focused is self.query_one("#proj-board") and self.selected_model():
            self.open_model(int(self.selected_model()))
        elif focused is self.query_one("#model-files"):
            self.query_one("#model-preview-scroll").focus()  # read the previewed file with j/k; esc returns

    @on(DataTable.RowSelected, "#model-files")
    def file_selected(self, event: DataTable.RowSelected) -> None:
        self.query_one("#model-preview-scroll").focus()

    def focus_board(self) -> None:
        self.add_class("-board")
        self.query_one("#proj-board", DataTable).focus()
        self.call_after_refresh(self._redraw_board)

    @on(FittedTable.Resized, "#proj-board")
    def board_resized(self, event: FittedTable.Resized) -> None:
        self._redraw_board()

    def _redraw_board(self) -> None:
        """Lay the leaderboard out again for the board's new width (names get the room the scores leave)."""
        if self.board is not None:
            self._board_rows = None
            self.show_board(self.board)

    def action_back(self) -> None:
        views = self.query_one("#proj-views", ContentSwitcher)
        if self.screen.focused is self.query_one("#model-preview-scroll"):
            self.query_one("#model-files").focus()
        elif views.current == "proj-model":
            self.model_id = None
            views.current = "proj-main"
            self.refresh_bindings()
            self.focus_board()
            self.refresh_data()
        else:
            self.remove_class("-board")
            self.query_one("#proj-table", DataTable).focus()
            self.call_after_refresh(self._redraw_board)

    def focus_default(self) -> None:
        if self.query_one("#proj-views", ContentSwitcher).current == "proj-model":
            self._focus_tab()
        elif self.has_class("-board"):
            self.query_one("#proj-board", DataTable).focus()
        else:
            self.query_one("#proj-table", DataTable).focus()

    def action_cursor_down(self) -> None:
        self._move(1)

    def action_cursor_up(self) -> None:
        self._move(-1)

    def _move(self, step: int) -> None:
        focused = self.screen.focused
        if isinstance(focused, DataTable):
            focused.action_cursor_down() if step > 0 else focused.action_cursor_up()
        elif isinstance(focused, ScrollableContainer):
            focused.scroll_relative(y=step, animate=False)

    def action_next_metric(self) -> None:
        if not self.board:
            return
        metrics = self.board.metrics
        self.metric = metrics[(metrics.index(self.metric) + 1) % len(metrics)] if self.metric in metrics else metrics[0]
        self.load(self.project, self.metric, self.partition)

    def action_next_partition(self) -> None:
        if not self.board:
            return
        scored = {"cv": any(r.get("cv") for r in self.board.rows), "holdout": self.board.project["unlocked"]}
        choices = [p for p in PARTITIONS if scored.get(p, True)]  # sorting by a column of '-' says nothing
        if len(choices) == 1:
            self.say("only validation scores to sort by: no model has cv scores (train with --cv) and the holdout is "
                     "locked (u unlocks it)")
            return
        self.partition = choices[(choices.index(self.partition) + 1) % len(choices)] if self.partition in choices else choices[0]
        self.load(self.project, self.metric, self.partition)

    # ------------------------------------------------------------ holdout

    def action_unlock(self) -> None:
        if not self.board:
            return
        p = self.board.project
        if p["unlocked"]:
            self.say(f"the holdout of {p['name']} was unlocked by {p['unlocked_by']} at {p['unlocked_at']}")
            return
        self.app.push_screen(ConfirmUnlock(p["name"]), lambda yes: self._unlock(p["name"]) if yes else self.say("the holdout stays locked"))

    def _unlock(self, project: str) -> None:
        self.say(f"unlocking the holdout of {project} and scoring its models on it…")
        if self.showing_model_page() and self.model and self.model["project"] == project:
            # the holdout is unlocked at once and scored for a while: the Scores tab says so now, not "locked"
            self.model["scoring"] = True
            self.query_one("#model-scores", Static).update(self._scores_text(self.model))
        self.unlock(project)

    @work(thread=True, exclusive=True, group="proj-unlock", exit_on_error=False)
    def unlock(self, project: str) -> None:
        from core.errors import TaskbenchError

        try:
            _, scored = self.app.workspace.unlock_holdout(project)
        except TaskbenchError as exc:
            self.post_message(self.Notice(f"unlocking failed: {exc.message}", error=True))
            self.post_message(self.Unlocked(project, None))  # the page shows what core holds, not "scoring…"
            return
        self.post_message(self.Unlocked(project, scored))

    @on(Unlocked)
    def show_unlocked(self, message: Unlocked) -> None:
        if message.scored is None:  # failed: the Notice said why; the page is read again
            if self.showing_model_page() and self.model_id is not None:
                self.load_model(self.model_id)
            return
        text = f"holdout of {message.project} unlocked; {message.scored} model(s) scored on it"
        self.refresh_data()
        if self.showing_model_page():
            # Reload the page in place (holdout scores and charts now), keeping the answer on its status line.
            self.model_notice = text
            self.load_model(self.model_id)
            self.load_insights(self.model_id)
        elif not self.has_class("-board"):
            self.focus_board()  # the whole board, so the new holdout column is in view beside the others
        self.say(text)

    # ------------------------------------------------------------ model page

    def open_model(self, model_id: int) -> None:
        self.model_id = model_id
        self.model = self.insights = None
        self.model_notice = None
        self.query_one("#proj-views", ContentSwitcher).current = "proj-model"
        self.refresh_bindings()
        self.query_one("#model-head", Static).update(f"model {model_id}")
        self.query_one("#model-scores", Static).update("loading…")
        self.query_one("#model-impact", Chart).draw_with(lambda width: "computing insights…")
        self.query_one("#model-charts", Chart).draw_with(lambda width: "computing insights…")
        self.query_one("#model-files", DataTable).clear()
        self.query_one("#model-preview", Static).update("")
        self.model_status(f"computing insights in the background…   {TABS_HINT}")
        self._focus_tab()
        self.load_model(model_id)
        self.load_insights(model_id)

    @work(thread=True, exclusive=True, group="proj-model", exit_on_error=False)
    def load_model(self, model_id: int) -> None:
        from core.errors import TaskbenchError
        from core.insights.custom import visible_files
        from core.sharing import require_model, withheld_nodes
        from core.training import metrics as metric_table
        from core.training.engine import visible_scores

        try:
            with self.app.workspace.store() as store:
                model, project = require_model(store, model_id, "see the models of")
                # a node whose task is not the user's to read keeps its files (its artifact) to itself: one sentence each
                files, withheld = visible_files(store, model) if model.state == "trained" else ([], [])
                withheld = dict(zip(withheld_nodes(store, model), withheld))  # node -> core's sentence
        except TaskbenchError as exc:
            self.post_message(self.Notice(exc.message, error=True))
            return
        self.post_message(self.ModelLoaded({
            "id": model.id, "blueprint": model.blueprint, "state": model.state, "message": model.message,
            "text": model.blueprint_text, "pins": model.resolved or {}, "scores": visible_scores(model, project),
            "train_seconds": model.train_seconds, "predict_speed": model.predict_speed, "job": model.job_id,
            "created_by": model.created_by, "created_at": model.created_at, "project": project.name,
            "tuned_from": model.parent_id, "tuning": model.tuning,
            "target_type": project.target_type, "unlocked": project.holdout_unlocked,
            "metrics": list(metric_table.METRICS[project.target_type]), "files": files, "withheld": withheld,
        }))

    @on(ModelLoaded)
    def show_model(self, message: ModelLoaded) -> None:
        m = message.model
        if m["id"] != self.model_id:
            return
        self.model = m
        self.query_one("#model-head", Static).update(
            f"model {m['id']} · {model_label(m)} · {m['state']} · {m['project']} ({m['target_type']})"
            + (f" · job {m['job']}" if m["job"] else "")  # esc: in the footer
        )
        self.query_one("#model-scores", Static).update(self._scores_text(m))
        files = self.query_one("#model-files", DataTable)
        files.clear()
        for f in m["files"]:
            files.add_row(f["node"], f["name"], f["kind"], size(f["size"]), key=f["path"])
        for node in m["withheld"]:  # highlighted, the row says why: core's sentence in the preview
            files.add_row(node, "(not shown)", "-", "-", key=f"{WITHHELD}{node}")
        if not m["files"] and not m["withheld"]:
            self.query_one("#model-preview", Static).update("no files: this model's nodes wrote none")

    @staticmethod
    def _scores_text(m: dict) -> str:
        names = m["metrics"]
        rows = []
        for partition in PARTITIONS:
            scores = m["scores"].get(partition)
            if scores:
                rows.append([partition, *(score(n, scores.get(n)) for n in names)])
            elif partition == "holdout" and (m.get("scoring") or not m["unlocked"]):
                rows.append(["holdout", *(["scoring…" if m.get("scoring") else "locked"] + ["-"] * (len(names) - 1))])
            else:
                rows.append([partition, *(["-"] * len(names))])
        parts = [text_table(["partition", *names], rows)]
        facts = []
        if m["train_seconds"] is not None:
            facts.append(f"trained in {number(m['train_seconds'], 1)} s")
        if m["predict_speed"] is not None:
            facts.append(f"predicts {number(m['predict_speed'], 0)} rows/s")
        facts.append(f"by {m['created_by']} at {when(m['created_at'])}")
        parts.append("; ".join(facts))
        if m["message"]:
            parts.append(f"message: {m['message']}")
        pins = []
        for node, pin in m["pins"].items():
            if pin.get("builtin"):
                pins.append([node, pin.get("task", ""), "built-in", (pin.get("sha256") or "")[:12]])
            else:
                pins.append([node, pin.get("task", ""), f"v{pin.get('version')}", (pin.get("sha256") or "")[:12]])
        parts.append("blueprint\n" + m["text"].rstrip())
        if pins:
            parts.append("exact tasks\n" + text_table(["node", "task", "version", "sha256"], pins, align_left=4))
        return "\n\n".join(parts)

    @work(thread=True, exclusive=True, group="proj-insights", exit_on_error=False)
    def load_insights(self, model_id: int) -> None:
        from core.errors import TaskbenchError

        try:
            insights = self.app.workspace.insights(model_id)
        except TaskbenchError as exc:
            self.post_message(self.InsightsLoaded(model_id, None, exc.message))
            return
        self.post_message(self.InsightsLoaded(model_id, insights))

    @on(InsightsLoaded)
    def show_insights(self, message: InsightsLoaded) -> None:
        if message.model_id != self.model_id:
            return
        impact = self.query_one("#model-impact", Chart)
        charts = self.query_one("#model-charts", Chart)
        if message.insights is None:
            impact.draw_with(lambda width: f"no insights: {message.error}")
            charts.draw_with(lambda width: f"no insights: {message.error}")
            self.model_status(message.error or "", error=True)
            return
        self.insights = insights = message.insights
        impact.draw_with(lambda width: draw_impact(insights, width))
        charts.draw_with(lambda width: draw_charts(insights, width))
        notice, self.model_notice = self.model_notice, None
        done = f"insights computed at {when(insights.get('computed_at'))}   {TABS_HINT}"
        self.model_status(f"{notice}; {done}" if notice else done)

    @on(DataTable.RowHighlighted, "#model-files")
    def file_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key and (event.row_key.value or "").startswith(WITHHELD) and self.model:
            self.query_one("#model-preview", Static).update(Text(self.model["withheld"][event.row_key.value[len(WITHHELD):]]))
        elif event.row_key and event.row_key.value:
            scroll = self.query_one("#model-preview-scroll")
            self.preview(event.row_key.value, max((scroll.content_region.width or 78) - 1, 20))

    @work(thread=True, exclusive=True, group="proj-preview", exit_on_error=False)
    def preview(self, path: str, width: int) -> None:
        from core.insights import preview

        try:
            text = preview(path, width)
        except OSError as exc:
            text = f"(cannot read {path}: {exc})"
        self.post_message(self.Previewed(path, text))

    @on(Previewed)
    def show_preview(self, message: Previewed) -> None:
        self.query_one("#model-preview", Static).update(f"{message.path}\n\n{message.text}")

    def action_next_tab(self) -> None:
        self._step_tab(1)

    def action_previous_tab(self) -> None:
        self._step_tab(-1)

    def _step_tab(self, step: int) -> None:
        if self.query_one("#proj-views", ContentSwitcher).current != "proj-model":
            return
        tabs = self.query_one("#model-tabs", TabbedContent)
        tabs.active = TABS[(TABS.index(tabs.active) + step) % len(TABS)] if tabs.active in TABS else TABS[0]
        self._focus_tab()

    @on(TabbedContent.TabActivated, "#model-tabs")
    def tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if self.query_one("#proj-views", ContentSwitcher).current == "proj-model":
            self.call_after_refresh(self._focus_tab)

    def _focus_tab(self) -> None:
        tabs = self.query_one("#model-tabs", TabbedContent)
        target = {"tab-scores": "#model-scores-scroll", "tab-impact": "#model-impact-scroll",
                  "tab-charts": "#model-charts-scroll", "tab-files": "#model-files"}.get(tabs.active, "#model-scores-scroll")
        self.query_one(target).focus()

    # ------------------------------------------------------------ export

    def action_export(self) -> None:
        model_id = self.model_id
        if model_id is None and self.screen.focused is self.query_one("#proj-board"):
            model_id = int(self.selected_model()) if self.selected_model() else None
        if model_id is None:
            self.say("open a model first (enter on a leaderboard row)")
            return
        suggestion = str(Path.cwd() / f"model-{model_id}-artifacts")
        self.app.push_screen(ExportPrompt(model_id, suggestion), lambda path: self.export(model_id, path) if path else None)

    @work(thread=True, exclusive=True, group="proj-export", exit_on_error=False)
    def export(self, model_id: int, path: str) -> None:
        from core.errors import TaskbenchError

        try:
            result = self.app.workspace.export_artifacts(model_id, path)
        except TaskbenchError as exc:
            self.post_message(self.Notice(f"not exported: {exc.message}", error=True))
            return
        self.post_message(self.Notice(
            f"exported {result['files']} file(s) of {len(result['nodes'])} node(s) of model {model_id} to {result['path']}"
            + "".join(f"; left out: {sentence}" for sentence in result.get("withheld") or ())
        ))

    # ------------------------------------------------------------ retrain

    def action_retrain(self) -> None:
        model_id = self.model_id
        if model_id is None and self.screen.focused is self.query_one("#proj-board"):
            model_id = int(self.selected_model()) if self.selected_model() else None
        if model_id is None or not self.project:
            self.say("pick a model first (a leaderboard row, or enter on one)")
            return
        self.say(f"retraining model {model_id} on {self.project}…")
        self.retrain(self.project, model_id)

    @work(thread=True, group="proj-retrain", exit_on_error=False)  # not exclusive: a second R would cancel the first
    def retrain(self, project: str, model_id: int) -> None:
        """Train the model again through core's retrain source (write on the project; its recorded blueprint and
        task versions), as `taskbench train PROJECT --retrain MODEL` does."""
        from textual.worker import get_current_worker

        from core.errors import TaskbenchError
        from core.training.engine import retrain_source, train_blueprints
        from core.training.projects import get_project

        def on_event(kind: str, data: dict) -> None:
            self.post_message(self.TrainEvent(kind, {**data, "project": project}))

        cancel = get_current_worker().cancelled_event  # set by Textual on quit: the training's workers are stopped
        try:
            with self.app.workspace.store() as store:
                source = retrain_source(store, get_project(store, project), model_id)
                train_blueprints(store, project, [source], on_event=on_event, cancel=cancel)
        except TaskbenchError as exc:
            self.post_message(self.Notice(exc.message, error=True))

    @on(TrainEvent)
    def show_training(self, message: TrainEvent) -> None:
        data = message.data
        if message.kind == "started":
            self.say(f"training {data['label']} on {data['project']}: job {data['job']}, model {data['model']} "
                     "(its log is in Jobs)")
        elif message.kind == "trained":
            validation = data.get("scores", {}).get("validation", {})
            scores = ", ".join(f"{k} {score(k, v)}" for k, v in validation.items())
            self.say(f"model {data['model']} trained in {data['seconds']:.1f} s: validation {scores}")
        else:
            model = f"model {data['model']} " if data.get("model") else ""
            self.say(f"training {data.get('label', '')} failed: {model}{data.get('error', '')}", error=True)
        self.refresh_data()  # the new model's row now, not at the next tick

    # ------------------------------------------------------------ status

    @on(Notice)
    def show_notice(self, message: Notice) -> None:
        if self.showing_model_page() and self.insights is None:
            self.model_notice = message.text  # insights still computing: their line, when it comes, keeps this
        self.say(message.text, error=message.error)

    def showing_model_page(self) -> bool:
        return self.query_one("#proj-views", ContentSwitcher).current == "proj-model"

    def say(self, text: str, *, error: bool = False) -> None:
        """Answer the user where they are: on the model page's status line or under the leaderboard."""
        if self.showing_model_page():
            self.model_status(text, error=error)
        else:
            self.status(text, error=error)

    def status(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#proj-status", Static)
        status.update(text)
        status.set_class(error, "error")

    def model_status(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#model-status", Static)
        status.update(text)
        status.set_class(error, "error")


# ---------------------------------------------------------------- drawings of compute_insights results


def board_cells(rows: list[dict], metric: str, unlocked: bool, by: bool = False) -> list[tuple]:
    """The leaderboard's cells: rank, model, blueprint, then the scores, each score column at its metric's one
    precision (as the CLI shows it) and right-aligned; times with one decimal, speeds whole; with `by` (a shared
    workspace), who trained each model."""
    parts = ["validation", "cv"] + (["holdout"] if unlocked else [])
    digits = {part: metric_digits(metric, ((r.get(part) or {}).get(metric) for r in rows)) for part in parts}

    def right(text: str) -> Text:
        return Text(text, justify="right")

    out = []
    for rank, r in enumerate(rows, 1):
        label = board_label(r)
        model = f"{r['model']}≡{r['repeat_of']}" if r.get("repeat_of") else str(r["model"])  # in the data, never cut
        cells = [right(str(rank)), right(model), label]
        cells += [right(number((r.get(part) or {}).get(metric), digits[part])) for part in parts]
        cells += [right(number(r.get("train_seconds"), 1)), right(number(r.get("predict_rows_per_second"), 0))]
        if by:
            cells.append(Text(r.get("created_by") or "-"))
        out.append(tuple(cells))
    return out


def board_label(row: dict) -> str:
    """A leaderboard row's blueprint cell. A tuned child leads with the setting it tried, 'alpha=0.1 (from #1, best)
    · NAME', so children of one model tell apart however narrow the column (a trial finding: they all read
    'NAME (tune…'); the model's page says it whole."""
    label = row["blueprint"]
    if row.get("tuned_from") is not None:
        setting = tuned_setting(row)
        lineage = f"from #{row['tuned_from']}" + (", best" if (row.get("tuning") or {}).get("best") else "")
        label = f"{setting} ({lineage}) · {TUNED.sub('', label)}" if setting else f"{TUNED.sub('', label)} ({lineage})"
    return label if row["state"] == "trained" else f"{label} ({row['state']})"


def model_label(m: dict) -> str:
    """The blueprint on a model's page: a tuned child's lineage and setting read whole, 'NAME (from #1: alpha=0.1,
    best)', as the CLI's leaderboard says them."""
    note = lineage_note(m)
    if not note:
        return m["blueprint"]
    return f"{TUNED.sub('', m['blueprint'])} ({note}" + (", best)" if (m.get("tuning") or {}).get("best") else ")")


def whole_columns(rows: list[tuple], labels: list[str], width: int, wanted: list[int], name: int = 2,
                  least: int = NAME_ROOM) -> list[int]:
    """The columns that fit whole in `width` cells: those up to the name and the `wanted` ones whatever the width
    (the sorted column must show), then the rest in order while they fit beside a name of `least` cells (or all of
    it when shorter: in the narrow preview a name reads before another score column shows); indexes in display
    order."""
    widest = [max([len(label), *(len(str(r[i])) for r in rows)]) + 2 for i, label in enumerate(labels)]
    keep = list(range(name + 1)) + [i for i in wanted if i > name]
    used = sum(widest[i] for i in keep if i != name) + min(widest[name], least + 2) + 1  # the scrollbar
    for i in range(name + 1, len(labels)):
        if i not in keep and (width <= 0 or used + widest[i] <= width):
            keep.append(i)
            used += widest[i]
    return sorted(keep)


def fit_names(rows: list[tuple], column: int, width: int, labels: list[str], least: int = 10) -> list[tuple]:
    """Cut the name in `column` with … so that every other column fits in `width` cells: the data stays whole."""
    if not rows or width <= 0:
        return rows
    widest = [max([len(label), *(len(str(r[i])) for r in rows)]) for i, label in enumerate(labels)]
    others = sum(w + 2 for i, w in enumerate(widest) if i != column) + 2 + 1  # cell padding, name padding, scrollbar
    room = max(least, width - others)
    return [tuple(_ellipsis(str(c), room) if i == column else c for i, c in enumerate(r)) for r in rows]


def _ellipsis(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
