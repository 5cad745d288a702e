"""The workbench frame: pane keys, the action registry behind `?` and ctrl+p, quitting, 80x24."""

from __future__ import annotations

import pytest

from tui.actions import GLOBAL_ACTIONS, key_label
from tests.workbench.tui_support import wait_for
from tui.app import TaskbenchApp


@pytest.fixture
def app(home):
    return TaskbenchApp(home)


async def test_number_keys_and_tab_switch_panes(app):
    async with app.run_test(size=(80, 24)) as pilot:
        names = [p.__name__ for p in app.pane_types]
        assert app.current_pane.__class__.__name__ == names[0]
        for pane in app.pane_types:
            await pilot.press(pane.KEY)
            assert app.current_pane.__class__.__name__ == pane.__name__
        await pilot.press(app.pane_types[0].KEY)
        await pilot.press("tab")
        assert app.current_pane.__class__.__name__ == names[1 % len(names)]
        await pilot.press("shift+tab")
        assert app.current_pane.__class__.__name__ == names[0]


async def test_help_lists_every_registered_binding(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        text = str(app.screen.query_one("#help-text").render())
        for action, pane in app.all_actions():
            assert action.description in text, action
            assert key_label(action.key) in text
        for pane in app.pane_types:
            assert pane.TITLE in text
        await pilot.press("escape")
        assert app.screen is app.screen_stack[0]


async def test_every_pane_action_is_bound_and_described(app):
    """Each pane's keys come from its ACTIONS (no binding that help or the palette would not show)."""
    for pane in app.pane_types:
        declared = {a.key for a in pane.ACTIONS}
        bound = {b.key if hasattr(b, "key") else b[0] for b in pane.BINDINGS}
        assert declared <= bound, pane
    assert {a.name for a in GLOBAL_ACTIONS} >= {"help", "quit", "next_pane", "previous_pane", "command_palette"}


async def test_command_palette_finds_registered_actions(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Keys (help)")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        target = app.pane_types[-1]
        await pilot.press(app.pane_types[0].KEY)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*f"Show the {target.TITLE}")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert app.current_pane.__class__.__name__ == target.__name__


async def test_command_palette_on_an_empty_query_lists_taskbench_actions_first(app):
    from textual.command import CommandPalette
    from textual.widgets import OptionList

    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+p")
        await wait_for_palette(pilot)
        options = app.screen.query_one("CommandList", OptionList)
        await wait_for(pilot, lambda: options.option_count > 10)
        first = [str(options.get_option_at_index(i).prompt) for i in range(10)]
        assert isinstance(app.screen, CommandPalette)
        assert any("Keys (help)" in text for text in first), first
        assert any("Show the Tasks pane" in text for text in first), first


async def wait_for_palette(pilot):
    from textual.command import CommandPalette

    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CommandPalette))


async def test_q_quits(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code in (0, None)
    assert not app.is_running


async def test_environments_pane_lists_builtins_from_the_engine(app):
    async with app.run_test(size=(80, 24)) as pilot:
        env_pane = next(p for p in app.pane_types if p.__name__ == "EnvironmentsPane")
        await pilot.press(env_pane.KEY)
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        table = app.current_pane.query_one("#env-table")
        names = {str(table.get_row_at(i)[0]) for i in range(table.row_count)}
        assert {"python-local", "python-sklearn"} <= names


async def test_a_pane_whose_engine_call_raises_says_so_and_logs_the_traceback(app, home, monkeypatch):
    import core.environments.versions as environments

    def broken(store):
        raise RuntimeError("the registry is unreadable")

    monkeypatch.setattr(environments, "list_environments", broken)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        for _ in range(50):
            await pilot.pause(0.05)
            if app._notifications:
                break
        shown = [n.message for n in app._notifications]
        assert any("Environments: RuntimeError: the registry is unreadable" in m for m in shown), shown
    log = (home / "logs" / "workbench.log").read_text()
    assert "Traceback" in log and "the registry is unreadable" in log


async def test_help_wraps_a_long_description_under_itself(app):
    """At 80 columns `Read the Dockerfile (… g/G scroll` left `it)` alone under the keys column."""
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        help_text = app.screen.query_one("#help-text")
        rows = [help_text.render_line(y).text.rstrip() for y in range(help_text.region.height)]
        start = next(i for i, row in enumerate(rows) if "Read the Dockerfile" in row)
        assert rows[start + 1].startswith(" " * 15) and rows[start + 1].strip(), rows[start:start + 2]
