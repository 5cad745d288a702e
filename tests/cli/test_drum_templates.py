"""DRUM's own task templates (vendored in tests/fixtures/drum_templates) pass `taskbench fit` unchanged in behaviour.

The templates are upstream's code; a few lines are patched for current numpy / scikit-learn (see NOTICE.md,
"Compatibility patches"). Each template is run with the command templates.json describes.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest

from tests.conftest import DATA, REPO, leftovers, tree_digest

TEMPLATES = REPO / "tests" / "fixtures" / "drum_templates"
ENTRIES = {entry["folder"]: entry for entry in json.loads((TEMPLATES / "templates.json").read_text())}
PATCH_MARK = "# taskbench: patched"

# folder -> (phrases the output must contain, whether `--check-missing` is used).
# `--check-missing` is left off only where blank columns legitimately break the template:
EXPECTED = {
    "1_python_missing_values": (["CustomTask.transform on 109 rows: 5 dense columns (NUM)"], True),
    "3_python3_sklearn_transform": (["CustomTask.transform on 109 rows: 5 dense columns (NUM)"], True),
    # Passes blanks straight through (NaN in, NaN out) although its metadata forbids missing input and
    # promises output `contains_missing: NEVER`; it does not support missing values.
    "6_python_bool_to_int_transform": (["CustomTask.transform on 109 rows: 5 dense columns (NUM)"], False),
    "1_python_regression": (["2 parameter(s)", "CustomTask.predict on 1477 rows: Predictions mean"], True),
    "4_python_binary_classification": (
        ["classes ['Iris-setosa', 'Iris-versicolor']", "CustomTask.predict_proba on 109 rows: probabilities per class valid"],
        True,
    ),
    "6_python_multiclass_classification": (
        ["classes ['GALAXY', 'QSO', 'STAR']", "CustomTask.predict_proba on 10000 rows: probabilities per class valid"],
        True,
    ),
    # OneClassSVM raises "Input X contains NaN" (and the metadata says contains_missing FORBIDDEN).
    "7_python_anomaly": (["3 parameter(s)", "CustomTask.predict on 1477 rows: Predictions mean"], False),
    # Single-column calibrator: a blank column makes every prediction NaN, which the output rules reject.
    "9_python_calibrator": (["CustomTask.predict on 299 rows: Predictions mean 22.66"], False),
    # Same single-column calibrator as legacy hooks: NaN predictions on a blank column.
    "9_python_regression_with_custom_class": (["score on 299 rows: Predictions mean 22.66"], False),
    # Plain LinearRegression raises "Input X contains NaN" (metadata: contains_missing FORBIDDEN).
    "12_python_pretrained": (["CustomTask.predict on 1477 rows: Predictions mean 25.11"], False),
    "2_python3_sklearn_regression": (["score on 1477 rows: Predictions mean 25.11"], True),
    "4_python3_xgboost": ([], False),
    "5_python3_sklearn_binary": (["score on 109 rows: probabilities per class valid"], True),
    "6_python3_sklearn_multiclass": (["classes ['GALAXY', 'QSO', 'STAR']", "score on 10000 rows: probabilities per class valid"], True),
    "7_python3_anomaly_detection": (["score on 1477 rows: Predictions mean"], True),
    "8_python3_calibrated_anomaly_detection": (["score on 1477 rows: Predictions mean 0.36"], True),
    # Same single-column calibrator as a sklearn Pipeline: NaN predictions on a blank column.
    "9_python3_sklearn_with_custom_classes": (["score on 299 rows: Predictions mean 22.66"], False),
    "10_python3_sparse": (["score on 1477 rows: Predictions mean", "1477 rows × 33 columns (NUM)"], False),
}


def fit_args(entry, code_dir, input_path=None):
    args = ["fit", "--code-dir", code_dir, "--input", input_path or DATA / entry["input"], "--target-type", entry["target_type"]]
    if entry["target"]:
        args += ["--target", entry["target"]]
    return args


def flat(text: str) -> str:
    return " ".join(text.split())


def write_pretrained_estimator(folder):
    """12_python_pretrained ships a binary estimator.joblib (not vendored): a LinearRegression on juniors."""
    import joblib
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    entry = ENTRIES["12_python_pretrained"]
    X = pd.read_csv(DATA / entry["input"])
    y = X.pop(entry["target"])
    # custom.py's load() reads <artifact dir>/estimator.joblib; predict() calls estimator.predict(X) on the
    # input without the target, so the model is fitted on exactly those columns (feature names checked).
    joblib.dump(LinearRegression().fit(X, y), folder / "estimator.joblib")


def test_every_listed_template_is_expected_and_present():
    assert set(ENTRIES) == set(EXPECTED)
    for folder in ENTRIES:
        assert (TEMPLATES / folder / "custom.py").is_file(), folder


@pytest.mark.parametrize("folder", list(ENTRIES))
def test_drum_template_passes_fit_check(folder, taskbench, home, tmp_path):
    entry = ENTRIES[folder]
    if entry["requirements_extra"]:
        pytest.skip(
            f"needs {', '.join(entry['requirements_extra'])} from requirements.txt: covered by "
            "test_fit_docker.py::test_drum_xgboost_template_installs_its_requirement_in_both_runners"
        )
    sparse_args = []
    if entry["input"].endswith(".mtx"):
        sparse_input, columns = write_sparse_dataset(tmp_path, entry["target"])
        sparse_args = ["--input", sparse_input, "--sparse-column-file", columns]

    original = TEMPLATES / folder
    before = tree_digest(original)
    code_dir = original
    if folder == "12_python_pretrained":
        code_dir = tmp_path / folder
        shutil.copytree(original, code_dir)
        write_pretrained_estimator(code_dir)
    code_before = tree_digest(code_dir)

    phrases, check_missing = EXPECTED[folder]
    args = fit_args(entry, code_dir) + sparse_args
    if check_missing:
        args.append("--check-missing")
    result = taskbench(*args)

    assert result.exit_code == 0, result.output
    text = flat(result.output)
    expected = ["Fit check passed", "scores the same as the full data", *phrases]
    if check_missing:
        expected.append("not checked: the task's input schema forbids missing values" if forbids_missing(code_dir) else "columns blanked")
    for phrase in expected:
        assert phrase in text, f"{phrase!r} missing from:\n{result.output}"
    assert tree_digest(code_dir) == code_before
    assert tree_digest(original) == before
    assert leftovers(home) == []


def write_sparse_dataset(tmp_path, target):
    """DRUM's sparse test data is not available, so build the same kind: a MatrixMarket file of
    mostly-zero juniors features plus the target column, and a file naming the columns."""
    import numpy as np
    import pandas as pd
    from scipy import sparse
    from scipy.io import mmwrite

    frame = pd.read_csv(DATA / "juniors_3_year_stats_regression.csv")
    y = frame.pop("Grade 2014")
    values = frame.to_numpy(dtype="float64")
    values[values < np.median(values, axis=0)] = 0.0
    matrix = sparse.csr_matrix(np.column_stack([values, y.to_numpy(dtype="float64")]))
    path = tmp_path / "sparse.mtx"
    mmwrite(str(path), matrix)
    columns = tmp_path / "sparse.columns"
    columns.write_text("\n".join([*frame.columns, target]) + "\n")
    return path, columns


def forbids_missing(code_dir):
    """True when the template's input schema says contains_missing FORBIDDEN (blanking is then skipped)."""
    from core.tasks.metadata import load_metadata

    reqs = load_metadata(code_dir).type_schema.input_requirements
    return any(r.field == "contains_missing" and r.value == "FORBIDDEN" for r in reqs)


def test_unpatched_np_object_line_fails_naming_file_and_line(taskbench, home, tmp_path):
    """The upstream np.object line of 5_python3_sklearn_binary, restored in a copy, fails clearly on numpy >= 1.24."""
    code_dir = tmp_path / "5_python3_sklearn_binary"
    shutil.copytree(TEMPLATES / "5_python3_sklearn_binary", code_dir)
    helper = code_dir / "create_pipeline.py"
    lines = helper.read_text().splitlines(keepends=True)
    (number,) = [i for i, line in enumerate(lines, 1) if PATCH_MARK in line]
    lines[number - 1] = "categorical_selector = make_column_selector(dtype_include=np.object)\n"
    helper.write_text("".join(lines))

    result = taskbench(*fit_args(ENTRIES["5_python3_sklearn_binary"], code_dir))

    assert result.exit_code == 1, result.output
    text = flat(result.output)
    assert "importing custom.py raised AttributeError: module 'numpy' has no attribute 'object'" in text, result.output
    assert f"(create_pipeline.py line {number})" in text, result.output
    assert "dtype_include=np.object" in text, result.output
    assert "Fit check failed (exit 1)" in text, result.output
    assert "Fit check passed" not in text
    assert leftovers(home) == []


def test_bool_to_int_transform_converts_boolean_columns(taskbench, home, tmp_path):
    """Iris has no boolean column, so this exercises the patched np.bool/np.int lines of 6_python_bool_to_int_transform."""
    import pandas as pd

    entry = ENTRIES["6_python_bool_to_int_transform"]
    frame = pd.read_csv(DATA / entry["input"])
    frame["Wide"] = frame["SepalWidthCm"] > 3.0
    data = tmp_path / "iris_with_bool.csv"
    frame.to_csv(data, index=False)
    kept = tmp_path / "artifacts"

    result = taskbench(*fit_args(entry, TEMPLATES / entry["folder"], data), "--output", kept)

    assert result.exit_code == 0, result.output
    assert "CustomTask.transform on 109 rows: 6 dense columns (NUM)" in flat(result.output), result.output
    assert (kept / "drum_artifact.pkl").is_file()
    assert leftovers(home) == []


def test_every_patched_line_is_marked_and_documented():
    """Every patched file is listed in NOTICE.md's "Compatibility patches"; no removed numpy alias is left."""
    notice = (TEMPLATES / "NOTICE.md").read_text()
    section = notice.split("## Compatibility patches", 1)[1].split("\n## ", 1)[0]
    patched = sorted(
        str(path.relative_to(TEMPLATES))
        for path in TEMPLATES.rglob("*")
        if path.is_file() and path.suffix in {".py", ".yaml"} and PATCH_MARK in path.read_text()
    )
    assert len(patched) == 8, patched
    for rel in patched:
        assert rel in section, f"{rel} is patched but not listed under 'Compatibility patches'"
    for path in TEMPLATES.rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if PATCH_MARK in line:
                assert re.search(r"# taskbench: patched for (numpy|scikit-learn) >= \d+\.\d+$", line), (path, number, line)
            assert not re.search(r"\bnp\.(object|bool|int|float)\b", line), (path, number, line)
