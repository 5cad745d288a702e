"""The fault catalogue: each broken task gets its exit code and a sentence naming the rule.

Every case also proves that the task folder is unchanged afterwards and that no
scratch files are left behind.
"""

from __future__ import annotations

import pytest

from tests.conftest import DATA, leftovers, make_task, tree_digest

IRIS = DATA / "iris_binary_training.csv"
JUNIORS = DATA / "juniors_3_year_stats_regression.csv"
SKY = DATA / "skyserver_sql2_27_2018_6_51_39_pm.csv"

# A binary task whose model is the class prior; the knobs below break it in one place each.
PRIOR_TASK = '''
import pickle
import numpy as np
import pandas as pd


def fit(X, y, output_dir, class_order=None, **kwargs):
    prior = y.value_counts(normalize=True).reindex(class_order).fillna(0).to_numpy()
    with open(f"{output_dir}/artifact.pkl", "wb") as fh:
        pickle.dump({"labels": list(class_order), "prior": prior}, fh)


def predict_proba(X, model, **kwargs):
    values = np.tile(model["prior"], (len(X), 1))
    return pd.DataFrame(values, columns=model["labels"])
'''


def binary_task(tmp_path, body=PRIOR_TASK, **extra):
    return make_task(tmp_path, {"custom.py": body, **extra})


def run_check(taskbench, home, task, *args, data=IRIS, target="Species", target_type="binary"):
    before = tree_digest(task)
    cmd = ["fit", "--code-dir", task, "--input", data, "--target-type", target_type]
    if target:
        cmd += ["--target", target]
    result = taskbench(*cmd, *args)
    assert tree_digest(task) == before, "the fit check changed the task folder"
    assert leftovers(home) == []
    assert processes_using(home) == [], "a worker or task process outlived the fit check"
    return result


def expect(result, code, *phrases):
    assert result.exit_code == code, result.output
    text = " ".join(result.output.split())
    for phrase in phrases:
        assert phrase in text, f"{phrase!r} not in output:\n{result.output}"


def test_baseline_prior_task_passes(tmp_path, taskbench, home):
    result = run_check(taskbench, home, binary_task(tmp_path))
    expect(result, 0, "Fit check passed", "classes ['Iris-setosa', 'Iris-versicolor']")


def test_probabilities_halved(tmp_path, taskbench, home):
    task = binary_task(tmp_path, PRIOR_TASK.replace("return pd.DataFrame(values,", "return pd.DataFrame(values / 2,"))
    expect(run_check(taskbench, home, task), 1, "predict_proba returned probabilities that do not sum to 1", "row 1", "sums to 0.5")


def test_multiclass_row_not_summing_to_one(tmp_path, taskbench, home):
    body = PRIOR_TASK.replace(
        "    return pd.DataFrame(values, columns=model[\"labels\"])",
        "    values[3, 0] += 0.2\n    return pd.DataFrame(values, columns=model[\"labels\"])",
    )
    result = run_check(taskbench, home, binary_task(tmp_path, body), data=SKY, target="class", target_type="multiclass")
    expect(result, 1, "do not sum to 1 in 1 row(s)", "row 4")


def test_wrong_class_labels(tmp_path, taskbench, home):
    body = PRIOR_TASK.replace('columns=model["labels"]', 'columns=["no", "yes"]')
    expect(run_check(taskbench, home, binary_task(tmp_path, body)), 1, "returned columns ['no', 'yes']", "the class labels are ['Iris-setosa', 'Iris-versicolor']")


def test_numeric_labels_compare_after_normalising(tmp_path, taskbench, home):
    data = tmp_path / "zero_one.csv"
    data.write_text("a,b,y\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(40)))
    body = PRIOR_TASK.replace('columns=model["labels"]', 'columns=["0.0", "1"]')
    expect(run_check(taskbench, home, binary_task(tmp_path, body), data=data, target="y"), 0, "classes [0, 1]")


@pytest.mark.parametrize("bad, word", [("np.nan", "NaN"), ("np.inf", "infinite")])
def test_nan_and_infinite_predictions(tmp_path, taskbench, home, bad, word):
    task = make_task(
        tmp_path,
        {
            "custom.py": f"""
            import pickle
            import numpy as np
            import pandas as pd

            def fit(X, y, output_dir, **kwargs):
                pickle.dump(float(y.mean()), open(f"{{output_dir}}/mean.pkl", "wb"))

            def predict(X, model, **kwargs):
                out = np.full(len(X), model)
                out[5] = {bad}
                return pd.DataFrame({{"Predictions": out}})
            """
        },
    )
    result = run_check(taskbench, home, task, data=JUNIORS, target="Grade 2014", target_type="regression")
    expect(result, 1, word, "row 6", "Predictions must be finite numbers")


def test_numpy_array_instead_of_dataframe(tmp_path, taskbench, home):
    body = PRIOR_TASK.replace('return pd.DataFrame(values, columns=model["labels"])', "return values")
    expect(run_check(taskbench, home, binary_task(tmp_path, body)), 1, "predict_proba returned a numpy array of shape (109, 2)", "must return a pandas DataFrame")


TRANSFORM = '''
import pickle

def fit(X, y, output_dir, **kwargs):
    pickle.dump(X.median(numeric_only=True), open(f"{output_dir}/medians.pkl", "wb"))

def transform(X, transformer):
    out = X.fillna(transformer)
    return RESULT
'''


@pytest.mark.parametrize(
    "result_expr, phrases",
    [
        ("out.iloc[1:]", ["transform returned 108 rows for 109 input rows", "must keep every row"]),
        ("out.values.tolist()", ["transform returned a list", "must return a pandas DataFrame"]),
    ],
)
def test_transform_dropping_a_row_or_returning_a_list(tmp_path, taskbench, home, result_expr, phrases):
    task = make_task(tmp_path, {"custom.py": TRANSFORM.replace("RESULT", result_expr)})
    expect(run_check(taskbench, home, task, target_type="transform"), 1, *phrases)


def test_no_fit(tmp_path, taskbench, home):
    body = PRIOR_TASK.replace("def fit(", "def train(")
    expect(run_check(taskbench, home, binary_task(tmp_path, body)), 1, "custom.py defines no fit hook")


def test_syntax_error_shows_file_and_line(tmp_path, taskbench, home):
    body = PRIOR_TASK.replace("def predict_proba(X, model, **kwargs):", "def predict_proba(X, model, **kwargs)")
    line = body.lstrip("\n").splitlines().index("def predict_proba(X, model, **kwargs)") + 1
    expect(run_check(taskbench, home, binary_task(tmp_path, body)), 1, f"custom.py line {line}", "SyntaxError")


def test_syntax_error_in_helper_module(tmp_path, taskbench, home):
    task = binary_task(tmp_path, "from helper import thing\n" + PRIOR_TASK, **{"helper.py": "thing = (1,\n"})
    expect(run_check(taskbench, home, task), 1, "helper.py line 1", "SyntaxError")


def test_import_of_missing_package_names_it(tmp_path, taskbench, home):
    task = binary_task(tmp_path, "import lightgbm_not_here\n" + PRIOR_TASK)
    expect(run_check(taskbench, home, task), 1, "custom.py line 1 imports 'lightgbm_not_here'", "requirements.txt")


def test_fit_raising_shows_message_and_line(tmp_path, taskbench, home):
    body = PRIOR_TASK.replace("    prior = ", "    raise ValueError('need more rows')\n    prior = ")
    line = body.lstrip("\n").splitlines().index("    raise ValueError('need more rows')") + 1
    result = run_check(taskbench, home, binary_task(tmp_path, body))
    expect(result, 1, "fit raised ValueError: need more rows", f"custom.py line {line}")
    assert "Traceback (most recent call last, the task's own frames)" in result.output
    assert "core/runtime" not in result.output, "engine frames must not reach the screen"


def test_two_artifacts_without_load_model_names_both(tmp_path, taskbench, home):
    body = PRIOR_TASK.replace(
        '    with open(f"{output_dir}/artifact.pkl", "wb") as fh:',
        '    open(f"{output_dir}/extra.joblib", "wb").write(b"x")\n    with open(f"{output_dir}/artifact.pkl", "wb") as fh:',
    )
    expect(run_check(taskbench, home, binary_task(tmp_path, body)), 1, "2 native artifacts (artifact.pkl, extra.joblib)", "load_model")


def test_hanging_fit_is_stopped_by_timeout(tmp_path, taskbench, home):
    body = PRIOR_TASK.replace("    prior = ", "    import time\n    time.sleep(600)\n    prior = ")
    result = run_check(taskbench, home, binary_task(tmp_path, body), "--timeout", "2")
    expect(result, 1, "fit did not finish within the time limit of 2 s")


def test_fit_exceeding_memory_limit(tmp_path, taskbench, home):
    body = PRIOR_TASK.replace(
        "    prior = ",
        "    hog = []\n    for _ in range(200):\n        hog.append(bytearray(20 << 20))\n    prior = ",
    )
    result = run_check(taskbench, home, binary_task(tmp_path, body), "--memory", "600m")
    expect(result, 1, "fit", "600 MB")
    assert "memory" in result.output.lower()


def test_random_predictions_differ_between_full_and_sample(tmp_path, taskbench, home):
    body = PRIOR_TASK.replace("values = np.tile(model[\"prior\"], (len(X), 1))", "p = np.random.rand(len(X)); values = np.c_[p, 1 - p]")
    expect(run_check(taskbench, home, binary_task(tmp_path, body)), 1, "gave different results for the same rows", "sample of")


def test_schema_violation_on_input_exits_3(tmp_path, taskbench, home):
    meta = """
    name: cat-only
    type: training
    targetType: binary
    typeSchema:
      input_requirements:
        - field: data_types
          condition: IN
          value: [CAT]
    """
    result = run_check(taskbench, home, binary_task(tmp_path, **{"model-metadata.yaml": meta}))
    expect(result, 3, "the input data breaks the schema rule data_types IN ['CAT']", "NUM column(s)", "model-metadata.yaml line 6")


def test_schema_violation_on_transform_output_exits_3(tmp_path, taskbench, home):
    meta = """
    name: keeps-missing
    type: training
    targetType: transform
    typeSchema:
      output_requirements:
        - field: contains_missing
          condition: EQUALS
          value: NEVER
    """
    files = {"custom.py": TRANSFORM.replace("RESULT", "X"), "model-metadata.yaml": meta}
    data = tmp_path / "holes.csv"
    data.write_text("a,b\n1,\n2,3\n,4\n" + "".join(f"{i},{i}\n" for i in range(20)))
    result = run_check(taskbench, home, make_task(tmp_path, files), data=data, target=None, target_type="transform")
    expect(result, 3, "the output of transform contains missing values", "contains_missing NEVER")


def test_invalid_yaml_names_file_and_line(tmp_path, taskbench, home):
    meta = "name: broken\ntargetType: binary\nhyperparameters:\n  - name: C\n    type: [float\n"
    result = run_check(taskbench, home, binary_task(tmp_path, **{"model-metadata.yaml": meta}))
    expect(result, 2, "model-metadata.yaml:")


def test_target_type_contradicting_metadata(tmp_path, taskbench, home):
    meta = "name: reg\ntype: training\ntargetType: regression\n"
    result = run_check(taskbench, home, binary_task(tmp_path, **{"model-metadata.yaml": meta}))
    expect(result, 2, "--target-type binary contradicts targetType regression")


def test_hyperparameter_out_of_range(tmp_path, taskbench, home):
    meta = """
    name: with-params
    type: training
    targetType: binary
    hyperparameters:
      - name: smoothing
        type: float
        min: 0.0
        max: 1.0
        default: 0.5
    """
    task = binary_task(tmp_path, **{"model-metadata.yaml": meta})
    params = tmp_path / "params.json"
    params.write_text('{"smoothing": 3.5}')
    result = run_check(taskbench, home, task, "--parameter-file", params)
    expect(result, 2, "parameter 'smoothing' = 3.5 is above its maximum 1")


def test_huge_output_neither_hangs_nor_loses_the_result(tmp_path, taskbench, home):
    body = PRIOR_TASK.replace(
        "    prior = ",
        "    import sys\n    line = 'x' * 1023 + '\\n'\n    for _ in range(300 * 1024):\n        sys.stdout.write(line)\n    prior = ",
    )
    result = run_check(taskbench, home, binary_task(tmp_path, body), "--timeout", "120")
    expect(result, 0, "Fit check passed", "more task output than the terminal shows")
    assert len(result.output) < 3 << 20
    logs = list((home / "logs").glob("job-*.log"))
    assert len(logs) == 1 and logs[0].stat().st_size < 80 << 20


def test_task_crashing_the_process_is_reported(tmp_path, taskbench, home):
    body = PRIOR_TASK.replace("    prior = ", "    import os\n    os._exit(3)\n    prior = ")
    expect(run_check(taskbench, home, binary_task(tmp_path, body)), 1, "the fit process exited with code 3 before reporting a result")


def test_task_writing_into_cwd_leaves_code_folder_alone(tmp_path, taskbench, home):
    body = PRIOR_TASK.replace("    prior = ", "    open('scratch.txt', 'w').write('hi')\n    prior = ")
    expect(run_check(taskbench, home, binary_task(tmp_path, body)), 0, "Fit check passed")


def test_missing_value_check_names_the_column(tmp_path, taskbench, home):
    body = PRIOR_TASK.replace(
        "    values = np.tile(",
        "    if X['PetalWidthCm'].isna().any():\n        raise KeyError('PetalWidthCm has holes')\n    values = np.tile(",
    )
    result = run_check(taskbench, home, binary_task(tmp_path, body), "--check-missing")
    expect(result, 1, "with column 'PetalWidthCm' blanked (--check-missing)", "predict_proba raised KeyError")


def test_usage_errors_exit_2(tmp_path, taskbench, home):
    task = binary_task(tmp_path)
    expect(run_check(taskbench, home, task, target="Specie"), 2, "target column 'Specie' (--target) is not in the input data", "Did you mean 'Species'?")
    expect(taskbench("fit", "--code-dir", tmp_path / "nope", "--input", IRIS), 2,
           f"--code-dir {tmp_path / 'nope'} does not exist; give the task folder that holds custom.py.")
    expect(taskbench("fit", "--code-dir", IRIS, "--input", IRIS), 2, f"--code-dir {IRIS} is a file, not a folder")
    expect(run_check(taskbench, home, task, target_type="regression"), 2, "regression target must be numeric")
    expect(run_check(taskbench, home, task, "--memory", "lots"), 2, "memory size 'lots' is not understood")


def test_stray_background_process_does_not_hang_the_check(tmp_path, taskbench, home):
    """A task that leaves a child process holding its pipes still finishes, and the child is killed."""
    marker = tmp_path / "stray.pid"
    body = PRIOR_TASK.replace(
        "    prior = ",
        f"    import subprocess\n    p = subprocess.Popen(['sleep', '300'])\n    open({str(marker)!r}, 'w').write(str(p.pid))\n    prior = ",
    )
    result = run_check(taskbench, home, binary_task(tmp_path, body), "--timeout", "60")
    expect(result, 0, "Fit check passed")
    pid = int(marker.read_text())
    import os
    import time

    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.1)
    else:
        raise AssertionError("the task's background process survived the fit check")


def test_ctrl_c_cancels_and_cleans_up(tmp_path, home):
    """SIGINT to a running `taskbench fit` stops the worker and its children, exits 130, leaves nothing."""
    import os
    import signal
    import subprocess
    import sys
    import time

    marker = tmp_path / "started"
    body = PRIOR_TASK.replace("    prior = ", f"    open({str(marker)!r}, 'w').write('x')\n    import time\n    time.sleep(600)\n    prior = ")
    task = binary_task(tmp_path, body)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "fit", "--code-dir", str(task), "--input", str(IRIS), "--target-type", "binary", "--target", "Species"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ),
    )
    for _ in range(200):
        if marker.exists():
            break
        time.sleep(0.1)
    assert marker.exists(), "fit never started"
    proc.send_signal(signal.SIGINT)
    # The busy worker is killed, not asked to exit: asking waited 5 s for an answer and 5 s for the exit.
    out, _ = proc.communicate(timeout=8)
    assert proc.returncode == 130, out
    assert "cancelled" in out
    assert leftovers(home) == []
    assert processes_using(home) == []


def test_cancel_event_kills_the_worker_and_the_job_ends_cancelled(tmp_path, home):
    """A front end sets the cancel event while the task's fit hangs: the check returns at once, cancelled."""
    import threading
    import time

    from core.store import open_store
    from core.tasks.fitcheck import FitCheckOptions, run_fit_check

    marker = tmp_path / "started"
    body = PRIOR_TASK.replace("    prior = ", f"    open({str(marker)!r}, 'w').write('x')\n    import time\n    time.sleep(600)\n    prior = ")
    task = binary_task(tmp_path, body)

    class Quiet:
        def step(self, name, status, text):
            pass

        def task_output(self, chunk):
            pass

    cancel = threading.Event()
    options = FitCheckOptions(code_dir=task, input=IRIS, target="Species", target_type="binary", home=home)
    result = {}
    check = threading.Thread(target=lambda: result.setdefault("report", run_fit_check(options, Quiet(), cancel=cancel)))
    check.start()
    for _ in range(300):
        if marker.exists():
            break
        time.sleep(0.1)
    assert marker.exists(), "fit never started"
    cancelled_at = time.monotonic()
    cancel.set()
    check.join(timeout=10)
    assert not check.is_alive(), "the fit check did not stop when cancelled"
    assert time.monotonic() - cancelled_at < 3
    report = result["report"]
    assert report.cancelled and report.exit_code == 130 and report.message == "the fit check was cancelled."
    assert processes_using(home) == [], "a worker or task process outlived the cancelled check"
    assert leftovers(home) == []
    with open_store(home) as store:
        (job,) = store.list_jobs(limit=5)
        assert job.state == "cancelled" and job.exit_code == 130


def processes_using(home):
    """PIDs of live processes of this test's workspace: its path in their TASKBENCH_HOME (the CLI), or their
    working folder inside it (workers and task processes, whose environment no longer names the workspace)."""
    import os

    needle = f"TASKBENCH_HOME={home}".encode()
    inside = str(home) + os.sep
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/stat") as st:
                if st.read().rsplit(") ", 1)[1][0] in "ZX":
                    continue
            with open(f"/proc/{entry}/environ", "rb") as fh:
                named = needle in fh.read().split(b"\0")
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except (OSError, IndexError):
            continue
        if named or (cwd + os.sep).startswith(inside):
            found.append(int(entry))
    return found


def test_output_schema_applies_to_every_transform_call(tmp_path, taskbench, home):
    """A transform that passes a blanked column through breaks `contains_missing: NEVER` under --check-missing."""
    meta = """
    name: passthrough
    type: training
    targetType: transform
    typeSchema:
      output_requirements:
        - field: contains_missing
          condition: EQUALS
          value: NEVER
    """
    files = {"custom.py": TRANSFORM.replace("RESULT", "X"), "model-metadata.yaml": meta}
    result = run_check(taskbench, home, make_task(tmp_path, files), "--check-missing", target_type="transform")
    expect(result, 3, "with column 'Id' blanked (--check-missing)", "contains_missing NEVER")


def test_engine_killed_mid_fit_leaves_no_process_and_job_is_interrupted(tmp_path, home):
    """SIGKILL of `taskbench fit` while the task hangs: the worker notices, stops the task, and the next
    command marks the job interrupted."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from core.store import open_store

    marker = tmp_path / "started"
    body = PRIOR_TASK.replace("    prior = ", f"    open({str(marker)!r}, 'w').write('x')\n    import time\n    time.sleep(600)\n    prior = ")
    task = binary_task(tmp_path, body)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "fit", "--code-dir", str(task), "--input", str(IRIS), "--target-type", "binary", "--target", "Species"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ),
    )
    for _ in range(200):
        if marker.exists():
            break
        time.sleep(0.1)
    assert marker.exists(), "fit never started"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for _ in range(50):
        if not processes_using(home):
            break
        time.sleep(0.1)
    assert processes_using(home) == [], "the worker or the task outlived the killed engine"
    store = open_store(home)
    try:
        (job,) = store.list_jobs(limit=5)
        assert job.state == "interrupted"
        assert store.integrity_check() == "ok"
    finally:
        store.close()
