"""DRUM parity (issue 11): what `drum fit`/`drum score` accept, `taskbench fit`/`score` accept too.

DRUM is not installed here; its behaviour is taken from its source (typeschema_validation.py reads TXT
and CAT as one kind; --disable-strict-validation turns schema errors into warnings; R tasks use custom.R).
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


def test_r_template_is_refused_by_fit_naming_custom_r(taskbench, home, tmp_path):
    folder = make_task(tmp_path, R_TASK, "2_r_transform_simple")

    result = taskbench(*transform_fit(folder))

    assert result.exit_code == 2, result.output
    assert f"R tasks are not supported yet (found custom.R in {folder})" in flat(result.output), result.output
    assert "has no custom.py" not in result.output


def test_r_template_is_refused_by_task_add(taskbench, home, tmp_path):
    folder = make_task(tmp_path, R_TASK, "2_r_transform_simple")

    result = taskbench("task", "add", folder)

    assert result.exit_code == 2, result.output
    assert f"R tasks are not supported yet (found custom.R in {folder})" in flat(result.output), result.output


def test_r_file_in_a_subfolder_is_named_where_it_is(tmp_path):
    from core.runtime.taskcode import unsupported_language

    folder = make_task(tmp_path, {"R/custom.R": "fit <- function(X, y, ...) NULL\n"}, "r_task")

    assert unsupported_language(str(folder)) == (
        f"R tasks are not supported yet (found custom.R in {folder / 'R'}); taskbench runs Python tasks with a custom.py."
    )
    assert unsupported_language(str(make_task(tmp_path, {"custom.py": "x = 1\n"}, "py_task"))) is None


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
        f"{bp}:2:9: error: '9_python3_sklearn_with_custom_classes@1' needs exactly 1 input columns, but its inputs "
        "give 33 (33 from the NUM channel; its typeSchema says number_of_columns EQUALS 1)"
    )

    checked = taskbench("blueprint", "check", bp, "--project", "wide")
    assert checked.exit_code == 1, checked.output
    assert expected in flat(checked.output), checked.output

    trained = taskbench("train", "wide", bp)
    assert trained.exit_code != 0, trained.output
    assert expected in flat(trained.output), trained.output
    assert "Trained 0 of 1" in flat(trained.output)

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
