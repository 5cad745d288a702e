"""The sharing rules (core/sharing.py) on a store whose workspace is made to look shared: levels, '*', built-ins."""

from __future__ import annotations

import os

import pytest

from core import sharing, workspace
from core.errors import UsageError
from core.store import Store
from tests.conftest import SAMPLES


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("TASKBENCH_USER", "alice")
    with Store.open(tmp_path / "ws") as opened:
        from core.tasks.versions import add_task

        add_task(opened, SAMPLES / "01_transform_median_impute")
        opened.sharing = workspace.Sharing("team", os.getegid())  # as a shared workspace's open sets it
        yield opened


def test_access_is_the_highest_of_ones_own_share_and_everyones(store):
    task = "transform_median_impute"
    assert sharing.access(store, "alice", "task", task) == "owner"
    assert sharing.access(store, "bob", "task", task) == "none"
    store.grant_share("task", task, "*", "read", "alice")
    assert sharing.access(store, "bob", "task", task) == "read"
    store.grant_share("task", task, "bob", "write", "alice")
    assert sharing.access(store, "bob", "task", task) == "write"
    store.grant_share("task", task, "bob", "read", "alice")  # replaces bob's role: one row per grantee
    assert [(s.grantee, s.role) for s in store.list_shares("task", task)] == [("*", "read"), ("bob", "read")]
    assert store.revoke_share("task", task, "*") and not store.revoke_share("task", task, "*")
    assert sharing.access(store, "bob", "task", task) == "read"


def test_require_names_the_owner_and_the_command_that_would_allow_it(store):
    with pytest.raises(UsageError) as refused:
        sharing.require(store, "task", "transform_median_impute", "write", "add a version of", user="bob")
    assert refused.value.exit_code == 2
    assert "belongs to alice" in refused.value.message
    assert "taskbench share task transform_median_impute bob --role write" in refused.value.message
    sharing.require(store, "task", "no_such_task", "write", "add a version of", user="bob")  # its caller says so


def test_every_member_reads_the_builtin_environments(store):
    from core.environments.versions import list_environments

    list_environments(store)  # the built-ins' rows are made on first use
    assert sharing.access(store, "bob", "env", "python-local") == "read"
    assert sharing.owners_and_access(store, "bob", "env")["python-sklearn"][1] == "read"


def test_a_private_workspace_gives_its_user_everything(tmp_path, monkeypatch):
    monkeypatch.setenv("TASKBENCH_USER", "alice")
    with Store.open(tmp_path / "ws") as private:
        assert sharing.access(private, "anyone", "project", "p") == "owner"
        with pytest.raises(UsageError, match="sharing needs a shared workspace"):
            sharing.share(private, "alice", "project", "p", "bob", "read")
