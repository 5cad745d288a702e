"""Projects, training, the fitted-step cache, stacking, cross-validation, the leaderboard and the holdout."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import DATA

JUNIORS = DATA / "juniors_3_year_stats_regression.csv"
DIABETES = DATA / "10k_diabetes.csv"
SKY = DATA / "skyserver_sql2_27_2018_6_51_39_pm.csv"

PREFIX = "num    = impute_median(NUM)\nscaled = standardize(num)\n"


def flat(result):
    return " ".join(result.output.split())


def write(tmp_path, name, text):
    path = tmp_path / f"{name}.bp"
    path.write_text(text)
    return path


def board(taskbench, project):
    result = taskbench("leaderboard", project, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def job_log(home, job_id):
    return (home / "logs" / f"job-{job_id}.log").read_text()


@pytest.fixture
def juniors(taskbench):
    result = taskbench("project", "create", JUNIORS, "--target", "Grade 2014", "--name", "juniors", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_project_create_prints_fixed_json_and_partitions(juniors, taskbench):
    assert juniors["name"] == "juniors" and juniors["target_type"] == "regression"
    sizes = juniors["partitions"]
    assert sizes["holdout"] in (295, 296) and sum(sizes.values()) == 1477
    plain = taskbench("project", "create", DIABETES, "--target", "readmitted")
    assert plain.exit_code == 0
    assert plain.stdout.strip().splitlines()[-1] == "10k_diabetes"
    assert "binary, inferred from two distinct values" in flat(plain)
    again = taskbench("project", "create", DIABETES, "--target", "readmitted")
    assert again.exit_code == 2 and "already exists" in flat(again)


def test_three_node_blueprint_trains_and_leaderboard_json(tmp_path, juniors, taskbench, home):
    bp = write(tmp_path, "ridge", PREFIX + "model  = ridge(scaled)\n")
    result = taskbench("train", "juniors", bp)
    assert result.exit_code == 0, result.output
    (row,) = board(taskbench, "juniors")
    assert row["blueprint"] == "ridge" and row["state"] == "trained"
    assert set(row["validation"]) == {"RMSE", "MAE", "R2"} and row["validation"]["R2"] > 0.15
    assert "holdout" not in row and row["cv"] is None and row["train_seconds"] > 0


def test_a_blueprint_file_is_named_by_its_header_and_a_missing_file_is_one_sentence(tmp_path, juniors, taskbench):
    bp = write(tmp_path, "file-name", "# blueprint: header-name  target: regression\n" + PREFIX + "model = ridge(scaled)\n")
    assert taskbench("train", "juniors", bp).exit_code == 0
    assert [row["blueprint"] for row in board(taskbench, "juniors")] == ["header-name"]
    missing = taskbench("train", "juniors", tmp_path / "absent.bp")
    assert missing.exit_code == 2
    assert f"blueprint file {tmp_path / 'absent.bp'} does not exist" in flat(missing)


def test_home_may_follow_the_sub_command_and_a_missing_project_names_the_workspace(tmp_path, juniors, taskbench, home):
    elsewhere = tmp_path / "elsewhere"
    result = taskbench("leaderboard", "juniors", "--home", elsewhere)
    assert result.exit_code == 2
    assert f"there is no project named 'juniors' in workspace {elsewhere} (choose another with --home)" in flat(result)
    assert taskbench("leaderboard", "juniors", f"--home={home}").exit_code == 0


def test_shared_prefix_is_fitted_once_and_reused(tmp_path, juniors, taskbench, home):
    first = write(tmp_path, "a", PREFIX + "model  = ridge(scaled)\n")
    second = write(tmp_path, "b", PREFIX + "model  = knn_regressor(scaled)\n")
    assert taskbench("train", "juniors", first).exit_code == 0
    assert taskbench("train", "juniors", second).exit_code == 0
    log_a, log_b = job_log(home, 1), job_log(home, 2)
    assert "reused" not in log_a
    assert "node num (impute_median): reused the fitted step from the cache" in log_b
    assert "node scaled (standardize): reused the fitted step from the cache" in log_b
    assert "node model (knn_regressor): fitting" in log_b


def test_holdout_hidden_until_unlocked_then_everywhere(tmp_path, juniors, taskbench, home):
    bp = write(tmp_path, "ridge", PREFIX + "model  = ridge(scaled)\n")
    assert taskbench("train", "juniors", bp).exit_code == 0
    (row,) = board(taskbench, "juniors")
    assert "holdout" not in row
    assert "holdout" not in job_log(home, 1).split("validation", 1)[1]
    text = flat(taskbench("leaderboard", "juniors"))
    assert "sorted by validation RMSE; holdout locked" in text and "holdout RMSE" not in text
    refused = taskbench("project", "unlock-holdout", "juniors", input="n\n")
    assert refused.exit_code == 1 and "Nothing changed: the holdout stays locked." in refused.output
    unanswered = taskbench("project", "unlock-holdout", "juniors", input="")  # no terminal: no answer is a no
    assert unanswered.exit_code == 1 and "Aborted" not in unanswered.output and "stays locked" in unanswered.output
    assert "holdout" not in board(taskbench, "juniors")[0]
    unlocked = taskbench("project", "unlock-holdout", "juniors", "--yes")
    assert unlocked.exit_code == 0 and "scored 1 model(s)" in flat(unlocked)
    (row,) = board(taskbench, "juniors")
    assert set(row["holdout"]) == {"RMSE", "MAE", "R2"}
    text = flat(taskbench("leaderboard", "juniors"))
    assert "holdout RMSE" in text and "holdout locked" not in text
    assert taskbench("train", "juniors", bp).exit_code == 0
    assert '"holdout"' not in job_log(home, 1) and "holdout {" in job_log(home, 2)
    shown = taskbench("project", "show", "juniors", "--json")
    assert json.loads(shown.output)["holdout_unlocked"] is True


def test_cross_validation_and_stacking(tmp_path, juniors, taskbench, home):
    stacked = write(
        tmp_path,
        "stacked",
        PREFIX + "forest = random_forest_regressor(scaled, n_estimators=30)\nmodel  = ridge(scaled, forest)\n",
    )
    result = taskbench("train", "juniors", stacked, "--cv")
    assert result.exit_code == 0, result.output
    (row,) = board(taskbench, "juniors")
    assert set(row["cv"]) == {"RMSE", "MAE", "R2"}
    log = job_log(home, 1)
    assert "cross-validation fold 5/5" in log
    assert "node forest (random_forest_regressor): fitting" in log


def test_an_average_s_members_are_fitted_once_and_a_stacker_s_also_on_inner_folds(tmp_path, juniors, taskbench, home):
    members = PREFIX + "forest = random_forest_regressor(scaled, n_estimators=10)\nlinear = ridge(scaled)\n"
    average = write(tmp_path, "average", members + "model  = average_blend(forest, linear)\n")
    stacked = write(tmp_path, "stacked", members + "model  = ridge(forest, linear)\n")
    assert taskbench("train", "juniors", average, stacked).exit_code == 0
    stacked_average = write(tmp_path, "stacked_average", members + "avg    = average_blend(forest, linear)\n"
                            "model  = ridge(avg)\n")
    assert taskbench("train", "juniors", stacked_average).exit_code == 0
    fits = [job_log(home, job).count("ridge: alpha=1.0, 33 columns") for job in (1, 2, 3)]
    # Averaging learns nothing from the rows: no out-of-fold predictions to make, unless a stacker learns from the average.
    assert fits == [1, 1 + 3, 1 + 3]


def test_broken_blueprint_fails_with_position_and_others_still_train(tmp_path, juniors, taskbench):
    good = write(tmp_path, "good", PREFIX + "model  = ridge(scaled)\n")
    bad = write(tmp_path, "bad", PREFIX + "model  = ridge(scaledd)\n")
    result = taskbench("train", "juniors", good, bad, "--jobs", "2")
    assert result.exit_code == 1
    assert f"{bad}:3:" in flat(result)
    assert "Trained 1 of 2" in flat(result)
    assert [r["blueprint"] for r in board(taskbench, "juniors")] == ["good"]


def test_anomaly_project_without_target(tmp_path, taskbench):
    created = taskbench("project", "create", DATA / "juniors_3_year_stats_regression_inference.csv", "--name", "anom", "--json")
    assert json.loads(created.output)["target_type"] == "anomaly"
    bp = write(tmp_path, "iso", "num = impute_median(NUM)\nmodel = isolation_forest(num)\n")
    result = taskbench("train", "anom", bp)
    assert result.exit_code == 0, result.output
    (row,) = board(taskbench, "anom")
    assert "Mean score" in row["validation"]


def test_registered_sample_task_in_a_blueprint(tmp_path, juniors, taskbench, home):
    from tests.conftest import SAMPLES

    assert taskbench("task", "add", SAMPLES / "11_regression_ridge").exit_code == 0
    bp = write(tmp_path, "sample", "num = impute_median(NUM)\nmodel = regression_ridge(num)\n")
    result = taskbench("train", "juniors", bp)
    assert result.exit_code == 0, result.output
    (row,) = board(taskbench, "juniors")
    assert row["validation"]["R2"] > 0.15
    assert "regression_ridge: alpha=1.0" in job_log(home, 1)


@pytest.mark.parametrize(
    "data, target, metric, floor",
    [
        (DIABETES, "readmitted", "AUC", 0.67),
        (SKY, "class", "Accuracy", 0.95),
        (JUNIORS, "Grade 2014", "R2", 0.15),
    ],
)
def test_best_template_reaches_quality_floor(data, target, metric, floor, taskbench):
    created = taskbench("project", "create", data, "--target", target, "--name", "q", "--json")
    assert created.exit_code == 0, created.output
    result = taskbench("train", "q", "--templates", "--jobs", "2")
    assert "Trained" in result.output, result.output
    rows = [r for r in board(taskbench, "q") if r["state"] == "trained"]
    best = max(r["validation"][metric] for r in rows)
    assert best >= floor, f"best {metric} {best:.3f} < {floor}"


def test_six_blueprints_sharing_a_prefix_fit_it_once_even_in_parallel(tmp_path, juniors, taskbench, home):
    finals = ["ridge(scaled)", "ridge(scaled, alpha=3.0)", "knn_regressor(scaled)", "gbm_regressor(scaled)",
              "random_forest_regressor(scaled, n_estimators=20)", "knn_regressor(scaled, n_neighbors=9)"]
    files = [write(tmp_path, f"b{i}", PREFIX + f"model  = {final}\n") for i, final in enumerate(finals)]
    result = taskbench("train", "juniors", *files, "--jobs", "2")
    assert result.exit_code == 0, result.output
    logs = [job_log(home, job) for job in range(1, 7)]
    for node in ("num (impute_median)", "scaled (standardize)"):
        fitted = sum(f"node {node}: fitting" in log for log in logs)
        reused = sum(f"node {node}: reused the fitted step from the cache" in log for log in logs)
        assert (fitted, reused) == (1, 5), (node, fitted, reused)
    assert len(board(taskbench, "juniors")) == 6


def test_two_tasks_shipping_a_helper_of_the_same_name_each_see_their_own(tmp_path, juniors, taskbench):
    """SPEC §6: each task's code loads as its own module, helpers included, in training and in scoring."""
    from tests.conftest import make_task

    offset = make_task(tmp_path, {
        "custom.py": """
            import pandas as pd
            from helper import VALUE


            def fit(X, y, output_dir, **kwargs):
                pd.to_pickle(1, f"{output_dir}/fitted.pkl")


            def transform(X, transformer):
                return pd.DataFrame({"value": [float(VALUE)] * len(X)})
        """,
        "helper.py": "VALUE = 1\n",
        "model-metadata.yaml": "name: offset\ntype: training\ntargetType: transform\n",
    }, name="offset")
    adder = make_task(tmp_path, {
        "custom.py": """
            import pandas as pd
            from helper import VALUE


            def fit(X, y, output_dir, **kwargs):
                pd.to_pickle(1, f"{output_dir}/fitted.pkl")


            def score(data, model, **kwargs):
                return pd.DataFrame({"Predictions": data["value"].to_numpy() + VALUE})
        """,
        "helper.py": "VALUE = 100\n",
        "model-metadata.yaml": "name: adder\ntype: training\ntargetType: regression\n",
    }, name="adder")
    for folder in (offset, adder):
        assert taskbench("task", "add", folder).exit_code == 0
    bp = write(tmp_path, "helpers", "values = offset(NUM)\nmodel = adder(values)\n")
    trained = taskbench("train", "juniors", bp)
    assert trained.exit_code == 0, trained.output
    (row,) = board(taskbench, "juniors")
    assert row["state"] == "trained"
    result = taskbench("predict", row["model"], "--input", JUNIORS, "--output", tmp_path / "p.csv")
    assert result.exit_code == 0, result.output
    import pandas as pd

    assert set(pd.read_csv(tmp_path / "p.csv")["Predictions"]) == {101.0}


SLEEPY_ESTIMATOR = {
    "custom.py": """
        import os
        import time


        def fit(X, y, output_dir, **kwargs):
            open(os.environ["SLEEPY_MARKER"], "w").write(str(os.getpid()))
            time.sleep(60)
    """,
    "model-metadata.yaml": "name: sleepy\ntype: training\ntargetType: regression\n",
}


def test_a_cancel_event_stops_a_training_at_once_and_the_job_ends_cancelled(tmp_path, juniors, home, monkeypatch):
    """What the workbench does on quit: set the event; the job's workers are killed, nothing is left running."""
    import threading

    from core.tasks.versions import add_task
    from core.store import open_store
    from core.training.engine import BlueprintSource, train_blueprints
    from tests.conftest import make_task
    from tests.cli.test_fit_faults import processes_using

    marker = tmp_path / "fit.pid"
    monkeypatch.setenv("SLEEPY_MARKER", str(marker))
    with open_store(home) as store:
        add_task(store, make_task(tmp_path, SLEEPY_ESTIMATOR, name="sleepy"))
    cancel, outcomes = threading.Event(), []

    def run():
        with open_store(home) as store:
            outcomes.extend(train_blueprints(store, "juniors", [BlueprintSource("sleepy", "model = sleepy(NUM)\n")], cancel=cancel))

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert time.monotonic() < deadline, "the task's fit never started"
        time.sleep(0.05)
    cancelled_at = time.monotonic()
    cancel.set()
    thread.join(30)
    assert time.monotonic() - cancelled_at < 3
    assert [o.error for o in outcomes] == ["cancelled"]
    with open_store(home) as store:
        (job,) = [j for j in store.list_jobs(limit=5) if j.kind == "train"]
    assert job.state == "cancelled"
    assert processes_using(home) == []


def _with_ids(tmp_path, rows=120):
    """A regression table with a sequential Id, a unique string code, a free-text note and one real feature."""
    import random

    rng = random.Random(3)
    lines = ["Id,code,note,x,y"]
    for i in range(rows):
        x = rng.random() * 10
        lines.append(f"{i + 1},C{i:05d},word {i} and more words,{x:.4f},{2 * x + rng.random():.4f}")
    path = tmp_path / "with_ids.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_id_like_columns_are_left_out_of_training_and_scoring(tmp_path, taskbench):
    data = _with_ids(tmp_path)
    created = taskbench("project", "create", data, "--target", "y", "--name", "ids")
    assert created.exit_code == 0, created.output
    text = flat(created)
    assert "excluded id-like column 'Id' (use --keep-column Id to keep it)" in text
    assert "excluded id-like column 'code' (use --keep-column code to keep it)" in text
    assert "'note'" not in text  # free text is one value per row too, but it is not an id
    shown = json.loads(taskbench("project", "show", "ids", "--json").stdout)
    assert shown["excluded"] == ["Id", "code"]
    assert "excluded (id-like): Id, code" in flat(taskbench("project", "show", "ids"))

    bp = write(tmp_path, "ridge", PREFIX + "model  = ridge(scaled)\n")
    assert taskbench("train", "ids", bp).exit_code == 0
    (row,) = board(taskbench, "ids")
    assert row["validation"]["R2"] > 0.9
    without = tmp_path / "without_ids.csv"  # scoring does not ask for the excluded columns
    without.write_text("note,x\nsome words,1.5\nmore words,3.0\n")
    scored = taskbench("predict", str(row["model"]), "--input", without, "--output", tmp_path / "out.csv")
    assert scored.exit_code == 0, scored.output
    assert len((tmp_path / "out.csv").read_text().splitlines()) == 3


def test_keep_column_keeps_an_id_like_column(tmp_path, taskbench):
    data = _with_ids(tmp_path)
    created = taskbench("project", "create", data, "--target", "y", "--name", "kept", "--keep-column", "Id", "--json")
    assert created.exit_code == 0, created.output
    shown = json.loads(created.stdout)
    assert shown["excluded"] == ["code"] and shown["channels"]["NUM"] == 2
    wrong = taskbench("project", "create", data, "--target", "y", "--name", "k2", "--keep-column", "Idd")
    assert wrong.exit_code == 2 and "--keep-column 'Idd' is not a column" in flat(wrong)


def test_retraining_the_same_blueprint_is_marked_as_a_repeat(tmp_path, juniors, taskbench):
    bp = write(tmp_path, "ridge", PREFIX + "model  = ridge(scaled)\n")
    first = taskbench("train", "juniors", bp)
    assert first.exit_code == 0 and "training again" not in first.output
    second = taskbench("train", "juniors", bp)
    assert second.exit_code == 0, second.output
    assert "training as model 2 (job 2); same blueprint and versions as model 1; training again" in flat(second)
    other = write(tmp_path, "ridge2", PREFIX + "model  = ridge(scaled, alpha=3)\n")
    assert "training again" not in flat(taskbench("train", "juniors", other))
    rows = {row["model"]: row for row in board(taskbench, "juniors")}
    assert (rows[1]["runs"], rows[1]["repeat_of"]) == (2, None)
    assert (rows[2]["runs"], rows[2]["repeat_of"]) == (2, 1)
    assert (rows[3]["runs"], rows[3]["repeat_of"]) == (1, None)
    table = flat(taskbench("leaderboard", "juniors"))
    assert "ridge (2 runs)" in table and "ridge (repeat of 1)" in table
    assert "(R runs): the same blueprint and task versions trained R times" in table


def test_export_counts_what_the_zip_holds(tmp_path, juniors, taskbench):
    import zipfile

    bp = write(tmp_path, "ridge", PREFIX + "model  = ridge(scaled)\n")
    assert taskbench("train", "juniors", bp).exit_code == 0
    package = tmp_path / "ridge.zip"
    exported = taskbench("export", "1", "--to", package)
    assert exported.exit_code == 0, exported.output
    with zipfile.ZipFile(package) as zf:
        entries = zf.infolist()
    unpacked = sum(e.file_size for e in entries)
    assert f"({len(entries)} entries ({len(entries) - 1} files and manifest.json), {unpacked:,} bytes unpacked)" in flat(exported)


def test_train_timeout_fails_the_hung_model_names_its_node_and_trains_the_others(tmp_path, juniors, taskbench, home,
                                                                                  monkeypatch):
    from tests.conftest import make_task
    from tests.cli.test_fit_faults import processes_using

    monkeypatch.setenv("SLEEPY_MARKER", str(tmp_path / "fit.pid"))
    assert taskbench("task", "add", make_task(tmp_path, SLEEPY_ESTIMATOR, name="sleepy")).exit_code == 0
    hung = write(tmp_path, "hung", "model = sleepy(NUM)\n")
    fine = write(tmp_path, "fine", "num = impute_median(NUM)\nmodel = ridge(num)\n")
    began = time.monotonic()
    result = taskbench("train", "juniors", hung, fine, "--timeout", "2")
    assert time.monotonic() - began < 40  # the task sleeps 60 s
    assert result.exit_code == 1, result.output
    said = flat(result)
    assert "FAIL hung: node model (sleepy@1): train did not finish within the time limit of 2" in said
    assert "ok fine: model" in said and "Trained 1 of 2 blueprint(s)." in said
    assert {r["state"] for r in board(taskbench, "juniors")} == {"trained", "failed"}
    assert processes_using(home) == []
    both = taskbench("train", "juniors", "--autopilot", "--timeout", "5")
    assert both.exit_code == 2 and "--timeout and --memory" in flat(both)


def test_a_failed_model_s_state_and_runs_share_one_parenthesis():
    """'bp-hung (failed; 3 runs)', not 'bp-hung (failed) (3 runs)' (a trial finding: stacked parentheses); the
    legend says failed attempts count as runs."""
    import io
    from types import SimpleNamespace

    from rich.console import Console

    from tui.cli.train import leaderboard_table

    def row(model, state, repeat_of):
        return {"model": model, "blueprint": "bp-hung", "state": state, "validation": {}, "cv": None,
                "train_seconds": None, "predict_rows_per_second": None, "runs": 3, "repeat_of": repeat_of}

    proj = SimpleNamespace(name="p", target_type="regression", holdout_unlocked=False)
    out = Console(file=io.StringIO(), width=200)
    out.print(leaderboard_table(proj, "RMSE", [row(1, "failed", None), row(2, "failed", 1), row(3, "trained", 1)]))
    text = out.file.getvalue()
    assert "bp-hung (failed; 3 runs)" in text and "bp-hung (failed; repeat of 1)" in text, text
    assert "bp-hung (repeat of 1)" in text and ") (" not in text, text
    assert "trained R times, failed attempts included" in text
