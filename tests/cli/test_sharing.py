"""Owners and shares (SPEC §10) as real Unix users: `share`, `unshare` and `shares`, and the rules core enforces.

Reuses test_team_workspace's fixture: a group with members a and b, an outsider c, and a `taskbench` each can run
(skipped with the reason when not root).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import REPO, SAMPLES
from tests.cli.test_team_workspace import _ok, _one_sentence_refusal, team  # noqa: F401 - team: a fixture

TASK = "transform_median_impute"
DATA = REPO / "sample_tasks" / "data" / "juniors_3_year_stats_regression.csv"


def _workspace(team, name: str) -> Path:
    """A new shared workspace made by a, holding a's task."""
    home = team.folder(name) / "ws"
    _ok(team.run(team.a, "workspace", "init", home, "--group", team.group))
    _ok(team.run(team.a, "task", "add", SAMPLES / "01_transform_median_impute", home=home))
    return home


def _changed_copy(team, name: str) -> Path:
    """The sample task with one more line, readable by every user: adding it makes a new version."""
    folder = team.root / name
    shutil.copytree(SAMPLES / "01_transform_median_impute", folder)
    (folder / "custom.py").write_text((folder / "custom.py").read_text() + "\n# changed\n")
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return folder


def _no_code(refused: str) -> None:
    code = (SAMPLES / "01_transform_median_impute" / "custom.py").read_text()
    leaked = [line for line in code.splitlines() if len(line.strip()) > 12 and line.strip() in refused]
    assert leaked == [], leaked


def test_a_read_share_lets_b_see_the_task_but_not_change_it_until_unshared(team):
    home = _workspace(team, "read-share")
    refused = _one_sentence_refusal(team.run(team.b, "task", "show", TASK, home=home))
    assert team.a in refused and f"taskbench share task {TASK} {team.b} --role read" in refused
    _no_code(refused)
    _one_sentence_refusal(team.run(team.b, "task", "download", TASK, "--to", team.root / "b-copy", home=home))
    assert team.a in _one_sentence_refusal(team.run(team.b, "blueprint", "from-task", TASK, home=home))
    assert not (team.root / "b-copy").exists()

    shared = _ok(team.run(team.a, "share", "task", TASK, team.b, "--role", "read", home=home))
    assert team.b in shared and "read" in shared
    assert "custom.py" in _ok(team.run(team.b, "task", "show", TASK, home=home))
    listed = json.loads(_ok(team.run(team.b, "shares", "task", TASK, "--json", home=home)))
    assert [(s["grantee"], s["role"], s["granted_by"]) for s in listed] == [(team.b, "read", team.a)]

    changed = _changed_copy(team, "b-changed")
    refused = _one_sentence_refusal(team.run(team.b, "task", "add", changed, home=home))
    assert "add a version of" in refused and team.a in refused and "--role write" in refused
    versions = json.loads(_ok(team.run(team.a, "task", "versions", TASK, "--json", home=home)))
    assert len(versions) == 1

    _ok(team.run(team.a, "unshare", "task", TASK, team.b, home=home))
    _one_sentence_refusal(team.run(team.b, "task", "show", TASK, home=home))
    assert json.loads(_ok(team.run(team.a, "shares", "--json", home=home))) == []


def test_a_write_share_to_every_member_lets_b_add_a_version(team):
    home = _workspace(team, "all-share")
    _ok(team.run(team.a, "share", "task", TASK, "--all", "--role", "write", home=home))
    listed = json.loads(_ok(team.run(team.b, "shares", "--json", home=home)))
    assert [(s["grantee"], s["role"]) for s in listed] == [("*", "write")]
    _ok(team.run(team.b, "task", "add", _changed_copy(team, "all-changed"), home=home))
    versions = json.loads(_ok(team.run(team.a, "task", "versions", TASK, "--json", home=home)))
    assert [v["created_by"] for v in versions] == [team.a, team.b]
    _ok(team.run(team.a, "unshare", "task", TASK, "--all", home=home))
    _one_sentence_refusal(team.run(team.b, "task", "show", TASK, home=home))


def test_only_the_owner_shares_and_only_with_members(team):
    home = _workspace(team, "owner-only")
    refused = _one_sentence_refusal(team.run(team.b, "share", "task", TASK, team.b, "--role", "write", home=home))
    assert f"only the owner of the task {TASK!r}, {team.a}" in refused
    refused = _one_sentence_refusal(team.run(team.b, "unshare", "task", TASK, "--all", home=home))
    assert team.a in refused
    refused = _one_sentence_refusal(team.run(team.a, "share", "task", TASK, team.c, "--role", "read", home=home))
    assert f"{team.c} is not a member of the group {team.group}" in refused
    refused = _one_sentence_refusal(team.run(team.a, "share", "task", "no_such_task", team.b, "--role", "read",
                                             home=home))
    assert "there is no task named 'no_such_task'" in refused
    refused = _one_sentence_refusal(team.run(team.a, "unshare", "task", TASK, team.b, home=home))
    assert "is not shared with" in refused
    assert json.loads(_ok(team.run(team.a, "shares", "--json", home=home))) == []


def test_a_project_needs_read_for_its_leaderboard_and_write_to_train_or_unlock(team):
    home = _workspace(team, "project-share")
    _ok(team.run(team.a, "project", "create", DATA, "--target", "Grade 2014", "--name", "grades", home=home))
    for args in (["leaderboard", "grades"], ["project", "unlock-holdout", "grades", "--yes"],
                 ["train", "grades", "--templates"]):
        refused = _one_sentence_refusal(team.run(team.b, *args, home=home))
        assert team.a in refused and "'grades'" in refused, args
    _ok(team.run(team.a, "share", "project", "grades", team.b, "--role", "read", home=home))
    _ok(team.run(team.b, "leaderboard", "grades", "--json", home=home))
    refused = _one_sentence_refusal(team.run(team.b, "train", "grades", "--templates", home=home))
    assert "train in" in refused and "--role write" in refused


def test_sharing_in_a_private_workspace_says_it_needs_a_shared_one(taskbench):
    assert taskbench("task", "add", SAMPLES / "01_transform_median_impute").exit_code == 0
    refused = taskbench("share", "task", TASK, "somebody", "--role", "read")
    assert refused.exit_code == 2 and "sharing needs a shared workspace" in refused.output
    assert "workspace init" in refused.output
    neither = taskbench("share", "task", TASK, "--role", "read")
    assert neither.exit_code == 2 and "name one member (USER) or pass --all" in neither.output
    listed = taskbench("shares", "--json")
    assert listed.exit_code == 0 and json.loads(listed.output) == []
    assert taskbench("task", "show", TASK).exit_code == 0  # the one user owns everything, as before


def test_a_blueprint_needs_read_to_show_and_write_to_add_a_version(team):
    home = _workspace(team, "blueprint-share")
    blueprint = team.root / "bp.bp"
    blueprint.write_text("# blueprint: shared-ridge    target: regression\nnum = impute_median(NUM)\n"
                         "model = ridge(num)\n")
    blueprint.chmod(0o644)
    _ok(team.run(team.a, "blueprint", "add", blueprint, home=home))
    refused = _one_sentence_refusal(team.run(team.b, "blueprint", "show", "shared-ridge", home=home))
    assert team.a in refused and "blueprint 'shared-ridge'" in refused and "impute_median" not in refused
    _ok(team.run(team.a, "share", "blueprint", "shared-ridge", team.b, "--role", "read", home=home))
    assert "impute_median" in _ok(team.run(team.b, "blueprint", "show", "shared-ridge", home=home))
    changed = team.root / "bp2.bp"
    changed.write_text(blueprint.read_text().replace("ridge(num)", "ridge(num, alpha=2.0)"))
    changed.chmod(0o644)
    refused = _one_sentence_refusal(team.run(team.b, "blueprint", "add", changed, home=home))
    assert "add a version of" in refused and team.a in refused


def test_listings_show_the_owner_and_your_access_in_a_shared_workspace(team):
    home = _workspace(team, "listings")
    _ok(team.run(team.a, "project", "create", DATA, "--target", "Grade 2014", "--name", "grades", home=home))
    _ok(team.run(team.a, "share", "project", "grades", "--all", "--role", "write", home=home))

    def mine(user, *args):
        return {row["name"]: (row["owner"], row["access"])
                for row in json.loads(_ok(team.run(user, *args, "--json", home=home)))}

    assert mine(team.b, "task", "list") == {TASK: (team.a, "none")}
    assert mine(team.a, "task", "list") == {TASK: (team.a, "owner")}
    assert mine(team.b, "project", "list") == {"grades": (team.a, "write")}
    assert set(mine(team.b, "env", "list").values()) == {("taskbench", "read")}  # the built-ins
    table = _ok(team.run(team.b, "task", "list", home=home))
    assert "access" in table.splitlines()[0] and "none" in table
    assert "access" in _ok(team.run(team.b, "project", "list", home=home)).splitlines()[0]


def test_a_shared_blueprint_lets_b_train_a_task_b_cannot_read(team):
    """Implicit execute: b trains a's saved blueprint in a's project with a's task, never reading the task; the
    same task in b's own blueprint file is refused at its line and column."""
    home = _workspace(team, "execute")
    _ok(team.run(team.a, "task", "add", SAMPLES / "11_regression_ridge", home=home))
    _ok(team.run(team.a, "project", "create", DATA, "--target", "Grade 2014", "--name", "grades", home=home))
    text = "# blueprint: a-ridge    target: regression\nnum = impute_median(NUM)\nmodel = regression_ridge(num)\n"
    mine = team.root / "a-ridge.bp"
    mine.write_text(text)
    mine.chmod(0o644)
    _ok(team.run(team.a, "blueprint", "add", mine, home=home))
    _ok(team.run(team.a, "share", "project", "grades", team.b, "--role", "write", home=home))
    _ok(team.run(team.a, "share", "blueprint", "a-ridge", team.b, "--role", "read", home=home))

    _ok(team.run(team.b, "train", "grades", "a-ridge", home=home))
    board = json.loads(_ok(team.run(team.b, "leaderboard", "grades", "--json", home=home)))
    assert [row["created_by"] for row in board] == [team.b]
    table = _ok(team.run(team.b, "leaderboard", "grades", home=home))  # the owner, b's access, who trained each
    assert f"owner {team.a}, your access write" in table and table.splitlines()[1].split()[-1] == "by"
    assert table.rstrip().splitlines()[-1].split()[-1] == team.b
    refused = _one_sentence_refusal(team.run(team.b, "task", "show", "regression_ridge", home=home))
    assert team.a in refused

    assert "ok" in _ok(team.run(team.b, "blueprint", "check", mine, home=home))  # a-ridge's own text: as it trains
    own = team.root / "b-own.bp"  # b's own blueprint, descending from nothing shared, using a's task
    own.write_text(text.replace("a-ridge", "b-own"))
    own.chmod(0o644)
    expected = f"{own}:3:9: error: the task 'regression_ridge' belongs to {team.a}"
    for args in (["blueprint", "check", own], ["blueprint", "add", own], ["blueprint", "add", mine, "--name", "b2"]):
        done = team.run(team.b, *args, home=home)  # at its line and column, and a refusal: exit 2
        shown = (done.stdout + done.stderr).replace(str(mine), str(own))
        assert done.returncode == 2 and expected in shown, args
        _no_code(done.stdout + done.stderr)
    failed = team.run(team.b, "train", "grades", own, home=home)  # reported like any blueprint error in train
    assert failed.returncode == 2 and expected in failed.stdout and "Traceback" not in failed.stdout + failed.stderr
    assert len(json.loads(_ok(team.run(team.a, "leaderboard", "grades", "--json", home=home)))) == 1


def test_an_environment_needs_read_to_show_download_build_or_use_and_write_for_a_version(team):
    """a's custom environment: b cannot read its Dockerfile, download or build it, or name it for a task or a fit
    check until a shares it; a version needs write. Built-in environments stay readable by every member."""
    home = _workspace(team, "environments")
    folder = team.root / "a-env"
    folder.mkdir()
    secret = "RUN echo a-private-build-step-4711"
    (folder / "Dockerfile").write_text(f"FROM python:3.11-slim\n{secret}\n")
    for path in (folder, folder / "Dockerfile"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    _ok(team.run(team.a, "env", "add", folder, "--name", "a-env", home=home))

    task = SAMPLES / "01_transform_median_impute"
    for args in (["env", "show", "a-env"], ["env", "download", "a-env", "--to", team.root / "b-env"],
                 ["env", "build", "a-env"], ["task", "add", task, "--name", "b-task", "--env", "a-env"],
                 ["env", "add", folder, "--name", "a-env"]):
        refused = _one_sentence_refusal(team.run(team.b, *args, home=home))
        assert team.a in refused and secret not in refused, args
    fitted = team.run(team.b, "fit", "--code-dir", task, "--input", DATA, "--env", "a-env", home=home)
    assert fitted.returncode == 2 and "cannot use the environment 'a-env'" in fitted.stdout, fitted.stdout  # its report
    assert secret not in fitted.stdout + fitted.stderr
    assert not (team.root / "b-env").exists()
    assert "Dockerfile" in _ok(team.run(team.b, "env", "show", "python-sklearn", home=home))

    _ok(team.run(team.a, "share", "env", "a-env", team.b, "--role", "read", home=home))
    assert secret in _ok(team.run(team.b, "env", "show", "a-env", home=home))
    refused = _one_sentence_refusal(team.run(team.b, "env", "add", folder, "--name", "a-env", home=home))
    assert "add a version of" in refused
