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
