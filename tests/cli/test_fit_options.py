"""The DRUM-compatible flags of `taskbench fit` and the less common parts of the hook contract."""

from __future__ import annotations

import json

import pandas as pd

from tests.conftest import DATA, make_task

IRIS = DATA / "iris_binary_training.csv"
JUNIORS = DATA / "juniors_3_year_stats_regression.csv"

# Prints what fit received, so tests can see the engine passed the right things.
ECHO_TASK = '''
import pickle
import pandas as pd


def init(code_dir, **kwargs):
    print(f"init called with a folder: {bool(code_dir)}")


def fit(X, y, output_dir, class_order=None, row_weights=None, parameters=None, **kwargs):
    weights = "none" if row_weights is None else f"{row_weights.sum():.1f}"
    print(f"fit: rows={len(X)} cols={list(X.columns)[:2]} class_order={class_order} weights={weights} params={parameters}")
    pickle.dump(list(class_order), open(f"{output_dir}/labels.pkl", "wb"))


def predict_proba(X, model, **kwargs):
    print(f"predict_proba kwargs: {sorted(kwargs)} positive={kwargs.get('positive_class_label')}")
    return pd.DataFrame({model[0]: [0.25] * len(X), model[1]: [0.75] * len(X)})
'''


def flat(result):
    return " ".join(result.output.split())


def test_row_weights_column_and_class_label_flags(tmp_path, taskbench):
    data = tmp_path / "weighted.csv"
    frame = pd.read_csv(IRIS)
    frame["w"] = 2.0
    frame.to_csv(data, index=False)
    task = make_task(tmp_path, {"custom.py": ECHO_TASK})
    result = taskbench(
        "fit", "--code-dir", task, "--input", data, "--target-type", "binary", "--target", "Species",
        "--row-weights", "w", "--positive-class-label", "Iris-setosa",
    )
    assert result.exit_code == 0, result.output
    text = flat(result)
    assert "class_order=['Iris-versicolor', 'Iris-setosa'] weights=218.0" in text
    assert "cols=['Id', 'SepalLengthCm']" in text  # the weights column is not a feature
    assert "init called with a folder: True" in text
    assert "positive=Iris-setosa" in text
    assert "'class_labels', 'negative_class_label', 'positive_class_label', 'target_type'" in text


def test_target_and_weights_from_separate_csv_files(tmp_path, taskbench):
    frame = pd.read_csv(IRIS)
    frame.pop("Species").to_frame().to_csv(tmp_path / "target.csv", index=False)
    pd.DataFrame({"w": [0.5] * len(frame)}).to_csv(tmp_path / "weights.csv", index=False)
    frame.to_csv(tmp_path / "features.csv", index=False)
    task = make_task(tmp_path, {"custom.py": ECHO_TASK})
    result = taskbench(
        "fit", "--code-dir", task, "--input", tmp_path / "features.csv", "--target-type", "binary",
        "--target-csv", tmp_path / "target.csv", "--row-weights-csv", tmp_path / "weights.csv",
    )
    assert result.exit_code == 0, result.output
    assert "weights=54.5" in flat(result)


def test_class_labels_drum_style_and_from_a_file(tmp_path, taskbench):
    task = make_task(tmp_path, {"custom.py": ECHO_TASK})
    base = ["fit", "--code-dir", task, "--input", IRIS, "--target-type", "binary", "--target", "Species"]
    result = taskbench(*base, "--class-labels", "Iris-versicolor", "Iris-setosa")
    assert result.exit_code == 0, result.output
    assert "class_order=['Iris-versicolor', 'Iris-setosa']" in flat(result)
    labels = tmp_path / "labels.txt"
    labels.write_text("Iris-versicolor\nIris-setosa\n")
    result = taskbench(*base, "--class-labels-file", labels)
    assert "class_order=['Iris-versicolor', 'Iris-setosa']" in flat(result)


def test_parquet_input_num_rows_output_and_skip_predict(tmp_path, taskbench):
    data = tmp_path / "iris.parquet"
    pd.read_csv(IRIS).to_parquet(data)
    task = make_task(tmp_path, {"custom.py": ECHO_TASK})
    out = tmp_path / "kept"
    result = taskbench(
        "fit", "--code-dir", task, "--input", data, "--target-type", "binary", "--target", "Species",
        "--num-rows", "40", "--output", out, "--skip-predict",
    )
    assert result.exit_code == 0, result.output
    text = flat(result)
    assert "rows=40" in text and "predict_proba kwargs" not in text
    assert (out / "labels.pkl").is_file()
    again = taskbench("fit", "--code-dir", task, "--input", data, "--target-type", "binary", "--target", "Species", "--output", out)
    assert again.exit_code == 2 and "already exists and is not an empty folder" in flat(again)


def test_parameter_file_values_reach_fit(tmp_path, taskbench):
    meta = """
    name: echo
    type: training
    targetType: binary
    hyperparameters:
      - name: depth
        type: int
        min: 1
        max: 10
        default: 3
      - name: loss
        type: select
        values: [log, hinge]
        default: log
    """
    task = make_task(tmp_path, {"custom.py": ECHO_TASK, "model-metadata.yaml": meta})
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"depth": 7}))
    result = taskbench("fit", "--code-dir", task, "--input", IRIS, "--target", "Species", "--parameter-file", params)
    assert result.exit_code == 0, result.output
    assert "params={'depth': 7, 'loss': 'log'}" in flat(result)


def test_score_alias_three_argument_transform_and_sparse_output(tmp_path, taskbench):
    estimator = make_task(
        tmp_path,
        {
            "custom.py": """
            import pickle
            import pandas as pd

            def fit(X, y, output_dir, **kwargs):
                pickle.dump(float(y.mean()), open(f"{output_dir}/m.pkl", "wb"))

            def score(data, model, **kwargs):
                return pd.DataFrame({"Predictions": [model] * len(data)})
            """
        },
        name="alias",
    )
    result = taskbench("fit", "--code-dir", estimator, "--input", JUNIORS, "--target-type", "regression", "--target", "Grade 2014")
    assert result.exit_code == 0, result.output
    assert "score on 1477 rows" in flat(result)

    transform = make_task(
        tmp_path,
        {
            "custom.py": """
            import pickle
            import pandas as pd

            def fit(X, y, output_dir, **kwargs):
                pickle.dump("stateless", open(f"{output_dir}/a.pkl", "wb"))

            def transform(X, transformer, y):
                return X.astype(pd.SparseDtype("float64", 0.0))
            """,
            "model-metadata.yaml": """
            name: sparse-out
            type: training
            targetType: transform
            typeSchema:
              output_requirements:
                - field: sparse
                  condition: EQUALS
                  value: ALWAYS
            """,
        },
        name="sparse",
    )
    result = taskbench("fit", "--code-dir", transform, "--input", JUNIORS, "--target", "Grade 2014")
    assert result.exit_code == 0, result.output
    assert "33 sparse columns (NUM)" in flat(result)


def test_anomaly_ignores_a_target_and_regression_needs_one(tmp_path, taskbench):
    task = make_task(
        tmp_path,
        {
            "custom.py": """
            import pickle
            import pandas as pd

            def fit(X, y, output_dir, **kwargs):
                print(f"anomaly fit got y={y}")
                pickle.dump(X.mean(), open(f"{output_dir}/center.pkl", "wb"))

            def predict(X, model, **kwargs):
                return pd.DataFrame({"Predictions": ((X - model) ** 2).sum(axis=1)})
            """
        },
    )
    result = taskbench("fit", "--code-dir", task, "--input", JUNIORS, "--target-type", "anomaly", "--target", "Grade 2014")
    assert result.exit_code == 0, result.output
    assert "anomaly fit got y=None" in flat(result)
    result = taskbench("fit", "--code-dir", task, "--input", JUNIORS, "--target-type", "regression")
    assert result.exit_code == 2 and "needs a target" in flat(result)


def test_several_custom_py_files_are_named(tmp_path, taskbench):
    task = make_task(tmp_path, {"custom.py": ECHO_TASK, "old/custom.py": ECHO_TASK})
    result = taskbench("fit", "--code-dir", task, "--input", IRIS, "--target-type", "binary", "--target", "Species")
    assert result.exit_code == 1
    assert "2 task files (custom.py, old/custom.py); keep exactly one custom.py or custom.R" in flat(result)


def test_metadata_warnings_and_foreign_environment_ids_do_not_block(tmp_path, taskbench):
    meta = "name: echo\ntype: training\ntargetType: binary\nenvironmentID: 5e8c889607389fe0f466c72d\nflavour: vanilla\n"
    task = make_task(tmp_path, {"custom.py": ECHO_TASK, "model-metadata.yaml": meta})
    result = taskbench("fit", "--code-dir", task, "--input", IRIS, "--target", "Species", "--verbose")
    assert result.exit_code == 0, result.output
    text = flat(result)
    assert "flavour" in text and "warn" in text
    assert "environmentID 5e8c889607389fe0f466c72d names no environment here; ignored" in text


def test_the_example_in_fit_help_runs_as_written(taskbench, monkeypatch):
    """`taskbench fit --help` shows an example; run from the repository root, it must pass."""
    import shlex

    from tests.conftest import REPO
    from tui.cli.fit import HELP

    example = " ".join(HELP[HELP.index("Example: ") + len("Example: "):].split())
    args = shlex.split(example)
    assert args[0] == "taskbench"
    monkeypatch.chdir(REPO)
    result = taskbench(*args[1:])
    assert result.exit_code == 0, result.output
    assert "Fit check passed" in result.output
