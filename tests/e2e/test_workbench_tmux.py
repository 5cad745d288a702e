"""End-to-end: the real `taskbench` in tmux at 80x24 and 200x50, keyboard only."""

from __future__ import annotations

import pytest

from tests.e2e.tmux import Terminal, taskbench_command


@pytest.fixture(params=[(80, 24), (200, 50)], ids=["80x24", "200x50"])
def terminal(request, home):
    width, height = request.param
    term = Terminal(taskbench_command(home), width, height)
    yield term
    term.close()


def test_open_switch_panes_help_and_quit(terminal):
    terminal.wait_for("2 Environments")
    terminal.keys("2")
    terminal.wait_for("python-sklearn")
    terminal.keys("?")
    terminal.wait_for("esc closes")
    terminal.keys("Escape")
    terminal.wait_gone("esc closes")
    terminal.keys("q")
    terminal.wait_gone("2 Environments")
