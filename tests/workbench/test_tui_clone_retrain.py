"""Blueprint clone (C in Blueprints) and retrain (R in Projects) from the workbench, through core's clone_blueprint and
retrain_source; core's refusals (a name taken, no read, no write) are shown as its plain sentence."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Static

from tests.workbench.test_tui_projects import projects_pane
from tests.workbench.test_tui_sharing import build_shared_workspace, leave_shared
from tests.workbench.tui_support import QUICK, copy_workspace, juniors_workspace, wait_for
from tui.app import TaskbenchApp
from tui.panes.blueprints import BlueprintEditor, BlueprintsPane
from tui.screens.clone import ClonePrompt


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    """Project 'jr' with model 1 ('quick') and a saved blueprint 'quick-bp'."""
    from core.blueprints.registry import save_blueprint
    from core.store import open_store

    home = juniors_workspace(tmp_path_factory.mktemp("clone") / "ws", "quick")
    with open_store(home) as store:
        save_blueprint(store, "# blueprint: quick-bp\n" + QUICK)
    return home


@pytest.fixture
def ws(prepared, tmp_path) -> Path:
    return copy_workspace(prepared, tmp_path)


@pytest.fixture
def shared(tmp_path):
    home = build_shared_workspace(tmp_path / "ws")
    yield home
    leave_shared()


def status_of(pane, selector: str) -> str:
    return " ".join(str(pane.query_one(selector, Static).content).split())


async def blueprints_pane(pilot, first: str) -> BlueprintsPane:
    """The Blueprints pane, its cursor on the saved blueprint `first`."""
    await pilot.press("3")
    pane = pilot.app.query_one(BlueprintsPane)
    table = pane.query_one("#bp-table", DataTable)
    await wait_for(pilot, lambda: f"saved:{first}" in [r.key.value for r in table.ordered_rows])
    while pane._row_key() != f"saved:{first}":
        await pilot.press("j")
    return pane


async def clone_as(pilot, name: str | None) -> str:
    """C, then the prompt answered: `name` typed over the default, or the default kept (None); the default offered."""
    await pilot.press("C")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ClonePrompt))
    field = pilot.app.screen.query_one(Input)
    offered = field.value
    if name is not None:
        field.value = name
    await pilot.press("enter")
    return offered


async def test_c_clones_a_saved_blueprint_as_name_copy_opens_it_and_a_taken_name_is_cores_sentence(ws):
    from core.blueprints.registry import get_blueprint
    from core.store import open_store

    app = TaskbenchApp(home=ws)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await blueprints_pane(pilot, "quick-bp")
        assert "C clone" in status_of(pane, "#bp-list-hint")  # on a saved blueprint; a template row hides it
        await pilot.press("j")
        await wait_for(pilot, lambda: "C clone" not in status_of(pane, "#bp-list-hint"))
        await pilot.press("k")
        assert await clone_as(pilot, None) == "quick-bp-copy"
        editor = pane.query_one(BlueprintEditor)
        await wait_for(pilot, lambda: pane.buffer.ref == "quick-bp-copy@1" and editor.has_focus)
        assert editor.text.startswith("# blueprint: quick-bp-copy") and "ridge(num)" in editor.text
        assert str(pane.query_one("#bp-title").content) == "quick-bp-copy@1"
        assert "cloned quick-bp@1 as quick-bp-copy@1" in status_of(pane, "#bp-status")
        await wait_for(pilot, lambda: pane._row_key() == "saved:quick-bp-copy")  # the clone is selected in the list
        with open_store(ws) as store:
            assert get_blueprint(store, "quick-bp-copy").origin == "quick-bp@1"

        await pilot.press("escape")
        while pane._row_key() != "saved:quick-bp":
            await pilot.press("k")
        await clone_as(pilot, None)  # NAME-copy again: core refuses, the buffer stays the clone
        await wait_for(pilot, lambda: "already" in status_of(pane, "#bp-status"))
        said = status_of(pane, "#bp-status")
        assert said.startswith("there is a blueprint named 'quick-bp-copy' already"), said
        assert pane.query_one("#bp-status").has_class("error") and pane.buffer.ref == "quick-bp-copy@1"

        await clone_as(pilot, "[bold]x")  # not a name core takes: its sentence, never markup
        await wait_for(pilot, lambda: "[bold]x" in status_of(pane, "#bp-status"))


async def test_r_retrains_the_selected_model_as_a_new_model_labelled_retrains_model_n(ws):
    app = TaskbenchApp(home=ws)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await projects_pane(pilot)
        first = pane.board_rows[0]["model"]
        await pilot.press("enter")  # onto the board
        await pilot.press("R")
        await wait_for(pilot, lambda: len(pane.board_rows) == 2 and all(r["state"] == "trained" for r in pane.board_rows),
                       timeout=90)
        again = next(r for r in pane.board_rows if r["model"] != first)
        assert again["blueprint"] == f"quick (retrains model {first})"
        await wait_for(pilot, lambda: f"model {again['model']} trained" in status_of(pane, "#proj-status"), timeout=30)

        await pilot.press("enter")  # a model's page: its hint names R, which retrains the model open
        await wait_for(pilot, lambda: pane.model is not None)
        assert "R retrain" in status_of(pane, "#model-status")
        opened = pane.model_id
        await pilot.press("R")
        await wait_for(pilot, lambda: len(pane.board_rows) == 3 and all(r["state"] == "trained" for r in pane.board_rows),
                       timeout=90)
        labels = [r["blueprint"] for r in pane.board_rows]
        assert labels.count(f"quick (retrains model {opened})") == 1 + (opened == first), labels


async def test_refusals_in_a_shared_workspace_are_cores_sentence_naming_the_owner(shared):
    """Cloning alice's blueprint not shared with you, retraining in her project shared read only: core's sentence."""
    from core import sharing
    from core.store import open_store

    with open_store(shared) as store:
        store.grant_share("project", "jr", sharing.EVERYONE, "read", "alice")  # as alice's own `taskbench share`
    app = TaskbenchApp(home=shared)
    async with app.run_test(size=(100, 30)) as pilot:
        pane = await blueprints_pane(pilot, "alice-bp")
        await clone_as(pilot, None)
        await wait_for(pilot, lambda: "alice" in status_of(pane, "#bp-status"))
        said = status_of(pane, "#bp-status")
        assert "share" in said and pane.buffer.origin == "" and "ridge" not in said, said

        projects = await projects_pane(pilot)
        await pilot.press("enter", "R")
        await wait_for(pilot, lambda: "alice" in status_of(projects, "#proj-status"))
        said = status_of(projects, "#proj-status")
        assert "write" in said and projects.query_one("#proj-status").has_class("error"), said
        await pilot.pause(0.5)
        assert len(projects.board_rows) == 1


async def test_a_clone_of_a_blueprint_using_an_unshared_task_checks_clean_and_saves(shared):
    """alice's blueprint runs her task nobody may read, shared read with every member: opened, and cloned with C,
    the editor's problems list stays clean (the clone keeps execute on the pinned version), and ctrl+s saves it."""
    from core import sharing
    from core.blueprints.registry import save_blueprint
    from core.store import open_store

    with pytest.MonkeyPatch.context() as patch:  # alice saves it as she would in her own session
        patch.setattr("core.workspace.current_user", lambda: "alice")
        patch.setattr("core.sharing.current_user", lambda: "alice")
        patch.setattr("core.store.blueprint_rows.current_user", lambda: "alice")
        with open_store(shared) as store:
            save_blueprint(store, "# blueprint: alice-ridge\nnum = impute_median(NUM)\nmodel = regression_ridge(num)\n")
            assert store.owner("blueprint", "alice-ridge") == "alice"
    with open_store(shared) as store:
        store.grant_share("blueprint", "alice-ridge", sharing.EVERYONE, "read", "alice")
    app = TaskbenchApp(home=shared)
    async with app.run_test(size=(100, 30)) as pilot:
        pane = await blueprints_pane(pilot, "alice-ridge")
        await pilot.press("enter")
        title = pane.query_one("#bp-problems-title", Static)
        await wait_for(pilot, lambda: pane.buffer.name == "alice-ridge" and "problems" in str(title.content))
        await pilot.pause(1.0)
        assert str(title.content) == "problems: none", str(title.content)
        await pilot.press("escape")
        await clone_as(pilot, "mine-ridge")
        await wait_for(pilot, lambda: pane.buffer.name == "mine-ridge")
        await pilot.pause(1.0)
        assert str(title.content) == "problems: none", str(title.content)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "saved" in status_of(pane, "#bp-status") or "unchanged" in status_of(pane, "#bp-status"))


async def test_the_leaderboard_of_a_shared_workspace_says_who_trained_each_model(shared):
    from core import sharing
    from core.store import open_store

    with open_store(shared) as store:
        store.grant_share("project", "jr", sharing.EVERYONE, "read", "alice")
    app = TaskbenchApp(home=shared)
    async with app.run_test(size=(160, 30)) as pilot:
        projects = await projects_pane(pilot)
        board = projects.query_one("#proj-board", DataTable)
        await wait_for(pilot, lambda: board.row_count == 1)
        await pilot.press("enter")
        await pilot.pause(0.5)
        header = "".join(seg.text for seg in board.render_line(0))
        assert header.rstrip().endswith("by"), header
        assert "".join(seg.text for seg in board.render_line(board.header_height)).rstrip().endswith("alice")
