"""The Tasks pane at 80x24: long names are cut with an ellipsis, the data (version, type, env) stays in view, user text is never markup."""

from __future__ import annotations

from textual.widgets import DataTable, OptionList, RichLog, Static, TextArea

from tests.conftest import SAMPLES, make_task
from tests.functional.test_tui_tasks import open_app, pane, settle, text_of
from tui.app import TaskbenchApp

LONG = "gradient_boosted_regression_with_a_longer"  # 41 characters
assert len(LONG) > 40


def register(home, folder, name=None):
    from core.registry.tasks import add_task
    from core.store import open_store

    with open_store(home) as store:
        return add_task(store, folder, name=name)[0]


def drawn_rows(table: DataTable) -> list[str]:
    """The table's lines as painted on screen (header first), at the table's current width."""
    return ["".join(segment.text for segment in table.render_line(y)) for y in range(min(table.size.height, table.row_count + 1))]


async def test_a_long_name_is_ellipsised_and_ver_type_env_stay_in_view(home):
    register(home, SAMPLES / "11_regression_ridge", name=LONG)
    register(home, SAMPLES / "09_binary_text_pipeline")
    app = TaskbenchApp(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_app(app, pilot)
        table = pane(app).query_one("#tasks-table", DataTable)
        assert table.region.right <= 80
        header, *rows = drawn_rows(table)
        for label in ("name", "ver", "type", "env"):
            assert label in header, header
        long_row = next(row for row in rows if row.lstrip().startswith(LONG[:8]))
        assert LONG not in long_row and "…" in long_row, long_row
        for value in ("v1", "regression", "python-local"):
            assert value in long_row, long_row
        # the version column is right-aligned under its label
        assert header.index("ver") + len("ver") == long_row.index("v1") + len("v1"), (header, long_row)
        short_row = next(row for row in rows if row.lstrip().startswith("binary"))
        assert "v1" in short_row and "python-local" in short_row, short_row
        # The full name is still what the row stands for, and the header shows it without wrapping.
        await pilot.press("j" if table.cursor_row == 0 and "binary" in rows[0] else "k")
        await settle(app, pilot)
        header_widget = pane(app).query_one("#tasks-header", Static)
        assert f"{LONG}@1" in text_of(app, "#tasks-header")
        lines = ["".join(s.text for s in strip) for strip in header_widget.render_lines(header_widget.region.reset_offset)]
        assert lines[0].startswith(LONG[:10]) and lines[0].rstrip().endswith("…"), lines
        assert "regression" in lines[1], lines  # the kind is not pushed off by the name


async def test_the_name_column_grows_back_on_a_wide_terminal(home):
    register(home, SAMPLES / "11_regression_ridge", name=LONG)
    app = TaskbenchApp(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_app(app, pilot)
        table = pane(app).query_one("#tasks-table", DataTable)
        assert LONG not in drawn_rows(table)[1]
        await pilot.resize_terminal(200, 50)
        await settle(app, pilot)
        await pilot.pause()
        header, row = drawn_rows(table)[:2]
        assert LONG in row and "v1" in row and "python-local" in row, row
