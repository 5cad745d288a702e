"""Cloning saved blueprints (SPEC §10): the origin recorded by schema 6, and the origin-chain rule that lets a
clone run the task versions its origins pinned, on a store whose workspace is made to look shared."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3

import pytest

from core import sharing, workspace
from core.blueprints.registry import clone_blueprint, get_blueprint, save_blueprint
from core.blueprints.syntax import renamed
from core.blueprints.validate import BlueprintInvalid, check, exit_code
from core.errors import UsageError
from core.store import MIGRATIONS, Store
from core.store.schema import DB_FILENAME
from tests.conftest import SAMPLES

TASK = "regression_ridge"
ORIGIN = "# blueprint: orig    target: regression\nnum = impute_median(NUM)\nmodel = regression_ridge(num)\n"


def _clone_text(name: str, call: str = "regression_ridge(num)", extra: str = "") -> str:
    return f"# blueprint: {name}    target: regression\nnum = impute_median(NUM)\n{extra}model = {call}\n"


@pytest.fixture
def store(tmp_path, monkeypatch):
    """alice's task in two versions and her blueprint `orig` pinning version 1, shared read with bob; bob acts."""
    from core.tasks.versions import add_task

    monkeypatch.setenv("TASKBENCH_USER", "alice")
    with Store.open(tmp_path / "ws") as opened:
        add_task(opened, SAMPLES / "11_regression_ridge")
        add_task(opened, SAMPLES / "01_transform_median_impute")
        opened.sharing = workspace.Sharing("team", os.getegid())  # as a shared workspace's open sets it
        save_blueprint(opened, ORIGIN)
        changed = tmp_path / "ridge2"
        shutil.copytree(SAMPLES / "11_regression_ridge", changed)
        (changed / "custom.py").write_text((changed / "custom.py").read_text() + "\n# version 2\n")
        add_task(opened, changed)
        opened.grant_share("blueprint", "orig", "bob", "read", "alice")
        monkeypatch.setenv("TASKBENCH_USER", "bob")
        yield opened


def test_a_clone_is_version_1_of_a_new_blueprint_with_the_origin_recorded(store):
    clone = clone_blueprint(store, "orig")
    assert (clone.ref, clone.origin, clone.created_by) == ("orig-copy@1", "orig@1", "bob")
    assert clone.pins == get_blueprint(store, "orig").pins
    assert clone.text == renamed(ORIGIN, "orig-copy") and clone.text.startswith("# blueprint: orig-copy    target")
    assert [b.to_json()["origin"] for b in store.list_blueprints()] == [None, "orig@1"]
    with pytest.raises(UsageError, match="'orig-copy' is taken; name the clone with --name NEW"):
        clone_blueprint(store, "orig")
    with pytest.raises(UsageError, match="there is a blueprint named 'orig' already"):
        clone_blueprint(store, "orig", "orig")
    store.revoke_share("blueprint", "orig", "bob")
    with pytest.raises(UsageError, match="belongs to alice"):
        clone_blueprint(store, "orig", "again")


def test_the_clone_may_run_the_pinned_version_and_nothing_else_of_the_unread_task(store):
    clone_blueprint(store, "orig", "mine")
    pinned = check(_clone_text("mine"), store)  # unversioned: the origin's pin, not the latest (version 2)
    assert pinned.ok and pinned.nodes["model"].task.ref == f"{TASK}@1"
    assert check(_clone_text("mine", f"{TASK}@1(num)"), store).ok

    other = check(_clone_text("mine", f"{TASK}@2(num)"), store)
    assert other.refused and exit_code(other.messages) == 2
    [error] = other.errors
    assert (error.line, error.column) == (3, 9) and f"may run only {TASK}@1" in error.text

    extra = check(_clone_text("mine", extra="imp = transform_median_impute(NUM)\n"), store)
    assert [(m.line, m.column) for m in extra.errors] == [(3, 7)] and "belongs to alice" in extra.errors[0].text

    shared = check(_clone_text("orig"), store)  # alice's blueprint, shared with bob: its text checks as it trains
    assert shared.ok and shared.nodes["model"].task.ref == f"{TASK}@1"
    assert check(_clone_text("orig", f"{TASK}@2(num)"), store).refused  # not a version it pins
    stranger = check(_clone_text("someone-elses"), store)  # no blueprint of that name: nothing is inherited
    assert stranger.refused and "through a blueprint alice shared" in stranger.errors[0].text
    store.revoke_share("blueprint", "orig", "bob")
    assert check(_clone_text("orig"), store).refused  # unshared: the header no longer carries execute
    assert check(_clone_text("elsewhere"), store).refused  # a name that is no clone of bob's


def test_saving_an_edited_clone_keeps_the_pins_and_a_clone_of_a_clone_inherits(store):
    clone_blueprint(store, "orig", "mine")
    version, created = save_blueprint(store, _clone_text("mine", f"{TASK}(num, alpha=2.0)"))
    assert created and version.ref == "mine@2" and version.pins["model"]["version"] == 1
    assert version.origin == "orig@1"
    with pytest.raises(BlueprintInvalid) as refused:
        save_blueprint(store, _clone_text("mine", f"{TASK}@2(num)"))
    assert refused.value.exit_code == 2

    clone_blueprint(store, "mine", "deeper")
    assert sharing.inherited_pins(store, "deeper") == {TASK: [1]}
    assert check(_clone_text("deeper", f"{TASK}(num, alpha=3.0)"), store).ok
    assert sharing.inherited_pins(store, "orig") == {TASK: [1]}  # alice's, read by bob: what its versions pin


def test_a_private_workspace_clones_as_a_plain_copy_and_asks_nothing_more(tmp_path, monkeypatch):
    monkeypatch.setenv("TASKBENCH_USER", "alice")
    with Store.open(tmp_path / "ws") as private:
        save_blueprint(private, _clone_text("plain", "ridge(num)"))
        clone = clone_blueprint(private, "plain@1", "plain2")
        assert clone.origin == "plain@1" and clone.version == 1
        assert sharing.inherited_pins(private, "plain2") == {}


def test_schema_6_adds_the_origin_to_a_schema_5_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("TASKBENCH_USER", "alice")
    home = tmp_path / "ws"
    assert MIGRATIONS[5].version == 6 and "origin" in MIGRATIONS[5].steps[0]
    with Store.open(home, migrations=MIGRATIONS[:5]) as old:
        assert old.schema_version() == 5
    conn = sqlite3.connect(home / DB_FILENAME)
    with conn:  # a blueprint as a schema-5 taskbench wrote it
        conn.execute("INSERT INTO blueprints (name, created_by, created_at) VALUES ('old', 'alice', 't')")
        conn.execute("INSERT INTO blueprint_versions (blueprint_id, version, text, resolved_json, sha256, "
                     "target_type, created_by, created_at) VALUES (1, 1, ?, ?, 'x', 'regression', 'alice', 't')",
                     (_clone_text("old", "ridge(num)"), json.dumps({"final": "model", "nodes": {}})))
    conn.close()
    with Store.open(home) as store:
        assert store.schema_version() >= 6  # later migrations may follow
        assert store.blueprint_version("old").origin is None
        clone = clone_blueprint(store, "old")
        assert (clone.ref, clone.origin) == ("old-copy@1", "old@1")
        assert [b.latest.origin for b in store.list_blueprints()] == [None, "old@1"]
