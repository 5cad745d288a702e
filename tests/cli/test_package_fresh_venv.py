"""A package exported from one workspace scores identically in a fresh virtual environment and workspace (SPEC §9).

The fresh environment is a new venv with taskbench installed from this
checkout (`pip install .`, as the README's first command does) and nothing
else: the task code of the package's nodes (two sample tasks and a built-in)
comes from the package, never from this repository's sample folder.
"""

from __future__ import annotations

import os
import subprocess
import venv

import pandas as pd
import pytest

from tests.conftest import DATA, REPO, SAMPLES

JUNIORS = DATA / "juniors_3_year_stats_regression.csv"
INFERENCE = DATA / "juniors_3_year_stats_regression_inference.csv"
IRIS = DATA / "iris_binary_training.csv"


@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory):
    """The Python of a new venv with taskbench installed (non-editable) from this checkout."""
    folder = tmp_path_factory.mktemp("fresh") / "venv"
    venv.EnvBuilder(with_pip=True).create(folder)
    python = folder / "bin" / "python"
    build = tmp_path_factory.mktemp("build")
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(REPO)],
        check=False, capture_output=True, text=True, cwd=build, env={**os.environ, "PIP_NO_INPUT": "1"}, timeout=900,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    return python


def fresh_taskbench(python, home, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(TASKBENCH_HOME=str(home), PATH=f"{python.parent}:{env.get('PATH', '')}")
    # Run from an empty folder so the checkout's packages cannot shadow the installed ones.
    return subprocess.run([str(python.parent / "taskbench"), *map(str, args)], check=False, capture_output=True, text=True,
                          cwd=home.parent, env=env, timeout=300)


def test_installed_copy_is_not_this_checkout(fresh_python, tmp_path):
    found = subprocess.run([str(fresh_python), "-c", "import core; print(core.__file__)"], check=False, capture_output=True,
                           text=True, cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    assert not found.stdout.strip().startswith(str(REPO)), found.stdout


@pytest.mark.parametrize(
    "data, target, blueprint, inference",
    [
        (JUNIORS, "Grade 2014", "num = transform_median_impute(NUM)\nmodel = regression_ridge(num)\n", INFERENCE),
        (IRIS, "Species", "num = impute_median(NUM)\nscaled = standardize(num)\nmodel = binary_class_interface(scaled)\n",
         None),
    ],
    ids=["regression", "binary"],
)
def test_package_scores_identically_in_a_fresh_venv_and_workspace(
    fresh_python, taskbench, tmp_path, data, target, blueprint, inference
):
    for sample in ("01_transform_median_impute", "11_regression_ridge", "07_binary_class_interface"):
        assert taskbench("task", "add", SAMPLES / sample).exit_code == 0
    created = taskbench("project", "create", data, "--target", target, "--name", "origin")
    assert created.exit_code == 0, created.output
    bp = tmp_path / "model.bp"
    bp.write_text(blueprint)
    trained = taskbench("train", "origin", bp)
    assert trained.exit_code == 0, trained.output
    inference = inference or data
    here = taskbench("predict", "1", "--input", inference, "--output", tmp_path / "here.csv")
    assert here.exit_code == 0, here.output
    exported = taskbench("export", "1", "--to", tmp_path / "model.zip")
    assert exported.exit_code == 0, exported.output

    fresh_home = tmp_path / "fresh" / "workspace"
    fresh_home.parent.mkdir()
    there = fresh_taskbench(fresh_python, fresh_home, "predict", "--package", tmp_path / "model.zip",
                            "--input", inference, "--output", tmp_path / "there.csv")
    assert there.returncode == 0, there.stdout + there.stderr
    local, remote = pd.read_csv(tmp_path / "here.csv"), pd.read_csv(tmp_path / "there.csv")
    assert len(local) == len(pd.read_csv(inference)) and len(local.columns) >= 1
    pd.testing.assert_frame_equal(local, remote, check_exact=True)
    assert (fresh_home / "packages").is_dir()
