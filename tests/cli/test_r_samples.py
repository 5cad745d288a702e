"""The R sample task: registered and shown as R, trained after Python transforms in the demo's mixed blueprint,
exported as a package whose environment says R and which scores in a fresh workspace; the demo skips it without R."""

from __future__ import annotations

import json
import zipfile

import pandas as pd
import pytest

from tests.conftest import DATA, SAMPLES

R_SAMPLE = SAMPLES / "15_binary_r_ridge_logistic"
IRIS = DATA / "iris_binary_training.csv"


def flat(result) -> str:
    return " ".join(result.output.split())


def test_r_sample_registers_and_shows_as_r(taskbench):
    added = taskbench("task", "add", R_SAMPLE)
    assert added.exit_code == 0, added.output
    assert "warn" not in added.output  # its requirements.txt names R packages: nothing for pip to refuse
    shown = taskbench("task", "show", "r_ridge_logistic")
    assert "language R (custom.R defines fit, score)" in flat(shown)
    assert json.loads(taskbench("task", "show", "r_ridge_logistic", "--json").stdout)["language"] == "r"
    taskbench("task", "add", SAMPLES / "11_regression_ridge")
    listed = {t["name"]: t["language"] for t in json.loads(taskbench("task", "list", "--json").stdout)}
    assert listed == {"r_ridge_logistic": "r", "regression_ridge": "python"}
    table = taskbench("task", "list").output.splitlines()
    assert "language" in table[0]
    assert [line.split()[5] for line in table[1:]] == ["R", "Python"]


def export_mixed_model(taskbench, tmp_path) -> None:
    """The demo's Python → Python → R blueprint trained on iris as model 1, its predictions in tmp_path/local.csv and
    its package in tmp_path/model.zip."""
    from core.demo import R_BLUEPRINTS

    for folder in ("01_transform_median_impute", "05_transform_clip_outliers", "15_binary_r_ridge_logistic"):
        assert taskbench("task", "add", SAMPLES / folder).exit_code == 0
    assert taskbench("project", "create", IRIS, "--target", "Species", "--name", "iris").exit_code == 0
    (name, text), = R_BLUEPRINTS.items()
    blueprint = tmp_path / f"{name}.bp"
    blueprint.write_text(text.strip() + "\n")
    for step in (("train", "iris", blueprint), ("predict", "1", "--input", IRIS, "--output", tmp_path / "local.csv"),
                 ("export", "1", "--to", tmp_path / "model.zip")):
        done = taskbench(*step)
        assert done.exit_code == 0, done.output


def test_demo_blueprint_mixing_python_and_r_trains_exports_and_scores_elsewhere(taskbench, need_r, tmp_path,
                                                                               monkeypatch):
    export_mixed_model(taskbench, tmp_path)
    with zipfile.ZipFile(tmp_path / "model.zip") as zf:
        environment = json.loads(zf.read("environment.json"))
        assert "tasks/model/custom.R" in zf.namelist()
    assert environment["node_languages"] == {"num": "python", "clipped": "python", "model": "r"}
    assert environment["r"]["version"].count(".") == 2 and environment["r"]["packages"] == ["stats"]

    monkeypatch.setenv("TASKBENCH_HOME", str(tmp_path / "elsewhere"))
    remote = taskbench("predict", "--package", tmp_path / "model.zip", "--input", IRIS, "--output", tmp_path / "remote.csv")
    assert remote.exit_code == 0, remote.output
    scored = pd.read_csv(tmp_path / "remote.csv")
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "local.csv"), scored)
    assert scored.filter(like="Iris").sum(axis=1).round(6).eq(1).all()


def test_a_python_only_package_has_no_r_section(tmp_path):
    from core.deploy.package import environment_description

    plan = {"nodes": [{"name": "model", "task_dir": str(SAMPLES / "11_regression_ridge")}]}
    described = environment_description(plan)
    assert described["node_languages"] == {"model": "python"} and "r" not in described


@pytest.mark.parametrize("with_r", [True, False])
def test_demo_trains_the_r_blueprint_only_where_r_is_installed(with_r, home, monkeypatch, tmp_path, request):
    """The demo's choice of tasks and blueprints, without training them all (the whole demo is timed by hand)."""
    import core.training.engine as engine
    from core.demo import R_BLUEPRINTS, run_demo
    from core.store import open_store

    if not with_r:
        monkeypatch.setenv("PATH", str(tmp_path))  # the runtime finds Rscript on PATH only
    else:
        request.getfixturevalue("need_r")  # skipped without R, failed in CI
    trained = []
    monkeypatch.setattr(engine, "train_blueprints", lambda store, project, sources, **kw: trained.extend(sources))
    steps = []
    with open_store(home) as store:
        run_demo(store, SAMPLES, jobs=1, on_step=steps.append, on_event=lambda *a: None)
        registered = set(store.task_names())
    names = {source.label for source in trained}
    skipped = [s for s in steps if "R is not installed" in s]
    if with_r:
        assert set(R_BLUEPRINTS) <= names and "r_ridge_logistic" in registered and not skipped
    else:
        assert not set(R_BLUEPRINTS) & names and "r_ridge_logistic" not in registered
        assert skipped == ["R is not installed (no Rscript on PATH), so the R sample task and its blueprint are "
                           "skipped"]
        assert "sample-impute-clip-logreg" in names


def test_an_r_transform_without_fit_is_warned_at_add_and_at_its_blueprint_node(taskbench, tmp_path):
    from tests.conftest import make_task

    folder = make_task(tmp_path, {
        "custom.R": "transform <- function(X, transformer, ...) X\n",
        "model-metadata.yaml": "name: no_fit_r\ntype: training\ntargetType: transform\n",
    }, name="no_fit_r")
    warning = "custom.R defines no top-level fit function, so every fit of this task fails at once"
    added = taskbench("task", "add", folder)
    assert added.exit_code == 0 and warning in flat(added), added.output
    bp = tmp_path / "r.bp"
    bp.write_text("# target: binary\nnum = no_fit_r(NUM)\nmodel = logistic_regression(num)\n")
    checked = taskbench("blueprint", "check", bp)
    assert checked.exit_code == 0, checked.output
    assert f"{bp}:2:7: warning: task 'no_fit_r@1': {warning}" in flat(checked)
