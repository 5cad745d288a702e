"""`predict --package --docker` of a model with an R node trained on this machine: the R node scores in r-base (the
default python-sklearn image has no R), the Python nodes in python-sklearn, and the numbers match the local ones."""

from __future__ import annotations

import pandas as pd

from tests.cli.test_r_samples import export_mixed_model
from tests.conftest import DATA
from tests.docker_support import require_base_image

IRIS = DATA / "iris_binary_training.csv"
ACROSS_ENVIRONMENTS = 1e-6  # the images' numpy and R may round differently from the local ones


def test_a_package_with_an_r_node_scores_in_containers_like_here(taskbench, need_r, tmp_path, monkeypatch):
    from core.deploy.package import import_package, in_docker
    from core.store import open_store

    require_base_image()
    export_mixed_model(taskbench, tmp_path)
    home = tmp_path / "elsewhere"
    monkeypatch.setenv("TASKBENCH_HOME", str(home))

    boxed = taskbench("predict", "--package", tmp_path / "model.zip", "--input", IRIS, "--output", tmp_path / "box.csv",
                      "--docker")
    assert boxed.exit_code == 0, boxed.output
    local, remote = pd.read_csv(tmp_path / "local.csv"), pd.read_csv(tmp_path / "box.csv")
    assert list(local.columns) == list(remote.columns) and local["prediction"].equals(remote["prediction"])
    numbers = local.columns.drop("prediction")
    assert (local[numbers] - remote[numbers]).abs().max().max() < ACROSS_ENVIRONMENTS

    with open_store(home) as store:
        source = import_package(store.root, tmp_path / "model.zip")
        envs = {n["name"]: n["env"] for n in in_docker(store, source, None).plan["nodes"]}
    assert envs == {"num": "python-sklearn", "clipped": "python-sklearn", "model": "r-base"}
