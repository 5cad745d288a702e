"""`blueprint clone` and `train --retrain` (SPEC §10): implicit execute as real Unix users, and in a private
workspace.

b clones a's shared blueprint and trains an edited clone with a's task without ever reading it; b retrains a's
model in a project a shared for writing. Reuses test_team_workspace's fixture (skipped with the reason when not
root).
"""

from __future__ import annotations

import json
import stat
from functools import partial
from pathlib import Path

from core.store import Store
from tests.conftest import SAMPLES
from tests.cli.test_sharing import DATA
from tests.cli.test_team_workspace import _ok, _one_sentence_refusal, team  # noqa: F401 - team: a fixture

A_RIDGE = "# blueprint: a-ridge    target: regression\nnum = impute_median(NUM)\nmodel = regression_ridge(num)\n"
SAMPLE_CODE = [SAMPLES / "01_transform_median_impute" / "custom.py", SAMPLES / "11_regression_ridge" / "custom.py"]


def _no_code(*outputs: str) -> None:
    """No line of a's two tasks' code appears in any output."""
    shown = "\n".join(outputs)
    for path in SAMPLE_CODE:
        leaked = [line for line in path.read_text().splitlines() if len(line.strip()) > 12 and line.strip() in shown]
        assert leaked == [], (path, leaked)


def _readable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o644)
    return path


def _shared(team, name: str, umask: str, *, blueprint: bool, project: str):
    """A workspace where a owns two tasks, the project grades and the blueprint a-ridge (using one of the tasks),
    shares the project with b as `project` and, when `blueprint`, a-ridge as read; never a task. Returns a run
    function bound to it and a folder b may write in."""
    folder = team.folder(name)
    home = folder / "ws"
    run = partial(team.run, home=home, umask=umask)
    _ok(team.run(team.a, "workspace", "init", home, "--group", team.group, umask=umask))
    for sample in ("11_regression_ridge", "01_transform_median_impute"):
        _ok(run(team.a, "task", "add", SAMPLES / sample))
    _ok(run(team.a, "project", "create", DATA, "--target", "Grade 2014", "--name", "grades"))
    _ok(run(team.a, "blueprint", "add", _readable(team.root / f"{name}-a-ridge.bp", A_RIDGE)))
    _ok(run(team.a, "share", "project", "grades", team.b, "--role", project))
    if blueprint:
        _ok(run(team.a, "share", "blueprint", "a-ridge", team.b, "--role", "read"))
    return run, folder


def test_b_clones_edits_saves_and_trains_a_shared_blueprint_but_adds_no_other_task_of_a(team):
    run, folder = _shared(team, "clone", "002", blueprint=True, project="write")
    outputs = []

    def ok(*args) -> str:
        outputs.append(_ok(run(*args)))
        return outputs[-1]

    refused = _one_sentence_refusal(run(team.b, "blueprint", "clone", "a-ridge", "--output", team.root / "x.bp"))
    assert "you may not write in" in refused  # b may not write in the team's root: nothing is cloned
    assert "a-ridge-copy" not in _ok(run(team.b, "blueprint", "list"))
    cloned = folder / "b-ridge.bp"
    assert "Cloned a-ridge@1 as b-ridge@1" in ok(team.b, "blueprint", "clone", "a-ridge", "--name", "b-ridge",
                                                "--output", cloned)
    shown = json.loads(ok(team.b, "blueprint", "show", "b-ridge", "--json"))
    assert (shown["origin"], shown["created_by"], shown["version"]) == ("a-ridge@1", team.b, 1)
    assert shown["text"] == cloned.read_text() == A_RIDGE.replace("a-ridge", "b-ridge")
    assert stat.S_IMODE(cloned.stat().st_mode) == 0o664  # b's own file, with b's umask (002), not the workspace's
    cloned.write_text(cloned.read_text().replace("regression_ridge(num)", "regression_ridge(num, alpha=5.0)"))

    assert "ok" in ok(team.b, "blueprint", "check", cloned)
    assert "Saved b-ridge@2" in ok(team.b, "blueprint", "add", cloned) and "regression_ridge@1" in outputs[-1]
    ok(team.b, "train", "grades", "b-ridge", cloned)
    board = json.loads(ok(team.b, "leaderboard", "grades", "--json"))
    assert sorted((row["blueprint"], row["created_by"], row["state"]) for row in board) == [
        ("b-ridge", team.b, "trained"), ("b-ridge@2", team.b, "trained")]
    listed = {row["name"]: row for row in json.loads(ok(team.b, "blueprint", "list", "--json"))}
    assert (listed["b-ridge"]["origin"], listed["b-ridge"]["access"], listed["b-ridge"]["versions"]) == (
        "a-ridge@1", "owner", 2)

    other = _readable(folder / "other.bp", cloned.read_text().replace("impute_median", "transform_median_impute"))
    expected = f"{other}:2:7: error: the task 'transform_median_impute' belongs to {team.a}"
    for args in (["blueprint", "check", other], ["blueprint", "add", other], ["train", "grades", other]):
        done = run(team.b, *args)
        assert done.returncode == 2 and expected in done.stdout + done.stderr, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stdout + done.stderr
        outputs += [done.stdout, done.stderr]
    versions = json.loads(ok(team.b, "blueprint", "show", "b-ridge", "--json"))["version_count"]
    assert versions == 2 and len(json.loads(ok(team.b, "leaderboard", "grades", "--json"))) == 2

    for task in ("regression_ridge", "transform_median_impute"):
        refused = _one_sentence_refusal(run(team.b, "task", "show", task))
        assert team.a in refused
        outputs.append(refused)
    _no_code(*outputs)


def test_b_retrains_a_model_only_with_write_on_its_project_and_an_outsider_not_at_all(team):
    run, folder = _shared(team, "retrain", "022", blueprint=False, project="read")
    _ok(run(team.a, "train", "grades", "a-ridge"))
    outputs = [_one_sentence_refusal(run(team.b, "blueprint", "show", "a-ridge"))]

    refused = _one_sentence_refusal(run(team.b, "train", "grades", "--retrain", "1"))
    assert team.a in refused and "retrain models in" in refused and "--role write" in refused
    outputs.append(refused)
    _ok(run(team.a, "share", "project", "grades", team.b, "--role", "write"))
    outputs.append(_ok(run(team.b, "train", "grades", "--retrain", "1")))
    board = {row["model"]: row for row in json.loads(_ok(run(team.b, "leaderboard", "grades", "--json")))}
    assert (board[2]["blueprint"], board[2]["created_by"], board[2]["state"]) == (
        "a-ridge@1 (retrains model 1)", team.b, "trained")
    assert board[2]["repeat_of"] == 1

    _ok(run(team.a, "project", "create", DATA, "--target", "Grade 2014", "--name", "other"))
    _ok(run(team.a, "share", "project", "other", team.b, "--role", "write"))
    refused = _one_sentence_refusal(run(team.b, "train", "other", "--retrain", "1"))
    assert "model 1 is not a model of the project 'other'" in refused
    refused = _one_sentence_refusal(run(team.c, "train", "grades", "--retrain", "1"))
    assert team.c in refused and f"group {team.group}" in refused
    _no_code(*outputs, refused)


def test_retrain_in_a_private_workspace_runs_the_recorded_task_versions(tmp_path, taskbench, home):
    assert taskbench("task", "add", SAMPLES / "11_regression_ridge").exit_code == 0
    made = taskbench("project", "create", DATA, "--target", "Grade 2014", "--name", "grades")
    assert made.exit_code == 0, made.output
    bp = _readable(tmp_path / "mine.bp", A_RIDGE.replace("a-ridge", "mine"))
    assert taskbench("train", "grades", bp).exit_code == 0
    changed = tmp_path / "ridge2"
    changed.mkdir()
    for path in (SAMPLES / "11_regression_ridge").iterdir():
        if path.is_file():
            (changed / path.name).write_bytes(path.read_bytes() + (b"\n# v2\n" if path.name == "custom.py" else b""))
    assert taskbench("task", "add", changed).exit_code == 0

    again = taskbench("train", "grades", "--retrain", "1")
    assert again.exit_code == 0, again.output
    assert "mine (retrains model 1)" in again.output and "same blueprint and versions as model 1" in again.output
    assert taskbench("train", "grades", "--retrain", "2").exit_code == 0
    with Store.open(home) as store:
        labels = [(m.blueprint, m.resolved["model"]["version"]) for m in store.project_models(1)]
    assert labels == [("mine", 1), ("mine (retrains model 1)", 1), ("mine (retrains model 2)", 1)]

    missing = taskbench("train", "grades", "--retrain", "9")
    assert missing.exit_code == 2 and "there is no model 9" in missing.output
    assert taskbench("project", "create", DATA, "--target", "Grade 2014", "--name", "other").exit_code == 0
    elsewhere = taskbench("train", "other", "--retrain", "1")
    assert elsewhere.exit_code == 2 and "model 1 is not a model of the project 'other'" in elsewhere.output
