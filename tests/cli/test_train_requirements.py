"""A registered task's requirements.txt is installed for training, scoring and serving too, not only the fit check
(SPEC §2.6): its nodes run in a worker of their environment with the requirements on top, made once per content."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pandas as pd
import pytest
import requests

from tests.cli.test_predict import validation_rows
from tests.cli.test_serve import Server
from tests.cli.test_requirements import TASK
from tests.conftest import DATA, leftovers, make_task

JUNIORS = DATA / "juniors_3_year_stats_regression.csv"

# The fit check's requirements task (tomli-w: small, pure Python, not installed in the project's environment): it
# imports the package at module level, so loading it to score needs the package as much as fitting does.
METADATA = "name: toml_mean\ntype: training\ntargetType: regression\n"


def flat(result):
    return " ".join(result.output.split())


def job_log(home, job_id):
    return (home / "logs" / f"job-{job_id}.log").read_text()


def test_a_task_needing_a_package_trains_predicts_scores_holdout_and_serves(tmp_path, taskbench, home):
    import importlib.util

    assert importlib.util.find_spec("tomli_w") is None, "the test needs a package the project's Python lacks"
    task = make_task(tmp_path, {"custom.py": TASK, "model-metadata.yaml": METADATA,
                                "requirements.txt": "tomli-w  # small, pure Python\n"})
    added = taskbench("task", "add", task)
    assert added.exit_code == 0, added.output
    created = taskbench("project", "create", JUNIORS, "--target", "Grade 2014", "--name", "juniors", "--json")
    assert created.exit_code == 0, created.output
    bp = tmp_path / "toml.bp"
    bp.write_text("num = impute_median(NUM)\nmodel = toml_mean(num)\n")

    trained = taskbench("train", "juniors", bp)
    assert trained.exit_code == 0, trained.output
    (row,) = json.loads(taskbench("leaderboard", "juniors", "--json").output)
    assert row["state"] == "trained", row
    model = row["model"]
    log = job_log(home, 1)
    assert "installing 1 requirement(s) into a new cached environment" in log  # pip's progress is in the job log
    assert "tomli_w says rows = 944" in log
    assert len(list((home / "venvs").iterdir())) == 1

    # A second blueprint with the same task reuses the environment (one venv per requirements content).
    again = tmp_path / "toml2.bp"
    again.write_text("num = impute_median(NUM)\nstd = standardize(num)\nmodel = toml_mean(std)\n")
    assert taskbench("train", "juniors", again).exit_code == 0
    assert "reused the cached environment" in job_log(home, 2)
    assert len(list((home / "venvs").iterdir())) == 1

    rows, saved = validation_rows(home, model)
    rows.to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / "out.csv"
    predicted = taskbench("predict", model, "--input", tmp_path / "in.csv", "--output", out)
    assert predicted.exit_code == 0, predicted.output
    written = pd.read_csv(out)
    np.testing.assert_allclose(written["Predictions"], saved["Predictions"], rtol=1e-12)
    assert written["Predictions"].nunique() == 1

    unlocked = taskbench("project", "unlock-holdout", "juniors", "--yes")  # scores every model on the holdout
    assert unlocked.exit_code == 0, unlocked.output
    board = json.loads(taskbench("leaderboard", "juniors", "--json").output)
    assert all(r["holdout"] for r in board), board

    exported = tmp_path / "toml.zip"
    exported_ok = taskbench("export", model, "--to", exported)
    assert exported_ok.exit_code == 0, exported_ok.output
    with zipfile.ZipFile(exported) as zf:
        assert json.loads(zf.read("environment.json"))["node_requirements"] == {"model": ["tomli-w"]}
    from_package = taskbench("predict", "--package", exported, "--input", tmp_path / "in.csv",
                             "--output", tmp_path / "pkg.csv")
    assert from_package.exit_code == 0, from_package.output
    np.testing.assert_allclose(pd.read_csv(tmp_path / "pkg.csv")["Predictions"], saved["Predictions"], rtol=1e-12)

    assert taskbench("deploy", model, "--name", "toml").exit_code == 0
    server = Server(home, "toml")
    try:
        reply = requests.post(f"{server.url}/predict/", data=rows.iloc[:5].to_csv(index=False),
                              headers={"Content-Type": "text/csv"}, timeout=30)
        assert reply.status_code == 200, reply.text
        np.testing.assert_allclose(reply.json()["predictions"], saved["Predictions"].iloc[:5], rtol=1e-12)
    finally:
        server.stop()
    assert leftovers(home) == []


def test_a_cluster_refuses_a_task_with_requirements_in_one_sentence(tmp_path, taskbench, home):
    """A cluster machine would run the task without its packages: the job fails before it is sent, saying why."""
    distributed = pytest.importorskip("distributed")
    task = make_task(tmp_path, {"custom.py": TASK, "model-metadata.yaml": METADATA, "requirements.txt": "tomli-w\n"})
    assert taskbench("task", "add", task).exit_code == 0
    assert taskbench("project", "create", JUNIORS, "--target", "Grade 2014", "--name", "juniors").exit_code == 0
    bp = tmp_path / "toml.bp"
    bp.write_text("model = toml_mean(NUM)\n")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        refused = taskbench("train", "juniors", bp, "--cluster", cluster.scheduler_address)
    assert refused.exit_code == 1, refused.output
    assert ("node(s) 'model' use a task with a requirements.txt, which cannot be installed on a cluster yet; train "
            "this blueprint without --cluster.") in flat(refused)
    assert not (home / "venvs").exists()


def test_an_uninstallable_requirement_fails_the_training_with_pip_s_sentence(tmp_path, taskbench, home):
    marker = tmp_path / "ran"
    body = TASK.replace("import tomli_w\n", f"open({str(marker)!r}, 'w').write('x')\n")
    assert body != TASK
    task = make_task(tmp_path, {"custom.py": body, "model-metadata.yaml": METADATA,
                                "requirements.txt": "this-package-does-not-exist-taskbench==9.9.9\n"})
    assert taskbench("task", "add", task).exit_code == 0
    assert taskbench("project", "create", JUNIORS, "--target", "Grade 2014", "--name", "juniors").exit_code == 0
    bp = tmp_path / "toml.bp"
    bp.write_text("model = toml_mean(NUM)\n")
    failed = taskbench("train", "juniors", bp)
    assert failed.exit_code == 1, failed.output
    assert "requirements.txt could not be installed" in flat(failed)
    assert "this-package-does-not-exist-taskbench" in job_log(home, 1)
    (row,) = json.loads(taskbench("leaderboard", "juniors", "--json").output)
    assert row["state"] == "failed" and "requirements.txt could not be installed" in row["message"]
    assert not marker.exists()
    venvs = home / "venvs"
    assert not venvs.exists() or list(venvs.iterdir()) == []
    assert leftovers(home) == []
