"""The fault catalogue for R tasks: each broken custom.R gets the Python case's exit code and one sentence.

Mirrors tests/cli/test_fit_faults.py (same data, same checks that the folder is unchanged, nothing is left
behind and no process outlives the check), and adds that no engine traceback reaches the screen.
"""

from __future__ import annotations

import pytest

from tests.cli.test_fit_faults import JUNIORS, expect, run_check
from tests.conftest import make_task

# A binary task whose model is the class prior; each case below breaks it in one place.
PRIOR_TASK = """
fit <- function(X, y, output_dir, class_order = NULL, ...) {
  prior <- as.numeric(table(factor(y, levels = class_order))) / length(y)
  saveRDS(list(labels = class_order, prior = prior), file.path(output_dir, "artifact.rds"))
}

score <- function(data, model, ...) {
  values <- matrix(model$prior, nrow = nrow(data), ncol = length(model$prior), byrow = TRUE)
  out <- as.data.frame(values)
  names(out) <- model$labels
  out
}
"""

MEAN_TASK = """
fit <- function(X, y, output_dir, ...) {
  saveRDS(mean(y), file.path(output_dir, "mean.rds"))
}

score <- function(data, model, ...) {
  out <- rep(model, nrow(data))
  out[6] <- BAD
  data.frame(Predictions = out)
}
"""


def r_task(tmp_path, body=PRIOR_TASK, **extra):
    return make_task(tmp_path, {"custom.R": body, **extra})


def line_of(body: str, text: str) -> int:
    """1-based line of `text` in the task file as make_task writes it."""
    return body.lstrip("\n").splitlines().index(text) + 1


def expect_r(result, code, *phrases):
    """`expect`, plus: the engine's own traceback and frames never reach the screen."""
    expect(result, code, *phrases)
    assert "Traceback (most recent call last)" not in result.output, result.output
    for engine in ("core/runtime", "bridge.R", "rtask.py", "taskbench-r-"):  # taskbench-r-: the bridge's scratch
        assert engine not in result.output, f"engine frame {engine!r} on screen:\n{result.output}"


def test_baseline_r_prior_task_passes(need_r, tmp_path, taskbench, home):
    result = run_check(taskbench, home, r_task(tmp_path))
    expect_r(result, 0, "Fit check passed", "classes ['Iris-setosa', 'Iris-versicolor']", "artifacts: artifact.rds")


def test_r_error_in_fit_shows_message_and_the_users_frames(need_r, tmp_path, taskbench, home):
    body = PRIOR_TASK.replace(
        "fit <- function(X, y, output_dir, class_order = NULL, ...) {\n",
        'check_rows <- function(X) {\n  stop("boom")\n}\n\nfit <- function(X, y, output_dir, class_order = NULL, ...) {\n  check_rows(X)\n',
    )
    raised, called = line_of(body, '  stop("boom")'), line_of(body, "  check_rows(X)")
    result = run_check(taskbench, home, r_task(tmp_path, body))
    # One sentence naming the hook, the R error and where it was raised; then R's traceback of the task's frames.
    expect_r(result, 1, f"fit raised an R error: boom (custom.R line {raised})", f"custom.R line {called}: check_rows(X)")
    assert result.output.index(f"line {called}:") < result.output.index(f"line {raised}:"), "outermost frame first"


def test_r_score_returning_wrong_columns(need_r, tmp_path, taskbench, home):
    body = PRIOR_TASK.replace("names(out) <- model$labels", 'names(out) <- c("no", "yes")')
    result = run_check(taskbench, home, r_task(tmp_path, body))
    expect_r(result, 1, "returned columns ['no', 'yes']", "the class labels are ['Iris-setosa', 'Iris-versicolor']")


def test_r_score_returning_a_vector_instead_of_a_data_frame(need_r, tmp_path, taskbench, home):
    body = PRIOR_TASK.replace("  out\n}", "  values[, 1]\n}")
    result = run_check(taskbench, home, r_task(tmp_path, body))
    expect_r(result, 1, "score returned an R numeric", "it must return a data.frame")


@pytest.mark.parametrize("bad, word", [("NaN", "NaN"), ("NA", "NaN"), ("Inf", "infinite")])
def test_r_nan_and_infinite_predictions(need_r, tmp_path, taskbench, home, bad, word):
    task = r_task(tmp_path, MEAN_TASK.replace("BAD", bad))
    result = run_check(taskbench, home, task, data=JUNIORS, target="Grade 2014", target_type="regression")
    # R's out[6] is the sixth row: row 6, counted from 1 as the Python case reports it.
    expect_r(result, 1, word, "row 6", "Predictions must be finite numbers")


def test_r_library_of_missing_package_in_init_names_it(need_r, tmp_path, taskbench, home):
    body = "init <- function(code_dir) {\n  library(notapkg)\n}\n" + PRIOR_TASK
    result = run_check(taskbench, home, r_task(tmp_path, body))
    expect_r(result, 1, "custom.R line 2 loads R package 'notapkg'", "which is not installed", "requirements.txt")


def test_r_requirements_naming_a_missing_package_stop_before_fit(need_r, tmp_path, taskbench, home):
    body = 'cat("custom.R was loaded\\n")\n' + PRIOR_TASK.replace(
        "  prior <- ", '  cat("fit started\\n")\n  prior <- '
    )
    task = r_task(tmp_path, body, **{"requirements.txt": "Matrix\nnotapkg\n"})
    result = run_check(taskbench, home, task)
    expect_r(result, 1, "R package 'notapkg' from requirements.txt is not installed", "r-cran-notapkg")
    assert "'Matrix'" not in result.output, "an installed package was named missing"
    assert "fit started" not in result.output and "custom.R was loaded" not in result.output, result.output


def test_r_hanging_fit_is_stopped_by_timeout(need_r, tmp_path, taskbench, home):
    body = PRIOR_TASK.replace("  prior <- ", "  Sys.sleep(600)\n  prior <- ")
    result = run_check(taskbench, home, r_task(tmp_path, body), "--timeout", "2")
    expect_r(result, 1, "fit did not finish within the time limit of 2 s")


def test_r_fit_exceeding_memory_limit(need_r, tmp_path, taskbench, home):
    body = PRIOR_TASK.replace(
        "  prior <- ",
        "  hog <- list()\n  for (i in 1:200) hog[[i]] <- numeric(20 * 2^17)\n  prior <- ",
    )
    result = run_check(taskbench, home, r_task(tmp_path, body), "--memory", "600m")
    expect_r(result, 1, "fit", "600 MB")
    assert "memory" in result.output.lower()


def test_r_quit_in_fit_is_named_as_a_likely_cause(need_r, tmp_path, taskbench, home):
    body = "fit <- function(X, y, output_dir, ...) {\n  quit(status = 3)\n}\n"
    result = run_check(taskbench, home, r_task(tmp_path, body))
    expect_r(result, 1, "during fit: custom.R called quit() or q()")
