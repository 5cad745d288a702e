"""The workbench in a shared workspace (SPEC §10): who you are, owners and your access in every list, the Shares view
with its share and unshare keys, and a task you may not read showing core's refusal instead of its code.

The workspace belongs to the current user's own group; another member's objects ('alice') are made in it as a
private workspace with TASKBENCH_USER=alice before it is converted, as `workspace init` converts one.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from textual.widgets import DataTable, OptionList, Static, TextArea

from core.sharing import ROLE_MEANINGS
from tests.conftest import SAMPLES
from tests.workbench.test_tui_tasks import open_app, pane, select_task, settle, text_of
from tests.workbench.tui_support import QUICK, export_artifacts, juniors_workspace, wait_for
from tui.app import TaskbenchApp

MINE = "transform_median_impute"  # the current user's, shared read with every member
THEIRS = "regression_ridge"  # alice's, shared with nobody
OTHER = "binary_text_pipeline"  # alice's, shared read with every member


def build_shared_workspace(home: Path) -> Path:
    """A shared workspace of the user's own group: alice's project, model, blueprint, deployment and two tasks
    (one shared read with every member), and the user's own task (shared read with every member) and blueprint."""
    from core import sharing
    from core.blueprints.registry import save_blueprint
    from core.deploy.deployments import create_deployment
    from core.store import open_store
    from core.tasks.versions import add_task
    from core.workspace import create_shared, system_user
    import grp

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TASKBENCH_USER", "alice")
        juniors_workspace(home, "quick-ridge", (SAMPLES / "11_regression_ridge",))
        with open_store(home) as store:
            add_task(store, SAMPLES / "09_binary_text_pipeline")
            save_blueprint(store, QUICK, name="alice-bp")
            create_deployment(store, 1, name="alice-dep")
        patch.delenv("TASKBENCH_USER")
        with open_store(home) as store:
            add_task(store, SAMPLES / "01_transform_median_impute")
            save_blueprint(store, QUICK, name="my-bp")
    create_shared(home, grp.getgrgid(os.getgid()).gr_name)
    with open_store(home) as store:
        me = system_user()
        sharing.share(store, me, "task", MINE, sharing.EVERYONE, "read")
        store.grant_share("task", OTHER, sharing.EVERYONE, "read", "alice")  # as alice's own `taskbench share`
    return home


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    home = build_shared_workspace(tmp_path_factory.mktemp("shared") / "ws")
    yield home
    leave_shared()


def leave_shared() -> None:
    """Back to a private workspace's identity and umask for the tests that run after these in this process."""
    from core import workspace

    workspace.enter(Path("/nonexistent-taskbench-private"))


@pytest.fixture
def shared(prepared, tmp_path):
    home = tmp_path / "ws"
    shutil.copytree(prepared, home)
    yield home
    leave_shared()


def rows(app, selector: str) -> list[list[str]]:
    table = app.query_one(selector, DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def labels(app, selector: str) -> list[str]:
    return [str(column.label) for column in app.query_one(selector, DataTable).ordered_columns]


def by_name(app, selector: str) -> dict[str, list[str]]:
    return {row[0]: row for row in rows(app, selector)}


async def test_every_list_shows_who_you_are_the_owner_your_access_and_shared_with_badges(shared):
    from core.workspace import system_user

    me = system_user()
    app = TaskbenchApp(shared)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_app(app, pilot)
        identity = str(app.query_one("#identity", Static).render())
        assert identity.strip().startswith(f"{me} @ ") and "(group " in identity, identity
        assert labels(app, "#tasks-table")[-2:] == ["owner", "access"]
        tasks = by_name(app, "#tasks-table")
        assert tasks[MINE][-2:] == [me, "owner +all"]
        assert tasks[THEIRS][-2:] == ["alice", "none"]
        assert tasks[OTHER][-2:] == ["alice", "read +all"]
        assert all(cell.startswith(("binary", "regression", "transform")) for cell in tasks)  # names kept readable
        assert "S" in {b.key for _n, b, enabled, _t in app.screen.active_bindings.values() if b.show and enabled}

        await pilot.press("2")
        await settle(app, pilot)
        assert labels(app, "#env-table")[-2:] == ["owner", "access"]
        assert by_name(app, "#env-table")["python-local"][-1] == "read"  # taskbench's own: every member reads it

        await pilot.press("3")
        await settle(app, pilot)
        assert labels(app, "#bp-table")[-2:] == ["owner", "access"]
        blueprints = {row[0]: row for row in rows(app, "#bp-table")}
        assert blueprints["alice-bp"][-2:] == ["alice", "none"] and blueprints["my-bp"][-2:] == [me, "owner"]

        await pilot.press("4")
        await settle(app, pilot)
        assert by_name(app, "#proj-table")["jr"][-2:] == ["alice", "none"]
        title = " ".join(str(app.query_one("#proj-board-title", Static).render()).split())
        assert "belongs to alice" in title and "taskbench share project jr" in title, title  # core's sentence, no board

        await pilot.press("6")
        await settle(app, pilot)
        assert by_name(app, "#dep-table")["alice-dep"][-2:] == ["alice", "none"]

        await pilot.press("question_mark")
        await settle(app, pilot)
        helped = " ".join(str(app.screen.query_one("#help-text").render()).split())
        assert f"You are {me} in the shared workspace {shared}" in helped, helped


async def test_a_task_you_cannot_read_shows_the_refusal_and_none_of_its_code(shared):
    code = (SAMPLES / "11_regression_ridge" / "custom.py").read_text()
    lines = [line.strip() for line in code.splitlines() if len(line.strip()) > 12]
    app = TaskbenchApp(shared)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_app(app, pilot)
        await select_task(app, pilot, MINE)  # a readable task's code first: none of it may stay on the right
        assert "median" in pane(app).query_one("#tasks-file", TextArea).text.lower()
        await select_task(app, pilot, THEIRS)
        header = " ".join(text_of(app, "#tasks-header").split())
        assert f"cannot read the task '{THEIRS}'" in header and "belongs to alice" in header, header
        await pilot.press("enter")  # open it: no files listed, no code shown
        await settle(app, pilot)
        shown = pane(app).query_one("#tasks-file", TextArea).text
        assert shown == "" and pane(app).query_one("#tasks-files", OptionList).option_count == 0
        on_screen = "\n".join("".join(s.text for s in strip) for strip in app.screen._compositor.render_strips())
        assert [line for line in lines if line in on_screen or line in shown] == []


async def test_the_shares_view_shares_and_unshares_and_shows_cores_refusal_as_plain_text(shared, monkeypatch):
    from core import workspace

    monkeypatch.setattr(workspace.Sharing, "members", lambda self: sorted({workspace.system_user(), "alice", "bob"}))
    app = TaskbenchApp(shared)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_app(app, pilot)
        await select_task(app, pilot, MINE)
        await pilot.press("S")
        await settle(app, pilot)
        assert rows(app.screen, "#shares-table") == [["every member", "read", workspace.system_user(),
                                                       rows(app.screen, "#shares-table")[0][3]]]
        await pilot.press("a")  # a member, then a role
        await settle(app, pilot)
        options = app.screen.query_one("#grantee-list", OptionList)
        offered = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert offered == ["every member (--all)", "alice", "bob"]  # members but yourself
        await pilot.press("j", "j", "enter")
        await settle(app, pilot)
        roles = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert roles == [f"{role}: {text}" for role, text in ROLE_MEANINGS["task"].items()]  # what each means here
        assert "holdout" not in " ".join(roles)
        await pilot.press("j", "enter")  # write
        await settle(app, pilot)
        await wait_for(pilot, lambda: len(rows(app.screen, "#shares-table")) == 2)
        assert [row[:2] for row in rows(app.screen, "#shares-table")] == [["every member", "read"], ["bob", "write"]]
        assert "Shared with bob (write)." in str(app.screen.query_one("#shares-status", Static).render())

        await pilot.press("x")  # the first row: every member's read, asked first
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        await wait_for(pilot, lambda: len(rows(app.screen, "#shares-table")) == 1)
        assert [row[:2] for row in rows(app.screen, "#shares-table")] == [["bob", "write"]]
        await pilot.press("escape")
        await settle(app, pilot)
        assert by_name(app, "#tasks-table")[MINE][-1] == "owner +1"  # the list's badge follows

        await select_task(app, pilot, OTHER)  # alice's: only she may share it, and core says so
        await pilot.press("S")
        await settle(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)
        said = str(app.screen.query_one("#shares-status", Static).render())
        assert said == f"only the owner of the task '{OTHER}', alice, can share it.", said
        assert not app.screen.query("#grantee-list")  # no picker opened


async def test_a_private_workspace_shows_nothing_new_and_s_says_sharing_needs_a_shared_workspace(home):
    from core.store import open_store
    from core.tasks.versions import add_task

    with open_store(home) as store:
        add_task(store, SAMPLES / "11_regression_ridge")
    app = TaskbenchApp(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_app(app, pilot)
        assert not app.query("#identity")
        assert labels(app, "#tasks-table") == ["name", "ver", "type"]  # as before: the owner (and env) give way at 80
        assert "S" not in {b.key for _n, b, enabled, _t in app.screen.active_bindings.values() if b.show and enabled}
        await pilot.press("S")
        await settle(app, pilot)
        said = [n.message for n in app._notifications]
        assert said == ["Sharing needs a shared workspace, and this one is private; create one with taskbench "
                        "workspace init DIR --group GROUP."], said
        assert len(app.screen_stack) == 1


async def test_a_model_page_keeps_the_files_of_a_node_whose_task_you_cannot_read(shared, monkeypatch):
    from core import sharing, workspace
    from core.store import open_store
    from core.training.engine import BlueprintSource, train_blueprints
    from tui.panes.projects import ProjectsPane

    with monkeypatch.context() as as_alice:  # alice trains her task in her project and shares the project
        as_alice.setattr(workspace, "system_user", lambda: "alice")
        with open_store(shared) as store:
            trained = train_blueprints(store, "jr", [BlueprintSource("ridge-custom", f"model = {THEIRS}(NUM)\n")])[0]
            assert trained.model is not None, trained.error
            sharing.share(store, "alice", "project", "jr", sharing.EVERYONE, "read")
    app = TaskbenchApp(shared)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_app(app, pilot)
        await pilot.press("4")
        pane = app.query_one(ProjectsPane)
        await wait_for(pilot, lambda: len(pane.board_rows) == 2)
        await pilot.press("enter")  # the leaderboard; then the row of alice's model
        board = pane.query_one("#proj-board", DataTable)
        while pane.selected_model() != str(trained.model.id):
            await pilot.press("j")
        await pilot.press("enter")
        await wait_for(pilot, lambda: pane.model is not None)
        await pilot.press("l", "l", "l")
        files = pane.query_one("#model-files", DataTable)
        await wait_for(pilot, lambda: files.row_count >= 1)
        assert [[str(cell) for cell in files.get_row_at(i)][:2] for i in range(files.row_count)] == [["model", "(not shown)"]]
        preview = str(pane.query_one("#model-preview", Static).render())
        assert "cannot see the files of node 'model'" in " ".join(preview.split()) and "artifact.pkl" not in preview

        target = shared.parent / "exported"
        said = " ".join((await export_artifacts(pilot, pane, target)).split())
        assert "left out" in said and "node 'model'" in said and "alice" in said, said
        assert not (target / "model").exists()
        assert board.row_count == 2


async def test_the_log_of_another_members_job_opens_only_with_cores_leave(shared):
    from tui.panes.jobs import JobsPane

    app = TaskbenchApp(shared)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_app(app, pilot)
        await pilot.press("5")
        await settle(app, pilot)
        pane = app.query_one(JobsPane)
        await wait_for(pilot, lambda: pane.table.row_count >= 1)
        await pilot.press("enter")  # alice's training in her project, not shared: core refuses, nothing opens
        await settle(app, pilot)
        title = " ".join(str(pane.query_one("#jobs-log-title", Static).render()).split())
        assert "cannot read the log of job 1" in title and "belongs to alice" in title, title
        assert pane.log_job is None and pane.log_view.lines.index is None


def test_the_identity_line_keeps_a_long_paths_start_and_end_within_the_width():
    from tui.app import identity_line

    home = "/srv/teams/machine-learning/shared-workspaces/" + "x" * 40 + "/ws"
    line = identity_line("alice", home, "mlteam", 80)
    assert line.cell_len <= 80 and line.plain.startswith(" alice @ /srv/teams/") and line.plain.endswith("/ws (group mlteam)")
    assert "…" in line.plain
    assert identity_line("alice", "/srv/ws", "mlteam", 80).plain == " alice @ /srv/ws (group mlteam)"
