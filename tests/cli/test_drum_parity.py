"""DRUM parity (issue 11): what `drum fit`/`drum score` accept, `taskbench fit`/`score` accept too.

DRUM is not installed here; its behaviour is taken from its source (typeschema_validation.py reads TXT
and CAT as one kind; --disable-strict-validation turns schema errors into warnings; an R task's folder holds custom.R).
"""

from __future__ import annotations

import shutil
import textwrap

import pytest

from tests.conftest import DATA, REPO, leftovers, make_task

TEMPLATES = REPO / "tests" / "fixtures" / "drum_templates"
DIABETES = DATA / "10k_diabetes.csv"

# The typeSchema of DRUM's 1_transforms/3_python3_sklearn_transform (its metadata is not vendored).
IN_NUM_CAT = """\
name: 3_python3_sklearn_transform
type: training
targetType: transform
typeSchema:
  input_requirements:
  - field: data_types
    condition: IN
    value:
      - NUM
      - CAT
"""


def flat(text: str) -> str:
    return " ".join(text.split())


def sklearn_transform(tmp_path, metadata: str = IN_NUM_CAT):
    folder = tmp_path / "3_python3_sklearn_transform"
    shutil.copytree(TEMPLATES / "3_python3_sklearn_transform", folder)
    (folder / "model-metadata.yaml").write_text(metadata)
    return folder


def transform_fit(folder, *extra):
    return ["fit", "--code-dir", folder, "--input", DIABETES, "--target-type", "transform", "--target", "readmitted", *extra]


def test_sklearn_transform_template_passes_on_10k_diabetes_with_text_read_as_cat(taskbench, home, tmp_path):
    """IN [NUM, CAT] on data with TXT columns (diag_1_desc…): DRUM passes it, so the fit check does, with a warning."""
    result = taskbench(*transform_fit(sklearn_transform(tmp_path)))

    assert result.exit_code == 0, result.output
    text = flat(result.output)
    assert "Fit check passed" in text
    assert "read 3 text column(s) as CAT, as DRUM does: 'diag_1_desc', 'diag_2_desc', 'diag_3_desc'" in text, text
    assert leftovers(home) == []


def test_text_is_not_cat_for_a_rule_that_excludes_cat(taskbench, home, tmp_path):
    """Reading TXT as CAT widens nothing else: IN [NUM] still fails on the text and categorical columns (exit 3)."""
    folder = sklearn_transform(tmp_path, IN_NUM_CAT.replace("      - CAT\n", ""))

    result = taskbench(*transform_fit(folder))

    assert result.exit_code == 3, result.output
    assert "breaks the schema rule data_types IN ['NUM']" in flat(result.output), result.output


STRICT_SCHEMA = IN_NUM_CAT + """\
  - field: number_of_columns
    condition: LESS_THAN
    value: 10
  output_requirements:
  - field: sparse
    condition: EQUALS
    value: NEVER
"""


def test_disable_strict_validation_turns_schema_errors_into_warnings(taskbench, home, tmp_path):
    folder = sklearn_transform(tmp_path, STRICT_SCHEMA)

    strict = taskbench(*transform_fit(folder))
    assert strict.exit_code == 3, strict.output
    assert "has 50 columns but the schema says number_of_columns LESS_THAN 10" in flat(strict.output)

    relaxed = taskbench(*transform_fit(folder, "--disable-strict-validation"))
    assert relaxed.exit_code == 0, relaxed.output
    text = flat(relaxed.output)
    assert "warn schema the input data has 50 columns but the schema says number_of_columns LESS_THAN 10" in text, text
    assert "warn schema the output is sparse but the schema says sparse NEVER" in text, text
    assert "(not enforced: --disable-strict-validation)" in text
    assert "Fit check passed" in text
    assert leftovers(home) == []


R_TASK = {
    "custom.R": """
        fit <- function(X, y, output_dir, ...) { saveRDS(list(), file.path(output_dir, "artifact.rds")) }
    """,
    "model-metadata.yaml": """
        name: r_transform
        type: training
        targetType: transform
    """,
}


def test_an_r_folder_is_a_task_folder_and_one_with_both_languages_is_refused(taskbench, home, tmp_path):
    from core.runtime.taskcode import task_language

    folder = make_task(tmp_path, R_TASK, "2_r_transform_simple")
    assert task_language(str(folder)) == "r"
    assert task_language(str(make_task(tmp_path, {"custom.py": "x = 1\n"}, "py_task"))) == "python"

    added = taskbench("task", "add", folder)
    assert added.exit_code == 0, added.output
    assert "Added r_transform@1" in flat(added.output), added.output

    (folder / "custom.py").write_text("def fit(X, y, output_dir, **kwargs):\n    pass\n")
    both = taskbench("task", "add", folder)
    assert both.exit_code == 2, both.output
    assert "has 2 task files (custom.R, custom.py); keep exactly one custom.py or custom.R." in flat(both.output), both.output


ONE_COLUMN = """\
name: 9_python3_sklearn_with_custom_classes
type: training
targetType: regression
typeSchema:
  input_requirements:
  - field: number_of_columns
    condition: EQUALS
    value: 1
"""


def test_number_of_columns_is_checked_along_edges_with_the_projects_counts(taskbench, home, tmp_path):
    """`model = 9_python3_sklearn_with_custom_classes(NUM)` with schema EQUALS 1: refused at line:col, not inside the task."""
    folder = tmp_path / "9_python3_sklearn_with_custom_classes"
    shutil.copytree(TEMPLATES / folder.name, folder)
    (folder / "model-metadata.yaml").write_text(ONE_COLUMN)
    assert taskbench("task", "add", folder).exit_code == 0
    wide = taskbench("project", "create", DATA / "juniors_3_year_stats_regression.csv", "--target", "Grade 2014", "--name", "wide")
    assert wide.exit_code == 0, wide.output
    single = taskbench("project", "create", DATA / "regression_single_col.csv", "--target", "target", "--name", "single")
    assert single.exit_code == 0, single.output
    bp = tmp_path / "calibrated.bp"
    bp.write_text("# blueprint: calibrated    target: regression\nmodel = 9_python3_sklearn_with_custom_classes(NUM)\n")
    expected = (
        f"{bp}:2:9: error: '9_python3_sklearn_with_custom_classes@1' needs exactly 1 input column, but its inputs "
        "give 33 (33 from the NUM channel; its typeSchema says number_of_columns EQUALS 1)"
    )

    checked = taskbench("blueprint", "check", bp, "--project", "wide")
    assert checked.exit_code == 1, checked.output
    assert expected in flat(checked.output), checked.output

    trained = taskbench("train", "wide", bp)
    assert trained.exit_code != 0, trained.output
    assert expected in flat(trained.output), trained.output
    assert "Trained 0 of 1" in flat(trained.output)
    assert "taskbench leaderboard" not in flat(trained.output)  # nothing to see there

    assert taskbench("blueprint", "check", bp, "--project", "single").exit_code == 0
    assert taskbench("blueprint", "check", bp).exit_code == 0  # without a project the count is unknown


def test_blueprint_validation_keeps_text_and_categorical_apart(tmp_path):
    """The fit check reads TXT as CAT (DRUM's runtime); validation with a project's types does not."""
    from core.blueprints.validate import project_facts, validate
    from core.store import open_store

    store = open_store(tmp_path / "ws")
    facts = project_facts({"NUM": ["a"], "CAT": ["b"], "TXT": ["c"]}, {})
    messages = validate("enc = one_hot(TXT)\nmodel = logistic_regression(enc)\n", store, target_type="binary", data_facts=facts)
    assert [(m.severity, m.line, m.column) for m in messages if m.severity == "error"] == [("error", 1, 15)], messages
    assert "takes only CAT columns, but the TXT channel holds TXT columns" in messages[0].text


# ---------------------------------------------------------------- taskbench score (drum score on a fitted folder)


def fitted_folder(taskbench, tmp_path, template, data, target_type, target, *flags):
    """DRUM's fitted folder: what `fit --output DIR` leaves, the template's code beside the artifacts
    (as `drum fit --output DIR` copies the code into DIR next to them)."""
    folder = tmp_path / f"{template}-fitted"
    fit = taskbench("fit", "--code-dir", TEMPLATES / template, "--input", data, "--target-type", target_type,
                    "--target", target, *flags, "--output", folder)
    assert fit.exit_code == 0, fit.output
    assert (folder / "custom.py").is_file()
    return folder


def features(path, target):
    import pandas as pd

    return pd.read_csv(path).drop(columns=[target])


def test_score_binary_fitted_folder_writes_drums_columns_and_the_models_numbers(taskbench, home, tmp_path, monkeypatch):
    import pickle

    import numpy as np
    import pandas as pd

    iris = DATA / "iris_binary_training.csv"
    folder = fitted_folder(taskbench, tmp_path, "5_python3_sklearn_binary", iris, "binary", "Species")
    rows = tmp_path / "rows.csv"
    features(iris, "Species").to_csv(rows, index=False)
    out = tmp_path / "preds.csv"

    result = taskbench("score", "--code-dir", folder, "--input", rows, "--target-type", "binary",
                       "--positive-class-label", "Iris-versicolor", "--negative-class-label", "Iris-setosa", "--output", out)

    assert result.exit_code == 0, result.output
    scored = pd.read_csv(out)
    # drum score: one column per class label, negative first, and nothing else (no `prediction` column)
    assert list(scored.columns) == ["Iris-setosa", "Iris-versicolor"]
    monkeypatch.syspath_prepend(str(folder))  # the pickle names the template's helper module
    with open(folder / "artifact.pkl", "rb") as handle:
        model = pickle.load(handle)
    expected = pd.DataFrame(model.predict_proba(pd.read_csv(rows)), columns=[str(c) for c in model.classes_])
    np.testing.assert_allclose(scored.to_numpy(), expected[list(scored.columns)].to_numpy(), rtol=1e-9)
    assert len(scored) == len(pd.read_csv(rows))
    assert leftovers(home) == []


def test_score_regression_to_stdout_has_one_predictions_column(taskbench, home, tmp_path, monkeypatch):
    import io
    import pickle

    import numpy as np
    import pandas as pd

    juniors = DATA / "juniors_3_year_stats_regression.csv"
    folder = fitted_folder(taskbench, tmp_path, "2_python3_sklearn_regression", juniors, "regression", "Grade 2014")
    rows = tmp_path / "rows.csv"
    features(juniors, "Grade 2014").head(50).to_csv(rows, index=False)

    result = taskbench("score", "--code-dir", folder, "--input", rows, "--target-type", "regression")

    assert result.exit_code == 0, result.output
    scored = pd.read_csv(io.StringIO(result.stdout))
    assert list(scored.columns) == ["Predictions"]
    monkeypatch.syspath_prepend(str(folder))  # the pickle names the template's helper module
    with open(folder / "artifact.pkl", "rb") as handle:
        model = pickle.load(handle)
    np.testing.assert_allclose(scored["Predictions"].to_numpy(), model.predict(pd.read_csv(rows)), rtol=1e-9)
    assert leftovers(home) == []


def test_score_multiclass_takes_class_labels_and_needs_them(taskbench, home, tmp_path):
    import pandas as pd

    sky = tmp_path / "sky.csv"
    pd.read_csv(DATA / "skyserver_sql2_27_2018_6_51_39_pm.csv").head(300).to_csv(sky, index=False)
    folder = fitted_folder(taskbench, tmp_path, "6_python3_sklearn_multiclass", sky, "multiclass", "class")
    rows = tmp_path / "rows.csv"
    features(sky, "class").to_csv(rows, index=False)

    remembered = taskbench("score", "--code-dir", folder, "--input", rows)  # fit --output wrote target and labels
    assert remembered.exit_code == 0, remembered.output
    (folder / "model-metadata.yaml").unlink()  # the folder as drum fit leaves it: the labels must be given
    missing = taskbench("score", "--code-dir", folder, "--input", rows, "--target-type", "multiclass")
    assert missing.exit_code == 2, missing.output
    assert "multiclass scoring needs the class labels: pass --class-labels" in flat(missing.output)

    out = tmp_path / "preds.csv"
    result = taskbench("score", "--code-dir", folder, "--input", rows, "--target-type", "multiclass",
                       "--class-labels", "STAR", "GALAXY", "QSO", "--output", out)
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(out)
    assert list(scored.columns) == ["STAR", "GALAXY", "QSO"]
    assert ((scored.sum(axis=1) - 1).abs() < 1e-6).all()


def test_score_refuses_a_folder_without_an_artifact(taskbench, home, tmp_path):
    rows = DATA / "iris_binary_training.csv"

    unfitted = taskbench("score", "--code-dir", TEMPLATES / "2_python3_sklearn_regression", "--input", rows,
                         "--target-type", "regression")
    assert unfitted.exit_code == 2, unfitted.output
    assert "holds no fitted artifact; fit it first: taskbench fit --code-dir" in flat(unfitted.output)
    assert "Traceback" not in unfitted.output
    assert leftovers(home) == []


def test_version_prints_the_installed_version(taskbench):
    from importlib.metadata import version

    result = taskbench("--version")

    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"taskbench {version('taskbench')}"


def test_score_transform_of_a_custom_task_class_loads_drum_artifact(taskbench, home, tmp_path):
    """A CustomTask folder (drum_artifact.pkl, loaded by CustomTask.load): the transformed columns, as drum score writes."""
    import io

    import pandas as pd

    iris = DATA / "iris_binary_training.csv"
    folder = fitted_folder(taskbench, tmp_path, "1_python_missing_values", iris, "transform", "Species")
    assert (folder / "drum_artifact.pkl").is_file()
    rows = tmp_path / "rows.csv"
    frame = features(iris, "Species")
    frame.loc[0, "SepalLengthCm"] = None
    frame.to_csv(rows, index=False)

    result = taskbench("score", "--code-dir", folder, "--input", rows, "--target-type", "transform")

    assert result.exit_code == 0, result.output
    scored = pd.read_csv(io.StringIO(result.stdout))
    assert list(scored.columns) == list(frame.columns)
    assert len(scored) == len(frame)
    assert scored["SepalLengthCm"].notna().all()  # the template fills the blank it was given
