"""Follow-ups from a new-user trial of `taskbench task add` and `train`: a task keeps its kind and target type,
re-uploading an older version's content says which version blueprints get, and failures name node and version."""

from __future__ import annotations

import re
import shutil

import pytest

from core.errors import UsageError
from core.store import open_store
from core.tasks import versions as tasks
from tests.conftest import SAMPLES

R_BINARY = SAMPLES / "15_binary_r_ridge_logistic"
PY_TRANSFORM = SAMPLES / "05_transform_clip_outliers"


def test_a_folder_of_another_kind_is_refused_as_a_version_of_a_task(taskbench, home, tmp_path):
    assert taskbench("task", "add", R_BINARY, "--name", "rlogit").exit_code == 0
    result = taskbench("task", "add", PY_TRANSFORM, "--name", "rlogit")
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "is a Python transform" in text
    assert "task rlogit is an R binary estimator (latest rlogit@1)" in text
    assert "--name NEW_NAME" in text and "fix targetType in model-metadata.yaml" in text
    assert "Traceback" not in result.output
    with open_store(home) as store:
        assert [v.version for v in tasks.task_versions(store, "rlogit")] == [1]
        # The workbench's upload calls the same core function, so it refuses too.
        with pytest.raises(UsageError, match="a task keeps its kind and target type"):
            tasks.add_task(store, PY_TRANSFORM, name="rlogit")

    # Another target type of the same kind is refused as well; the same kind and type still makes a version.
    regression = tmp_path / "regression"
    shutil.copytree(R_BINARY, regression)
    meta = regression / "model-metadata.yaml"
    meta.write_text(meta.read_text().replace("targetType: binary", "targetType: regression"))
    refused = taskbench("task", "add", regression, "--name", "rlogit")
    assert refused.exit_code == 2 and "an R regression estimator" in " ".join(refused.output.split())
    meta.write_text(meta.read_text().replace("targetType: regression", "targetType: binary"))
    (regression / "notes.txt").write_text("a helper file changed\n")
    assert "Added rlogit@2" in taskbench("task", "add", regression, "--name", "rlogit").output


def test_re_uploading_an_older_version_says_the_latest_stays_and_how_to_pin(taskbench, tmp_path):
    folder = tmp_path / "winsor"
    shutil.copytree(PY_TRANSFORM, folder)
    assert "Added winsor@1" in taskbench("task", "add", folder, "--name", "winsor").output
    (folder / "notes.txt").write_text("the broken edit\n")
    assert "Added winsor@2" in taskbench("task", "add", folder, "--name", "winsor").output
    (folder / "notes.txt").unlink()

    back = taskbench("task", "add", folder, "--name", "winsor")
    assert back.exit_code == 0, back.output
    text = " ".join(back.output.split())
    assert "winsor@1 already has this content" in text and "no new version was made" in text
    assert "the latest stays winsor@2, which blueprints naming `winsor` use" in text
    assert "write `winsor@1` in the blueprint" in text
    data = taskbench("task", "add", folder, "--name", "winsor", "--json").stdout
    assert '"latest": 2' in data and '"version": 1' in data

    # Re-uploading the latest content says nothing about pinning.
    (folder / "notes.txt").write_text("the broken edit\n")
    latest = " ".join(taskbench("task", "add", folder, "--name", "winsor").output.split())
    assert "winsor@2 already has this content" in latest and "latest stays" not in latest


def test_a_training_failure_names_the_node_and_task_version_and_logs_the_traceback(taskbench, home, tmp_path):
    from tests.conftest import DATA, make_task

    created = taskbench("project", "create", DATA / "juniors_3_year_stats_regression.csv", "--target", "Grade 2014",
                        "--name", "juniors")
    assert created.exit_code == 0, created.output
    broken = make_task(tmp_path, {
        "model-metadata.yaml": "name: knnish\ntype: training\ntargetType: regression\n",
        "custom.py": """
            def fit(X, y, output_dir, **kwargs):
                ratio = X["Grade_2013"].mean()
                return ratio
            """,
    }, name="knnish")
    assert taskbench("task", "add", broken).exit_code == 0
    (broken / "notes.txt").write_text("v2\n")
    assert "Added knnish@2" in taskbench("task", "add", broken).output
    bp = tmp_path / "broke.bp"
    bp.write_text("x     = impute_median(NUM)\nmodel = knnish@2(x)\n")

    result = taskbench("train", "juniors", bp)
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "FAIL broke: node model (knnish@2): fit raised KeyError: 'Grade_2013' (custom.py line 2)." in text
    job = re.search(r"\(job (\d+)\)", text).group(1)
    log = (home / "logs" / f"job-{job}.log").read_text()
    assert "node model (knnish@2) failed; the task's traceback:" in log
    assert 'ratio = X["Grade_2013"].mean()' in log and "KeyError: 'Grade_2013'" in log
    assert "failed: node model (knnish@2): fit raised KeyError" in log


def test_an_uninstallable_requirement_names_every_index_pip_looked_in(taskbench, tmp_path, monkeypatch):
    from tests.conftest import DATA, make_task

    index = "http://127.0.0.1:9/simple"  # the discard port: nothing answers
    extra = (tmp_path / "extra-index").as_uri()
    (tmp_path / "extra-index").mkdir()
    conf = tmp_path / "pip.conf"
    conf.write_text(f"[global]\nextra-index-url = {extra}\n")
    monkeypatch.setenv("PIP_INDEX_URL", index)
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    task = make_task(tmp_path, {"custom.py": "def fit(X, y, output_dir, **kwargs):\n    pass\n",
                                "requirements.txt": "taskbench-probe-absent==9.9.9\n"})
    result = taskbench("fit", "--code-dir", task, "--input", DATA / "juniors_3_year_stats_regression.csv",
                       "--target-type", "regression", "--target", "Grade 2014", "--verbose")
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    where = f"{index} (PIP_INDEX_URL) and the extra index {extra} ({conf})"
    assert f"requirements.txt: pip installs from {where}" in text
    assert f"requirements.txt could not be installed from the index {where}: ERROR:" in text
    assert f"Looking in indexes: {index}, {extra}" in text  # what pip itself said, which the sentences agree with
