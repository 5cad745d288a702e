"""`taskbench serve --code-dir`: a fitted folder served as `drum server` serves it, answering like `score` does.

The folder is what `taskbench fit --output DIR` leaves (the artifact and the task's code side by side, as
`drum fit --output`), so `score --code-dir DIR` and `serve --code-dir DIR` work straight after it.
"""

from __future__ import annotations

import io
import shutil
import sqlite3
import time

import pandas as pd
import pytest
import requests

from tests.conftest import DATA, REPO
from tests.cli.test_serve import Server

TEMPLATES = REPO / "tests" / "fixtures" / "drum_templates"
IRIS = DATA / "iris_binary_training.csv"
LABELS = ["--positive-class-label", "Iris-versicolor", "--negative-class-label", "Iris-setosa"]


def FolderServer(home, folder, *extra) -> Server:
    """`taskbench serve --code-dir DIR …` as a real subprocess on a free port."""
    return Server(home, f"--code-dir={folder}", *extra)


def fit_output(taskbench, tmp_path, template, data, target_type, target):
    kept = tmp_path / f"{template}-fitted"
    fit = taskbench("fit", "--code-dir", TEMPLATES / template, "--input", data, "--target-type", target_type,
                    "--target", target, "--output", kept)
    assert fit.exit_code == 0, fit.output
    return kept


def test_fit_output_is_a_fitted_folder_that_serve_answers_like_score(taskbench, home, tmp_path):
    """drum fit --output, then drum score and drum server on the same folder: the same class columns and numbers."""
    folder = fit_output(taskbench, tmp_path, "5_python3_sklearn_binary", IRIS, "binary", "Species")
    # the artifact and the template's code, side by side (the template's files copied, none over the artifact)
    # plus the model-metadata.yaml fit writes with the target type and labels (DRUM's inferenceModel)
    assert sorted(p.name for p in folder.iterdir()) == ["artifact.pkl", "create_pipeline.py", "custom.py",
                                                        "model-metadata.yaml"]
    assert (folder / "custom.py").read_bytes() == (TEMPLATES / "5_python3_sklearn_binary" / "custom.py").read_bytes()
    rows = tmp_path / "rows.csv"
    pd.read_csv(IRIS).drop(columns=["Species"]).to_csv(rows, index=False)
    out = tmp_path / "scored.csv"
    scored = taskbench("score", "--code-dir", folder, "--input", rows, "--target-type", "binary", *LABELS, "--output", out)
    assert scored.exit_code == 0, scored.output
    expected = pd.read_csv(out)
    assert list(expected.columns) == ["Iris-setosa", "Iris-versicolor"]

    server = FolderServer(home, folder, "--target-type", "binary", *LABELS)
    try:
        body = rows.read_bytes()
        answers = [
            requests.post(f"{server.url}/predict/", data=body, headers={"Content-Type": "text/csv"}, timeout=30),
            requests.post(f"{server.url}/predict/", files={"X": ("rows.csv", body)}, timeout=30),
            requests.post(f"{server.url}/predict/", json=pd.read_csv(rows).to_dict(orient="split") | {"index": None},
                          timeout=30),
        ]
        for answer in answers:
            assert answer.status_code == 200, answer.text
            served = pd.DataFrame(answer.json()["predictions"])
            assert list(served.columns) == list(expected.columns)
            pd.testing.assert_frame_equal(served, expected, check_exact=False, rtol=1e-12)
        info = requests.get(f"{server.url}/info/", timeout=5).json()
        assert info["target_type"] == "binary" and info["class_labels"] == ["Iris-setosa", "Iris-versicolor"]
        assert requests.get(f"{server.url}/health/", timeout=5).json()["message"] == "OK"
        wrong = requests.post(f"{server.url}/transform/", data=body, headers={"Content-Type": "text/csv"}, timeout=30)
        assert wrong.status_code == 422 and "/predict/" in wrong.json()["message"]
        assert "deployment" not in wrong.json()["message"]  # a folder server has none
        time.sleep(0.5)  # past a monitor flush interval: a deployment's server would have written its rows by now
        stats = requests.get(f"{server.url}/stats/", timeout=5).json()
        assert stats["routes"]["/predict/"]["requests"] == 3 and stats["rows_scored"] == 3 * len(expected)
    finally:
        server.stop()
    # monitoring stayed in memory: the workspace holds no monitor rows for a code-dir server
    with sqlite3.connect(home / "taskbench.db") as db:
        assert db.execute("SELECT COUNT(*) FROM deployment_monitor").fetchone()[0] == 0


def test_serve_code_dir_transform_answers_on_transform(taskbench, home, tmp_path):
    """A transform's fitted folder answers /transform/ with the CSV `score` writes."""
    folder = fit_output(taskbench, tmp_path, "3_python3_sklearn_transform", IRIS, "transform", "Species")
    rows = tmp_path / "rows.csv"
    pd.read_csv(IRIS).drop(columns=["Species"]).head(20).to_csv(rows, index=False)
    out = tmp_path / "scored.csv"
    scored = taskbench("score", "--code-dir", folder, "--input", rows, "--target-type", "transform", "--output", out)
    assert scored.exit_code == 0, scored.output
    server = FolderServer(home, folder, "--target-type", "transform")
    try:
        answer = requests.post(f"{server.url}/transform/", data=rows.read_bytes(),
                               headers={"Content-Type": "text/csv"}, timeout=30)
        assert answer.status_code == 200, answer.text
        served = pd.read_csv(io.StringIO(answer.json()["transformations"]))
        pd.testing.assert_frame_equal(served, pd.read_csv(out), check_exact=False, rtol=1e-12)
    finally:
        server.stop()


@pytest.mark.parametrize("args, sentence", [
    ([], "give a DEPLOYMENT to serve"),
    (["jr", "--code-dir", "."], "not both"),
    (["--code-dir", "{missing}"], "does not exist"),
    (["--code-dir", "{folder}", "--target-type", "binary"], "needs the class labels"),
    (["--code-dir", "{folder}", "--target-type", "binary", "--positive-class-label", "a"], "give both"),
    (["--code-dir", "{folder}", "--target-type", "binary", "--workers", "2"], "needs the class labels"),
])
def test_serve_code_dir_refuses_bad_input_in_one_sentence(taskbench, home, tmp_path, args, sentence):
    folder = tmp_path / "fitted"
    folder.mkdir()
    (folder / "custom.py").write_text("def transform(data, model):\n    return data\n")
    (folder / "artifact.pkl").write_bytes(b"")  # fitted, as far as a look at the folder tells
    args = [a.format(missing=tmp_path / "nope", folder=folder) for a in args]
    result = taskbench("serve", *args, "--port", "0")
    assert result.exit_code == 2, result.output
    assert sentence in " ".join(result.output.split()) and "Traceback" not in result.output


def test_fit_output_inside_the_code_dir_copies_the_code_not_the_artifacts_again(taskbench, home, tmp_path):
    """`fit --code-dir T --output T/fitted`: the code is copied once, the new folder never into itself."""
    import shutil

    task = tmp_path / "task"
    shutil.copytree(TEMPLATES / "5_python3_sklearn_binary", task)
    fit = taskbench("fit", "--code-dir", task, "--input", IRIS, "--target-type", "binary", "--target", "Species",
                    "--output", task / "fitted")
    assert fit.exit_code == 0, fit.output
    kept = task / "fitted"
    assert sorted(str(p.relative_to(kept)) for p in kept.rglob("*")) == ["artifact.pkl", "create_pipeline.py", "custom.py",
                                                                       "model-metadata.yaml"]


def test_serve_code_dir_runs_several_workers_with_what_fit_remembered(taskbench, home, tmp_path):
    """--workers N as for deployments (the same server code), and no flags: the folder names its target and labels."""
    folder = fit_output(taskbench, tmp_path, "5_python3_sklearn_binary", IRIS, "binary", "Species")
    rows = pd.read_csv(IRIS).drop(columns=["Species"]).head(20).to_csv(index=False).encode()
    server = FolderServer(home, folder, "--workers", "2")
    try:
        for _ in range(6):
            answer = requests.post(f"{server.url}/predict/", data=rows, headers={"Content-Type": "text/csv"}, timeout=30)
            assert answer.status_code == 200, answer.text
            assert set(answer.json()["predictions"][0]) == {"Iris-setosa", "Iris-versicolor"}
    finally:
        printed = server.stop()
    assert "in 2 worker processes" in printed


def test_serve_code_dir_says_once_that_it_installs_no_requirements(taskbench, home, tmp_path):
    from core.deploy.server import requirements_note

    folder = fit_output(taskbench, tmp_path, "5_python3_sklearn_binary", IRIS, "binary", "Species")
    (folder / "requirements.txt").write_text("pandas\nscikit-learn>=0.1\n")  # installed here: nothing to say
    assert requirements_note(folder) is None
    (folder / "requirements.txt").write_text("# pinned\npandas\nnot-a-real-package-taskbench==1.0\npandas<0.1\n")
    note = requirements_note(folder)
    assert "not-a-real-package-taskbench==1.0, pandas<0.1, which this Python lacks" in note
    assert f"pip install -r {folder / 'requirements.txt'}" in note
    server = FolderServer(home, folder)
    printed = " ".join(server.stop().split())
    assert printed.count("serve --code-dir does not install requirements") == 1


def test_an_r_fitted_folder_is_served_with_numbers_typed_as_numbers(need_r, taskbench, home, tmp_path):
    """A folder server has no training schema: a small CSV request's columns are typed by what they hold, as
    read_csv types them (an R task doing arithmetic on strings failed every request: 'non-numeric argument')."""
    kept = tmp_path / "r-fitted"
    fit = taskbench("fit", "--code-dir", REPO / "sample_tasks" / "15_binary_r_ridge_logistic", "--input", IRIS,
                    "--target", "Species", "--output", kept)
    assert fit.exit_code == 0, fit.output
    rows = pd.read_csv(IRIS).drop(columns=["Species"]).head(3)
    server = FolderServer(home, kept, "--target-type", "binary", *LABELS)
    try:
        answer = requests.post(f"{server.url}/predict/", data=rows.to_csv(index=False),
                               headers={"Content-Type": "text/csv"}, timeout=60)
        assert answer.status_code == 200, answer.text
        served = pd.DataFrame(answer.json()["predictions"])
        assert list(served.columns) == ["Iris-setosa", "Iris-versicolor"]
        assert (served["Iris-setosa"] > 0.5).all()  # the first rows of the file are setosa
    finally:
        server.stop()


@pytest.mark.parametrize("template, loader", [
    ("4_python_binary_classification", "a CustomTask class: its load reads drum_artifact.pkl"),
    ("5_python3_sklearn_binary", "hooks without load_model: one native artifact file"),
])
@pytest.mark.parametrize("command", ["score", "serve"])
def test_a_folder_never_fitted_is_refused_in_one_sentence_before_asking_for_labels(
        command, template, loader, taskbench, home, tmp_path):
    """DRUM's template folder itself (never fitted) given to score or serve --code-dir: one sentence saying to fit
    it first (a trial finding: a traceback from inside the shim, FileNotFoundError drum_artifact.pkl, after asking
    for the class labels), exit 2."""
    folder = tmp_path / template
    shutil.copytree(TEMPLATES / template, folder)
    args = ["--input", IRIS] if command == "score" else ["--port", "0"]
    result = taskbench(command, "--code-dir", folder, "--target-type", "binary", *args)
    said = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert (f"{folder} holds no fitted artifact; fit it first: taskbench fit --code-dir {folder} --input DATA "
            "--target COL --output FITTED, then pass --code-dir FITTED.") in said, (loader, said)
    assert "Traceback" not in said and "class labels" not in said
