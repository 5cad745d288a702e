"""End-to-end at 80x24: the real `taskbench` in tmux, keyboard only: quitting with an unsaved buffer, a long failing
log line read in full, the problems list reached by keyboard."""

from __future__ import annotations

import time

import pytest

from tests.e2e.tmux import Terminal, taskbench_command
from tests.workbench.test_tui_jobs import LONG_FAILURE, record_long_failure


@pytest.fixture
def terminal(home):
    term = Terminal(taskbench_command(home), 80, 24)
    yield term
    term.close()


def escape_then(term: Terminal, *keys: str) -> None:
    """esc, a pause as a person makes, then `keys` (esc and a key sent together read as alt+key, in any terminal)."""
    term.keys("Escape")
    time.sleep(0.4)
    term.keys(*keys)


def wait_exit(term: Terminal, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while term.running_command() not in ("sleep", "") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert term.running_command() in ("sleep", ""), f"taskbench did not exit:\n{term.screen()}"


def test_quitting_with_an_unsaved_buffer_asks_and_esc_keeps_it(terminal):
    terminal.wait_for("3 Blueprints")
    terminal.keys("3")
    terminal.wait_for("tmpl")
    terminal.keys("c")
    terminal.wait_for("copy of template")
    terminal.type("# my edit")
    escape_then(terminal, "q")
    screen = terminal.wait_for("Quit taskbench?")
    assert "has unsaved edits" in screen
    terminal.keys("Escape")
    terminal.wait_gone("Quit taskbench?")
    terminal.keys("e")  # back into the editor: the edit is still there
    assert "# my edit" in terminal.wait_for("# my edit")
    escape_then(terminal, "q")
    terminal.wait_for("Quit taskbench?")
    terminal.keys("q")
    wait_exit(terminal)


def test_problems_list_reached_by_keyboard_and_enter_jumps_to_the_line(terminal):
    terminal.wait_for("3 Blueprints")
    terminal.keys("3")
    terminal.wait_for("tmpl")
    terminal.keys("c")
    terminal.wait_for("copy of template")
    terminal.keys("Enter")
    terminal.type("x = nopetask(NUM)")
    terminal.wait_for("nopetask")
    terminal.wait_for("8:5: error")  # after "8:1: warning" (x is unused)
    escape_then(terminal, "p")  # out of the editor, into the problems list, on its first line
    time.sleep(0.3)
    terminal.keys("j", "Enter")  # down to the error; enter jumps to it: typing lands at its column
    time.sleep(0.3)
    terminal.type("Z")
    screen = terminal.wait_for("Znopetask")
    assert "x = Znopetask(NUM)" in screen


def test_a_long_failing_log_line_is_read_in_full_at_80x24(home):
    record_long_failure(home)
    term = Terminal(taskbench_command(home), 80, 24)
    try:
        term.wait_for("5 Jobs")
        term.keys("5")
        term.wait_for("one-col@1")
        term.keys("Enter")
        screen = term.wait_for("#1 fit failed · one-col@1")  # an ended job's header (no follow state: it is whole)
        # the failure sentence above the log, whole over several rows
        assert LONG_FAILURE in " ".join(line.strip() for line in screen.splitlines())
        assert "select one with NUM" in screen
        term.keys("w")  # wrap the log itself too
        screen = term.wait_for("wrapped (w cuts)")
        rows = screen.splitlines()
        start = next(i for i, row in enumerate(rows) if "[engine] fit raised" in row)
        assert LONG_FAILURE in " ".join(" ".join(rows[start:start + 4]).split("[engine] ", 1)[1].split())  # folded at spaces
        term.keys("w", "l", "l", "l")  # cut again, then sideways: the line's end comes into view
        term.wait_for("w wraps")
        screen = term.wait_for("select one with NUM")
    finally:
        term.close()


def test_every_fast_key_moves_the_dockerfile_and_G_reaches_its_end_at_80x24(terminal):
    """Environments at 80x24: with no build log, one line says so and the Dockerfile fills the pane; ten j typed
    at once move ten lines (none dropped), G shows its last line, g its first."""
    terminal.wait_for("2 Environments")
    terminal.keys("2")
    terminal.wait_for("python-sklearn")
    terminal.keys("j")
    screen = terminal.wait_for("no build yet: b builds the image")
    assert "# The built-in" in screen
    rows = screen.splitlines()
    assert sum(bool("│" in row and row.split("│", 1)[1].strip()) for row in rows) >= 16  # the Dockerfile has the room
    terminal.keys("d")
    time.sleep(0.3)
    terminal.type("jjjjjjjjjj")  # one write, as fast as a held key
    time.sleep(0.5)
    screen = terminal.screen()
    rows = screen.splitlines()
    header = next(i for i, row in enumerate(rows) if "python-sklearn@1" in row)
    assert rows[header + 1].split("│", 1)[1].strip().startswith("COPY taskbench-ca.crt"), screen  # ten lines down
    terminal.keys("G")
    terminal.wait_for('CMD ["python"]')
    terminal.keys("g")
    terminal.wait_for("# The built-in")


def test_an_empty_workspace_says_how_to_start_and_d_does_nothing(terminal):
    """A newcomer's first screen: how to start is said whole, keys that cannot act are not offered, and pressing
    one anyway changes nothing."""
    terminal.wait_for("uploads from the shell")
    screen = terminal.wait_for("q quit")  # the footer paints after the pane: compare whole screens only
    for _ in range(20):  # settled: two captures 0.3 s apart agree
        time.sleep(0.3)
        again, screen = screen, terminal.screen()
        if again == screen:
            break
    flat = " ".join(" ".join(line.split("│", 1)[1] for line in screen.splitlines() if "│" in line).split())
    assert "`taskbench demo`" in flat and "`taskbench task add DIR`" in flat, screen
    for word in ("d diff", "[ older", "m metadata", "l fit output"):
        assert word not in screen, screen
    terminal.keys("d", "m")
    time.sleep(0.5)
    assert terminal.screen() == screen
    terminal.keys("5")
    assert "none yet" in terminal.wait_for("Jobs  0")
