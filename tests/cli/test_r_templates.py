"""DataRobot's own R task templates (vendored unchanged in tests/fixtures/drum_r_templates) pass `taskbench fit`.

Each run in templates.json is the command DRUM's README or tests give for the template, through the real
CLI; the output must show the R artifact, the scored rows and the numbers the data makes certain.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pandas as pd
import pytest

from tests.conftest import REPO, leftovers, tree_digest

TEMPLATES = REPO / "tests" / "fixtures" / "drum_r_templates"
RUNS = {f"{e['folder']}-{e['target_type']}": e for e in json.loads((TEMPLATES / "templates.json").read_text())}
IRIS_BINARY = "predicted Iris-setosa: 73, Iris-versicolor: 36"

# run -> phrases the output must contain (beside "Fit check passed" and the sample check).
EXPECTED = {
    "2_r_transform_simple-transform": ["artifacts: r_transform.rds", "on 150 rows: 5 dense columns (NUM)"],
    # No transform hook: the saved recipe is applied with recipes::bake, as DRUM does.
    "4_r_transform_recipe-transform": ["artifacts: r_transform.rds", "on 150 rows: 5 dense columns (NUM)"],
    "2_r_regression-regression": ["artifacts: artifact.rds", "score on 299 rows: Predictions mean {mean}"],
    "3_r_sparse_regression-regression": [
        "1600 rows × 162 columns (NUM)", "artifacts: artifact.rds", "score on 1600 rows: Predictions mean 0.49",
    ],
    "5_r_binary_classification-binary": [
        "classes ['Iris-setosa', 'Iris-versicolor']", "artifacts: artifact.rds",
        f"score on 109 rows: probabilities per class valid; {IRIS_BINARY}",
    ],
    # No score hook: R's predict() (regression) or predict(type = "prob") (classification), as DRUM does.
    "3_r_lang-regression": ["artifacts: artifact.rds", "on 1477 rows: Predictions mean"],
    "3_r_lang-binary": [
        "classes ['Iris-setosa', 'Iris-versicolor']", "artifacts: artifact.rds",
        f"on 109 rows: probabilities per class valid; {IRIS_BINARY}",
    ],
    "3_r_lang-multiclass": [
        "classes ['Iris-setosa', 'Iris-versicolor', 'Iris-virginica']", "artifacts: artifact.rds",
        "on 150 rows: probabilities per class valid; predicted Iris-setosa: 50,",
    ],
}


def flat(text: str) -> str:
    return " ".join(text.split())


_missing_cache: dict[str, list[str]] = {}


def need_packages(rscript: str, names: list[str]) -> None:
    """Skip (or fail, when TASKBENCH_REQUIRE_R is set) if R lacks a package the template loads."""
    key = " ".join(sorted(names))
    if key not in _missing_cache:
        probe = "cat(Filter(function(p) !nzchar(system.file(package = p)), commandArgs(TRUE)))"
        out = subprocess.run([rscript, "-e", probe, *names], capture_output=True, text=True, timeout=60)
        _missing_cache[key] = out.stdout.split()
    missing = _missing_cache[key]
    if missing:
        reason = f"R packages missing: {', '.join(missing)} (Debian: r-cran-*)"
        if os.environ.get("TASKBENCH_REQUIRE_R"):
            pytest.fail(f"{reason}, but TASKBENCH_REQUIRE_R is set")
        pytest.skip(reason)


def test_every_run_is_expected_and_every_template_present():
    assert set(RUNS) == set(EXPECTED)
    for entry in RUNS.values():
        folder = TEMPLATES / entry["folder"]
        assert (folder / "custom.R").is_file() and not (folder / "custom.py").exists(), folder
        assert (REPO / entry["input"]).is_file(), entry["input"]


def test_templates_are_upstream_bytes():
    """Vendored unchanged: no Taskbench patch marks, and every file listed in NOTICE.md is present."""
    notice = (TEMPLATES / "NOTICE.md").read_text()
    for folder in {e["folder"] for e in RUNS.values()}:
        row = next(line for line in notice.splitlines() if line.startswith(f"| {folder} |"))
        listed = {part.split(" (")[0].strip() for part in row.split("|")[4].split(",")}
        assert listed == {p.name for p in (TEMPLATES / folder).iterdir()}, folder
        for path in (TEMPLATES / folder).iterdir():
            assert "taskbench" not in path.read_text().lower(), path


@pytest.mark.parametrize("run", list(RUNS))
def test_r_template_passes_fit_check(run, need_r, taskbench, home, tmp_path, monkeypatch):
    entry = RUNS[run]
    need_packages(need_r, entry["packages"])
    original = TEMPLATES / entry["folder"]
    before = tree_digest(original)
    code_dir = original
    if entry.get("without_metadata"):
        # Its metadata declares targetType regression; the code itself handles classification (see NOTICE.md).
        code_dir = tmp_path / entry["folder"]
        shutil.copytree(original, code_dir, ignore=shutil.ignore_patterns("model-metadata.yaml"))
    code_before = tree_digest(code_dir)

    # DRUM's commands name the data relative to the repository root; so do these (relative --target-csv too).
    monkeypatch.chdir(REPO)
    args = ["fit", "--code-dir", code_dir, "--input", entry["input"], "--target-type", entry["target_type"]]
    if entry.get("target"):
        args += ["--target", entry["target"]]
    if entry.get("target_csv"):
        args += ["--target-csv", entry["target_csv"], "--sparse-column-file", entry["sparse_column_file"]]
    result = taskbench(*args)

    assert result.exit_code == 0, result.output
    text = flat(result.output)
    phrases = ["Fit check passed", "scores the same as the full data", *EXPECTED[run]]
    if run == "2_r_regression-regression":  # a Gaussian GLM with an intercept predicts the target's mean
        target = pd.read_csv(REPO / entry["input"], encoding="utf-8-sig")["target"]
        phrases = [p.format(mean=f"{target.mean():.4g}") for p in phrases]
    for phrase in phrases:
        assert phrase in text, f"{phrase!r} missing from:\n{result.output}"
    assert "Traceback" not in result.output
    assert tree_digest(code_dir) == code_before
    assert tree_digest(original) == before
    assert leftovers(home) == []


def test_r_regression_artifact_is_the_rds_r_reads(need_r, taskbench, home, tmp_path):
    """`--output` keeps the template's artifact.rds beside its code; plain R reads it and predicts the same mean."""
    entry = RUNS["2_r_regression-regression"]
    need_packages(need_r, entry["packages"])
    kept = tmp_path / "kept"
    data = REPO / entry["input"]

    result = taskbench("fit", "--code-dir", TEMPLATES / entry["folder"], "--input", data,
                       "--target-type", "regression", "--target", "target", "--output", kept)

    assert result.exit_code == 0, result.output
    assert (kept / "artifact.rds").is_file() and (kept / "custom.R").is_file()
    script = (
        "m <- readRDS(commandArgs(TRUE)[1]); d <- read.csv(commandArgs(TRUE)[2], fileEncoding = 'UTF-8-BOM'); "
        "cat(format(mean(predict(m, newdata = d, type = 'response')), digits = 4))"
    )
    out = subprocess.run([need_r, "-e", script, kept / "artifact.rds", data],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"Predictions mean {out.stdout.strip()}" in flat(result.output)
    assert leftovers(home) == []


def test_r_transform_imputes_blanked_columns(need_r, taskbench, home):
    """--check-missing blanks each column in turn: R receives NA and the template's medians replace it."""
    entry = RUNS["2_r_transform_simple-transform"]
    need_packages(need_r, entry["packages"])

    result = taskbench("fit", "--code-dir", TEMPLATES / entry["folder"], "--input", REPO / entry["input"],
                       "--target-type", "transform", "--target", "Species", "--check-missing")

    assert result.exit_code == 0, result.output
    assert "scored with each of 5 columns blanked" in flat(result.output), result.output
    assert leftovers(home) == []


def test_rscript_behind_a_shell_wrapper(need_r, taskbench, home, tmp_path, monkeypatch):
    """An Rscript on PATH that is a wrapper script (R runs as its child, not in its place) fits and scores too."""
    entry = RUNS["3_r_lang-regression"]
    need_packages(need_r, entry["packages"])
    wrapper = tmp_path / "bin" / "Rscript"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\n"{need_r}" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}")
    lines = (REPO / entry["input"]).read_text().splitlines(keepends=True)
    data = tmp_path / "juniors_x4.csv"  # a fit long enough that the step's cleanup runs while R is warm
    data.write_text(lines[0] + "".join(lines[1:]) * 4)

    result = taskbench("fit", "--code-dir", TEMPLATES / entry["folder"], "--input", data,
                       "--target-type", "regression", "--target", entry["target"])

    assert result.exit_code == 0, result.output
    assert "score on 5908 rows: Predictions mean" in flat(result.output), result.output
    assert leftovers(home) == []
