"""Issue 11's last CLI items, each through the real `taskbench` command: a classification task that cannot score is
named before the fit, a fitted folder remembers its target, help and piped output never fold or pad, one number
format, one binary-input sentence, `serve --code-dir` workers and requirements, id-like columns."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DATA, SAMPLES, make_task

IRIS = DATA / "iris_binary_training.csv"
BINARY_METADATA = "name: {name}\ntype: training\ntargetType: binary\n"
NO_SCORING = """
    import pickle
    from pathlib import Path
    from sklearn.linear_model import LogisticRegression

    def fit(X, y, output_dir, **kwargs):
        model = LogisticRegression().fit(X.select_dtypes("number"), y)
        with open(Path(output_dir) / "model.pkl", "wb") as f:
            pickle.dump(model, f)
"""
CLASS_WITHOUT_PREDICT_PROBA = """
    from datarobot_drum.custom_task_interfaces import BinaryEstimatorInterface

    class CustomTask(BinaryEstimatorInterface):
        def fit(self, X, y, row_weights=None, **kwargs):
            self.classes = sorted(y.unique())
"""
WARNING = "defines neither predict_proba nor score"


def binary_task(root: Path, name: str, source: str) -> Path:
    return make_task(root, {"custom.py": source, "model-metadata.yaml": BINARY_METADATA.format(name=name)}, name=name)


def test_a_binary_task_that_cannot_score_is_named_at_task_add(taskbench, tmp_path):
    added = taskbench("task", "add", binary_task(tmp_path, "no_scoring", NO_SCORING))
    assert added.exit_code == 0, added.output
    assert WARNING in added.output
    assert "pickled model's own predict_proba" in added.output  # the artifact condition DRUM would use
    in_class = taskbench("task", "add", binary_task(tmp_path, "class_without", CLASS_WITHOUT_PREDICT_PROBA))
    assert in_class.exit_code == 0, in_class.output
    assert "class CustomTask has no predict_proba method" in in_class.output


def test_only_certain_gaps_are_warned(taskbench, tmp_path):
    """A hook defined under an `if`, a star import, a base class from elsewhere, a regression task: no warning."""
    sources = {
        "guarded": NO_SCORING + "\nif True:\n    def predict_proba(X, model, **kwargs):\n        return None\n",
        "star": "from helpers import *\n" + NO_SCORING,
        "other_base": "from helpers import Base\n\nclass CustomTask(Base):\n    pass\n",
        "with_score": NO_SCORING + "\ndef score(data, model, **kwargs):\n    return None\n",
    }
    for name, source in sources.items():
        added = taskbench("task", "add", binary_task(tmp_path, name, source))
        assert added.exit_code == 0, added.output
        assert "predict_proba" not in added.output, name
    regression = make_task(tmp_path, {"custom.py": NO_SCORING, "model-metadata.yaml":
                                      "name: reg\ntype: training\ntargetType: regression\n"}, name="reg")
    assert "predict_proba" not in taskbench("task", "add", regression).output


def test_blueprint_check_warns_at_the_node_of_a_task_that_cannot_score(taskbench, tmp_path):
    assert taskbench("task", "add", binary_task(tmp_path, "no_scoring", NO_SCORING)).exit_code == 0
    bp = tmp_path / "model.bp"
    bp.write_text("# target: binary\nmodel = no_scoring(NUM)\n")
    checked = taskbench("blueprint", "check", bp)
    assert checked.exit_code == 0, checked.output
    assert f"{bp}:2:9: warning: task 'no_scoring@1': custom.py {WARNING}" in " ".join(checked.output.split())


def test_fit_warns_before_fitting_a_binary_task_that_cannot_score(taskbench, tmp_path):
    run = taskbench("fit", "--code-dir", binary_task(tmp_path, "no_scoring", NO_SCORING), "--input", IRIS,
                    "--target", "Species", "--target-type", "binary")
    assert run.exit_code == 1, run.output
    out = " ".join(run.output.split())
    assert WARNING in out
    assert out.index(WARNING) < out.index("fitted in")  # said before the fit, not only after it


def test_score_code_dir_reads_the_target_type_and_labels_fit_output_wrote(taskbench, home, tmp_path):
    import pandas as pd
    import yaml

    folder = tmp_path / "fitted"
    fit = taskbench("fit", "--code-dir", SAMPLES / "06_binary_module_hooks", "--input", IRIS, "--target-type", "binary",
                    "--target", "Species", "--output", folder)
    assert fit.exit_code == 0, fit.output
    written = yaml.safe_load((folder / "model-metadata.yaml").read_text())
    assert written["inferenceModel"] == {"targetName": "Species", "negativeClassLabel": "Iris-setosa",
                                         "positiveClassLabel": "Iris-versicolor"}  # where drum score reads them
    rows = tmp_path / "rows.csv"
    pd.read_csv(IRIS).drop(columns=["Species"]).to_csv(rows, index=False)
    scored = taskbench("score", "--code-dir", folder, "--input", rows, "--output", tmp_path / "preds.csv")
    assert scored.exit_code == 0, scored.output
    assert list(pd.read_csv(tmp_path / "preds.csv").columns) == ["Iris-setosa", "Iris-versicolor"]
    # an explicit option still wins over what the folder remembers
    wrong = taskbench("score", "--code-dir", folder, "--input", rows, "--class-labels", "a", "b", "c")
    assert wrong.exit_code == 2 and "two --class-labels" in wrong.output


def test_fit_output_of_a_task_without_metadata_writes_drums_metadata(taskbench, home, tmp_path):
    import yaml

    task = make_task(tmp_path, {"custom.py": (SAMPLES / "06_binary_module_hooks" / "custom.py").read_text()})
    folder = tmp_path / "fitted"
    fit = taskbench("fit", "--code-dir", task, "--input", IRIS, "--target-type", "binary", "--target", "Species",
                    "--output", folder)
    assert fit.exit_code == 0, fit.output
    written = yaml.safe_load((folder / "model-metadata.yaml").read_text())
    assert written["targetType"] == "binary" and written["type"] == "training"
    assert not (task / "model-metadata.yaml").exists()  # the task folder itself is untouched


def train_iris(taskbench, tmp_path, times: int = 1):
    """Project `iris` and a logistic regression trained on it `times` times (models 1…); the train result."""
    assert taskbench("project", "create", IRIS, "--target", "Species", "--name", "iris").exit_code == 0
    bp = tmp_path / "lr.bp"
    bp.write_text("model = logistic_regression(NUM)\n")
    return taskbench("train", "iris", *[bp] * times)


def _commands():
    from typer.main import get_command

    from tui.cli.main import app

    def walk(command, path):
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                yield from walk(sub, [*path, name])
        else:
            yield path, command

    return list(walk(get_command(app), []))


def test_every_help_at_80_columns_keeps_option_names_and_placeholders_whole(taskbench, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    commands = _commands()
    assert len(commands) > 30
    for path, command in commands:
        shown = taskbench(*path, "--help")
        assert shown.exit_code == 0, (path, shown.output)
        words = set(shown.output.split())
        for param in command.params:
            for name in param.opts if param.param_type_name == "option" else ():
                assert name in words or f"{name}," in words, (path, name)  # never split at a hyphen
        usage = shown.output.splitlines()[0]
        assert "{" not in usage, (path, usage)  # DATA, FILE, MODEL like every placeholder
        assert all(len(line) <= 80 for line in shown.output.splitlines()), path


def test_project_create_usage_reads_data_like_other_placeholders(taskbench, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert taskbench("project", "create", "--help").output.startswith("Usage: taskbench project create [OPTIONS] DATA\n")


def test_errors_on_a_piped_stderr_are_never_folded(home, tmp_path):
    from tests.cli.test_cli_polish import piped

    far = tmp_path / ("a_folder_with_a_long_name_" * 4) / "fitted"
    run = piped(home, "score", "--code-dir", far, "--input", IRIS)
    assert run.returncode == 2
    assert f"--code-dir {far} does not exist; give the task folder" in run.stderr  # one line, not folded at 80 columns


def test_train_leaderboard_and_insights_show_each_metric_at_one_precision_right_aligned(taskbench, tmp_path):
    trained = train_iris(taskbench, tmp_path, times=2)  # twice: a leaderboard of two rows
    assert trained.exit_code == 0, trained.output
    ok_lines = [line for line in trained.output.splitlines() if line.startswith("ok")]
    assert len(ok_lines) == 2
    for line in ok_lines:  # iris is separable: AUC 1 reads 1.0000 beside LogLoss 0.0xxx, never `AUC 1`
        for metric in ("LogLoss", "AUC", "Accuracy", "F1"):
            assert re.search(rf"\b{metric} \d\.\d{{4}}\b", line), (metric, line)
    board = taskbench("leaderboard", "iris").output.splitlines()
    header = next(i for i, line in enumerate(board) if line.startswith("model"))
    column = board[header].index("validation LogLoss") + len("validation LogLoss")
    for line in board[header + 1:header + 3]:
        assert re.fullmatch(r" \d\.\d{4}", line[column - 7:column]), board  # four decimals, ending under the header
    insights = taskbench("insights", "1", "--no-preview").output
    assert re.search(r"validation\s+LogLoss \d\.\d{4}\s+AUC \d\.\d{4}", insights), insights


def test_one_number_formatter_for_the_workbench_and_the_cli():
    from tui.cli import insights, train
    from tui.numbers import number, score
    from tui.panes import projects
    from tui.widgets import charts

    assert charts.number is number and projects.score is score
    assert train.score is score and insights.score is score
    assert score("AUC", 1.0) == "1.0000" and score("LogLoss", 0.11164) == "0.1116"
    assert score("RMSE", 9.87, [10.04, 9.87]) == "9.870" and score("RMSE", 1234.5, [1234.5]) == "1,234"


def test_piped_tables_have_no_trailing_spaces_and_a_refused_predict_input_no_blank_line(home, taskbench, tmp_path):
    from tests.cli.test_cli_polish import piped

    assert train_iris(taskbench, tmp_path).exit_code == 0
    refused = piped(home, "predict", "1", "--input", tmp_path / "absent.csv", "--output", tmp_path / "p.csv")
    assert refused.returncode == 2
    assert refused.stdout == "" and refused.stderr.startswith("error: "), (refused.stdout, refused.stderr)
    for args in (["jobs"], ["leaderboard", "iris"], ["project", "list"], ["task", "list"]):
        shown = piped(home, *args)
        assert shown.returncode == 0 and shown.stdout.strip(), args
        assert all(line == line.rstrip() for line in shown.stdout.splitlines()), (args, shown.stdout)


def test_id_like_rule_is_stated_in_help_and_keeps_unique_numbers_with_wide_gaps(taskbench, monkeypatch, tmp_path):
    monkeypatch.setenv("COLUMNS", "80")
    shown = " ".join(taskbench("project", "create", "--help").output.split())
    assert "Distinct whole numbers with wide gaps (amounts, counts, timestamps) stay features" in shown
    rows = tmp_path / "rows.csv"
    rows.write_text("Id,income,x,y\n" + "".join(f"{i},{1000 + 37 * i * i},{i % 5},{i % 2}\n" for i in range(1, 61)))
    created = taskbench("project", "create", rows, "--target", "y", "--json")
    assert created.exit_code == 0, created.output
    assert "excluded id-like column 'Id'" in created.output
    assert "'income'" not in created.output  # unique per row, but spanning far more than twice the rows: a feature


def test_fit_score_and_predict_say_the_same_sentence_for_a_binary_or_folder_input(home, taskbench, tmp_path):
    from tests.cli.test_cli_polish import piped

    program = tmp_path / "program.csv"
    program.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 20)
    assert train_iris(taskbench, tmp_path).exit_code == 0
    fitted = tmp_path / "fitted"  # as fit --output leaves it: the code beside its artifact
    shutil.copytree(SAMPLES / "06_binary_module_hooks", fitted)
    (fitted / "model.pkl").write_bytes(b"")
    for bad, sentence in ((program, f"input file {program} is not a text CSV or Parquet file (it holds binary data); "
                                    "give a CSV or Parquet file."),
                          (tmp_path, f"input file {tmp_path} is a folder, not a file; give a CSV or Parquet file inside it.")):
        runs = {
            "fit": piped(home, "fit", "--code-dir", fitted, "--input", bad, "--target", "Species"),
            "score": piped(home, "score", "--code-dir", fitted, "--input", bad, "--class-labels", "a", "b"),
            "predict": piped(home, "predict", "1", "--input", bad, "--output", tmp_path / "p.csv"),
        }
        for command, run in runs.items():
            assert run.returncode == 2, (command, run.stdout, run.stderr)
            assert sentence in run.stdout + run.stderr, (command, run.stdout, run.stderr)


def test_a_hook_bound_where_the_reader_cannot_follow_is_not_warned(tmp_path):
    from core.tasks.hookscan import missing_scoring_hook

    sources = {
        "global": NO_SCORING + "\ndef install():\n    global predict_proba\n    predict_proba = len\n\ninstall()\n",
        "match": NO_SCORING + "\nmatch 1:\n    case 1:\n        def predict_proba(X, model):\n            return None\n",
    }
    for name, source in sources.items():
        assert missing_scoring_hook(binary_task(tmp_path, name, source), "binary") is None, name
    assert missing_scoring_hook(binary_task(tmp_path, "plain", NO_SCORING), "binary")
