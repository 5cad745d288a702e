"""Every pane's list is drawn with columns as wide as their content after a worker refills it.

Textual's DataTable measures its columns in its idle handler. Under CPU load that
pass can come after the screen has painted the refilled table, and the cells
painted then (cut at the header's width) used to stay on screen. Here the race is
not left to luck: `late_idle` makes the table's idle pass late on purpose, and the
waits keep painting the tables meanwhile, as the screen does when anything near them changes.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from rich.text import Text
from textual.geometry import Region
from textual.widgets import DataTable

from tests.conftest import SAMPLES
from tests.workbench.tui_support import DATA, QUICK, copy_workspace, juniors_workspace
from tui.app import TaskbenchApp

IDLE_DELAY = 0.3


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    """A workspace with a task, a project 'jr' with one trained model, and the jobs that made them."""
    return juniors_workspace(tmp_path_factory.mktemp("prepared") / "ws", "quick-median-imputed-ridge",
                             tasks=(SAMPLES / "11_regression_ridge",))


@pytest.fixture
def ws(prepared, tmp_path) -> Path:
    return copy_workspace(prepared, tmp_path)


@pytest.fixture
def late_idle(monkeypatch):
    """DataTable's idle pass, where Textual measures auto-width columns, runs late, as on a loaded machine."""
    original = DataTable._on_idle

    async def late(self, event):
        await asyncio.sleep(IDLE_DELAY)
        await original(self, event)

    monkeypatch.setattr(DataTable, "_on_idle", late)


def paint(app) -> None:
    """Paint the current pane's tables now, as the screen does when another widget's change covers them."""
    for table in app.current_pane.query(DataTable):
        if table.display and table.size:
            table.render_lines(Region(0, 0, table.outer_size.width, table.outer_size.height))


async def wait_for(pilot, condition, timeout: float = 15.0) -> None:
    """Wait for `condition` while the screen keeps painting."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the table was not filled in time")
        paint(pilot.app)
        await asyncio.sleep(0.05)  # not pilot.pause: that waits for the table's idle, the very thing delayed


async def settle(pilot) -> None:
    """Keep painting until the late idle pass has surely run."""
    for _ in range(int(3 * IDLE_DELAY / 0.05)):
        paint(pilot.app)
        await asyncio.sleep(0.05)  # not pilot.pause: that waits for the table's idle, the very thing delayed


def plain(cell) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


def assert_fits(table: DataTable) -> None:
    """Each column is at least as wide as its cells, and each drawn row shows every cell in view whole."""
    assert table.row_count > 0
    right, in_view = 0, []
    for index, column in enumerate(table.ordered_columns):
        widest = max(len(plain(cell)) for cell in table.get_column(column.key))
        assert column.get_render_width(table) >= widest + 2 * table.cell_padding, f"{table.id}: column {column.label}"
        right += column.get_render_width(table)
        if right <= table.scrollable_content_region.width:
            in_view.append(index)
    assert in_view, f"{table.id}: not even the first column is in view"
    top = table.header_height if table.show_header else 0
    table.scroll_to(0, 0, animate=False, immediate=True)
    for y in range(min(table.row_count, table.size.height - top)):
        drawn = "".join(segment.text for segment in table.render_line(top + y))
        cells = table.get_row_at(y)
        for index in in_view:
            assert plain(cells[index]) in drawn, f"{table.id} row {y}: {plain(cells[index])!r} is cut in {drawn!r}"


def add_task(home: Path) -> None:
    from core.tasks.versions import add_task
    from core.store import open_store

    with open_store(home) as store:
        add_task(store, SAMPLES / "09_binary_text_pipeline")


def add_project(home: Path) -> None:
    from core.store import open_store
    from core.training.projects import create_project

    with open_store(home) as store:
        create_project(store, DATA, target="Grade 2014", name="juniors-grade-2014-second-look")


def add_job(home: Path) -> None:
    from core.store import open_store

    with open_store(home) as store:
        store.create_job("fit", "a fit check with a much longer title than the others", {})


def add_environment(home: Path) -> None:
    from core.environments.versions import add_environment
    from core.store import open_store

    folder = home.parent / "env"
    folder.mkdir()
    (folder / "Dockerfile").write_text("FROM python:3.11-slim\n")
    with open_store(home) as store:
        add_environment(store, folder, name="python-with-a-rather-long-environment-name")


def add_blueprint(home: Path) -> None:
    from core.blueprints.registry import save_blueprint
    from core.store import open_store

    with open_store(home) as store:
        save_blueprint(store, QUICK, name="median-imputed-ridge-named-at-length", target_type="regression")


@pytest.mark.parametrize(
    ("key", "tables", "change", "keys"),
    [
        ("1", ["#tasks-table"], add_task, []),
        ("2", ["#env-table"], add_environment, []),
        ("3", ["#bp-table"], add_blueprint, []),
        ("4", ["#proj-table", "#proj-board"], add_project, ["s"]),
        ("5", ["#jobs-table"], add_job, []),
    ],
    ids=["tasks", "environments", "blueprints", "projects", "jobs"],
)
async def test_a_worker_refill_draws_columns_at_content_width(ws, late_idle, key, tables, change, keys):
    """Fill on opening the pane, then refill from the pane's worker with wider content; both drawn whole."""
    app = TaskbenchApp(ws)
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.press(key)
        found = [app.current_pane.query_one(selector, DataTable) for selector in tables]
        await wait_for(pilot, lambda: all(table.row_count for table in found))
        await settle(pilot)
        for table in found:
            assert_fits(table)

        before = [[tuple(map(plain, table.get_row_at(i))) for i in range(table.row_count)] for table in found]
        change(ws)
        app.current_pane.refresh_data()
        if keys:
            found[-1].focus()
            for k in keys:
                app.simulate_key(k)  # not pilot.press: that waits for the table's idle, the very thing delayed
        await wait_for(
            pilot,
            lambda: all(
                table.row_count and [tuple(map(plain, table.get_row_at(i))) for i in range(table.row_count)] != rows
                for table, rows in zip(found, before)
            ),
        )
        await settle(pilot)
        for table in found:
            assert_fits(table)


async def test_a_cell_that_grows_in_place_is_drawn_whole(home, late_idle):
    """The Jobs pane updates a changed cell in place: 'succeeded' is wider than the 'running' the column fitted."""
    from core.store import open_store

    with open_store(home) as store:
        job = store.start_job(store.create_job("fit", "long-running fit check", {}).id)
    app = TaskbenchApp(home)
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.press("5")
        table = app.query_one("#jobs-table", DataTable)
        await wait_for(pilot, lambda: table.row_count and str(table.get_cell(str(job.id), "state")) == "running")
        await settle(pilot)
        with open_store(home) as store:
            store.finish_job(job.id, "succeeded", exit_code=0)
        await wait_for(pilot, lambda: str(table.get_cell(str(job.id), "state")) == "succeeded")
        await settle(pilot)
        assert_fits(table)


async def test_str_cells_are_plain_text_never_markup():
    """`[global]` and `[bold]x` in a cell are shown as typed (DataTable alone would read them as markup)."""
    from textual.app import App

    from tui.widgets.table import FittedTable

    class One(App):
        def compose(self):
            yield FittedTable(id="t")

    app = One()
    async with app.run_test(size=(60, 6)) as pilot:
        table = app.query_one(FittedTable)
        table.add_columns("name", "value")
        table.add_row("[bold]x", "[global]", key="r")
        table.update_cell("r", table.ordered_columns[1].key, "[red]index-url[/]")
        await pilot.pause()
        drawn = "".join(segment.text for segment in table.render_line(1))
        assert "[bold]x" in drawn and "[red]index-url[/]" in drawn
