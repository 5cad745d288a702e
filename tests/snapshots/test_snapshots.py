"""Snapshot tests of the workbench's screens (pytest-textual-snapshot).

Update with `pytest tests/snapshots --snapshot-update` only after looking at the
new pictures (the report links them).
"""

from __future__ import annotations

from tui.app import TaskbenchApp


def test_first_screen_of_an_empty_workspace(snap_compare, home):
    assert snap_compare(TaskbenchApp(home), terminal_size=(80, 24))


def test_help_lists_every_binding(snap_compare, home):
    assert snap_compare(TaskbenchApp(home), terminal_size=(80, 24), press=["question_mark"])


def test_blueprint_templates_at_80x24(snap_compare, home):
    assert snap_compare(TaskbenchApp(home), terminal_size=(80, 24), press=["3"])


def test_quit_question_with_an_unsaved_buffer_at_80x24(snap_compare, home):
    """q after editing a template copy: the question says what would be lost, and the keys to answer."""

    async def edit_then_quit(pilot):
        from tests.workbench.tui_support import wait_for
        from tui.panes.blueprints import BlueprintEditor, BlueprintsPane

        await pilot.press("3")
        pane = pilot.app.query_one(BlueprintsPane)
        await wait_for(pilot, lambda: pane.query_one("#bp-table").row_count > 0)
        await pilot.press("c")
        editor = pane.query_one(BlueprintEditor)
        await wait_for(pilot, lambda: editor.has_focus and editor.text)
        await pilot.press("x", "escape", "q")
        await pilot.pause(0.3)

    assert snap_compare(TaskbenchApp(home), terminal_size=(80, 24), run_before=edit_then_quit)
