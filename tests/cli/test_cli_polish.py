"""Issue 11's CLI list: output that copies whole, one-sentence errors for odd inputs, capped error lists, hints,
progress lines, repeat marking and id-like columns — each run through the real `taskbench` command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import DATA, SAMPLES, make_task


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


def _binary_files(tmp_path: Path) -> list[Path]:
    """A gzip-compressed CSV, bytes like an executable's, and random bytes without NULs, all named .csv."""
    import gzip
    import random

    made = []
    packed = tmp_path / "packed.csv"
    packed.write_bytes(gzip.compress(b"a,b\n1,2\n" * 200))
    made.append(packed)
    program = tmp_path / "program.csv"
    program.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 20)
    made.append(program)
    noise = tmp_path / "noise.csv"
    rng = random.Random(7)
    noise.write_bytes(bytes(rng.randrange(1, 256) for _ in range(4000)))
    made.append(noise)
    return made


def test_a_binary_input_is_one_sentence_without_raw_bytes(home, taskbench, tmp_path):
    for path in _binary_files(tmp_path):
        created = taskbench("project", "create", path, "--target", "a")
        assert created.exit_code == 2, created.output
        assert f"{path} is not a text CSV or Parquet file" in created.output
        assert not any(ord(ch) < 32 and ch not in "\n" for ch in created.output)
        checked = piped(home, "fit", "--code-dir", SAMPLES / "11_regression_ridge", "--input", path,
                        "--target", "a", "--target-type", "regression")
        assert checked.returncode == 2, checked.stdout + checked.stderr
        assert "is not a text CSV or Parquet file" in checked.stdout
        assert not any(ord(ch) < 32 and ch not in "\n" for ch in checked.stdout + checked.stderr)


def test_utf16_without_a_mark_is_still_text(taskbench, tmp_path):
    wide = tmp_path / "wide.csv"
    wide.write_bytes("a,b\n1,2\n3,4\n".encode("utf-16-le"))
    created = taskbench("project", "create", wide, "--target", "a")
    assert created.exit_code == 2
    assert "pass --encoding utf-16-le" in created.output


def test_a_folder_as_input_says_it_is_a_folder(home, taskbench, tmp_path):
    created = taskbench("project", "create", tmp_path, "--target", "a")
    assert created.exit_code == 2
    assert f"{tmp_path} is a folder, not a file" in created.output
    checked = piped(home, "fit", "--code-dir", SAMPLES / "11_regression_ridge", "--input", tmp_path,
                    "--target", "a", "--target-type", "regression")
    assert checked.returncode == 2
    assert "is a folder, not a file" in checked.stdout


def test_project_create_suggests_the_target_it_probably_meant(taskbench):
    created = taskbench("project", "create", DATA / "10k_diabetes.csv", "--target", "readmited")
    assert created.exit_code == 2
    assert "Did you mean 'readmitted'?" in created.output
    far = taskbench("project", "create", DATA / "10k_diabetes.csv", "--target", "zzzzqqq")
    assert far.exit_code == 2
    assert "race, gender, age" in far.output and "… (" in far.output and "in all)" in far.output


def test_a_cut_list_of_target_values_ends_with_an_ellipsis(taskbench, tmp_path):
    seven = tmp_path / "seven.csv"
    seven.write_text("x,y\n" + "".join(f"{i * 0.5},{i % 7}\n" for i in range(70)))
    created = taskbench("project", "create", seven, "--target", "y", "--target-type", "binary")
    assert created.exit_code == 2
    assert "found 7: 0, 1, 2, 3, 4, 5, …;" in " ".join(created.output.split())


def in_terminal(home: Path, *args, timeout: float = 120) -> str:
    """`taskbench ARGS…` with a pseudo-terminal as stdin, stdout and stderr; everything it wrote, escapes included."""
    import pty
    import select

    env = dict(os.environ, TASKBENCH_HOME=str(home), COLUMNS="120")
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "tui.cli", *map(str, args)], stdin=follower, stdout=follower,
                            stderr=follower, env=env)
    os.close(follower)
    out = b""
    try:
        while True:
            ready, _, _ = select.select([leader], [], [], timeout)
            if not ready:
                break
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the other end closed
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(leader)
        proc.wait(timeout=timeout)
    return out.decode("utf-8", "replace")


def test_project_create_shows_its_steps_on_a_terminal(home):
    shown = in_terminal(home, "project", "create", DATA / "10k_diabetes.csv", "--target", "readmitted")
    for step in ("reading 10k_diabetes.csv", "partitioning", "writing the project"):
        assert step in shown
    assert shown.index("reading") < shown.index("partitioning") < shown.index("writing the project")
    assert "10000 rows: training 6400" in shown


def test_training_on_an_unreachable_cluster_says_where_it_connects_first(home, taskbench, tmp_path):
    import socket

    assert taskbench("project", "create", DATA / "juniors_3_year_stats_regression.csv", "--target", "Grade 2014",
                     "--name", "juniors").exit_code == 0
    bp = tmp_path / "ridge.bp"
    bp.write_text("num = impute_median(NUM)\nmodel = ridge(num)\n")
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    env["TASKBENCH_HOME"] = str(home)
    proc = subprocess.Popen([sys.executable, "-m", "tui.cli", "train", "juniors", bp, "--cluster", f"127.0.0.1:{port}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        first = proc.stdout.readline()
        assert proc.poll() is None  # said before the connection attempt gave up
        assert first.strip() == f"connecting to tcp://127.0.0.1:{port} (up to 10 s)"
    finally:
        proc.kill()
        proc.wait()


def _tiny_samples(root: Path) -> Path:
    """A --samples folder with no tasks and a 10k_diabetes.csv of 80 rows, so the demo runs its templates quickly."""
    (root / "data").mkdir(parents=True)
    lines = ["age,kind,readmitted"]
    for i in range(80):
        lines.append(f"{20 + i % 50},{'ab'[i % 2]},{'True' if (i * 7) % 3 == 0 else 'False'}")
    (root / "data" / "10k_diabetes.csv").write_text("\n".join(lines) + "\n")
    return root


def run_demo(samples: Path, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    """`taskbench demo --samples SAMPLES -j 1` in `cwd`, as a separate process."""
    return subprocess.run([sys.executable, "-m", "tui.cli", "demo", "--samples", samples, "-j", "1"], cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=600)


def test_the_demo_names_its_workspace_and_where_it_came_from(tmp_path):
    samples = _tiny_samples(tmp_path / "samples")
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "TASKBENCH_HOME")}
    run = run_demo(samples, tmp_path, env)
    assert run.returncode == 0, run.stdout + run.stderr
    default = tmp_path / "taskbench-demo"
    lines = run.stdout.splitlines()
    assert lines[0] == f"Workspace: {default} (the demo's default ./taskbench-demo; choose another with --home)"
    assert f"The demo's workspace is {default} (the demo's default ./taskbench-demo; choose another with --home)." in lines
    assert (default / "taskbench.db").exists() or any(default.iterdir())

    env["TASKBENCH_HOME"] = str(tmp_path / "from-env")
    run = run_demo(samples, tmp_path, env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[0] == f"Workspace: {tmp_path / 'from-env'} (from $TASKBENCH_HOME)"
    assert f"The demo's workspace is {tmp_path / 'from-env'} (from $TASKBENCH_HOME)." in run.stdout


def test_compressed_csv_reads_everywhere_and_a_damaged_one_is_one_sentence(home, taskbench, tmp_path):
    """A .csv.gz/.bz2/.xz or a zip of one CSV is read by project create, fit and predict alike (pandas' own
    compression inference), under the same encoding policy; a damaged archive is one sentence."""
    import bz2
    import gzip
    import json
    import lzma
    import zipfile

    import pandas as pd

    source = DATA / "juniors_3_year_stats_regression.csv"
    raw = source.read_bytes()
    packed = {
        "data.csv.gz": gzip.compress(raw),
        "data.csv.bz2": bz2.compress(raw),
        "data.csv.xz": lzma.compress(raw),
    }
    for name, content in packed.items():
        (tmp_path / name).write_bytes(content)
    with zipfile.ZipFile(tmp_path / "data.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.csv", raw)

    created = taskbench("project", "create", tmp_path / "data.csv.gz", "--target", "Grade 2014", "--name", "gz")
    assert created.exit_code == 0, created.output
    bp = tmp_path / "ridge.bp"
    bp.write_text("num = impute_median(NUM)\nmodel = ridge(num)\n")
    assert taskbench("train", "gz", bp).exit_code == 0
    (row,) = json.loads(taskbench("leaderboard", "gz", "--json").output)
    expected = None
    for name in [*packed, "data.zip"]:
        out = tmp_path / f"{name}.out.csv"
        result = taskbench("predict", str(row["model"]), "--input", tmp_path / name, "--output", out)
        assert result.exit_code == 0, (name, result.output)
        frame = pd.read_csv(out)
        expected = frame if expected is None else expected
        assert len(frame) == len(pd.read_csv(source)) and frame.equals(expected), name

    task = SAMPLES / "11_regression_ridge"
    fitted = taskbench("fit", "--code-dir", task, "--input", tmp_path / "data.csv.xz", "--target-type", "regression",
                       "--target", "Grade 2014")
    assert fitted.exit_code == 0, fitted.output

    (tmp_path / "bad.csv.gz").write_bytes(gzip.compress(raw)[:300])
    broken = taskbench("project", "create", tmp_path / "bad.csv.gz", "--target", "Grade 2014", "--name", "bad")
    assert broken.exit_code == 2, broken.output
    assert "is a damaged compressed file" in " ".join(broken.output.split()) and "Traceback" not in broken.output


def test_drums_serve_flags_say_what_taskbench_takes(home):
    """`serve --address 0.0.0.0:8080` (DRUM's flag) names taskbench's --host and --port, not a bare 'No such option'
    (a trial finding); a flag DRUM does not have either keeps click's own sentence."""
    for args in (["--address", "0.0.0.0:8080"], ["--address=0.0.0.0:8080"]):
        result = piped(home, "serve", *args)
        assert result.returncode == 2, result.stderr
        assert ("error: No such option: --address; taskbench serve takes --host HOST --port PORT (DRUM's --address "
                "HOST:PORT).") in result.stderr, result.stderr
    other = piped(home, "serve", "--adress", "x")
    assert other.returncode == 2 and "error: No such option: --adress" in other.stderr
    assert "DRUM" not in other.stderr
