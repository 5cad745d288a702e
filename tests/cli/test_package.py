"""`taskbench export` and `taskbench predict --package`: a round trip into another workspace, and refused packages."""

from __future__ import annotations

import json
import zipfile

import pandas as pd
import pytest

from tests.conftest import DATA

JUNIORS = DATA / "juniors_3_year_stats_regression.csv"
INFERENCE = DATA / "juniors_3_year_stats_regression_inference.csv"


def flat(result):
    return " ".join(result.output.split())


@pytest.fixture
def package(taskbench, tmp_path):
    assert taskbench("project", "create", JUNIORS, "--target", "Grade 2014", "--name", "juniors").exit_code == 0
    bp = tmp_path / "ridge.bp"
    bp.write_text("num = impute_median(NUM)\nmodel = ridge(num)\n")
    assert taskbench("train", "juniors", bp).exit_code == 0
    exported = taskbench("export", "1", "--to", tmp_path / "model.zip")
    assert exported.exit_code == 0, exported.output
    local = taskbench("predict", "1", "--input", INFERENCE, "--output", tmp_path / "local.csv")
    assert local.exit_code == 0, local.output
    return tmp_path / "model.zip"


def other_workspace(taskbench, monkeypatch, tmp_path):
    monkeypatch.setenv("TASKBENCH_HOME", str(tmp_path / "elsewhere"))
    return tmp_path / "elsewhere"


def test_round_trip_scores_identically_in_another_workspace(package, taskbench, monkeypatch, tmp_path):
    with zipfile.ZipFile(package) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
    assert {"plan.json", "blueprint.bp", "environment.json", "tasks/model/custom.py", "nodes/model/artifact.pkl"} <= names
    assert set(manifest["files"]) == names - {"manifest.json"}
    elsewhere = other_workspace(taskbench, monkeypatch, tmp_path)
    result = taskbench("predict", "--package", package, "--input", INFERENCE, "--output", tmp_path / "remote.csv")
    assert result.exit_code == 0, result.output
    local, remote = pd.read_csv(tmp_path / "local.csv"), pd.read_csv(tmp_path / "remote.csv")
    assert local.equals(remote)
    extracted = [p for p in (elsewhere / "packages").iterdir() if not p.name.startswith(".")]
    assert len(extracted) == 1 and (extracted[0] / "tasks" / "model" / "custom.py").is_file()


def rewrite(package, target, change):
    """Copy a package member by member, letting `change(name, data)` return new (name, data) pairs."""
    with zipfile.ZipFile(package) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            for name, data in change(info.filename, src.read(info)):
                dst.writestr(name, data)
    return target


@pytest.mark.parametrize("evil", ["../escaped.py", "/tmp/absolute.py", "tasks/../../escaped.py"])
def test_members_outside_the_folder_are_refused(package, taskbench, monkeypatch, tmp_path, evil):
    def add_evil(name, data):
        if name == "manifest.json":
            manifest = json.loads(data)
            manifest["files"][evil] = {"sha256": "0" * 64, "size": 1}
            return [(evil, b"x"), (name, json.dumps(manifest).encode())]
        return [(name, data)]

    bad = rewrite(package, tmp_path / "evil.zip", add_evil)
    elsewhere = other_workspace(taskbench, monkeypatch, tmp_path)
    result = taskbench("predict", "--package", bad, "--input", INFERENCE, "--output", tmp_path / "o.csv")
    assert result.exit_code == 2
    assert "is refused" in flat(result) and "outside" in flat(result)
    assert not (tmp_path / "escaped.py").exists() and not (tmp_path.parent / "escaped.py").exists()
    assert not (elsewhere / "packages").exists() or not any((elsewhere / "packages").iterdir())


def test_tampered_and_unlisted_files_are_refused(package, taskbench, monkeypatch, tmp_path):
    tampered = rewrite(package, tmp_path / "tampered.zip",
                       lambda n, d: [(n, d.replace(b"return", b"return ") if n == "tasks/model/custom.py" else d)])
    unlisted = rewrite(package, tmp_path / "unlisted.zip",
                       lambda n, d: [(n, d)] + ([("tasks/model/extra.py", b"import os\n")] if n == "plan.json" else []))
    other_workspace(taskbench, monkeypatch, tmp_path)
    result = taskbench("predict", "--package", tampered, "--input", INFERENCE, "--output", tmp_path / "o.csv")
    assert result.exit_code == 2 and "'tasks/model/custom.py' does not match the manifest" in flat(result)
    result = taskbench("predict", "--package", unlisted, "--input", INFERENCE, "--output", tmp_path / "o.csv")
    assert result.exit_code == 2 and "'tasks/model/extra.py' is not listed in the manifest" in flat(result)
    assert not (tmp_path / "o.csv").exists()
