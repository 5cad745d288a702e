"""What a task's processes can and cannot escape in local mode: escaped grandchildren, limits, the environment.

The escaping task forks, calls setsid() in the child and forks again, so its
grandchild is in another session and, once the middle process exits, an orphan;
it writes its pid to a file and sleeps (optionally holding memory).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import DATA, make_task
from tests.cli.test_fit_faults import PRIOR_TASK, expect, processes_using

IRIS = DATA / "iris_binary_training.csv"
JUNIORS = DATA / "juniors_3_year_stats_regression.csv"

ESCAPE = '''
import os
import time


def _escape():
    """fork -> setsid -> fork: the grandchild is an orphan in a session of its own."""
    pid_file = os.environ["ESCAPE_PID_FILE"]
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            with open(pid_file + ".tmp", "w") as fh:
                fh.write(str(os.getpid()))
            os.rename(pid_file + ".tmp", pid_file)
            hog = b"x" * (int(os.environ.get("ESCAPE_MB", "0")) << 20)  # written, so resident
            time.sleep(600)
            os._exit(0)
        os._exit(0)
    os.wait()
    while not os.path.exists(pid_file):
        time.sleep(0.02)
    if os.environ.get("ESCAPE_THEN_WAIT"):
        time.sleep(600)
'''

ESCAPING_BINARY = ESCAPE + PRIOR_TASK.replace("    prior = ", "    _escape()\n    prior = ")

ESCAPING_REGRESSOR = ESCAPE + '''

def fit(X, y, output_dir, **kwargs):
    _escape()
    import pickle
    with open(os.path.join(output_dir, "model.pkl"), "wb") as fh:
        pickle.dump(float(y.mean()), fh)


def predict(X, model, **kwargs):
    import pandas as pd
    return pd.DataFrame({"Predictions": [model] * len(X)})
'''


def alive(pid: int) -> bool:
    """True while `pid` is a running (not zombie) process."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(") ", 1)[1][0] not in "ZX"
    except (OSError, IndexError):
        return False


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def escaping_task(tmp_path, monkeypatch, body=ESCAPING_BINARY, mb=0, wait=False):
    pid_file = tmp_path / "grandchild.pid"
    monkeypatch.setenv("ESCAPE_PID_FILE", str(pid_file))
    monkeypatch.setenv("ESCAPE_MB", str(mb))
    if wait:
        monkeypatch.setenv("ESCAPE_THEN_WAIT", "1")
    else:
        monkeypatch.delenv("ESCAPE_THEN_WAIT", raising=False)
    return make_task(tmp_path, {"custom.py": body}), pid_file


def kill_if_alive(pid_file):
    """Test hygiene: never leave the grandchild running when an assertion failed."""
    if pid_file.exists():
        try:
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_a_setsid_grandchild_is_killed_when_the_fit_check_returns(tmp_path, taskbench, home, monkeypatch):
    task, pid_file = escaping_task(tmp_path, monkeypatch)
    try:
        result = taskbench("fit", "--code-dir", task, "--input", IRIS, "--target-type", "binary", "--target", "Species", "--timeout", "120")
        expect(result, 0, "Fit check passed")
        pid = int(pid_file.read_text())
        assert gone_within(pid, 5), "the task's setsid() grandchild outlived the fit check"
    finally:
        kill_if_alive(pid_file)


def test_a_setsid_grandchild_counts_against_the_memory_limit(tmp_path, taskbench, home, monkeypatch):
    """The grandchild holds 600 MB while the fit waits: the step is stopped for memory, and the grandchild with it."""
    task, pid_file = escaping_task(tmp_path, monkeypatch, mb=600, wait=True)
    try:
        result = taskbench(
            "fit", "--code-dir", task, "--input", IRIS, "--target-type", "binary", "--target", "Species",
            "--memory", "256m", "--timeout", "120",
        )
        expect(result, 1, "over the limit of 256 MB, and was stopped")
        assert gone_within(int(pid_file.read_text()), 5), "the grandchild holding the memory survived"
    finally:
        kill_if_alive(pid_file)


def test_kill_9_of_the_cli_kills_the_setsid_grandchild(tmp_path, home, monkeypatch):
    task, pid_file = escaping_task(tmp_path, monkeypatch, wait=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "fit", "--code-dir", str(task), "--input", str(IRIS),
         "--target-type", "binary", "--target", "Species"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ),
    )
    try:
        deadline = time.monotonic() + 60
        while not pid_file.exists():
            assert time.monotonic() < deadline and proc.poll() is None, "the task's fit never started"
            time.sleep(0.05)
        pid = int(pid_file.read_text())
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert gone_within(pid, 5), "the setsid() grandchild outlived the killed CLI"
        assert gone_within_all(home, 5) == []
    finally:
        proc.kill()
        kill_if_alive(pid_file)


def gone_within_all(home, seconds):
    deadline = time.monotonic() + seconds
    while (left := processes_using(home)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


@pytest.mark.timeout(240)  # before the fix the training waited on the grandchild, which held its output pipe
def test_train_leaves_no_setsid_grandchild(tmp_path, taskbench, home, monkeypatch):
    task, pid_file = escaping_task(tmp_path, monkeypatch, body=ESCAPING_REGRESSOR)
    (task / "model-metadata.yaml").write_text("name: escaper\ntype: training\ntargetType: regression\n")
    try:
        assert taskbench("project", "create", JUNIORS, "--target", "Grade 2014", "--name", "juniors").exit_code == 0
        assert taskbench("task", "add", task).exit_code == 0
        blueprint = tmp_path / "escaper.bp"
        blueprint.write_text("model = escaper(NUM)\n")
        result = taskbench("train", "juniors", blueprint)
        assert result.exit_code == 0, result.output
        assert gone_within(int(pid_file.read_text()), 5), "the task's setsid() grandchild outlived the training"
        assert processes_using(home) == []
    finally:
        kill_if_alive(pid_file)


ENV_PROBE = PRIOR_TASK.replace(
    "    prior = ",
    '''    import json, os
    home = os.environ.get("TASKBENCH_HOME", "")
    readable = bool(home) and os.access(os.path.join(home, "taskbench.db"), os.R_OK)
    with open(os.environ["ENV_DUMP"], "w") as fh:
        json.dump({"env": dict(os.environ), "db_readable_from_env": readable}, fh)
    prior = ''',
)

SECRETS = {
    "TASKBENCH_SERVE_TOKEN": "s3cret-token",
    "TASKBENCH_SERVE_CONFIG": '{"token": "s3cret-token"}',
    "TASKBENCH_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt",
}
KEPT = {
    "HTTPS_PROXY": "http://proxy.example:3128",
    "PIP_INDEX_URL": "https://pypi.example/simple",
    "REQUESTS_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt",
    "OMP_NUM_THREADS": "1",
    "LANG": "C.UTF-8",
}


def test_task_code_sees_no_taskbench_variables(tmp_path, taskbench, home, monkeypatch):
    """The workspace path and the serve token are not in a local task's environment; what tasks need is."""
    dump = tmp_path / "env.json"
    monkeypatch.setenv("ENV_DUMP", str(dump))
    for name, value in {**SECRETS, **KEPT}.items():
        monkeypatch.setenv(name, value)
    task = make_task(tmp_path, {"custom.py": ENV_PROBE})
    result = taskbench("fit", "--code-dir", task, "--input", IRIS, "--target-type", "binary", "--target", "Species")
    expect(result, 0, "Fit check passed")
    import json

    seen = json.loads(dump.read_text())
    assert (home / "taskbench.db").exists()
    assert not seen["db_readable_from_env"]
    leaked = sorted(name for name in seen["env"] if name.startswith("TASKBENCH_"))
    assert leaked == [], f"taskbench's own variables reached the task: {leaked}"
    assert "s3cret-token" not in json.dumps(seen["env"])
    for name, value in KEPT.items():
        assert seen["env"].get(name) == value, name
    assert seen["env"]["PATH"] == os.environ["PATH"] and seen["env"]["HOME"] == os.environ["HOME"]


def test_pip_environment_keeps_the_ca_bundle_and_drops_taskbench_variables(monkeypatch, tmp_path):
    """requirements.txt builds run a package's own code: they get PIP_CERT, not the workspace or a token."""
    from core.environments.venvs import pip_environment

    bundle = tmp_path / "ca.pem"
    bundle.write_text("x")
    monkeypatch.setenv("TASKBENCH_CA_BUNDLE", str(bundle))
    monkeypatch.setenv("TASKBENCH_SERVE_TOKEN", "s3cret-token")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    env = pip_environment()
    assert env["PIP_CERT"] == str(bundle) and env["HTTPS_PROXY"] == "http://proxy.example:3128"
    assert not [name for name in env if name.startswith("TASKBENCH_")]


def test_task_show_says_what_network_applies(tmp_path, taskbench, home):
    """A python-local task gets the host's network (not 'none'); a Docker one none unless its metadata says so."""
    import json

    from core.tasks.versions import get_task_version
    from core.store import open_store
    from tui.panes.tasks import metadata_text

    local = make_task(tmp_path, {"custom.py": PRIOR_TASK, "model-metadata.yaml": "name: local\ntype: training\ntargetType: binary\n"}, name="local")
    online = make_task(tmp_path, {"custom.py": PRIOR_TASK, "model-metadata.yaml": "name: online\ntype: training\ntargetType: binary\nnetwork: true\n"}, name="online")
    assert taskbench("task", "add", local).exit_code == 0
    assert taskbench("task", "add", local, "--name", "boxed", "--env", "python-sklearn").exit_code == 0
    assert taskbench("task", "add", online, "--env", "python-sklearn").exit_code == 0

    def shown(name):
        result = taskbench("task", "show", name)
        assert result.exit_code == 0, result.output
        return next(line.split(None, 1)[1] for line in result.output.splitlines() if line.strip().startswith("network"))

    assert shown("local") == "host (local runner: no network isolation)"
    assert shown("boxed").startswith("none (Docker")
    assert shown("online").startswith("on (Docker; network: true")
    data = json.loads(taskbench("task", "show", "local", "--json").output)
    assert data["network_access"].startswith("host")
    with open_store(home) as store:
        text = metadata_text(get_task_version(store, "local")).plain
    assert "network  host (local runner: no network isolation)" in text


ENV_REGRESSOR = '''
import json
import os
import pickle

import pandas as pd


def fit(X, y, output_dir, **kwargs):
    with open(os.path.join(output_dir, "model.pkl"), "wb") as fh:
        pickle.dump(float(y.mean()), fh)


def predict(X, model, **kwargs):
    with open(os.environ["ENV_DUMP"], "w") as fh:
        json.dump(sorted(os.environ), fh)
    return pd.DataFrame({"Predictions": [model] * len(X)})
'''


def test_batch_scoring_runs_task_code_without_taskbench_variables(tmp_path, taskbench, home, monkeypatch):
    """`taskbench predict` runs a local task's code in its scoring process: no workspace path or token there either."""
    import json

    dump = tmp_path / "env.json"
    monkeypatch.setenv("ENV_DUMP", str(dump))
    monkeypatch.setenv("TASKBENCH_SERVE_TOKEN", "s3cret-token")
    task = make_task(tmp_path, {"custom.py": ENV_REGRESSOR, "model-metadata.yaml": "name: envdump\ntype: training\ntargetType: regression\n"})
    assert taskbench("project", "create", JUNIORS, "--target", "Grade 2014", "--name", "juniors").exit_code == 0
    assert taskbench("task", "add", task).exit_code == 0
    blueprint = tmp_path / "envdump.bp"
    blueprint.write_text("model = envdump(NUM)\n")
    assert taskbench("train", "juniors", blueprint).exit_code == 0
    (row,) = json.loads(taskbench("leaderboard", "juniors", "--json").output)
    assert not [name for name in json.loads(dump.read_text()) if name.startswith("TASKBENCH_")]  # the training worker
    dump.unlink()
    result = taskbench("predict", str(row["model"]), "--input", JUNIORS, "--output", tmp_path / "out.csv")
    assert result.exit_code == 0, result.output
    assert [name for name in json.loads(dump.read_text()) if name.startswith("TASKBENCH_")] == []


ESCAPING_SCORER = ESCAPE + '''

def fit(X, y, output_dir, **kwargs):
    import pickle
    with open(os.path.join(output_dir, "model.pkl"), "wb") as fh:
        pickle.dump(float(y.mean()), fh)


def predict(X, model, **kwargs):
    import pandas as pd
    if os.environ.get("ESCAPE_PID_FILE"):
        _escape()
    return pd.DataFrame({"Predictions": [model] * len(X)})
'''


def test_batch_scoring_kills_a_setsid_grandchild(tmp_path, taskbench, home, monkeypatch):
    """`taskbench predict` scores local task code in its own process, a subreaper too: an escaped grandchild ends with it."""
    import json

    monkeypatch.delenv("ESCAPE_PID_FILE", raising=False)
    task = make_task(tmp_path, {"custom.py": ESCAPING_SCORER,
                                "model-metadata.yaml": "name: escaper\ntype: training\ntargetType: regression\n"})
    assert taskbench("project", "create", JUNIORS, "--target", "Grade 2014", "--name", "juniors").exit_code == 0
    assert taskbench("task", "add", task).exit_code == 0
    blueprint = tmp_path / "escaper.bp"
    blueprint.write_text("model = escaper(NUM)\n")
    assert taskbench("train", "juniors", blueprint).exit_code == 0
    (row,) = json.loads(taskbench("leaderboard", "juniors", "--json").output)
    _, pid_file = escaping_task(tmp_path, monkeypatch)
    try:
        result = taskbench("predict", str(row["model"]), "--input", JUNIORS, "--output", tmp_path / "out.csv")
        assert result.exit_code == 0, result.output
        assert gone_within(int(pid_file.read_text()), 5), "the task's setsid() grandchild outlived predict"
    finally:
        kill_if_alive(pid_file)
