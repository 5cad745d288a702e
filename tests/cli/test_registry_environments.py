"""Environment rows: built-ins without adding, custom Dockerfile folders versioned like tasks, build state."""

from __future__ import annotations

import json

import pytest

from core.errors import UsageError
from core.environments import versions as envs
from core.store import open_store
from tests.conftest import make_task, tree_digest

DOCKERFILE = "FROM python:3.11-slim\nCOPY requirements.txt /tmp/\nRUN pip install -r /tmp/requirements.txt\n"


@pytest.fixture
def store(home):
    with open_store(home) as s:
        yield s


@pytest.fixture
def env_folder(tmp_path):
    return make_task(tmp_path, {"Dockerfile": DOCKERFILE, "requirements.txt": "xgboost==2.0.3\n"}, "xgb-env")


def test_builtins_are_listed_without_being_added(taskbench):
    result = taskbench("env", "list", "--json")
    assert result.exit_code == 0, result.output
    listed = {e["name"]: e for e in json.loads(result.stdout)}
    assert listed["python-local"]["kind"] == "local"
    assert listed["python-local"]["builtin"] is True
    assert listed["python-sklearn"]["kind"] == "docker"
    assert listed["python-sklearn"]["builtin"] is True
    assert list(listed)[:2] == ["python-local", "python-sklearn"]
    human = taskbench("env", "list").output
    assert "python-local (built-in)" in human and "python-sklearn (built-in)" in human


@pytest.mark.skipif(not (envs.BUILTIN_SKLEARN_DIR / "Dockerfile").is_file(), reason="the built-in Dockerfile is not in this checkout")
def test_builtin_sklearn_is_the_shipped_dockerfile(store, taskbench, tmp_path):
    version = envs.get_environment_version(store, "python-sklearn")
    assert version.dockerfile.read_bytes() == (envs.BUILTIN_SKLEARN_DIR / "Dockerfile").read_bytes()
    shown = taskbench("env", "show", "python-sklearn")
    assert shown.exit_code == 0, shown.output
    assert "FROM" in shown.output and "unbuilt" in shown.output
    envs.list_environments(store)
    assert [v.version for v in envs.environment_versions(store, "python-sklearn")] == [1]  # not re-added


def test_custom_environment_versions_like_tasks(taskbench, env_folder, tmp_path, store):
    first = taskbench("env", "add", env_folder, "--name", "xgb")
    assert first.exit_code == 0, first.output
    assert "Added xgb@1" in first.output
    again = taskbench("env", "add", env_folder, "--name", "xgb")
    assert "xgb@1 already has this content" in again.output
    (env_folder / "requirements.txt").write_text("xgboost==2.1.0\n")
    assert "Added xgb@2" in taskbench("env", "add", env_folder, "--name", "xgb").output
    assert [v.version for v in envs.environment_versions(store, "xgb")] == [1, 2]

    shown = json.loads(taskbench("env", "show", "xgb@1", "--json").stdout)
    assert shown["dockerfile"] == DOCKERFILE
    assert shown["status"] == "unbuilt"
    assert [f["path"] for f in shown["files"]] == ["Dockerfile", "requirements.txt"]

    target = tmp_path / "downloaded"
    assert taskbench("env", "download", "xgb@2", "--to", target).exit_code == 0
    assert tree_digest(target) == tree_digest(env_folder)
    assert "no version 9; it has 1–2" in taskbench("env", "show", "xgb@9").output


def test_folder_without_dockerfile_is_refused(taskbench, tmp_path):
    folder = make_task(tmp_path, {"requirements.txt": "x\n"}, "nodocker")
    result = taskbench("env", "add", folder)
    assert result.exit_code == 2
    assert "has no Dockerfile; an environment folder needs one at its top" in result.output


def test_builtin_names_cannot_be_taken(store, env_folder):
    with pytest.raises(UsageError, match="python-sklearn is a built-in environment"):
        envs.add_environment(store, env_folder, name="python-sklearn")
    with pytest.raises(UsageError, match="python-local is the Python taskbench runs on"):
        envs.get_environment_version(store, "python-local")


def test_build_state_is_recorded(store, env_folder, taskbench):
    version, _ = envs.add_environment(store, env_folder, name="custom")
    assert version.status == "unbuilt"
    job = store.create_job("env-build", "build custom@1", {"environment": "custom@1"})
    building = envs.set_environment_build(store, version.id, "building", job_id=job.id)
    assert (building.status, building.build_job_id, building.built_at) == ("building", job.id, None)
    built = envs.set_environment_build(store, version.id, "built", image_id="sha256:abc123")
    assert (built.status, built.image_id, built.build_job_id) == ("built", "sha256:abc123", job.id)
    assert built.built_at is not None
    listed = {e["name"]: e for e in json.loads(taskbench("env", "list", "--json").stdout)}
    assert listed["custom"]["status"] == "built"
    assert listed["custom"]["image_id"] == "sha256:abc123"
    assert "sha256:abc123" in taskbench("env", "show", "custom").output
    with pytest.raises(UsageError, match="not one of unbuilt, building, built, failed"):
        envs.set_environment_build(store, version.id, "done")


def test_python_local_show(taskbench):
    result = taskbench("env", "show", "python-local")
    assert result.exit_code == 0
    assert "The Python taskbench runs on" in result.output


def test_env_show_prints_the_dockerfile_as_written(taskbench, tmp_path):
    """Line continuations keep one backslash and `[global]` stays text: a Dockerfile is never read as markup."""
    folder = tmp_path / "cont"
    folder.mkdir()
    text = "FROM python:3.11-slim\nRUN pip install a && \\\n    pip install b\nRUN printf '[global]\\n' > /etc/pip.conf\n"
    (folder / "Dockerfile").write_text(text)
    assert taskbench("env", "add", folder, "--name", "cont").exit_code == 0
    shown = taskbench("env", "show", "cont").output
    assert "RUN pip install a && \\\n" in shown and "&& \\\\" not in shown
    assert "printf '[global]\\n' > /etc/pip.conf" in shown
