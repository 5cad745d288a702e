"""R tasks in Docker: the built-in r-base image, an R task's requirements.txt as Debian's r-cran-* packages
(a cached image layer; one sentence for a package Debian does not build), and R tasks' fit checks in r-base,
DataRobot's R templates among them (the runs of tests/cli/test_r_templates.py, with --env r-base).

Like every Docker test these skip with a reason where no engine answers, and fail instead when
TASKBENCH_REQUIRE_DOCKER=1 (CI).
"""

from __future__ import annotations

import json
import re
import time

import pandas as pd
import pytest

from core.environments import R_BASE, builtin_context
from core.environments.docker_build import BuildError, build_image, r_requirements_image
from core.environments.rpackages import no_debian_build
from core.environments.versions import environment_versions, get_environment_version, list_environments
from core.store import open_store
from tests.cli.test_r_templates import RUNS as TEMPLATE_RUNS
from tests.cli.test_r_templates import test_r_template_passes_fit_check as check_template_locally_checked
from tests.conftest import DATA, SAMPLES, leftovers, make_task
from tests.docker.test_docker_build import images  # noqa: F401 - the fixture removing test images
from tests.docker_support import require_base_image

R_BASE_TEST_TAG = "taskbench-env-r-base:test"
TEMPLATE_PACKAGES = ["recipes", "statmod", "glmnet", "caret", "e1071", "gbm", "tidyverse", "Matrix", "jsonlite"]
JUNIORS = DATA / "juniors_3_year_stats_regression.csv"
IRIS = DATA / "iris_binary_training.csv"
FIT_JUNIORS = ["--input", JUNIORS, "--target-type", "regression", "--target", "Grade 2014"]

# The mean of the target, whatever R package the requirements add; fit says which version it loaded.
MEAN_TASK = """
fit <- function(X, y, output_dir, ...) {
  cat(sprintf("loaded %s %s\\n", "PKG", as.character(utils::packageVersion("PKG"))))
  saveRDS(mean(as.numeric(unlist(y))), file.path(output_dir, "artifact.rds"))
}

score <- function(data, model, ...) {
  data.frame(Predictions = rep(model, nrow(data)))
}
"""


def test_r_base_is_a_builtin_docker_environment_snapshotted_from_its_shipped_folder(taskbench, home):
    listed = {e["name"]: e for e in json.loads(taskbench("env", "list", "--json").stdout)}
    assert listed[R_BASE]["kind"] == "docker" and listed[R_BASE]["builtin"] is True
    assert list(listed)[:3] == ["python-local", "python-sklearn", R_BASE]
    shown = taskbench("env", "show", R_BASE)
    assert shown.exit_code == 0, shown.output
    assert "r-cran-tidyverse" in shown.output  # its Dockerfile
    with open_store(home) as store:
        version = get_environment_version(store, R_BASE)
        assert version.dockerfile.read_bytes() == (builtin_context(R_BASE) / "Dockerfile").read_bytes()
        list_environments(store)
        assert [v.version for v in environment_versions(store, R_BASE)] == [1]  # not snapshotted again


@pytest.fixture(scope="session")
def r_base_image() -> str:
    """The built-in r-base environment built once per session (Docker's layer cache makes a rebuild quick)."""
    require_base_image()
    build_image(builtin_context(R_BASE), R_BASE_TEST_TAG, on_log=lambda line: None)
    return R_BASE_TEST_TAG


def flat(text: str) -> str:
    return " ".join(text.split())


def in_container(docker_client, image: str, script: str) -> str:
    """What `sh -c script` prints in `image`, as the worker runs there: no network, not root, HOME=/tmp."""
    out = docker_client.containers.run(
        image, ["sh", "-c", script], remove=True, network_mode="none", user="1000:1000",
        environment={"HOME": "/tmp"}, entrypoint=[],
    )
    return out.decode()


def test_r_base_has_rscript_the_template_packages_and_the_workers_python(r_base_image, docker_client):
    loads = ", ".join(f'"{name}"' for name in TEMPLATE_PACKAGES)
    script = (
        "command -v Rscript; "
        f"Rscript -e 'for (p in c({loads})) suppressPackageStartupMessages(library(p, character.only = TRUE)); "
        "cat(\"R\", R.version$major, \"loaded\", length(.packages()), \"\\n\")'; "
        "python3 -c 'import numpy, pandas, pyarrow, scipy.io, sklearn; print(\"python ok\", pandas.__version__)'"
    )
    out = in_container(docker_client, r_base_image, script)
    assert out.splitlines()[0] == "/usr/bin/Rscript", out
    assert re.search(r"^R 4 loaded \d+ $", out, re.M), out
    assert "python ok" in out, out


def test_r_requirements_layer_is_built_once_then_reused(r_base_image, docker_client, images):
    packages = ["randomForest"]  # Debian's r-cran-randomforest: not in r-base, and a lower-cased name
    first: list[str] = []
    tag = r_requirements_image(r_base_image, packages, on_log=first.append)
    images.append(tag)
    if not any(line.startswith(f"requirements image {tag} built") for line in first):  # a previous run's layer
        docker_client.images.remove(tag, force=True)
        first.clear()
        tag = r_requirements_image(r_base_image, packages, on_log=first.append)
    assert re.fullmatch(r"taskbench-req:[0-9a-f]{12}", tag)
    assert any(line.startswith(f"requirements image {tag} built") for line in first), first[-5:]
    assert any("r-cran-randomforest" in line for line in first)

    second: list[str] = []
    started = time.monotonic()
    assert r_requirements_image(r_base_image, packages, on_log=second.append) == tag
    assert time.monotonic() - started < 5
    assert len(second) == 1 and "reused" in second[0] and "built" not in second[0]

    out = in_container(docker_client, tag, "Rscript -e 'library(randomForest); cat(\"rf\", \"ok\", \"\\n\")' 2>&1")
    assert "rf ok" in out, out


def test_r_package_without_a_debian_build_is_one_sentence(r_base_image, images):
    with pytest.raises(BuildError) as caught:
        images.append(r_requirements_image(r_base_image, ["praise", "taskbenchNoSuchPkg"], on_log=lambda _: None))
    assert caught.value.message == no_debian_build(["taskbenchNoSuchPkg"])
    assert caught.value.message == (
        "R package 'taskbenchNoSuchPkg' has no Debian build (r-cran-taskbenchnosuchpkg); remove it from "
        "requirements.txt or use an environment whose Dockerfile installs it."
    )
    assert "taskbench: no Debian build: r-cran-taskbenchnosuchpkg" in caught.value.log_tail


def test_r_requirements_over_an_image_without_r_say_so(python_sklearn_image):
    with pytest.raises(BuildError) as caught:
        r_requirements_image(python_sklearn_image, ["praise"], on_log=lambda _: None)
    assert caught.value.message.startswith(f"The image {python_sklearn_image} has no R (Rscript) or no apt-get")
    assert caught.value.message.endswith("an environment whose Dockerfile installs Debian's R.")
    assert "\n" not in caught.value.message


def test_r_task_with_requirements_passes_fit_in_r_base_and_reuses_its_layer(
    r_base_image, docker_client, tmp_path, taskbench, home
):
    task = make_task(tmp_path, {"custom.R": MEAN_TASK.replace("PKG", "praise"), "requirements.txt": "praise\nstats\n"})
    args = ["fit", "--code-dir", task, *FIT_JUNIORS, "--env", R_BASE, "--verbose"]

    started = time.monotonic()
    first = taskbench(*args)
    first_seconds = time.monotonic() - started
    assert first.exit_code == 0, first.output
    text = flat(first.output)
    assert "Fit check passed" in text and "scores the same as the full data" in text
    assert re.search(r"loaded praise \d", text), first.output
    assert f"{R_BASE}@1 (image taskbench-req:" in text, "the task ran in its requirements layer over r-base"
    tag = re.search(r"image (taskbench-req:[0-9a-f]{12})", text)[1]
    try:
        started = time.monotonic()
        second = taskbench(*args)
        second_seconds = time.monotonic() - started
        assert second.exit_code == 0, second.output
        assert f"requirements image {tag} reused" in flat(second.output)
        assert "installing R packages" not in flat(second.output)
        print(f"fit in r-base with an R requirement: {first_seconds:.1f} s, then {second_seconds:.1f} s (layer reused)")
    finally:
        docker_client.images.remove(tag, force=True)
    assert "Traceback" not in first.output + second.output
    assert not (home / "venvs").exists(), "an R task's requirements are never pip-installed"
    assert leftovers(home) == []


def test_r_task_needing_a_package_debian_lacks_fails_fit_before_its_code_runs(r_base_image, tmp_path, taskbench, home):
    marker = tmp_path / "ran"
    code = MEAN_TASK.replace("PKG", "stats").replace("fit <- function(X, y, output_dir, ...) {",
                                                     f'fit <- function(X, y, output_dir, ...) {{\n  file.create("{marker}")')
    task = make_task(tmp_path, {"custom.R": code, "requirements.txt": "taskbenchNoSuchPkg  # not in Debian\n"})

    result = taskbench("fit", "--code-dir", task, *FIT_JUNIORS, "--env", R_BASE)

    assert result.exit_code == 1, result.output
    assert no_debian_build(["taskbenchNoSuchPkg"]) in flat(result.output)
    assert "Traceback" not in result.output and "failed at step" not in result.output
    assert not marker.exists()
    assert leftovers(home) == []


def test_r_task_requirements_are_not_pip_installed_locally(need_r, tmp_path, taskbench, home):
    """python-local: an R task's requirements.txt is R package names; R (the bridge) says what it lacks, pip never runs."""
    task = make_task(tmp_path, {"custom.R": MEAN_TASK.replace("PKG", "stats"),
                                "requirements.txt": "stats\ntaskbenchNoSuchPkg\n"})

    result = taskbench("fit", "--code-dir", task, *FIT_JUNIORS, "--verbose")

    assert result.exit_code != 0, result.output
    text = flat(result.output)
    assert "taskbenchNoSuchPkg" in text
    assert "pip" not in text and "could not be installed" not in text and "Traceback" not in text
    assert not (home / "venvs").exists()


def test_r_node_trains_and_predicts_in_r_base_after_a_local_python_node(r_base_image, tmp_path, taskbench, home):
    """A registered R task pinned to r-base trains (with CV) in a container, fed by a built-in Python node that runs
    locally; the model then predicts through the same two workers."""
    added = taskbench("task", "add", SAMPLES / "15_binary_r_ridge_logistic", "--name", "rridge", "--env", R_BASE)
    assert added.exit_code == 0, added.output
    assert taskbench("project", "create", IRIS, "--target", "Species", "--name", "iris").exit_code == 0
    blueprint = tmp_path / "mixed.bp"
    blueprint.write_text("num = impute_median(NUM)\nmodel = rridge(num)\n")

    trained = taskbench("train", "iris", blueprint, "--cv")

    assert trained.exit_code == 0, trained.output
    log = (home / "logs" / "job-1.log").read_text()
    assert "segment 1/2 in python-local: num" in log
    assert f"segment 2/2 in {R_BASE}@1: model" in log
    assert f"worker for {R_BASE}@1 (image taskbench-env-r-base:" in log
    assert "r_ridge_logistic: lambda=1" in log
    board = json.loads(taskbench("leaderboard", "iris", "--json").output)
    assert board[0]["validation"]["AUC"] > 0.99 and board[0]["cv"]["AUC"] > 0.99

    predicted = taskbench("predict", "1", "--input", IRIS, "--output", tmp_path / "out.csv")
    assert predicted.exit_code == 0, predicted.output
    out = pd.read_csv(tmp_path / "out.csv")
    assert out["prediction"].value_counts().to_dict() == {"Iris-setosa": 73, "Iris-versicolor": 36}
    assert "Traceback" not in trained.output + predicted.output
    assert leftovers(home) == []


@pytest.mark.parametrize("run", list(TEMPLATE_RUNS))
def test_drum_r_template_passes_fit_in_r_base(run, r_base_image, need_r, taskbench, home, tmp_path, monkeypatch):
    """DataRobot's R templates pass in r-base exactly as they do on the local R: the same runs, the same phrases."""
    outputs: list[str] = []

    def in_r_base(*args):
        result = taskbench(*args, "--env", R_BASE)
        outputs.append(result.output)
        return result

    check_template_locally_checked(run, need_r, in_r_base, home, tmp_path, monkeypatch)
    # r-base itself, or its layer with the template's requirements.txt (statmod, glmnet) over it
    assert re.search(rf"{R_BASE}@1 \(image taskbench-(env-r-base|req):", flat(outputs[0])), outputs[0]


def test_a_requirement_line_that_is_no_r_package_name_is_bad_input(need_r, tmp_path, taskbench, home):
    task = make_task(tmp_path, {"custom.R": MEAN_TASK.replace("PKG", "stats"), "requirements.txt": "stats\nglmnet[all]\n"})

    result = taskbench("fit", "--code-dir", task, *FIT_JUNIORS)

    assert result.exit_code == 2, result.output
    assert ("requirements.txt line 'glmnet[all]' is not an R package name; an R task's requirements.txt lists one R "
            "package per line (letters, digits and dots, starting with a letter).") in flat(result.output)
    assert leftovers(home) == []
