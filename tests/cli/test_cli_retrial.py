"""The CLI items a newcomer's re-trial found (issue 11): one sentence for binary input, paths as typed, one
`error:` form, plurals, and honest predict timing."""

from __future__ import annotations

import os
import sys

from tests.conftest import DATA


def flat(result):
    return " ".join(result.output.split())


def test_predict_refuses_a_binary_input_like_fit_and_names_the_path_as_typed(taskbench, tmp_path, monkeypatch):
    blob = tmp_path / "binfile"
    blob.write_bytes(bytes(range(256)) * 64)
    link = tmp_path / "python"
    os.symlink(sys.executable, link)
    monkeypatch.chdir(tmp_path)
    for given in ("binfile", "python"):
        said = taskbench("predict", "1", "--input", given, "--output", "out.csv")
        assert said.exit_code == 2
        assert f"input file {given} is not a text CSV or Parquet file (it holds binary data)" in flat(said)
        assert "neither CSV nor Parquet" not in flat(said) and os.path.realpath(sys.executable) not in flat(said)
    fitted = taskbench("project", "create", "binfile", "--target", "y")
    assert "binfile is not a text CSV or Parquet file (it holds binary data)" in flat(fitted)  # the same sentence


def test_click_usage_errors_say_error_in_our_form(taskbench):
    for args in (("project", "create", "x.csv", "--bogus"), ("nosuch",), ("jobs", "--limit", "many")):
        said = taskbench(*args)
        assert said.exit_code == 2
        assert "error: " in said.output and "Error:" not in said.output, said.output


def test_one_file_is_one_file(taskbench, tmp_path):
    folder = tmp_path / "lean"
    folder.mkdir()
    (folder / "Dockerfile").write_text("FROM python:3.11-slim\n")
    added = taskbench("env", "add", folder, "--name", "lean")
    assert added.exit_code == 0, added.output
    assert "(1 file," in flat(added) and "1 files" not in flat(added)
    written = taskbench("env", "download", "lean", "--to", tmp_path / "out")
    assert "(1 file)" in flat(written) and "1 files" not in flat(written)


def test_the_demo_prints_scores_at_the_leaderboards_precision(tmp_path):
    import re

    from tests.cli.test_cli_polish import _tiny_samples, run_demo

    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "TASKBENCH_HOME")}
    run = run_demo(_tiny_samples(tmp_path / "samples"), tmp_path, env)
    assert run.returncode == 0, run.stdout + run.stderr
    shown = re.findall(r"\b(AUC|F1|LogLoss|Accuracy|R2) (-?[\d.]+)", "\n".join(l for l in run.stdout.splitlines() if l.startswith("ok")))
    assert shown, run.stdout
    assert all(re.fullmatch(r"-?\d+\.\d{4}", value) for _, value in shown), shown  # 0.682 and 2.385 before


def test_residual_statistics_share_one_precision():
    from tui.insights_view import _regression, plain

    r = {"mean": 0.65191, "std": 9.93217, "mean_abs": 7.1234, "min": -30.5, "p5": -15.25, "p25": -5.5,
         "median": 0.25, "p75": 6.75, "p95": 16.5, "max": 40.125}
    text = plain(_regression("validation", {"rows": 100, "residuals": r}, 80))
    assert "mean 0.652  std 9.932  mean |residual| 7.123" in text  # 0.6519 beside 9.932 before
