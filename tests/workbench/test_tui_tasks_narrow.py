"""The Tasks pane at 80x24: long names are cut with an ellipsis, the data (version, type) stays in view, the env gives
way to names (the metadata says it), user text is never markup."""

from __future__ import annotations

from textual.widgets import DataTable, OptionList, RichLog, Static, TextArea

from tests.conftest import SAMPLES, make_task
from tests.workbench.test_tui_tasks import open_app, pane, settle, text_of
from tui.app import TaskbenchApp

LONG = "gradient_boosted_regression_with_a_longer"  # 41 characters
assert len(LONG) > 40


def register(home, folder, name=None):
    from core.tasks.versions import add_task
    from core.store import open_store

    with open_store(home) as store:
        return add_task(store, folder, name=name)[0]


def drawn_rows(table: DataTable) -> list[str]:
    """The table's lines as painted on screen (header first), at the table's current width."""
    return ["".join(segment.text for segment in table.render_line(y)) for y in range(min(table.size.height, table.row_count + 1))]


async def test_a_long_name_is_ellipsised_and_ver_type_stay_in_view(home):
    register(home, SAMPLES / "11_regression_ridge", name=LONG)
    register(home, SAMPLES / "09_binary_text_pipeline")
    app = TaskbenchApp(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_app(app, pilot)
        table = pane(app).query_one("#tasks-table", DataTable)
        assert table.region.right <= 80
        header, *rows = drawn_rows(table)
        for label in ("name", "ver", "type"):
            assert label in header, header
        assert "env" not in header, header  # it gave way to the names: 28 cells, not 14
        long_row = next(row for row in rows if row.lstrip().startswith(LONG[:8]))
        assert LONG[:27] in long_row and LONG not in long_row and "…" in long_row, long_row
        for value in ("v1", "regression"):
            assert value in long_row, long_row
        # the version column is right-aligned under its label
        assert header.index("ver") + len("ver") == long_row.index("v1") + len("v1"), (header, long_row)
        short_row = next(row for row in rows if row.lstrip().startswith("binary"))
        assert "v1" in short_row and "binary" in short_row, short_row
        # The full name is still what the row stands for, and the header shows it without wrapping.
        await pilot.press("j" if table.cursor_row == 0 and "binary" in rows[0] else "k")
        await settle(app, pilot)
        header_widget = pane(app).query_one("#tasks-header", Static)
        assert f"{LONG}@1" in text_of(app, "#tasks-header")
        lines = ["".join(s.text for s in strip) for strip in header_widget.render_lines(header_widget.region.reset_offset)]
        assert lines[0].startswith(LONG[:10]) and lines[0].rstrip().endswith("…"), lines
        assert "regression" in lines[1], lines  # the kind is not pushed off by the name
        assert any("versions [1]" in line for line in lines), lines  # nor the version marker


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


async def test_a_very_long_name_gives_way_to_the_owner_column_on_a_wide_terminal(home, monkeypatch):
    """The owner column stays whole at 200x50; the name gives the room (it showed as 'o' before)."""
    monkeypatch.setenv("TASKBENCH_USER", "alice")
    very_long = "a_really_quite_extraordinarily_long_task_name_for_binary_hooks_v2"  # 65 characters
    register(home, SAMPLES / "11_regression_ridge", name=very_long)
    app = TaskbenchApp(home)
    async with app.run_test(size=(200, 50)) as pilot:
        await open_app(app, pilot)
        await settle(app, pilot)
        await pilot.pause()
        header, row = drawn_rows(pane(app).query_one("#tasks-table", DataTable))[:2]
        assert "owner" in header and "alice" in row, row
        assert "v1" in row and "python-local" in row and "…" in row, row


MARKUP_FIT = """
import pandas as pd


def fit(X, y, output_dir, **kwargs):
    print("[global] index-url = https://example.invalid/simple")
    print("[bold]loud[/bold] and [red]red[/]")
    raise ValueError("bad option [global] in [bold]pip.conf[/bold]")
"""

MARKUP_METADATA = """
name: brackets
type: training
targetType: regression
hyperparameters:
  - name: mode
    type: select
    values: ["[global]", "[bold]x"]
    default: "[global]"
"""


async def test_user_text_with_brackets_is_shown_as_typed(home, tmp_path):
    """`[global]` and `[bold]` in metadata, a file and the fit output stay literal: nothing is read as markup."""
    from tests.conftest import DATA
    from tests.workbench.test_tui_tasks import fill_fit_dialog, log_text

    folder = make_task(tmp_path, {"custom.py": MARKUP_FIT, "model-metadata.yaml": MARKUP_METADATA}, name="brackets")
    register(home, folder)
    app = TaskbenchApp(home)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_app(app, pilot)
        meta = text_of(app, "#tasks-meta")
        assert "one of [global], [bold]x" in meta and "default '[global]'" in meta, meta
        await pilot.press("enter")
        await settle(app, pilot)
        assert 'print("[bold]loud[/bold] and [red]red[/]")' in pane(app).query_one("#tasks-file", TextArea).text

        await fill_fit_dialog(app, pilot, str(DATA / "juniors_3_year_stats_regression.csv"), "Grade 2014")
        await settle(app, pilot)
        log = log_text(app)
        assert "[global] index-url = https://example.invalid/simple" in log, log
        assert "[bold]loud[/bold] and [red]red[/]" in log, log
        status = text_of(app, "#tasks-status")
        assert "[global]" in status and "[bold]pip.conf[/bold]" in status, status


async def test_j_and_k_move_in_every_list_and_scroll_the_fit_output(home, tmp_path):
    """j/k move the task list, the file list and scroll the fit check's output; in the filter they are letters."""
    from textual.widgets import Input

    from tests.conftest import DATA
    from tests.workbench.test_tui_tasks import fill_fit_dialog

    register(home, SAMPLES / "11_regression_ridge", name=LONG)
    register(home, SAMPLES / "09_binary_text_pipeline")
    noisy = make_task(tmp_path, {"custom.py": "def fit(X, y, output_dir, **kwargs):\n    for i in range(200):\n        print('line', i)\n",
                                 "model-metadata.yaml": "name: noisy\ntype: training\ntargetType: regression\n"}, name="noisy")
    register(home, noisy)
    app = TaskbenchApp(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_app(app, pilot)
        table = pane(app).query_one("#tasks-table", DataTable)
        assert table.cursor_row == 0
        await pilot.press("j", "j")
        assert table.cursor_row == 2
        await pilot.press("k")
        assert table.cursor_row == 1

        await pilot.press("slash", "j", "k")
        assert pane(app).query_one("#tasks-filter", Input).value == "jk"
        await pilot.press("escape")
        await settle(app, pilot)

        while str(table.get_row_at(table.cursor_row)[0]) != "noisy":
            await pilot.press("j")
        await pilot.press("enter")
        await settle(app, pilot)
        files = pane(app).query_one("#tasks-files", OptionList)
        assert app.focused is files

        await fill_fit_dialog(app, pilot, str(DATA / "juniors_3_year_stats_regression.csv"), "Grade 2014")
        await settle(app, pilot)
        await pilot.press("l")
        log = pane(app).query_one("#tasks-fit-log", RichLog)
        from tests.workbench.test_tui_tasks import log_text
        assert app.focused is log and log.max_scroll_y > 0, (log_text(app)[-800:], log.size, log.virtual_size)
        log.scroll_to(y=0, animate=False, immediate=True)
        await pilot.press("j", "j", "j")
        await pilot.pause()
        assert log.scroll_y == 3
        await pilot.press("k")
        await pilot.pause()
        assert log.scroll_y == 2


async def test_the_empty_workspace_sentence_is_shown_whole_at_80x24(home):
    """Only a version's header is cut at the edge; the sentence saying how to add a task wraps instead."""
    app = TaskbenchApp(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_app(app, pilot)
        header = pane(app).query_one("#tasks-header", Static)
        drawn = " ".join("".join(s.text for s in strip).strip() for strip in header.render_lines(header.region.reset_offset))
        assert "No tasks yet; upload a task folder with u." in " ".join(drawn.split()), drawn


async def test_a_short_name_keeps_its_kind_beside_it(home):
    """When `ref  kind` fits the header's width it stays on one line (what the tmux walk reads), the type below it."""
    register(home, SAMPLES / "11_regression_ridge")
    app = TaskbenchApp(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_app(app, pilot)
        header = pane(app).query_one("#tasks-header", Static)
        for opened in (False, True):
            lines = ["".join(s.text for s in strip) for strip in header.render_lines(header.region.reset_offset)]
            assert lines[0].startswith("regression_ridge@1  estimator"), (opened, lines)
            assert lines[1].startswith("regression  versions [1]"), lines
            await pilot.press("enter")
            await settle(app, pilot)


def footer_words(app) -> list[str]:
    """The actions the footer shows now, as the footer names them."""
    return [binding.action for _n, binding, _e, _t in app.screen.active_bindings.values() if binding.show]


async def test_names_get_the_room_after_the_data_columns_and_each_action_is_hinted_once_at_80x24(home):
    """Sample-task names read past 10 cells at 80x24 (the owner and env columns go first; the header names the owner,
    the metadata the env);
    the keys line names only actions the footer does not show; the metadata is read whole with m; a long
    code line wraps in the preview instead of being cut."""
    from tests.workbench.test_tui_tasks import settle

    for folder, name in ((SAMPLES / "11_regression_ridge", LONG), (SAMPLES / "09_binary_text_pipeline", None)):
        register(home, folder, name=name)
    app = TaskbenchApp(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_app(app, pilot)
        table = pane(app).query_one("#tasks-table", DataTable)
        header, *rows = drawn_rows(table)
        long_row = next((row for row in rows if LONG[:8] in row), "")
        assert LONG[:14] in long_row and "…" in long_row, long_row
        assert "owner" not in header and header.rstrip().endswith("type"), header  # no column cut mid-label
        assert table.virtual_size.width <= table.size.width  # nothing to scroll sideways: no stray scrollbar row

        hint = text_of(app, "#tasks-status")
        footer = footer_words(app)
        assert "enter open" in hint and "m metadata" in hint, hint
        assert "d diff" not in hint and "older" not in hint, hint  # one version each: nothing to diff or step to
        for action in ("filter", "fit_check", "upload"):
            assert action in footer
        assert "filter" not in hint and "upload" not in hint, hint  # in the footer, so not hinted again

        await pilot.press("m")
        meta = pane(app).query_one("#tasks-meta-scroll")
        assert meta.has_focus
        await pilot.press("G")
        await pilot.pause()
        assert meta.scroll_y == meta.max_scroll_y
        await pilot.press("escape")
        assert table.has_focus

        await pilot.press("enter")
        await settle(app, pilot)
        area = pane(app).query_one("#tasks-file", TextArea)
        assert area.soft_wrap
        assert area.virtual_size.width <= area.size.width  # long lines fold in the preview, never cut at the edge
