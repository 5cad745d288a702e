"""A task in a Docker environment with a requirements.txt trains, predicts and scores its holdout in the
environment's image with the requirements layered on top (one image per content, SPEC §2.6).

Skips where no Docker engine answers; fails instead under TASKBENCH_REQUIRE_DOCKER=1 (CI).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from tests.cli.test_predict import validation_rows
from tests.cli.test_train_requirements import JUNIORS, METADATA, TASK, flat, job_log
from tests.conftest import make_task


def test_a_docker_task_with_requirements_trains_and_predicts_in_its_requirements_image(
        tmp_path, taskbench, home, python_sklearn_image):
    task = make_task(tmp_path, {"custom.py": TASK, "model-metadata.yaml": METADATA, "requirements.txt": "tomli-w\n"})
    added = taskbench("task", "add", task, "--env", "python-sklearn")
    assert added.exit_code == 0, added.output
    assert taskbench("project", "create", JUNIORS, "--target", "Grade 2014", "--name", "juniors").exit_code == 0
    bp = tmp_path / "toml.bp"
    bp.write_text("num = impute_median(NUM)\nmodel = toml_mean(num)\n")
    trained = taskbench("train", "juniors", bp)
    assert trained.exit_code == 0, trained.output
    log = job_log(home, 1)
    assert "requirements image" in log and "tomli_w says rows = 944" in log
    assert "segment 2/2 in python-sklearn@1 with requirements " in log
    (row,) = json.loads(taskbench("leaderboard", "juniors", "--json").output)
    model = row["model"]

    rows, saved = validation_rows(home, model)
    rows.to_csv(tmp_path / "in.csv", index=False)
    predicted = taskbench("predict", model, "--input", tmp_path / "in.csv", "--output", tmp_path / "out.csv")
    assert predicted.exit_code == 0, predicted.output
    np.testing.assert_allclose(pd.read_csv(tmp_path / "out.csv")["Predictions"], saved["Predictions"], rtol=1e-12)
    predict_log = max((home / "logs").glob("job-*.log"), key=lambda p: int(p.stem[4:])).read_text()
    assert "reused" in predict_log  # the requirements image training built

    unlocked = taskbench("project", "unlock-holdout", "juniors", "--yes")
    assert unlocked.exit_code == 0, unlocked.output
    assert "scored 1 model(s)" in flat(unlocked)
