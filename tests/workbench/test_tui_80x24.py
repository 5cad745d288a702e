"""A newcomer's walk at 80x24: an empty workspace says how to start and offers no key that cannot act, the demo's
task names are told apart, headers are read whole, and no pane draws a scrollbar for content that fits."""

from __future__ import annotations

from textual.widgets import DataTable, Static

from tests.conftest import SAMPLES
from tests.workbench.test_tui_tasks import open_app, pane, settle, text_of
from tests.workbench.test_tui_tasks_narrow import drawn_rows, register
from tests.workbench.tui_support import juniors_workspace, wait_for
from tui.app import TaskbenchApp


def footer_keys(app) -> set[str]:
    """The keys the footer shows now (those a `check_action` hides are not among them)."""
    return {binding.key for _n, binding, enabled, _t in app.screen.active_bindings.values() if binding.show and enabled}


def stray_scrollbars(app) -> list[str]:
    """Scrollbars drawn on a shown widget whose content fits (nothing to scroll that way)."""
    stray = []
    for widget in app.screen.query("*"):
        if not widget.is_scrollable or not all(node.display for node in widget.ancestors_with_self if hasattr(node, "display")):
            continue
        if widget.show_horizontal_scrollbar and widget.max_scroll_x == 0:
            stray.append(f"{widget!r} sideways")
        if widget.show_vertical_scrollbar and widget.max_scroll_y == 0:
            stray.append(f"{widget!r} up and down")
    return stray


async def test_an_empty_workspace_says_how_to_start_and_hides_keys_that_cannot_act(home):
    app = TaskbenchApp(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_app(app, pilot)
        await settle(app, pilot)
        sentence = " ".join(text_of(app, "#tasks-header").split())
        assert "`taskbench demo`" in sentence and "`taskbench task add DIR`" in sentence, sentence
        hint = text_of(app, "#tasks-status")
        for word in ("d diff", "[ older", "] newer", "l fit output", "m metadata", "enter open", "esc back"):
            assert word not in hint, hint
        assert not {"d", "left_square_bracket", "right_square_bracket", "l", "m"} & footer_keys(app)
        assert "u" in footer_keys(app) and "f" not in footer_keys(app)  # an upload can; f needs a task (it answered "upload one first")

        await pilot.press("slash")  # a filter's esc still closes it with nothing listed
        await pilot.press("z", "escape")
        await settle(app, pilot)
        assert not pane(app).query_one("#tasks-filter").display or not pane(app).query_one("#tasks-filter").value

        await pilot.press("4")
        await pilot.pause(0.3)
        title = pilot.app.query_one("#proj-board-title", Static)
        assert "taskbench demo" in " ".join(str(title.render()).split())
        assert not {"s", "p", "u", "a"} & footer_keys(app)

        await pilot.press("5")
        await pilot.pause(0.3)
        assert "none yet" in str(app.query_one("#jobs-title", Static).render())
        assert not {"f", "e", "w"} & footer_keys(app)


async def test_the_demo_task_names_are_told_apart_and_the_upload_line_is_read_whole(home):
    for folder in sorted(SAMPLES.iterdir()):
        if folder.is_dir() and folder.name[:2].isdigit():
            register(home, folder, name=folder.name[3:])
    app = TaskbenchApp(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_app(app, pilot)
        await settle(app, pilot)
        table = pane(app).query_one("#tasks-table", DataTable)
        _header, *rows = drawn_rows(table)
        names = [row.split()[0] for row in rows]
        assert len(set(names)) == len(names) == table.row_count
        # whole at 80 columns (they were cut to 14 cells beside the env column, which the metadata says)
        assert sorted(names) == sorted(f.name[3:] for f in SAMPLES.iterdir() if f.is_dir() and f.name[:2].isdigit())
        assert all("…" not in row and "v1" in row for row in rows), rows
        header = pane(app).query_one("#tasks-header", Static)
        lines = ["".join(s.text for s in strip).rstrip() for strip in header.render_lines(header.region.reset_offset)]
        uploaded = " ".join(line.strip() for line in lines[lines.index(next(l for l in lines if "uploaded" in l)):])
        assert "…" not in uploaded and " by " in uploaded, lines
        assert all(len(line) <= header.size.width for line in lines)


async def test_headers_are_whole_and_no_pane_draws_a_bar_for_content_that_fits(tmp_path):
    home = juniors_workspace(tmp_path / "ws", "quick", tasks=(SAMPLES / "11_regression_ridge",))
    app = TaskbenchApp(home)
    async with app.run_test(size=(80, 24)) as pilot:
        for key in "123456":
            await pilot.press(key)
            await pilot.pause(0.5)
            assert not stray_scrollbars(app), (key, stray_scrollbars(app))
        await pilot.press("3")
        title = app.query_one("#bp-list-title", Static)
        await wait_for(pilot, lambda: "regression" in str(title.render()))
        assert "Blueprints (0) + regression templates" in " ".join(str(title.render()).split())
        assert "…" not in str(title.render())
        await pilot.press("c")
        await pilot.pause(0.5)
        assert not stray_scrollbars(app), stray_scrollbars(app)


async def test_environments_offer_build_and_dockerfile_keys_only_where_they_act(home):
    """python-local has nothing to build, no Dockerfile and no build log: b, d and enter are not offered for it;
    python-sklearn offers b and d."""
    from tests.workbench.test_tui_environments import select_environment

    app = TaskbenchApp(home)
    async with app.run_test(size=(80, 24)) as pilot:
        pane, table = await select_environment(pilot, "python-local")
        await wait_for(pilot, lambda: "no image to build" in str(pane.query_one("#env-log-note").render()))
        await pilot.pause(0.2)
        assert not {"b", "d"} & footer_keys(app)
        assert "enter log" not in str(pane.query_one("#env-status").render())
        table.move_cursor(row=[row.key.value for row in table.ordered_rows].index("python-sklearn"))
        await pilot.pause(0.3)
        assert {"b", "d"} <= footer_keys(app)


async def test_an_opened_task_names_esc_once(home):
    """Opening a task lists its files; `esc back` is said by the hint line only, not again in the list's title."""
    register(home, SAMPLES / "11_regression_ridge")
    app = TaskbenchApp(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_app(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        assert pane(app).opened
        said = text_of(app, "#tasks-title") + "\n" + text_of(app, "#tasks-status")
        assert said.count("esc") == 1, said
