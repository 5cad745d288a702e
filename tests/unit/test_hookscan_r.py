"""Reading custom.R's top-level hooks without running R: what is defined, what is certain, what warns."""

from __future__ import annotations

from types import SimpleNamespace

from core.tasks.hookscan import blueprint_scoring_gaps, missing_scoring_hook, r_functions, r_hooks

TEMPLATE = '''# fit <- function(X) in a comment defines nothing
library(recipes)
init <- function(code_dir) { library(statmod) }

fit <- function(X, y, output_dir, class_order=NULL, row_weights=NULL, ...){
    " a docstring with score <- function( and an unbalanced { inside "
    inner <- function(x) x
    helper = function(z) z
    train_df$target <- unlist(y)
}
score = function(data, model, ...) {
  r"(a raw string with } and transform <- function( )"
  data.frame(Predictions = predict(model, newdata = data))
}
`load_model` <<- \\(input_dir) readRDS(file.path(input_dir, "m.rds"))
threshold <- 0.5
post_process<-
  function(predictions, model) predictions
strip_glm = function(cm) cm
'''


def test_top_level_functions_in_every_assignment_form():
    assert r_functions(TEMPLATE) == {"init", "fit", "score", "load_model", "post_process", "strip_glm"}


def test_nested_definitions_strings_and_comments_are_not_hooks():
    text = 'outer <- function() {\n  fit <- function(X) X\n}\nx <- "fit <- function("\n# transform <- function(X)\n'
    assert r_functions(text) == {"outer"}


def test_a_file_that_binds_names_opaquely_is_not_read():
    assert r_functions("init <- function(code_dir) source(file.path(code_dir, 'create_pipeline.R'))\n") is None
    assert r_functions('assign("fit", function(X, y, output_dir) NULL)\n') is None
    # a name that merely contains an opaque call's name is fine
    assert r_functions("my_source <- 1\nfit <- function(X, y, output_dir, ...) NULL\n") == {"fit"}


def test_r_hooks_keeps_drum_hook_names_only(tmp_path):
    (tmp_path / "custom.R").write_text(TEMPLATE)
    assert r_hooks(tmp_path) == {"init", "fit", "score", "load_model", "post_process"}
    (tmp_path / "custom.py").write_text("def fit(X, y, output_dir, **kw):\n    pass\n")
    assert r_hooks(tmp_path) is None  # two task files: not an R task (task add refuses the folder)
    (tmp_path / "custom.py").unlink()
    (tmp_path / "custom.R").rename(tmp_path / "sub.R")
    (tmp_path / "r").mkdir()
    (tmp_path / "sub.R").rename(tmp_path / "r" / "custom.R")
    assert r_hooks(tmp_path) == {"init", "fit", "score", "load_model", "post_process"}  # found where the runtime looks


def test_an_r_task_without_fit_warns_for_every_target_type(tmp_path):
    (tmp_path / "custom.R").write_text("score <- function(data, model, ...) data\n")
    for target_type in (None, "regression", "binary", "transform"):
        text = missing_scoring_hook(tmp_path, target_type)
        assert text and "defines no top-level fit function" in text and "fit <- function(X, y, output_dir" in text
    (tmp_path / "custom.R").write_text("fit <- function(X, y, output_dir, ...) saveRDS(1, file.path(output_dir, 'a.rds'))\n")
    assert missing_scoring_hook(tmp_path, "binary") is None  # DRUM scores with predict(type = "prob") by default


def test_blueprint_gaps_name_an_r_transform_without_fit(tmp_path):
    r_task = tmp_path / "r"
    r_task.mkdir()
    (r_task / "custom.R").write_text("transform <- function(X, transformer, ...) X\n")
    py_task = tmp_path / "py"
    py_task.mkdir()
    (py_task / "custom.py").write_text("def fit(X, y, output_dir, **kwargs):\n    pass\n\n\n"
                                       "def transform(X, transformer):\n    return X\n")

    def task(path, kind):
        return SimpleNamespace(path=path, kind=kind, ref=path.name, target_types=("transform",))

    gaps = blueprint_scoring_gaps({"a": task(r_task, "transform"), "b": task(py_task, "transform")}, "binary")
    assert [name for name, _ in gaps] == ["a"]
    assert gaps[0][1].startswith("task 'r': custom.R defines no top-level fit function")


def test_language_line_names_the_hooks_or_says_they_cannot_be_read(tmp_path):
    from core.tasks.catalog import language_line

    (tmp_path / "custom.R").write_text(TEMPLATE)
    assert language_line(tmp_path) == "R (custom.R defines init, fit, load_model, score, post_process)"
    (tmp_path / "custom.R").write_text("init <- function(code_dir) source(file.path(code_dir, 'helpers.R'))\n")
    assert language_line(tmp_path) == "R (custom.R sources or assigns code, so its hooks are known only when it runs)"
    python = tmp_path / "py"
    python.mkdir()
    (python / "custom.py").write_text("")
    assert language_line(python) == "Python"
