"""The workbench as a real member of a shared workspace: user b opens `taskbench` in a tmux terminal and sees a's
tasks with their owner and b's access, cannot read the code of a task a did not share, and is told by core's
sentence that only a may share a's task. Reuses test_team_workspace's `team` fixture (skipped when not root)."""

from __future__ import annotations

from tests.cli.test_team_workspace import _ok, team  # noqa: F401 - team: a fixture
from tests.conftest import SAMPLES
from tests.e2e.tmux import Terminal, require_tmux

SHARED, UNSHARED = "transform_median_impute", "regression_ridge"


def _row(screen: str, name: str) -> str:
    """The list's row of task `name` (the left side of the screen)."""
    return next(line.partition("│")[0] for line in screen.splitlines() if line.lstrip().startswith(name[:12]))


def test_b_sees_as_shared_task_with_owner_and_access_and_not_the_code_of_an_unshared_one(team):
    require_tmux()
    home = team.folder("workbench") / "ws"
    _ok(team.run(team.a, "workspace", "init", home, "--group", team.group))
    _ok(team.run(team.a, "task", "add", SAMPLES / "01_transform_median_impute", home=home))
    _ok(team.run(team.a, "task", "add", SAMPLES / "11_regression_ridge", home=home))
    _ok(team.run(team.a, "share", "task", SHARED, team.b, "--role", "read", home=home))

    variables = ["PATH=/usr/local/bin:/usr/bin:/bin", f"HOME=/home/{team.b}", "LANG=C.UTF-8", "TERM=xterm",
                 f"TASKBENCH_HOME={home}"]
    term = Terminal(["runuser", "-u", team.b, "--", "env", "-i", *variables, str(team.taskbench)], 80, 24)
    try:
        screen = term.wait_for(f"{team.b} @ {home} (group {team.group})", timeout=60)
        screen = term.wait_for(f"({team.b}) cannot read", timeout=30)  # the first row, selected: core's sentence
        assert f"the task '{UNSHARED}':" in screen and f"belongs to {team.a}" in screen, screen
        shared, unshared = _row(screen, SHARED), _row(screen, UNSHARED)
        assert f" {team.a} " in shared and shared.split()[-2:] == ["read", "+1"], shared  # +1: shared with b
        assert f" {team.a} " in unshared and unshared.rstrip().endswith("none"), unshared
        code = (SAMPLES / "11_regression_ridge" / "custom.py").read_text()
        leaked = [line.strip() for line in code.splitlines() if len(line.strip()) > 12 and line.strip() in screen]
        assert leaked == [], screen

        term.keys("j")  # a's shared task: b reads its code
        screen = term.wait_for(f"{SHARED}@1", timeout=30)
        term.keys("S")
        screen = term.wait_for(f"you ({team.b}) have read", timeout=30)
        assert f"Shares of the task {SHARED}" in screen and f"shared with {team.b}" in screen, screen
        term.keys("a")  # only a may share it: core's sentence, and no picker
        screen = term.wait_for("share it.", timeout=30)
        assert f"only the owner of the task '{SHARED}', {team.a}, can" in screen, screen
        assert "with whom?" not in screen
        term.keys("Escape")  # alone: an escape followed at once by q would read as alt+q
        term.wait_gone(f"Shares of the task {SHARED}")
        term.keys("q")
        term.wait_gone(f"{team.b} @ ", timeout=15)
    finally:
        term.close()
