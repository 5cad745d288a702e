"""Issue 11's CLI list: output that copies whole, one-sentence errors for odd inputs, capped error lists, hints,
progress lines, repeat marking and id-like columns — each run through the real `taskbench` command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import DATA, make_task


def piped(home: Path, *args, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`taskbench ARGS…` as a separate process whose stdout and stderr are pipes (not a terminal), without COLUMNS."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["TASKBENCH_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *map(str, args)], capture_output=True, text=True, env=env, cwd=cwd,
        timeout=timeout,
    )


def test_piped_task_list_shows_every_cell_whole(home, taskbench, tmp_path):
    name = "transform_with_a_rather_long_descriptive_name"
    folder = make_task(tmp_path, {
        "custom.py": """
            def transform(X, transformer):
                return X
        """,
    }, name=name)
    assert taskbench("task", "add", folder).exit_code == 0
    listed = piped(home, "task", "list")
    assert listed.returncode == 0, listed.stderr
    assert "…" not in listed.stdout
    assert name in listed.stdout
    assert "python-local" in listed.stdout  # the environment column, not `environ…`


def test_a_failing_fit_prints_its_traceback_paths_whole_when_piped(home, tmp_path):
    deep = tmp_path / ("a_long_folder_name_for_the_task_code_" * 3) / "nested_further_down_the_tree"
    deep.mkdir(parents=True)
    folder = make_task(deep, {
        "custom.py": """
            def fit(X, y, output_dir, **kwargs):
                raise RuntimeError("broken on purpose")
        """,
    }, name="failing_task_with_a_long_name")
    run = piped(home, "fit", "--code-dir", folder, "--input", DATA / "juniors_3_year_stats_regression.csv",
                "--target", "Grade 2014", "--target-type", "regression")
    assert run.returncode != 0
    path = str(folder / "custom.py")
    assert len(path) > 80
    assert path in run.stdout + run.stderr  # on one line, not folded at 80 columns
