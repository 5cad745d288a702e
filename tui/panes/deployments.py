"""Deployments pane: every deployment with its latest server run's monitoring, live; enter shows one in detail.

Every number comes from the engine: `deployment_rows` (the monitoring snapshots
each `taskbench serve` process stores in the workspace every few seconds) and
`get_model` (the model's blueprint and project). The list re-reads them every
second, so request counts grow on screen while a load runs, without a key.
The store records no server address or liveness, so the pane shows when the
latest snapshot was written rather than guessing whether a server is up.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Container, Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from ..actions import bindings, pane_action
from ..numbers import age, when
from ..widgets.access import COLUMNS, cells_of
from ..widgets.access import ownerships as ownerships_of
from ..widgets.charts import Chart, hbars, number, text_table
from ..widgets.reader import Reader
from ..widgets.table import FittedTable
from . import Pane

NAME = "DeploymentsPane"
ACTIONS = [
    pane_action(NAME, "open", "enter", "Show the deployment's numbers and drift", short="details"),
    pane_action(NAME, "back", "escape", "Back to the deployment list", show=False),
    pane_action(NAME, "reload", "r", "Reload deployments", show=False),
    pane_action(NAME, "cursor_down", "j", "Down (in the list or the details)", show=False),
    pane_action(NAME, "cursor_up", "k", "Up (in the list or the details)", show=False),
]

REFRESH_SECONDS = 1.0
WIDE = 160  # from this width the details sit beside the list
LIST_SHARE = 55  # per cent of the width the list gets beside the details (as in deployments.tcss)
TOP_FEATURES = 12  # drifting features drawn as bars; the rest are counted
PSI_SCALE = 0.25  # bars reach the end at PSI 0.25 ("large" by the usual rule of thumb) or the largest PSI
# (label, key, content width) of the columns beside name and blueprint; their width plus cell padding and scrollbar
FIXED = [("model", "model", 5), ("requests", "requests", 9), ("errors", "errors", 6), ("p50 ms", "p50", 6),
         ("p95 ms", "p95", 6), ("updated", "updated", 7)]
OTHER_COLUMNS = sum(w for _, _, w in FIXED) + 2 * (len(FIXED) + 2) + 2
# A shared workspace's list gives the room of errors and latency (the details show them) to the owner and your access.
SHARED_HIDDEN = ("errors", "p50", "p95")
SHARED_OTHER_COLUMNS = OTHER_COLUMNS - sum(w + 2 for _, key, w in FIXED if key in SHARED_HIDDEN) + (8 + 2) + (10 + 2)


@dataclass(frozen=True)
class DeploymentRow:
    """One deployment as the engine reports it, with its model's blueprint and project."""

    name: str
    model: int
    blueprint: str
    project: str
    token: bool
    created_by: str
    created_at: str
    monitor: dict | None  # the merged snapshot of the latest server run, as `taskbench deployments --json`

    def cells(self, name_width: int, blueprint_width: int, now: datetime) -> tuple:
        m = self.monitor or {}
        latency = m.get("latency_ms") or {}
        return (
            clip(self.name, name_width),
            f"#{self.model}",
            clip(self.blueprint, blueprint_width),
            count(m.get("requests")),
            count(m.get("errors")),
            number(latency.get("p50"), 1),  # milliseconds alike, not a score's significant digits (23.133 by 118.9)
            number(latency.get("p95"), 1),
            age(m.get("updated_at"), now) if self.monitor else "never",
        )


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 1)] + "…"


def count(value) -> str:
    return "-" if value is None else f"{value:,}"


def detail_text(row: DeploymentRow, width: int, now: datetime) -> str:
    """Everything stored about one deployment: facts, the serve command, the latest run's numbers, drift per feature."""
    lines = [
        f"{row.name}: model #{row.model} ({row.blueprint}) of project {row.project}",
        f"created {when(row.created_at)} by {row.created_by} · bearer token {'required' if row.token else 'not required'}",
        f"serve it: taskbench serve {row.name}   (options: --port N --host ADDR --workers N{' --token TOKEN' if row.token else ''})",
        "",
    ]
    m = row.monitor
    if not m:
        lines.append("Never served: no server run has stored monitoring for it yet.")
        return wrap(lines, width)
    workers = m.get("workers", 1)
    lines.append(f"Latest server run: started {when(m.get('run_started_at'))} · {workers} worker{'s' if workers != 1 else ''}")
    snapshot = f"  last snapshot {when(m.get('updated_at'))} ({age(m.get('updated_at'), now)})"
    if "uptime_seconds" in m:
        snapshot += f", up {m['uptime_seconds']:,.1f} s then"
    lines.append(snapshot)
    latency = m.get("latency_ms") or {}
    lines += [
        "",
        f"requests {count(m.get('requests'))}   errors {count(m.get('errors'))}   rows scored {count(m.get('rows_scored'))}",
        "latency ms (scoring routes)   " + "   ".join(f"{q} {number(latency.get(q), 2)}" for q in ("p50", "p95", "p99"))
        + ("   (worst worker)" if workers > 1 else ""),
    ]
    routes = m.get("routes") or {}
    if routes:
        table = [[route, count(c.get("requests", 0)), count(c.get("errors", 0)), count(c.get("4xx", 0)), count(c.get("5xx", 0))]
                 for route, c in sorted(routes.items())]
        lines += ["", *text_table(["route", "requests", "errors", "4xx", "5xx"], table).splitlines()]
    lines += ["", *drift_lines(m.get("drift") or {}, width)]
    return wrap(lines, width)


def wrap(lines: list[str], width: int) -> str:
    """Fold the lines longer than the width (prose only: bars and tables are drawn to fit), indenting the rest."""
    out = []
    for line in lines:
        if len(line) <= width:
            out.append(line)
        else:
            indent = " " * (len(line) - len(line.lstrip()) + 2)
            out += textwrap.wrap(line, max(width, 20), subsequent_indent=indent, break_on_hyphens=False) or [""]
    return "\n".join(out)


def drift_lines(drift: dict, width: int) -> list[str]:
    """The features whose scored values drift most from the training rows, by PSI, as bars."""
    features = drift.get("features") or {}
    lines = ["Drift by feature: PSI vs the training rows (<0.1 stable, >0.25 large)"]
    scored = sorted(((name, f) for name, f in features.items() if f.get("psi") is not None), key=lambda p: -p[1]["psi"])
    if not features:
        return lines + ["  no features are monitored for drift in this run."]
    if not scored:
        return lines + [f"  no rows scored yet; {len(features)} features monitored."]
    rows_scored = max(f.get("scored_rows", 0) for _, f in scored)
    lines.append(f"max PSI {number(drift.get('max_psi'))} over {rows_scored:,} scored rows · {len(features)} features")
    top = scored[:TOP_FEATURES]
    scale = max(PSI_SCALE, top[0][1]["psi"])
    bars = hbars([(name, f["psi"], f"{f['psi']:.4f}") for name, f in top], max(width - 1, 20), scale=scale)
    for (name, f), bar in zip(top, bars.splitlines()):
        lines.append(bar)
        shifts = f.get("largest_shifts")
        if shifts:
            lines.append("    share shift: " + ", ".join(f"{label} {delta:+.3f}" for label, delta in shifts.items()))
    if len(scored) > len(top):
        lines.append(f"... {len(scored) - len(top)} more features with lower PSI")
    return lines


class DeploymentsPane(Pane):
    """Lists deployments with live request counts and latency; enter shows one's numbers, drift and serve command."""

    KEY = "6"
    TITLE = "Deployments"
    ACTIONS = ACTIONS
    BINDINGS = bindings(ACTIONS)

    @dataclass
    class Loaded(Message):
        rows: list[DeploymentRow]
        ownerships: dict | None = None  # a shared workspace's owners and access (tui.widgets.access); None: private

    @dataclass
    class Failed(Message):
        message: str

    def __init__(self, *, id: str | None = None):
        super().__init__(id=id)
        self.rows: list[DeploymentRow] = []
        self.shown: list[tuple] = []  # the cells on screen, row by row
        self.opened: str | None = None  # the deployment whose details are shown
        self.name_width = 12
        self.blueprint_width = 12
        self._models: dict[int, tuple[str, str]] = {}  # model id -> (blueprint, project); a model never changes
        self.ownerships: dict | None = None

    def compose(self) -> ComposeResult:
        with Container(id="dep-body"):
            with Vertical(id="dep-list"):
                yield Static("Deployments", classes="pane-title", id="dep-title", markup=False)
                yield FittedTable(id="dep-table", cursor_type="row", zebra_stripes=False)
                yield Static("", classes="status", id="dep-status", markup=False)
            with Vertical(id="dep-detail-box"):
                yield Static("enter on a deployment shows its numbers and drift", classes="pane-title", id="dep-detail-title", markup=False)
                with Reader(id="dep-detail-scroll"):
                    yield Chart(id="dep-detail")

    def on_mount(self) -> None:
        self._add_columns()
        self.set_interval(REFRESH_SECONDS, self._tick)

    @property
    def table(self) -> FittedTable:
        return self.query_one("#dep-table", FittedTable)

    def _columns(self) -> list[tuple[str, str]]:
        """(label, key) of the list's columns: in a shared workspace the owner and your access replace latency."""
        every = [("name", "name"), ("model", "model"), ("blueprint", "blueprint"), *((l, k) for l, k, _ in FIXED[1:])]
        if not self.app.sharing:
            return every
        return [(label, key) for label, key in every if key not in SHARED_HIDDEN] + [(c, c) for c in COLUMNS]

    def _add_columns(self) -> None:
        for label, key in self._columns():
            self.table.add_column(label, key=key)

    def on_resize(self) -> None:
        wide = self.size.width >= WIDE
        self.set_class(wide, "-wide")
        list_width = self.size.width * LIST_SHARE // 100 if wide else self.size.width
        room = max(16, list_width - (SHARED_OTHER_COLUMNS if self.app.sharing else OTHER_COLUMNS))
        name_width, blueprint_width = min(32, room - room // 2), min(32, room // 2)
        if (name_width, blueprint_width) != (self.name_width, self.blueprint_width):
            self.name_width, self.blueprint_width = name_width, blueprint_width
            self.shown = []  # redraw every row at the new widths
            self._show_rows()

    def focus_default(self) -> None:
        if self.has_class("-open") and not self.has_class("-wide"):
            self.query_one("#dep-detail-scroll").focus()
        else:
            self.table.focus()

    # ------------------------------------------------------------ loading

    def refresh_data(self) -> None:
        self.load()

    def action_reload(self) -> None:
        self.load()

    def _tick(self) -> None:
        if self.display and self.is_attached:
            self.load()

    @work(thread=True, exclusive=True, group="dep-load", exit_on_error=False)
    def load(self) -> None:
        from core.deploy.deployments import deployment_rows
        from core.errors import UsageError
        from core.training.engine import get_model

        try:
            with self.app.workspace.store() as store:
                found = deployment_rows(store)
                rows = []
                for r in found:
                    if r["model"] not in self._models:
                        try:
                            model, project = get_model(store, r["model"])
                            self._models[r["model"]] = (model.blueprint, project.name)
                        except UsageError:  # another member's model this user may not see: the rest still shows
                            pass
                    blueprint, project = self._models.get(r["model"], ("-", "-"))
                    rows.append(DeploymentRow(r["name"], r["model"], blueprint, project, r["token"], r["created_by"],
                                              r["created_at"], r["monitor"]))
                ownerships = ownerships_of(store, "deployment") if self.app.sharing else None
        except Exception as exc:  # noqa: BLE001 - a busy or broken store is reported; the next tick tries again
            self.post_message(self.Failed(getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(self.Loaded(rows, ownerships))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        self.rows = message.rows
        self.ownerships = message.ownerships
        self._show_rows()
        self._show_detail()

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        self.query_one("#dep-status", Static).update(f"could not read deployments: {message.message}")

    def _show_rows(self) -> None:
        """Show the rows, keeping the cursor on the same deployment; only changed cells are redrawn."""
        table = self.table
        now = datetime.now(UTC)
        every = ["name", "model", "blueprint", *(key for _, key, _ in FIXED[1:])]
        keys = [key for _, key in self._columns()]
        cells = []
        for r in self.rows:
            found = dict(zip(every, r.cells(self.name_width, self.blueprint_width, now)))
            found.update(zip(COLUMNS, cells_of(self.ownerships, r.name)))
            cells.append(tuple(found[key] for key in keys))
        if [c[0] for c in cells] == [c[0] for c in self.shown] and len(cells) == table.row_count:
            for row, old, new in zip(self.rows, self.shown, cells):
                for key, before, after in zip(keys, old, new):
                    if before != after:
                        table.update_cell(row.name, key, after, update_width=True)
        else:
            selected = self.selected()
            table.clear()
            for row, row_cells in zip(self.rows, cells):
                table.add_row(*row_cells, key=row.name)
            if selected is not None and any(r.name == selected.name for r in self.rows):
                table.move_cursor(row=table.get_row_index(selected.name))
        self.shown = cells
        served = sum(r.monitor is not None for r in self.rows)
        self.query_one("#dep-title", Static).update(
            f"Deployments  {len(self.rows)}" + (f" · {served} with monitoring" if self.rows else ""))
        status = ("enter details · updates every second" if self.rows
                  else "No deployments yet; create one with `taskbench deploy MODEL`, then `taskbench serve NAME`.")
        self.query_one("#dep-status", Static).update(status)

    def shared_object(self) -> tuple[str, str] | str:
        row = self.selected()
        return ("deployment", row.name) if row else "no deployment is selected; create one with taskbench deploy MODEL."

    def selected(self) -> DeploymentRow | None:
        table = self.table
        if not self.rows or table.row_count == 0:
            return None
        return self.rows[min(table.cursor_row, len(self.rows) - 1)]

    def _show_detail(self) -> None:
        chart = self.query_one("#dep-detail", Chart)
        row = next((r for r in self.rows if r.name == self.opened), None)
        if row is None:
            if self.opened is not None:
                self.action_back()
            return
        self.query_one("#dep-detail-title", Static).update(f"{row.name} · esc back to the list")
        chart.draw_with(lambda width: detail_text(row, width, datetime.now(UTC)))

    # ------------------------------------------------------------ keys

    @on(DataTable.RowSelected, "#dep-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    @on(DataTable.RowHighlighted, "#dep-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        row = self.selected()
        if self.opened is not None and row is not None and row.name != self.opened:
            self.opened = row.name  # beside the list, the details follow the cursor
            self._show_detail()

    def action_open(self) -> None:
        row = self.selected()
        if row is None:
            return
        self.opened = row.name
        self.add_class("-open")
        self._show_detail()
        self.screen.set_focus(self.query_one("#dep-detail-scroll"))  # now: j typed right after scrolls the details

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """enter shows the details from the list; inside the details it is not offered (it has nothing more to show)."""
        if action == "open" and self.is_mounted and self.query_one("#dep-detail-scroll").has_focus:
            return False
        return True

    def action_back(self) -> None:
        if self.query_one("#dep-detail-scroll").has_focus and self.has_class("-wide"):
            self.table.focus()
            return
        self.opened = None
        self.remove_class("-open")
        self.query_one("#dep-detail", Chart).draw_with(None)
        self.query_one("#dep-detail-title", Static).update("enter on a deployment shows its numbers and drift")
        self.table.focus()

    def action_cursor_down(self) -> None:
        self.table.action_cursor_down()  # the details, once focused, scroll with their own reading keys

    def action_cursor_up(self) -> None:
        self.table.action_cursor_up()
