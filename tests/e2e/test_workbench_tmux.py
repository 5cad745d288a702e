"""End-to-end: the real `taskbench` in tmux at 80x24 and 200x50, keyboard only."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.e2e.tmux import Terminal, taskbench_command

DATA = Path(__file__).resolve().parents[2] / "sample_tasks" / "data" / "juniors_3_year_stats_regression.csv"


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


def test_quit_during_a_fit_check_exits_at_once(home, tmp_path):
    """q while a task's fit sleeps asks first; q again: `taskbench` itself ends within a couple of seconds,
    the job is cancelled, and no worker or task process is left."""
    from core.tasks.versions import add_task
    from core.store import open_store
    from tests.conftest import make_task
    from tests.workbench.test_tui_tasks import SLEEPY_FIT

    marker = tmp_path / "fit.pid"
    with open_store(home) as store:
        add_task(store, make_task(tmp_path, {"custom.py": SLEEPY_FIT}, name="sleepy"))
    env = {"SLEEPY_MARKER": str(marker), "TASKBENCH_HOME": str(home), "TMPDIR": os.environ["TMPDIR"]}
    term = Terminal(taskbench_command(home), 80, 24, env=env)
    try:
        term.wait_for("sleepy")
        term.keys("f")
        term.wait_for("Fit check sleepy")
        term.type(str(DATA))
        term.keys("Enter")
        term.type("Grade 2014")  # typed right behind enter, as people do
        term.keys("Enter")
        term.type("regression")
        term.keys("Enter")
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert time.monotonic() < deadline, f"the task's fit never started; the screen was:\n{term.screen()}"
            time.sleep(0.1)
        app = term.running_command()
        term.keys("q")
        term.wait_for("a fit check (Tasks) is running")
        quit_at = time.monotonic()
        term.keys("q")
        while term.running_command() == app and time.monotonic() - quit_at < 30:
            time.sleep(0.05)
        exited = time.monotonic() - quit_at
        assert exited < 3, f"taskbench took {exited:.1f} s to exit after q"
        with open_store(home) as store:
            (job,) = store.list_jobs(limit=5)
        assert job.state == "cancelled"
        task_pid = int(marker.read_text())
        assert not Path(f"/proc/{task_pid}").exists() or "Z" in Path(f"/proc/{task_pid}/stat").read_text().split(") ")[1][:1]
        assert worker_processes(home) == [], "a worker outlived the app"
    finally:
        term.close()


def worker_processes(home: Path) -> list[int]:
    """Live harness processes (they import `taskbench_runtime`) started for this workspace."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            environ = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
            state = Path(f"/proc/{entry}/stat").read_text().split(") ")[1][:1]
            cwd = os.readlink(f"/proc/{entry}/cwd")  # workers run inside the workspace; their environment no longer names it
        except OSError:
            continue
        ours = f"TASKBENCH_HOME={home}".encode() in environ or (cwd + os.sep).startswith(f"{home}{os.sep}")
        if b"taskbench_runtime" in cmdline and ours and state != "Z":
            found.append(int(entry))
    return found
