"""The Blueprints pane over a real workspace: copy a template, live validation at line and column, save, train."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Input

from tests.workbench.tui_support import (
    QUICK,
    copy_workspace,
    juniors_workspace,
    wait_for,
    wait_for_file,
)
from tui.app import TaskbenchApp
from tui.panes.blueprints import BlueprintEditor, BlueprintsPane, ProjectPicker
from tui.screens.clone import SaveAsPrompt
from tui.screens.confirm import ConfirmQuit

TEMPLATE = "impute-standardize-ridge"


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    """A workspace with project 'jr' and one model trained through core, built once and copied per test."""
    return juniors_workspace(tmp_path_factory.mktemp("prepared") / "ws", "quick")


@pytest.fixture
def ws(prepared, tmp_path) -> Path:
    return copy_workspace(prepared, tmp_path)


async def copy_template(pilot, app) -> tuple[BlueprintsPane, BlueprintEditor]:
    """Show the Blueprints pane, put the cursor on the regression template and press c."""
    await pilot.press("3")
    pane = app.query_one(BlueprintsPane)
    table = pane.query_one("#bp-table", DataTable)
    # the templates listed first are those of the newest project's target type
    await wait_for(pilot, lambda: pane.target_type == "regression" and table.row_count > 0)
    keys = [row.key.value for row in table.ordered_rows]
    table.move_cursor(row=keys.index(f"template:regression:{TEMPLATE}"))
    await pilot.press("c")
    editor = pane.query_one(BlueprintEditor)
    await wait_for(pilot, lambda: editor.has_focus and "model = ridge(scale, cat)" in editor.text)
    await wait_for(pilot, lambda: pane.query_one("#bp-problems-title").content == "problems: none")
    return pane, editor


async def test_copy_template_mistake_shown_at_line_and_column_then_fixed_saved_and_trained(ws):
    from core.blueprints.registry import get_blueprint
    from core.store import open_store
    from core.training.engine import leaderboard

    app = TaskbenchApp(home=ws)
    async with app.run_test(size=(80, 24)) as pilot:
        pane, editor = await copy_template(pilot, app)
        assert not editor.read_only
        assert pane.query_one("#bp-graph").content.count("[model: ridge]") == 1

        # The cursor starts at the end; go to the model line and feed it an undefined name.
        await pilot.press("up", "end", "backspace", *", nm)")
        lines = editor.text.splitlines()
        row = next(i for i, line in enumerate(lines) if line.startswith("model"))
        assert lines[row] == "model = ridge(scale, cat, nm)"
        expected = f"{row + 1}:{lines[row].index('nm') + 1}: error: unknown input 'nm'"
        took = await wait_for(pilot, lambda: any(line.startswith(expected) for line in pane.problem_lines), timeout=1.0)
        assert took < 1.0
        assert (lines[row].index("nm"), "error") in editor.marks[row]

        await pilot.press(*["backspace"] * 5, ")")
        assert editor.text.splitlines()[row] == "model = ridge(scale, cat)"
        await wait_for(pilot, lambda: not any(": error:" in line for line in pane.problem_lines), timeout=1.0)
        assert row not in editor.marks

        await pilot.press("ctrl+s")  # a copy never saved: the name is asked, the header's offered
        await wait_for(pilot, lambda: isinstance(app.screen, SaveAsPrompt))
        assert app.screen.query_one(Input).value == TEMPLATE
        await pilot.press("enter")
        await wait_for(pilot, lambda: "saved as" in str(pane.query_one("#bp-status").content))
        with open_store(ws) as store:
            saved = get_blueprint(store, TEMPLATE)
        assert saved.ref == f"{TEMPLATE}@1" and saved.text == editor.text
        assert pane.buffer.ref == saved.ref

        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: isinstance(app.screen, ProjectPicker))
        await pilot.press("enter")  # the only project that fits, jr
        await wait_for(pilot, lambda: pane.last_trained is not None, timeout=120)
        await app.workers.wait_for_complete()
        trained = pane.last_trained
        status = str(pane.query_one("#bp-status").content)
        assert f"model {trained['model']} trained on jr" in status and f"job {trained['job']}" in status
        # the hint names the keys that really get there from the editor (4 alone was typed into the blueprint)
        assert editor.has_focus and status.endswith("; esc, then 4 shows it in Projects")
        text = editor.text
        await pilot.press("escape", "4")
        assert editor.text == text and app.current_pane.TITLE == "Projects"
        with open_store(ws) as store:
            _, _, rows = leaderboard(store, "jr")
        row = next(r for r in rows if r["model"] == trained["model"])
        assert row["blueprint"] == saved.ref and row["state"] == "trained"


async def test_typing_q_digits_and_question_mark_goes_into_the_editor(ws):
    app = TaskbenchApp(home=ws)
    async with app.run_test(size=(80, 24)) as pilot:
        pane, editor = await copy_template(pilot, app)
        await pilot.press("q", "4", "question_mark")
        await pilot.pause(0.1)
        assert editor.text.endswith("q4?")
        assert app.is_running and app.return_code is None
        assert app.query_one(BlueprintsPane).display  # still on the Blueprints pane, no help screen
        assert app.screen is app.screen_stack[0]

        await pilot.press("escape")  # leaves the editor for the list
        assert pane.query_one("#bp-table").has_focus
        assert not pane.has_class("-editing")


async def test_ctrl_s_on_a_new_blueprint_asks_its_name_and_esc_saves_nothing(ws):
    """A new buffer (n) is never saved as 'untitled' unasked: ctrl+s asks the name (the header's offered),
    esc cancels with nothing saved, a name typed in saves under it and the header takes it."""
    from core.blueprints.registry import list_blueprints
    from core.store import open_store

    app = TaskbenchApp(home=ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        pane = app.query_one(BlueprintsPane)
        await wait_for(pilot, lambda: pane.query_one("#bp-table", DataTable).row_count > 0)
        await pilot.press("n")
        editor = pane.query_one(BlueprintEditor)
        await wait_for(pilot, lambda: editor.has_focus and editor.text.startswith("# blueprint: untitled"))
        editor.insert(QUICK, editor.document.end)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, SaveAsPrompt))
        assert app.screen.query_one(Input).value == "untitled"
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, SaveAsPrompt))
        await pilot.pause(0.3)
        assert "not saved" in str(pane.query_one("#bp-status").content) and editor.has_focus
        with open_store(ws) as store:
            assert list_blueprints(store) == []

        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, SaveAsPrompt))
        app.screen.query_one(Input).value = "my-ridge"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "saved as" in str(pane.query_one("#bp-status").content))
        assert str(pane.query_one("#bp-status").content) == "saved as my-ridge@1"
        assert editor.text.startswith("# blueprint: my-ridge ") and pane.buffer.ref == "my-ridge@1"
        with open_store(ws) as store:
            assert [b.name for b in list_blueprints(store)] == ["my-ridge"]
        await pilot.press("ctrl+s")  # saved once: no question, the same text is already that version
        await wait_for(pilot, lambda: "unchanged" in str(pane.query_one("#bp-status").content))
        assert not isinstance(app.screen, SaveAsPrompt)


async def test_format_save_errors_and_layouts(ws):
    app = TaskbenchApp(home=ws)
    async with app.run_test(size=(80, 24)) as pilot:
        pane, editor = await copy_template(pilot, app)
        graph, box = pane.query_one(BlueprintEditor), pane.query_one("#bp-graph-box")
        assert box.region.y >= graph.region.bottom  # stacked at 80x24
        assert not pane.query_one("#bp-left").display  # the list steps aside while editing

        await pilot.press("up", "end", "backspace", *", nm)")
        await wait_for(pilot, lambda: any(": error:" in line for line in pane.problem_lines), timeout=1.0)
        await pilot.press("ctrl+s")  # errors block saving
        await wait_for(pilot, lambda: isinstance(app.screen, SaveAsPrompt))
        await pilot.press("enter")
        await wait_for(pilot, lambda: "not saved" in str(pane.query_one("#bp-status").content))
        assert "unknown input 'nm'" in str(pane.query_one("#bp-status").content)

        editor.load_text("# blueprint: tidy\nnum=impute_median(NUM)\nmodel=ridge(num,alpha=2)\n")
        await pilot.press("ctrl+f")
        await wait_for(pilot, lambda: "num   = impute_median(NUM)" in editor.text)
        assert "model = ridge(num, alpha=2)" in editor.text

    app = TaskbenchApp(home=ws)
    async with app.run_test(size=(200, 50)) as pilot:
        pane, editor = await copy_template(pilot, app)
        box = pane.query_one("#bp-graph-box")
        assert pane.has_class("-wide")
        assert box.region.x >= editor.region.right and box.region.y == editor.region.y  # side by side
        assert pane.query_one("#bp-left").display


async def test_saved_blueprint_opens_for_editing_and_copies_under_a_new_name(ws):
    from core.blueprints.registry import save_blueprint
    from core.store import open_store

    with open_store(ws) as store:
        save_blueprint(store, "# blueprint: quick-bp\n" + QUICK)
    app = TaskbenchApp(home=ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        pane = app.query_one(BlueprintsPane)
        table = pane.query_one("#bp-table", DataTable)
        await wait_for(pilot, lambda: table.row_count > 0 and [str(c) for c in table.get_row_at(0)[:2]] == ["quick-bp", "v1"])
        await pilot.press("enter")
        editor = pane.query_one(BlueprintEditor)
        await wait_for(pilot, lambda: editor.has_focus and "ridge(num)" in editor.text)
        assert str(pane.query_one("#bp-title").content) == "quick-bp@1"
        await pilot.press("enter", "q")
        assert "(edited)" in str(pane.query_one("#bp-title").content)

        await pilot.press("escape", "c")  # unsaved edits: the first c only warns
        assert "unsaved edits" in str(pane.query_one("#bp-status").content)
        assert not editor.has_focus
        await pilot.press("c")
        await wait_for(pilot, lambda: editor.text.startswith("# blueprint: quick-bp-copy\n"))
        assert pane.buffer.origin == "copy" and pane.buffer.ref is None

        await pilot.press("escape", "y")  # templates of the next target type
        await wait_for(pilot, lambda: pane.target_type == "anomaly")
        keys = [row.key.value for row in table.ordered_rows]
        assert "template:anomaly:isolation-forest" in keys and "saved:quick-bp" in keys


async def test_quitting_while_a_blueprint_trains_asks_then_stops_it_at_once(ws, tmp_path, monkeypatch):
    """q while a training started from the editor runs: the app asks first (esc stays, the training goes on);
    q in the question quits at once and the job ends cancelled."""
    import asyncio
    import time

    from core.tasks.versions import add_task
    from core.store import open_store
    from tests.conftest import make_task
    from tests.cli.test_fit_faults import processes_using
    from tests.cli.test_training import SLEEPY_ESTIMATOR

    marker = tmp_path / "fit.pid"
    monkeypatch.setenv("SLEEPY_MARKER", str(marker))
    with open_store(ws) as store:
        add_task(store, make_task(tmp_path, SLEEPY_ESTIMATOR, name="sleepy"))
    app = TaskbenchApp(home=ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        pane = app.query_one(BlueprintsPane)
        pane.train("jr", "model = sleepy(NUM)\n", None, "sleepy")
        await wait_for_file(pilot, marker, "the task's fit")
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmQuit))
        assert "a training (Blueprints) is running" in str(app.screen.query_one("#confirm-text").content)
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert app.is_running and not isinstance(app.screen, ConfirmQuit)
        with open_store(ws) as store:
            assert next(j for j in store.list_jobs(limit=5) if j.kind == "train").state == "running"
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmQuit))
        quit_at = time.monotonic()
        await pilot.press("q")
    await asyncio.get_running_loop().shutdown_default_executor()  # what `taskbench` waits for after the app returns
    exited = time.monotonic() - quit_at
    assert exited < 3, f"the app took {exited:.1f} s to exit"
    with open_store(ws) as store:
        job = next(j for j in store.list_jobs(limit=5) if j.kind == "train" and "sleepy" in j.title)
    assert job.state == "cancelled"
    assert processes_using(ws) == []


async def test_q_with_unsaved_edits_asks_first_and_esc_keeps_the_buffer(ws):
    """Leaving the editor (esc) with edits and pressing q asks before quitting; esc stays with the text intact,
    q in the question quits. With a clean buffer q quits at once."""
    app = TaskbenchApp(home=ws)
    async with app.run_test(size=(80, 24)) as pilot:
        pane, editor = await copy_template(pilot, app)
        await pilot.press(*"# mine")
        await pilot.press("escape", "q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmQuit))
        assert "unsaved edits" in str(app.screen.query_one("#confirm-text").content)
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert app.is_running and editor.text.endswith("# mine")
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmQuit))
        await pilot.press("q")
        await pilot.pause(0.1)
    assert not app.is_running

    app = TaskbenchApp(home=ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3", "q")
        await pilot.pause(0.1)
    assert not app.is_running


async def test_train_picker_offers_only_fitting_projects_and_j_k_move(ws):
    from textual.widgets import OptionList

    app = TaskbenchApp(home=ws)
    async with app.run_test(size=(80, 24)) as pilot:
        pane, editor = await copy_template(pilot, app)  # a regression template
        projects = [("jr", "regression", 100, False), ("churn", "binary", 50, False), ("jr2", "regression", 80, False)]
        pane.post_message(BlueprintsPane.ProjectsListed(projects))
        await wait_for(pilot, lambda: isinstance(app.screen, ProjectPicker))
        options = app.screen.query_one("#bp-picker-list", OptionList)
        assert [options.get_option_at_index(i).id for i in range(options.option_count)] == ["jr", "jr2"]
        assert "1 project(s) of another target type not shown" in str(app.screen.query_one("#bp-picker-title").content)
        assert options.highlighted == 0
        await pilot.press("j")
        assert options.highlighted == 1
        await pilot.press("k")
        assert options.highlighted == 0
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ProjectPicker) and not pane.training

        pane.post_message(BlueprintsPane.ProjectsListed([("churn", "binary", 50, False)]))
        await wait_for(pilot, lambda: "no project has target type regression" in str(pane.query_one("#bp-status").content))
        assert not isinstance(app.screen, ProjectPicker)


async def test_problems_list_reached_by_keyboard_and_enter_jumps_back_into_the_editor(ws):
    """esc leaves the editor, p focuses the problems list, j/k move in it, enter puts the cursor on the problem;
    e from the list goes back into the editor."""
    from textual.widgets import OptionList

    app = TaskbenchApp(home=ws)
    async with app.run_test(size=(80, 24)) as pilot:
        pane, editor = await copy_template(pilot, app)
        await pilot.press("enter", *"x = nope1(NUM)", "enter", *"y = nope2(NUM)")
        await wait_for(pilot, lambda: sum("nope" in line for line in pane.problem_lines) >= 2)
        await pilot.press("escape")
        assert pane.query_one("#bp-table").has_focus
        await pilot.press("e")
        assert editor.has_focus
        await pilot.press("escape", "p")
        problems = pane.query_one("#bp-problems", OptionList)
        assert problems.has_focus and problems.highlighted == 0
        target = next(i for i, p in enumerate(pane.problems) if "nope2" in p.text)
        for _ in range(target):
            await pilot.press("j")
        assert problems.highlighted == target
        await pilot.press("enter")
        await pilot.pause()
        problem = pane.problems[target]
        assert editor.has_focus
        assert editor.cursor_location == (problem.line - 1, problem.column - 1)


async def test_the_graph_is_reachable_by_keyboard(ws):
    from textual.containers import VerticalScroll

    app = TaskbenchApp(home=ws)
    async with app.run_test(size=(80, 24)) as pilot:
        pane, editor = await copy_template(pilot, app)
        await pilot.press("escape", "v")
        graph = pane.query_one("#bp-graph-scroll", VerticalScroll)
        assert graph.has_focus and graph.display
        await pilot.press("j")
        await pilot.press("escape")
        assert pane.query_one("#bp-table").has_focus


async def test_a_reload_keeps_the_selected_entry_and_enter_opens_it(home):
    """The cursor follows the entry (by its key) when a reload puts a new saved blueprint above it, and enter
    opens the row it was pressed on."""
    from core.blueprints.registry import save_blueprint
    from core.store import open_store

    app = TaskbenchApp(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        pane = app.query_one(BlueprintsPane)
        table = pane.query_one("#bp-table")
        await wait_for(pilot, lambda: table.row_count > 2)
        await pilot.press("j", "j")
        chosen = pane._row_key()
        with open_store(home) as store:
            save_blueprint(store, "# blueprint: aaa-first    target: binary\nnum = impute_median(NUM)\nmodel = logistic_regression(num)\n")
        count = table.row_count
        await pilot.press("r")
        await wait_for(pilot, lambda: table.row_count == count + 1)
        assert pane._row_key() == chosen and table.cursor_row == 3  # the same entry, one row lower
        await pilot.press("enter")
        editor = pane.query_one(BlueprintEditor)
        name = chosen.rsplit(":", 1)[1]
        await wait_for(pilot, lambda: name in editor.text)


async def test_editor_keys_are_offered_only_with_a_blueprint_open(ws):
    """With nothing open the footer offered e p v ^s ^f t (e did nothing at all); they show once one is open."""
    app = TaskbenchApp(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        pane = app.query_one(BlueprintsPane)
        await wait_for(pilot, lambda: pane.query_one("#bp-table", DataTable).row_count > 0)

        def offered() -> set[str]:
            return {b.action for _n, b, enabled, _t in app.screen.active_bindings.values() if enabled}

        hint = str(pane.query_one("#bp-list-hint").render())
        assert not {"edit", "problems", "graph", "save", "format", "train"} & offered(), offered()
        assert "e editor" not in hint and "v graph" not in hint, hint
        pane, _editor = await copy_template(pilot, app)
        assert {"save", "format", "train"} <= offered()
