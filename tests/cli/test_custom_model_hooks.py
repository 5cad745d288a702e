"""DRUM's custom-model hooks around scoring, on `score --code-dir` (drum score) and `serve --code-dir` (drum server).

As DRUM's PythonModelAdapter (load_data, _predict_legacy_drum) and R's score.R (outer_predict) call them:
`read_input_data(input_binary_data)` gets the raw bytes of the input file or request body (a multipart request's
file X) and its frame replaces the CSV reader; `post_process(predictions, model)` gets the checked predictions and
must return a DataFrame, which then meets the same output rules. Fitting never calls read_input_data (DRUM's fit
reads its input with pandas).
"""

from __future__ import annotations

import io
import pickle
import textwrap

import pandas as pd
import pytest
import requests

from tests.cli.test_serve_code_dir import FolderServer
from tests.conftest import leftovers, make_task


def flat(text: str) -> str:
    return " ".join(text.split())


JSON_LINES_TASK = """
    import io
    import pickle

    import pandas as pd


    def read_input_data(input_binary_data):
        # JSON lines, one object per row: not a format taskbench reads itself
        return pd.read_json(io.BytesIO(input_binary_data), lines=True)


    def fit(X, y, output_dir, **kwargs):
        slope = float((X["x"] * y).sum() / (X["x"] ** 2).sum())
        with open(f"{output_dir}/artifact.pkl", "wb") as fh:
            pickle.dump({"slope": slope}, fh)


    def predict(X, model, **kwargs):
        return pd.DataFrame({"Predictions": X["x"] * model["slope"]})


    def post_process(predictions, model):
        return predictions.clip(upper=10.0)
"""

ROWS = b'{"x": 1}\n{"x": 3}\n{"x": 7}\n{"x": 20}\n'
EXPECTED = [2.0, 6.0, 10.0, 10.0]  # 2 * x, clipped at 10 by post_process


def fit_output(taskbench, tmp_path, files: dict):
    """`taskbench fit --output` of the task `files` on y = 2x, x = 1..12: (the fitted folder, fit's result)."""
    task = make_task(tmp_path, files)
    train = tmp_path / "train.csv"
    pd.DataFrame({"x": range(1, 13), "y": [2 * v for v in range(1, 13)]}).to_csv(train, index=False)
    fit = taskbench("fit", "--code-dir", task, "--input", train, "--target", "y", "--target-type", "regression",
                    "--output", tmp_path / "fitted")
    assert fit.exit_code == 0, fit.output
    return tmp_path / "fitted", fit


def test_read_input_data_reads_json_lines_and_post_process_clips_in_score_and_serve(taskbench, home, tmp_path):
    # the fit reads the CSV itself (read_input_data would fail on it); its scoring applies post_process
    fitted, fit = fit_output(taskbench, tmp_path, {"custom.py": JSON_LINES_TASK})
    assert "max 10" in fit.output, fit.output  # 24 before post_process

    rows = tmp_path / "rows.jsonl"
    rows.write_bytes(ROWS)
    scored = taskbench("score", "--code-dir", fitted, "--input", rows)
    assert scored.exit_code == 0, scored.output
    assert pd.read_csv(io.StringIO(scored.stdout))["Predictions"].tolist() == EXPECTED
    assert leftovers(home) == []

    server = FolderServer(home, fitted)
    try:
        answers = [
            requests.post(f"{server.url}/predict/", data=ROWS, headers={"Content-Type": "application/x-ndjson"}, timeout=30),
            requests.post(f"{server.url}/predict/", data=ROWS, headers={"Content-Type": "text/csv"}, timeout=30),
            requests.post(f"{server.url}/predict/", files={"X": ("rows.jsonl", ROWS)}, timeout=30),
            requests.post(f"{server.url}/predict/", files={"X": ("rows.jsonl", ROWS * 100_000)}, timeout=60),  # spooled
        ]
        for answer in answers:
            assert answer.status_code == 200, answer.text
        assert [a.json()["predictions"] for a in answers[:3]] == [EXPECTED] * 3
        assert answers[3].json()["predictions"] == EXPECTED * 100_000
        csv_rows = requests.post(f"{server.url}/predict/", data=b"x\n1\n", headers={"Content-Type": "text/csv"}, timeout=30)
        assert csv_rows.status_code == 500  # CSV goes to the hook too, as in DRUM, and it reads JSON only
        assert csv_rows.json()["message"].startswith("the model failed on these rows: read_input_data raised ValueError")
    finally:
        server.stop()


def fitted_folder(tmp_path, hooks: str):
    """A fitted folder made by hand: custom.py (pandas, `hooks`, then PREDICT) beside its one native artifact."""
    source = "import pandas as pd\n\n" + textwrap.dedent(hooks).strip("\n") + "\n" + textwrap.dedent(PREDICT)
    folder = make_task(tmp_path, {"custom.py": source}, "fitted")
    with open(folder / "artifact.pkl", "wb") as fh:
        pickle.dump({"slope": 2.0}, fh)
    return folder


PREDICT = """
    def predict(X, model, **kwargs):
        return pd.DataFrame({"Predictions": X["x"] * model["slope"]})
"""


@pytest.mark.parametrize("hooks, sentence, frame", [
    ("""
    def read_input_data(input_binary_data):
        raise ValueError("not JSON lines")
    """, "read_input_data raised ValueError: not JSON lines (custom.py line 4).", "custom.py\", line 4, in read_input_data"),
    ("""
    def read_input_data(input_binary_data):
        return [1, 2, 3]
    """, "read_input_data returned a list; it must return the rows to score as a pandas DataFrame", None),
    ("""
    def post_process(predictions, model):
        return predictions["Predictions"].clip(upper=1.0)
    """, "post_process returned a pandas Series; a regression estimator must return a pandas DataFrame", None),
    ("""
    def post_process(predictions, model):
        return predictions / 0 - predictions / 0
    """, "post_process returned 2 NaN or infinite prediction(s); row 1 is nan.", None),
    ("""
    def post_process(predictions, model):
        return predictions.missing_method()
    """, "post_process raised AttributeError: 'DataFrame' object has no attribute 'missing_method' (custom.py line 4).",
     "custom.py\", line 4, in post_process"),
])
def test_a_failing_hook_is_named_in_one_sentence_with_the_tasks_own_frames(taskbench, home, tmp_path, hooks, sentence, frame):
    folder = fitted_folder(tmp_path, hooks)
    rows = tmp_path / "rows.csv"
    rows.write_text("x\n1\n2\n")
    scored = taskbench("score", "--code-dir", folder, "--input", rows, "--target-type", "regression")
    assert scored.exit_code == 1, scored.output
    text = flat(scored.output)
    assert sentence in text, text
    if frame:
        assert frame in text and "serving.py" not in text  # the task's frames only
    assert leftovers(home) == []


def test_a_failing_read_input_data_answers_the_server_request_with_its_sentence(home, tmp_path):
    folder = fitted_folder(tmp_path, """
        def read_input_data(input_binary_data):
            raise ValueError("not JSON lines")
        """)
    server = FolderServer(home, folder, "--target-type", "regression")
    try:
        answer = requests.post(f"{server.url}/predict/", data=b"x\n1\n", headers={"Content-Type": "text/csv"}, timeout=30)
        assert answer.status_code == 500
        assert answer.json()["message"] == ("the model failed on these rows: read_input_data raised ValueError: "
                                            "not JSON lines (custom.py line 4).")
    finally:
        server.stop()


def test_a_custom_task_class_is_scored_without_its_modules_hooks_as_in_drum(taskbench, home, tmp_path):
    """DRUM reads a CustomTask class's methods only: module-level read_input_data and post_process beside it are
    never called (PythonModelAdapter._load_custom_hooks_for_new_drum)."""
    folder = make_task(tmp_path, {"custom.py": """
        import pandas as pd


        def read_input_data(input_binary_data):
            raise AssertionError("never called beside a CustomTask class")


        def post_process(predictions, model):
            raise AssertionError("never called beside a CustomTask class")


        class CustomTask:
            def fit(self, X, y, **kwargs):
                return self

            def predict(self, X, **kwargs):
                return pd.DataFrame({"Predictions": X["x"] * 2.0})
        """}, "task")
    train = tmp_path / "train.csv"
    pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [2.0, 4.0, 6.0]}).to_csv(train, index=False)
    fit = taskbench("fit", "--code-dir", folder, "--input", train, "--target", "y", "--target-type", "regression",
                    "--output", tmp_path / "fitted")
    assert fit.exit_code == 0, fit.output
    rows = tmp_path / "rows.csv"
    rows.write_text("x\n1\n20\n")
    scored = taskbench("score", "--code-dir", tmp_path / "fitted", "--input", rows)
    assert scored.exit_code == 0, scored.output
    assert pd.read_csv(io.StringIO(scored.stdout))["Predictions"].tolist() == [2.0, 40.0]


R_TASK = """
    read_input_data <- function(input_binary_data) {
        # ';'-separated text, as spreadsheets in many locales save it
        read.csv(text = rawToChar(input_binary_data), sep = ";")
    }

    fit <- function(X, y, output_dir, ...) {
        saveRDS(lm(y ~ x, data = data.frame(x = X$x, y = y)), file.path(output_dir, "artifact.rds"))
    }

    score <- function(data, model, ...) {
        data.frame(Predictions = unname(predict(model, newdata = data)))
    }

    post_process <- function(predictions, model) {
        predictions$Predictions <- pmin(predictions$Predictions, 10)
        predictions
    }
"""


def test_an_r_task_reads_semicolon_rows_with_read_input_data_and_clips_with_post_process(need_r, taskbench, home, tmp_path):
    """score.R's .load_data hands read_input_data the raw bytes (a raw vector) and outer_predict calls post_process."""
    fitted, _ = fit_output(taskbench, tmp_path, {"custom.R": R_TASK})
    body = b"x;other\n1;a\n3;b\n7;c\n20;d\n"
    rows = tmp_path / "rows.txt"
    rows.write_bytes(body)
    scored = taskbench("score", "--code-dir", fitted, "--input", rows)
    assert scored.exit_code == 0, scored.output
    assert [round(v, 9) for v in pd.read_csv(io.StringIO(scored.stdout))["Predictions"]] == EXPECTED

    server = FolderServer(home, fitted)
    try:
        for answer in (requests.post(f"{server.url}/predict/", data=body, headers={"Content-Type": "text/csv"}, timeout=60),
                       requests.post(f"{server.url}/predict/", files={"X": ("rows.txt", body)}, timeout=60)):
            assert answer.status_code == 200, answer.text
            assert [round(v, 9) for v in answer.json()["predictions"]] == EXPECTED
    finally:
        server.stop()

    (fitted / "custom.R").write_text(textwrap.dedent(R_TASK).replace("pmin(predictions$Predictions, 10)", "stop('no clipping today')"))
    failed = taskbench("score", "--code-dir", fitted, "--input", rows)
    assert failed.exit_code == 1, failed.output
    assert "post_process raised an R error: no clipping today (custom.R line 16)." in flat(failed.output), failed.output


JSON_LINES_TRANSFORM = """
    import io
    import pickle

    import pandas as pd


    def read_input_data(input_binary_data):
        # JSON lines, one object per row: not a format taskbench reads itself
        return pd.read_json(io.BytesIO(input_binary_data), lines=True)


    def fit(X, y, output_dir, **kwargs):
        with open(f"{output_dir}/artifact.pkl", "wb") as fh:
            pickle.dump({"mean": float(X["x"].mean())}, fh)


    def transform(data, transformer):
        return pd.DataFrame({"centred": data["x"] - transformer["mean"]})
"""


def test_a_transform_reads_json_lines_with_read_input_data_in_score_and_on_transform(taskbench, home, tmp_path):
    """A transform task's read_input_data: `score --code-dir` and `serve --code-dir`'s /transform/ hand it the raw
    bytes (the file, the request body or a multipart request's file X) and transform its frame."""
    task = make_task(tmp_path, {"custom.py": JSON_LINES_TRANSFORM})
    train = tmp_path / "train.csv"
    pd.DataFrame({"x": range(1, 12), "y": range(11)}).to_csv(train, index=False)  # mean of x: 6
    fitted = tmp_path / "fitted"
    fit = taskbench("fit", "--code-dir", task, "--input", train, "--target", "y", "--target-type", "transform",
                    "--output", fitted)
    assert fit.exit_code == 0, fit.output
    expected = pd.DataFrame({"centred": [-5.0, -3.0, 1.0, 14.0]})  # ROWS' x minus 6

    rows = tmp_path / "rows.jsonl"
    rows.write_bytes(ROWS)
    scored = taskbench("score", "--code-dir", fitted, "--input", rows)
    assert scored.exit_code == 0, scored.output
    pd.testing.assert_frame_equal(pd.read_csv(io.StringIO(scored.stdout)), expected, check_dtype=False)
    assert leftovers(home) == []

    server = FolderServer(home, fitted)
    try:
        answers = [
            requests.post(f"{server.url}/transform/", data=ROWS, headers={"Content-Type": "application/x-ndjson"},
                          timeout=30),
            requests.post(f"{server.url}/transform/", data=ROWS, headers={"Content-Type": "text/csv"}, timeout=30),
            requests.post(f"{server.url}/transform/", files={"X": ("rows.jsonl", ROWS)}, timeout=30),
        ]
        for answer in answers:
            assert answer.status_code == 200, answer.text
            served = pd.read_csv(io.StringIO(answer.json()["transformations"]))
            pd.testing.assert_frame_equal(served, expected, check_dtype=False)
        csv_rows = requests.post(f"{server.url}/transform/", data=b"x\n1\n", headers={"Content-Type": "text/csv"},
                                 timeout=30)
        assert csv_rows.status_code == 500, csv_rows.text  # CSV goes to the hook too, and it reads JSON only
        assert "read_input_data raised ValueError" in csv_rows.json()["message"], csv_rows.text
    finally:
        server.stop()
