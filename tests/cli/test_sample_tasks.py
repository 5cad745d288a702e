"""Every command in sample_tasks/README.md passes, and its output says what the task did."""

from __future__ import annotations

import os
import re
import shlex

import pytest

from tests.conftest import REPO, SAMPLES, leftovers, tree_digest

README = SAMPLES / "README.md"

# Per sample: phrases the fit check's output must contain, and artifact files it must keep.
EXPECTED = {
    "01_transform_median_impute": (["median_impute: learned medians for 33 columns", "transform on 1477 rows: 33 dense columns (NUM)"], ["artifact.pkl"]),
    "02_transform_one_hot": (["indicator columns", "dense columns (NUM)"], ["artifact.pkl"]),
    "03_transform_pickled_sklearn": (["pickled_sklearn: fitted", "transform on 10000 rows: 17 dense columns"], ["artifact.pkl"]),
    "04_transform_log_stateless": (["log_stateless: nothing to learn", "33 dense columns"], ["artifact.joblib"]),
    "05_transform_clip_outliers": (["clip_outliers: learned", "CustomTask.transform on 1477 rows"], ["drum_artifact.pkl"]),
    "06_binary_module_hooks": (["positive class 'Iris-versicolor'", "classes ['Iris-setosa', 'Iris-versicolor']", "predicted Iris-setosa: 73, Iris-versicolor: 36"], ["artifact.pkl"]),
    "07_binary_class_interface": (["CustomTask.predict_proba on 109 rows", "probabilities per class valid"], ["drum_artifact.pkl"]),
    "08_binary_hyperparameters": (["binary_hyperparameters[", "predict_proba on 109 rows"], ["artifact.pkl", "training_summary.txt"]),
    "09_binary_text_pipeline": (["text_pipeline:", "3 text columns", "predict_proba on 10000 rows", "(CAT, NUM, TXT)"], ["artifact.pkl"]),
    "10_multiclass_random_forest": (["classes ['GALAXY', 'QSO', 'STAR']", "predict_proba on 10000 rows"], ["artifact.pkl"]),
    "11_regression_ridge": (["regression_ridge: alpha=1.0", "predict on 1477 rows: Predictions mean 25.11"], ["artifact.pkl"]),
    "12_regression_multi_artifact": (["wrote 3 artifacts", "predict on 299 rows"], ["features.json", "model.joblib", "preprocess.pkl"]),
    "13_regression_custom_insights": (["custom_insights: top feature", "predict on 1477 rows"], ["artifact.pkl", "feature_importance.csv", "feature_importance.png"]),
    "14_anomaly_isolation_forest": (["isolation_forest: 200 trees on 1477 rows", "predict on 1477 rows"], ["artifact.pkl"]),
    "15_binary_r_ridge_logistic": (["r_ridge_logistic: lambda=1, 5 columns", "on 109 rows", "probabilities per class valid"], ["artifact.rds"]),
}


def readme_commands() -> dict[str, list[str]]:
    """Each ```sh block of the README, as argv, keyed by the sample folder it checks."""
    blocks = re.findall(r"```sh\n(.*?)\n```", README.read_text(), flags=re.S)
    out = {}
    for block in blocks:
        argv = shlex.split(block.strip())
        assert argv[:2] == ["taskbench", "fit"], block
        folder = argv[argv.index("--code-dir") + 1].split("/")[-1]
        out[folder] = argv[1:]
    return out


def test_readme_lists_every_sample_folder():
    folders = {p.name for p in SAMPLES.iterdir() if (p / "custom.py").exists() or (p / "custom.R").exists()}
    assert len(folders) >= 12
    assert set(readme_commands()) == folders == set(EXPECTED)


@pytest.mark.parametrize("folder", sorted(EXPECTED))
def test_sample_task_passes_its_readme_command(folder, taskbench, home, tmp_path, monkeypatch, request):
    if (SAMPLES / folder / "custom.R").is_file():
        request.getfixturevalue("need_r")  # an R task: skipped without R, failed in CI
    monkeypatch.chdir(REPO)
    argv = readme_commands()[folder]
    before = tree_digest(SAMPLES / folder)
    kept = tmp_path / "artifacts"
    result = taskbench(*argv, "--output", kept, "--check-missing")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    phrases, artifacts = EXPECTED[folder]
    for phrase in ["Fit check passed", "scores the same as the full data", "columns blanked", *phrases]:
        assert phrase in text, f"{phrase!r} missing from:\n{result.output}"
    for name in artifacts:
        assert (kept / name).is_file() and (kept / name).stat().st_size > 0, name
    assert tree_digest(SAMPLES / folder) == before
    assert leftovers(home) == []
    if folder == "13_regression_custom_insights":
        assert (kept / "feature_importance.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "feature" in (kept / "feature_importance.csv").read_text().splitlines()[0].lower()


def test_readme_command_runs_as_a_real_process(home, tmp_path):
    """The first README command through the installed console script, as a user types it."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(sys.executable).parent / "taskbench"
    argv = readme_commands()["11_regression_ridge"]
    proc = subprocess.run([str(script), *argv], cwd=REPO, capture_output=True, text=True, env=dict(os.environ))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Fit check passed" in proc.stdout
