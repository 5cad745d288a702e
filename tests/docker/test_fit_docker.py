"""The fit check in Docker: sample tasks in python-sklearn, custom images, network, requirements, limits.

These tests skip with a reason where no Docker engine answers, and fail instead
when TASKBENCH_REQUIRE_DOCKER=1 (CI).
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
import threading

import pytest

from tests.conftest import DATA, REPO, SAMPLES, leftovers, make_task, tree_digest
from tests.docker_support import PYTHON_SKLEARN_TEST_TAG, require_docker
from tests.cli.test_sample_tasks import EXPECTED, readme_commands

JUNIORS = DATA / "juniors_3_year_stats_regression.csv"
TEMPLATES = REPO / "tests" / "fixtures" / "drum_templates"


@pytest.fixture(autouse=True)
def docker_only(base_image):
    """Every test here needs an engine and the base image builds start from, and none may leave a worker container
    behind."""
    yield
    import docker

    client = docker.from_env()
    left = client.containers.list(all=True, filters={"label": "taskbench=worker"})
    client.close()
    assert left == [], f"worker containers left behind: {[c.name for c in left]}"


def flat(result):
    return " ".join(result.output.split())


# The R sample needs R, which python-sklearn has not: DataRobot's R templates run in r-base in test_r_docker.py.
PYTHON_SAMPLES = sorted(f for f in EXPECTED if (SAMPLES / f / "custom.py").is_file())


@pytest.mark.parametrize("folder", PYTHON_SAMPLES)
def test_sample_task_passes_in_python_sklearn_container(folder, taskbench, home, monkeypatch):
    monkeypatch.chdir(REPO)
    before = tree_digest(SAMPLES / folder)
    result = taskbench(*readme_commands()[folder], "--env", "python-sklearn")
    assert result.exit_code == 0, result.output
    text = flat(result)
    phrases, _ = EXPECTED[folder]
    assert "python-sklearn@1 (image taskbench-env-python-sklearn:" in text
    for phrase in ["Fit check passed", "scores the same as the full data", *phrases]:
        assert phrase in text, f"{phrase!r} missing from:\n{result.output}"
    assert tree_digest(SAMPLES / folder) == before
    assert leftovers(home) == []


REGRESSION_TASK = '''
import pickle
import pandas as pd


def fit(X, y, output_dir, **kwargs):
    BODY
    pickle.dump(float(y.mean()), open(f"{output_dir}/mean.pkl", "wb"))


def predict(X, model, **kwargs):
    return pd.DataFrame({"Predictions": [model] * len(X)})
'''


def regression_task(tmp_path, body, **extra):
    return make_task(tmp_path, {"custom.py": REGRESSION_TASK.replace("BODY", body), **extra})


def fit_args(task, *more):
    return ["fit", "--code-dir", task, "--input", JUNIORS, "--target-type", "regression", "--target", "Grade 2014", *more]


def test_custom_environment_from_a_dockerfile_runs_a_task(tmp_path, taskbench, home, python_sklearn_image):
    env_dir = tmp_path / "my-env"
    env_dir.mkdir()
    (env_dir / "Dockerfile").write_text(
        f"FROM {python_sklearn_image}\nCOPY greeting.txt /opt/greeting.txt\n"
    )
    (env_dir / "greeting.txt").write_text("hello from my environment\n")
    task = regression_task(tmp_path, "print(open('/opt/greeting.txt').read().strip())")
    result = taskbench(*fit_args(task, "--docker", env_dir))
    assert result.exit_code == 0, result.output
    assert "hello from my environment" in flat(result)
    assert "(image taskbench-env-my-env:" in flat(result)
    again = taskbench(*fit_args(task, "--docker", env_dir, "--verbose"))
    assert "is up to date" in flat(again)


class _Listener:
    """A TCP server on the host that containers on the default bridge can reach."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("0.0.0.0", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()


def _bridge_gateway() -> str:
    import docker

    client = docker.from_env()
    try:
        config = client.networks.get("bridge").attrs["IPAM"]["Config"][0]
        # Some engines leave the gateway out of the IPAM config; it is then the subnet's first address.
        return config.get("Gateway") or str(ipaddress.ip_network(config["Subnet"])[1])
    finally:
        client.close()


def test_network_is_off_unless_the_task_or_command_allows_it(tmp_path, taskbench, home, python_sklearn_image):
    server = _Listener()
    body = (
        "import socket\n"
        f"    socket.create_connection(({_bridge_gateway()!r}, {server.port}), timeout=5).close()\n"
        "    print('network reached')"
    )
    task = regression_task(tmp_path, body)
    blocked = taskbench(*fit_args(task, "--docker", python_sklearn_image))
    assert blocked.exit_code == 1, blocked.output
    assert "fit raised OSError" in flat(blocked) or "unreachable" in flat(blocked).lower()
    assert server.accepted == 0

    allowed = taskbench(*fit_args(task, "--docker", python_sklearn_image, "--network"))
    assert allowed.exit_code == 0, allowed.output
    assert "network reached" in flat(allowed)

    meta = "name: online\ntype: training\ntargetType: regression\nnetwork: true\n"
    by_metadata = regression_task(tmp_path / "meta", body, **{"model-metadata.yaml": meta})
    result = taskbench(*fit_args(by_metadata, "--docker", python_sklearn_image))
    assert result.exit_code == 0, result.output
    assert server.accepted == 2
    server.sock.close()


def test_requirements_become_an_image_layer_built_once(tmp_path, taskbench, home, python_sklearn_image):
    task = regression_task(
        tmp_path, "import tomli_w\n    print(tomli_w.dumps({'ok': True}).strip())", **{"requirements.txt": "tomli-w\n"}
    )
    first = taskbench(*fit_args(task, "--docker", python_sklearn_image, "--verbose"))
    assert first.exit_code == 0, first.output
    assert "ok = true" in flat(first)
    assert "requirements image" in flat(first)
    second = taskbench(*fit_args(task, "--docker", python_sklearn_image, "--verbose"))
    assert second.exit_code == 0, second.output
    assert "reused" in flat(second)


def test_drum_xgboost_template_installs_its_requirement_in_both_runners(tmp_path, taskbench, home, python_sklearn_image):
    """DRUM's xgboost pipeline gets xgboost from requirements.txt (the 5 MB CPU build) in both runners."""
    task = tmp_path / "4_python3_xgboost"
    shutil.copytree(TEMPLATES / "4_python3_xgboost", task)
    (task / "requirements.txt").write_text("xgboost-cpu\n")
    for extra in ([], ["--docker", python_sklearn_image]):
        result = taskbench(*fit_args(task, *extra, "--verbose"))
        assert result.exit_code == 0, result.output
        assert "score on 1477 rows" in flat(result)
        again = taskbench(*fit_args(task, *extra, "--verbose"))
        assert again.exit_code == 0 and "reused" in flat(again), again.output


def test_timeout_and_memory_limits_in_a_container(tmp_path, taskbench, home, python_sklearn_image):
    hang = regression_task(tmp_path / "hang", "import time\n    time.sleep(600)")
    result = taskbench(*fit_args(hang, "--docker", python_sklearn_image, "--timeout", "3"))
    assert result.exit_code == 1 and "time limit of 3 s" in flat(result), result.output

    hog = regression_task(tmp_path / "hog", "hog = [bytearray(20 << 20) for _ in range(100)]")
    result = taskbench(*fit_args(hog, "--docker", python_sklearn_image, "--memory", "600m"))
    assert result.exit_code == 1, result.output
    assert "memory" in flat(result).lower()


def test_task_folder_is_read_only_in_the_container(tmp_path, taskbench, home, python_sklearn_image):
    task = regression_task(tmp_path, "import os\n    open(os.path.join(os.path.dirname(__file__), 'x.txt'), 'w')")
    before = tree_digest(task)
    result = taskbench(*fit_args(task, "--docker", python_sklearn_image))
    assert result.exit_code == 1
    assert "Read-only file system" in flat(result)
    assert tree_digest(task) == before


def test_unknown_image_is_a_usage_error(tmp_path, taskbench, home):
    require_docker()
    task = regression_task(tmp_path, "pass")
    result = taskbench(*fit_args(task, "--docker", "no-such-image:never"))
    assert result.exit_code == 2
    assert "neither a folder with a Dockerfile nor a local image" in flat(result)


def test_python_sklearn_tag_used_by_tests_is_shared(python_sklearn_image):
    assert python_sklearn_image == PYTHON_SKLEARN_TEST_TAG


def test_registered_environment_builds_once_and_runs_tasks(tmp_path, taskbench, home, python_sklearn_image):
    """`env add` a Dockerfile folder, `env build` it (a job with a log), then `fit --env NAME --cpus 1`."""
    env_dir = tmp_path / "team-env"
    env_dir.mkdir()
    unique = __import__("uuid").uuid4().hex  # a fresh image per run: tags are content-addressed
    (env_dir / "Dockerfile").write_text(f"FROM {python_sklearn_image}\nRUN echo team > /opt/team.txt  # {unique}\n")
    added = taskbench("env", "add", env_dir, "--name", "team")
    assert added.exit_code == 0, added.output
    built = taskbench("env", "build", "team")
    assert built.exit_code == 0, built.output
    assert "Built team@1 as image taskbench-env-team:" in flat(built)
    assert "Up to date" in flat(taskbench("env", "build", "team"))
    task = regression_task(tmp_path, "print('team file says', open('/opt/team.txt').read().strip())")
    result = taskbench(*fit_args(task, "--env", "team", "--cpus", "1"))
    assert result.exit_code == 0, result.output
    assert "team file says team" in flat(result)
    jobs = taskbench("jobs", "--json")
    kinds = [job["kind"] for job in __import__("json").loads(jobs.output)]
    assert kinds.count("env-build") == 1 and "fit" in kinds
    import docker

    client = docker.from_env()
    for image in client.images.list(name="taskbench-env-team"):
        client.images.remove(image.id, force=True)
    client.close()


def test_failed_environment_build_is_reported_with_its_step(tmp_path, taskbench, home, python_sklearn_image):
    env_dir = tmp_path / "broken-env"
    env_dir.mkdir()
    (env_dir / "Dockerfile").write_text(f"FROM {python_sklearn_image}\nRUN echo about to fail && false\n")
    assert taskbench("env", "add", env_dir, "--name", "broken").exit_code == 0
    result = taskbench("env", "build", "broken")
    assert result.exit_code == 1, result.output
    assert "step 2/2" in flat(result)
    shown = taskbench("env", "show", "broken", "--json")
    assert '"failed"' in shown.output


def test_blueprint_crosses_environments_local_then_docker(tmp_path, taskbench, home, python_sklearn_image, monkeypatch):
    """A registered task pinned to python-sklearn runs in a container; the built-in before it runs locally,
    and its outputs cross between the two workers as files."""
    monkeypatch.setenv("TASKBENCH_BASE_IMAGE", __import__("os").environ.get("TASKBENCH_BASE_IMAGE", ""))
    assert taskbench("task", "add", SAMPLES / "11_regression_ridge", "--env", "python-sklearn").exit_code == 0
    created = taskbench("project", "create", JUNIORS, "--target", "Grade 2014", "--name", "jr")
    assert created.exit_code == 0, created.output
    bp = tmp_path / "mixed.bp"
    bp.write_text("num = impute_median(NUM)\nmodel = regression_ridge(num)\n")
    result = taskbench("train", "jr", bp)
    assert result.exit_code == 0, result.output
    log = (home / "logs" / "job-1.log").read_text()
    assert "segment 1/2 in python-local: num" in log
    assert "segment 2/2 in python-sklearn@1: model" in log
    assert "worker for python-sklearn@1 (image taskbench-env-python-sklearn:" in log
    assert "regression_ridge: alpha=1.0" in log
    board = __import__("json").loads(taskbench("leaderboard", "jr", "--json").output)
    assert board[0]["validation"]["R2"] > 0.15


def test_builtin_task_with_its_shared_helper_runs_in_a_container(taskbench, home, python_sklearn_image):
    """Built-in tasks link one shared helper module; the container sees it through the link."""
    result = taskbench(*fit_args(REPO / "core" / "builtin_tasks" / "ridge", "--docker", python_sklearn_image))
    assert result.exit_code == 0, result.output
    assert "predict on 1477 rows" in flat(result)


def test_only_the_input_file_is_mounted_not_its_folder(tmp_path, taskbench, home, python_sklearn_image):
    """A task listing the input's folder in the container sees the input alone: a sibling private key stays out."""
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(JUNIORS, data / "train.csv")
    (data / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n")
    body = (
        "import os\n"
        f"    print('listing', sorted(os.listdir({str(data)!r})))\n"
        f"    print('key readable', os.path.exists({str(data / 'id_rsa')!r}))\n"
        "    print('taskbench variables', sorted(n for n in os.environ if n.startswith('TASKBENCH_')))"
    )
    task = regression_task(tmp_path, body)
    args = ["fit", "--code-dir", task, "--input", data / "train.csv", "--target-type", "regression", "--target", "Grade 2014"]
    result = taskbench(*args, "--docker", python_sklearn_image)
    assert result.exit_code == 0, result.output
    text = flat(result)
    assert "listing ['train.csv']" in text
    assert "key readable False" in text and "secret" not in text
    assert "taskbench variables []" in text


def test_a_docker_node_in_training_sees_neither_the_database_nor_other_files_of_the_workspace(
    tmp_path, taskbench, home, python_sklearn_image, monkeypatch
):
    """A container of a training job reads its task folder and the project's two files, and writes its model
    folder, scratch and the transform cache: the workspace database and the rest stay out of reach."""
    monkeypatch.setenv("TASKBENCH_BASE_IMAGE", __import__("os").environ.get("TASKBENCH_BASE_IMAGE", ""))
    body = (
        "import os\n"
        f"    print('database visible', os.path.exists({str(home / 'taskbench.db')!r}))\n"
        f"    print('logs visible', os.path.exists({str(home / 'logs')!r}))\n"
        f"    try:\n"
        f"        open({str(home / 'planted.txt')!r}, 'w').write('x')\n"
        f"        print('workspace writable True')\n"
        f"    except OSError:\n"
        f"        print('workspace writable False')"
    )
    task = regression_task(tmp_path, body, **{"model-metadata.yaml": "name: peek\ntype: training\ntargetType: regression\n"})
    assert taskbench("task", "add", task, "--name", "peek", "--env", "python-sklearn").exit_code == 0
    assert taskbench("project", "create", JUNIORS, "--target", "Grade 2014", "--name", "jr").exit_code == 0
    bp = tmp_path / "peek.bp"
    bp.write_text("num = impute_median(NUM)\nmodel = peek(num)\n")
    result = taskbench("train", "jr", bp)
    assert result.exit_code == 0, result.output
    log = (home / "logs" / "job-1.log").read_text()
    assert "database visible False" in log and "logs visible False" in log
    # (writing there may succeed inside the container's own file system, but never reaches the workspace)
    assert not (home / "planted.txt").exists()
    # scoring it again (holdout unlock) also runs in a container that reads only what it needs
    unlocked = taskbench("project", "unlock-holdout", "jr", "--yes")
    assert unlocked.exit_code == 0, unlocked.output
    board = __import__("json").loads(taskbench("leaderboard", "jr", "--json").output)
    assert "holdout" in board[0] and board[0]["holdout"]
