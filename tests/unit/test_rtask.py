"""The R bridge itself (core/runtime/rtask.py, r/bridge.R): values cross both ways unchanged, hyperparameters
arrive typed, two tasks in one R process keep their own hooks, R's syntactic class names map back."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.runtime import rtask
from tests.conftest import make_task


def test_r_string_escapes_quotes_backslashes_and_control_characters():
    assert rtask.r_string('a"b\\c\nd\te\x01') == '"a\\"b\\\\c\\nd\\te\\x01"'
    assert rtask.r_string("Zürich") == '"Zürich"'


def test_packages_used_attaches_library_calls_in_order_and_only_loads_the_rest(tmp_path):
    folder = make_task(tmp_path, {
        "custom.R": """
            # library(commented_out)
            init <- function(code_dir) { library(caret); require("recipes") }
            fit <- function(X, y, output_dir, ...) { m <- glmnet::glmnet(X, y); requireNamespace('Matrix') }
        """,
        "requirements.txt": "statmod\n# a comment\n",
    })
    attach, load = rtask.packages_used(str(folder))
    assert attach == ["caret", "recipes"]
    assert load == ["statmod", "glmnet", "Matrix"]


IDENTITY = {
    "custom.R": """
        fit <- function(X, y, output_dir, parameters = NULL, ...) {
            saveRDS(list(classes = vapply(X, function(c) class(c)[1], ""), parameters = parameters),
                    file.path(output_dir, "m.rds"))
        }
        load_model <- function(input_dir) readRDS(file.path(input_dir, "m.rds"))
        transform <- function(X, transformer, ...) X
    """,
}


def test_frames_cross_to_r_and_back_unchanged(need_r, tmp_path):
    frame = pd.DataFrame({
        "Größe": [1.5, np.nan, 3.25, 1e-300, 123456789.123456789],
        "Stadt": ["Zürich", "a,b", 'q"uote', None, "NA"],
        "n": [1, 2, 3, 4, 5],
        "flag": [True, False, True, True, False],
    })
    task = rtask.RTaskCode(str(make_task(tmp_path, IDENTITY)), "custom.R")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    task.call("fit", X=frame, y=None, output_dir=str(out_dir), parameters={"alpha": 0.5, "depth": 3, "kind": "b"})
    model = task.load_model(str(out_dir), "transform")
    back = task.call("transform", frame, model)

    assert list(back.columns) == list(frame.columns)
    assert back["Größe"].equals(frame["Größe"])  # every bit of every float, NaN where it was
    assert back["n"].dtype == np.int64 and back["n"].tolist() == [1, 2, 3, 4, 5]
    assert back["Stadt"].tolist()[:3] == ["Zürich", "a,b", 'q"uote'] and pd.isna(back["Stadt"][3])
    assert back["Stadt"][4] == "NA"  # the text "NA" is text, not a missing value
    assert back["flag"].tolist() == ["True", "False", "True", "True", "False"]  # DRUM gives R bools as strings


def test_hyperparameters_arrive_typed_and_two_tasks_keep_their_own_hooks(need_r, tmp_path):
    probe = make_task(tmp_path, {
        "custom.R": """
            fit <- function(X, y, output_dir, parameters = NULL, ...) {
                kinds <- vapply(parameters, function(v) class(v)[1], "")
                saveRDS(paste(names(kinds), kinds, sep = "=", collapse = ","), file.path(output_dir, "m.rds"))
            }
            score <- function(data, model, ...) data.frame(Predictions = rep(nchar(model), nrow(data)))
            transform <- function(X, transformer, ...) stop("not this task's transform")
        """,
    }, "probe")
    other = make_task(tmp_path, {"custom.R": "transform <- function(X, transformer, ...) X * 2\n"}, "other")
    frame = pd.DataFrame({"a": [1.0, 2.0]})
    first = rtask.RTaskCode(str(probe), "custom.R")
    second = rtask.RTaskCode(str(other), "custom.R")  # loaded into the same R process
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    first.call("fit", X=frame, y=pd.Series([1.0, 2.0]), output_dir=str(out_dir),
               parameters={"alpha": 0.5, "depth": 3, "kind": "b", "on": True})
    model = first.load_model(str(out_dir), "regression")
    expected = len("alpha=numeric,depth=integer,kind=character,on=logical")
    assert first.defaults["score"](frame, model, target_type="regression")["Predictions"].tolist() == [expected] * 2
    doubled = second.call("transform", frame, second.load_model(str(out_dir), "transform"))
    assert doubled["a"].tolist() == [2.0, 4.0]
    with pytest.raises(rtask.TaskCrash, match="not this task's transform"):
        first.call("transform", frame, model)


def test_class_names_r_made_syntactic_map_back_to_the_labels(need_r, tmp_path):
    task = rtask.RTaskCode(str(make_task(tmp_path, {
        "custom.R": """
            fit <- function(X, y, output_dir, ...) saveRDS(1, file.path(output_dir, "m.rds"))
            score <- function(data, model, ...) data.frame(`Iris-setosa` = rep(0.25, nrow(data)),
                                                           `Iris-versicolor` = rep(0.75, nrow(data)))
        """,
    })), "custom.R")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    task.call("fit", X=pd.DataFrame({"a": [1.0]}), y=None, output_dir=str(out_dir))
    model = task.load_model(str(out_dir), "binary")
    labels = ["Iris-setosa", "Iris-versicolor"]
    out = task.call("score", pd.DataFrame({"a": [1.0, 2.0]}), model, target_type="binary", class_labels=labels)
    assert list(out.columns) == labels  # data.frame() made them Iris.setosa, Iris.versicolor


def test_task_code_reading_stdin_reads_nothing_and_the_bridge_keeps_working(need_r, tmp_path):
    task = rtask.RTaskCode(str(make_task(tmp_path, {
        "custom.R": """
            fit <- function(X, y, output_dir, ...) {
                got <- readLines(file("stdin"))
                saveRDS(length(got), file.path(output_dir, "m.rds"))
            }
            score <- function(data, model, ...) data.frame(Predictions = rep(model, nrow(data)))
        """,
    })), "custom.R")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    task.call("fit", X=pd.DataFrame({"a": [1.0]}), y=pd.Series([1.0]), output_dir=str(out_dir))
    model = task.load_model(str(out_dir), "regression")
    assert task.defaults["score"](pd.DataFrame({"a": [1.0]}), model)["Predictions"].tolist() == [0]


def test_boolean_class_labels_reach_r_spelled_like_the_target(need_r, tmp_path):
    # The target's booleans cross as the text "True"/"False" (as DRUM sends them), so class_order must too,
    # or `y == class_order[2]` is never true and the model learns nothing.
    task = rtask.RTaskCode(str(make_task(tmp_path, {
        "custom.R": """
            fit <- function(X, y, output_dir, class_order = NULL, ...) {
                saveRDS(list(order = class_order, hits = sum(y == class_order[2])), file.path(output_dir, "m.rds"))
            }
            score <- function(data, model, ...) {
                out <- data.frame(rep(0.5, nrow(data)), rep(0.5, nrow(data)))
                names(out) <- model$order
                if (model$hits != 2) stop("the positive class matched ", model$hits, " rows")
                out
            }
        """,
    })), "custom.R")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    task.call("fit", X=pd.DataFrame({"a": [1.0, 2.0, 3.0]}), y=pd.Series([False, True, True]),
              output_dir=str(out_dir), class_order=[False, True])
    model = task.load_model(str(out_dir), "binary")
    out = task.call("score", pd.DataFrame({"a": [1.0]}), model, target_type="binary", class_labels=[False, True])
    assert list(out.columns) == ["False", "True"]


def test_temp_folders_of_ended_processes_are_swept_and_live_ones_kept(tmp_path, monkeypatch):
    import os
    import subprocess

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(rtask.tempfile, "tempdir", None)
    ended = subprocess.Popen(["true"])
    ended.wait()
    dead = tmp_path / f"taskbench-r-{ended.pid}-abc"
    live = tmp_path / f"taskbench-r-{os.getpid()}-def"
    other = tmp_path / "taskbench-report"
    for folder in (dead, live, other):
        (folder / "Rtmp1").mkdir(parents=True)
    rtask.sweep_dead_folders()
    assert not dead.exists() and live.exists() and other.exists()
