"""The CLI in a real 80-column terminal (a pty, not a pipe): tables fit without cutting data, prose wraps at spaces
and keeps paths whole; piped output stays unwrapped."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios

import pytest

from tests.conftest import DATA, SAMPLES

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def in_terminal(*args, env, cols=80):
    """Run `taskbench ARGS` with its stdout and stderr on a terminal `cols` wide; returns (exit code, lines)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
    run = subprocess.Popen([sys.executable, "-m", "tui.cli", *map(str, args)], stdin=slave, stdout=slave, stderr=slave,
                           env=env, close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the terminal closed: the command ended
            break
        if not data:
            break
        chunks.append(data)
    run.wait(timeout=120)
    os.close(master)
    text = ANSI.sub("", b"".join(chunks).decode(errors="replace").replace("\r\n", "\n"))
    shown = [line.split("\r")[-1] for line in text.split("\n")]  # a spinner redraws its line after each \r
    return run.returncode, [line for line in shown if line.strip()]


def piped(*args, env):
    return subprocess.run([sys.executable, "-m", "tui.cli", *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=300)


@pytest.fixture
def env(tmp_path):
    return {**{k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")},
            "TASKBENCH_HOME": str(tmp_path / "ws")}


def test_leaderboard_fits_80_columns_with_short_repeat_marks_and_a_legend(env, tmp_path):
    assert piped("project", "create", DATA / "juniors_3_year_stats_regression.csv", "--target", "Grade 2014",
                 "--name", "jr", env=env).returncode == 0
    bp = tmp_path / "a-rather-long-blueprint-name.bp"
    bp.write_text("num = impute_median(NUM)\nscaled = standardize(num)\nmodel = ridge(scaled)\n")
    for extra in ((), (), ("--cv",)):
        assert piped("train", "jr", bp, *extra, env=env).returncode == 0
    code, lines = in_terminal("leaderboard", "jr", env=env)
    assert code == 0
    assert max(len(line) for line in lines) <= 80, lines  # 91-column rows that folded before
    assert any(line.startswith("1×3 ") for line in lines) and any(line.startswith("2≡1 ") for line in lines)
    assert any("N≡M: model N repeats model M" in line for line in lines)
    assert "rows/s: scoring speed on the validation rows" in " ".join(lines)
    whole = piped("leaderboard", "jr", env=env).stdout  # piped: spelled out, unwrapped, as before
    assert "(3 runs)" in whole and "(repeat of 1)" in whole and "≡" not in whole


def test_task_list_keeps_its_data_whole_in_80_columns(env):
    for folder in ("13_regression_custom_insights", "14_anomaly_isolation_forest"):
        assert piped("task", "add", SAMPLES / folder, env=env).returncode == 0
    code, lines = in_terminal("task", "list", env=env)
    assert code == 0 and max(len(line.rstrip()) for line in lines) <= 80, lines  # 82 before, folded
    assert all("python-local" in line for line in lines if line.startswith(("regression_", "anomaly_")))
    assert "…" not in " ".join(lines)
    assert lines[-1] == "(owner left out to fit; widen the terminal or pipe to see it)"
    assert "owner" in piped("task", "list", env=env).stdout


def test_prose_wraps_at_spaces_in_a_terminal_and_keeps_a_path_whole(env, tmp_path):
    missing = tmp_path / "a-folder-with-a-long-name" / "and-a-data-file-whose-name-is-also-rather-long.csv"
    code, lines = in_terminal("project", "create", missing, "--target", "y", env=env)
    assert code == 2
    assert str(missing) in lines  # on a line of its own, not split at column 80 (`a p` / `ickled`)
    assert all(len(line) <= 80 for line in lines if str(missing) not in line), lines
    said = piped("project", "create", missing, "--target", "y", env=env)
    assert f"error: data file {missing} does not exist." in said.stderr.splitlines()  # piped: one line, as today
