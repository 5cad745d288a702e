"""Snapshots of the workbench in a shared workspace at 80x24: the task list with owners, access and badges, and the
Shares view (pytest-textual-snapshot; update with --snapshot-update only after looking at the pictures).

The workspace sits at a fixed path, its user is 'carol' and every time is one fixed string, so the pictures hold
from run to run; its group is the user's primary group, which must be 'root' (CI runs as root) for the picture.
"""

from __future__ import annotations

import grp
import os
import shutil
from pathlib import Path

import pytest

from tui.app import TaskbenchApp

HOME = Path("/tmp/taskbench-snapshot-shared/ws")


@pytest.fixture
def shared(monkeypatch):
    from core import workspace
    from tests.workbench.test_tui_sharing import build_shared_workspace, leave_shared

    if grp.getgrgid(os.getgid()).gr_name != "root":
        pytest.skip("the pictures name the group root: run as root (as CI does)")
    shutil.rmtree(HOME.parent, ignore_errors=True)
    monkeypatch.setattr(workspace, "system_user", lambda: "carol")
    monkeypatch.setattr(workspace, "getpass", type("Fixed", (), {"getuser": staticmethod(lambda: "carol")}))
    monkeypatch.setattr("tui.numbers.when", lambda stamp: "2026-01-02 03:04")
    monkeypatch.setattr("tui.screens.shares.when", lambda stamp: "2026-01-02 03:04")
    build_shared_workspace(HOME)
    yield HOME
    leave_shared()
    shutil.rmtree(HOME.parent, ignore_errors=True)


def test_shared_task_list_with_owners_access_and_badges_at_80x24(snap_compare, shared):
    assert snap_compare(TaskbenchApp(shared), terminal_size=(80, 24))


def test_shares_view_of_a_shared_task_at_80x24(snap_compare, shared):
    async def open_shares(pilot):
        from tests.workbench.test_tui_tasks import select_task, settle

        await select_task(pilot.app, pilot, "transform_median_impute")
        await pilot.press("S")
        await settle(pilot.app, pilot)

    assert snap_compare(TaskbenchApp(shared), terminal_size=(80, 24), run_before=open_shares)
