"""`predict --package --docker` and `--env NAME`: a package's task code scores in containers, away from your files.

The package's model node is a copy of sample task 11 whose `custom.py`, when
imported, appends to a file on the host. Scored locally it writes there; scored
with --docker or --env it cannot (the container sees only the package,
read-only, and its scratch folder), and the predictions are the same. These
tests skip where no Docker engine answers and fail under TASKBENCH_REQUIRE_DOCKER=1.
"""

from __future__ import annotations

import shutil
import time

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.conftest import DATA, SAMPLES
from tests.docker.test_score_docker import our_containers

JUNIORS = DATA / "juniors_3_year_stats_regression.csv"
INFERENCE = DATA / "juniors_3_year_stats_regression_inference.csv"
ACROSS_ENVIRONMENTS = 1e-6  # the image's scikit-learn may differ from the local one


def run(*args):
    from tui.cli.main import app, normalize_argv

    return CliRunner().invoke(app, normalize_argv([str(a) for a in args]), catch_exceptions=False)


@pytest.fixture(scope="module")
def origin(tmp_path_factory, python_sklearn_image):
    """(package, host marker path, local predictions): a model exported from a workspace of its own."""
    root = tmp_path_factory.mktemp("package-docker")
    marker = root / "host" / "touched"
    marker.parent.mkdir()
    task = root / "ridge_marked"
    shutil.copytree(SAMPLES / "11_regression_ridge", task)
    code = (task / "custom.py").read_text()
    (task / "custom.py").write_text(f"try:\n    open({str(marker)!r}, 'a').write('imported on the host\\n')\n"
                                    f"except OSError:\n    pass\n{code}")
    pickler = root / "ridge_pickler"
    shutil.copytree(SAMPLES / "11_regression_ridge", pickler)
    (pickler / "custom.py").write_text(HOSTILE.format(marker=str(marker.with_name("unpickled"))) + code)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TASKBENCH_HOME", str(root / "workspace"))
        mp.setenv("COLUMNS", "200")
        assert run("task", "add", task, "--name", "ridge_marked").exit_code == 0
        assert run("task", "add", pickler, "--name", "ridge_pickler").exit_code == 0
        assert run("project", "create", JUNIORS, "--target", "Grade 2014", "--name", "jr").exit_code == 0
        (root / "m.bp").write_text("num = impute_median(NUM)\nmodel = ridge_marked(num)\n")
        (root / "p.bp").write_text("num = impute_median(NUM)\nmodel = ridge_pickler(num)\n")
        trained = run("train", "jr", root / "m.bp", root / "p.bp")
        assert trained.exit_code == 0, trained.output
        assert run("predict", "1", "--input", INFERENCE, "--output", root / "local.csv").exit_code == 0
        assert run("export", "1", "--to", root / "model.zip").exit_code == 0
        assert run("export", "2", "--to", root / "pickler.zip").exit_code == 0
    marker.unlink()
    return root / "model.zip", marker, pd.read_csv(root / "local.csv")


# In the container, replace the harness's frame writer with one that hands the host a pickle whose loading creates
# a file on the host: what any task can do to the process it runs in.
HOSTILE = """import pickle as _pickle, sys as _sys


class _Payload:
    def __reduce__(self):
        return (open, ({marker!r}, "w"))


def _hostile(frame, base):
    with open(base + ".pkl", "wb") as fh:
        _pickle.dump(_Payload(), fh)
    return base + ".pkl"


for _module in list(_sys.modules.values()):
    if hasattr(_module, "save_frame") and hasattr(_module, "run_segment"):
        _module.save_frame = _hostile
"""


@pytest.fixture(autouse=True)
def nothing_left_behind(home):
    yield
    deadline = time.time() + 10  # a container Docker is still removing
    while our_containers(home) and time.time() < deadline:
        time.sleep(0.2)
    assert our_containers(home) == []


def scored(taskbench, package, out, *extra):
    result = taskbench("predict", "--package", package, "--input", INFERENCE, "--output", out, *extra)
    assert result.exit_code == 0, result.output
    return pd.read_csv(out)


def last_log(home):
    return max((home / "logs").glob("job-*.log"), key=lambda p: int(p.stem[4:])).read_text()  # the predict job's


def test_docker_scores_every_node_in_a_container_and_the_host_is_untouched(origin, taskbench, home, tmp_path):
    package, marker, local = origin
    boxed = scored(taskbench, package, tmp_path / "docker.csv", "--docker")
    assert not marker.exists(), "the package's code ran on the host despite --docker"
    np.testing.assert_allclose(boxed["Predictions"], local["Predictions"], rtol=ACROSS_ENVIRONMENTS)
    assert "taskbench-env-python-sklearn:" in last_log(home)

    here = scored(taskbench, package, tmp_path / "here.csv")  # the same package without --docker runs on the host
    assert marker.exists()
    assert here.equals(local)
    marker.unlink()


def test_env_scores_every_node_in_the_named_environment(origin, taskbench, home, tmp_path, python_sklearn_image):
    package, marker, local = origin
    env_dir = tmp_path / "sk-boxed"
    env_dir.mkdir()
    (env_dir / "Dockerfile").write_text(f"FROM {python_sklearn_image}\n")
    assert taskbench("env", "add", env_dir, "--name", "sk-boxed").exit_code == 0
    boxed = scored(taskbench, package, tmp_path / "env.csv", "--env", "sk-boxed")
    assert not marker.exists(), "the package's code ran on the host despite --env"
    np.testing.assert_allclose(boxed["Predictions"], local["Predictions"], rtol=ACROSS_ENVIRONMENTS)
    log = last_log(home)
    assert "sk-boxed" in log and "python-sklearn@" not in log


def test_package_code_in_a_container_cannot_hand_the_host_a_pickle(origin, taskbench, home, tmp_path):
    package, marker, _ = origin
    unpickled = marker.with_name("unpickled")
    result = taskbench("predict", "--package", package.with_name("pickler.zip"), "--input", INFERENCE,
                       "--output", tmp_path / "p.csv", "--docker")
    assert result.exit_code == 1, result.output
    assert "node 'model' returned its output from the container as a pickle" in " ".join(result.output.split())
    assert not unpickled.exists(), "the host loaded a pickle the package's code wrote"
    assert not (tmp_path / "p.csv").exists()
