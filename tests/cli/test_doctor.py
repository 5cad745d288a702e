"""`taskbench doctor` in each state the issue names: no engine, an engine without and with the base image, an
unreachable package index, a shared workspace with wrong modes; and what the workspace needs decides the exit code."""

from __future__ import annotations

import grp
import json
import os
import shutil

import pytest

from tests.conftest import SAMPLES
from tests.docker_support import require_base_image

NO_ENGINE = "unix:///nonexistent/taskbench-doctor.sock"
DEAD_INDEX = "http://127.0.0.1:9/simple"  # the discard port: nothing listens on loopback


def report(taskbench, *args):
    result = taskbench("doctor", "--json", *args)
    found = json.loads(result.output)
    return result.exit_code, {c["name"]: c for c in found["checks"]}, found


@pytest.fixture
def offline(monkeypatch):
    """No engine and no index, unless a test sets them again; the base image setting unset."""
    monkeypatch.setenv("DOCKER_HOST", NO_ENGINE)
    monkeypatch.setenv("PIP_INDEX_URL", DEAD_INDEX)
    monkeypatch.delenv("TASKBENCH_BASE_IMAGE", raising=False)


def test_no_engine_is_reported_with_the_fix_but_not_counted_when_nothing_needs_docker(taskbench, offline):
    code, checks, found = report(taskbench)
    assert checks["docker"]["status"] == "fail" and "No Docker engine answers at " + NO_ENGINE in checks["docker"]["detail"]
    assert "start dockerd" in checks["docker"]["fix"] and not checks["docker"]["needed"]
    assert checks["base image"]["status"] == "skip"
    assert checks["python"]["status"] == "ok" and checks["workspace"]["status"] == "ok"
    assert code == 0 and found["ok"] is True


def test_docker_given_or_a_base_image_set_makes_a_missing_engine_fail_the_doctor(taskbench, offline, monkeypatch):
    code, checks, found = report(taskbench, "--docker")
    assert code == 1 and checks["docker"]["blocking"] and checks["package index"]["blocking"]
    monkeypatch.setenv("TASKBENCH_BASE_IMAGE", "taskbench-base:bookworm")
    code, checks, _ = report(taskbench)
    assert code == 1 and "TASKBENCH_BASE_IMAGE is set" in checks["docker"]["detail"]
    plain = taskbench("doctor")
    assert plain.exit_code == 1 and "fix: start dockerd" in plain.output
    assert "check(s) your configuration needs failed: docker, package index" in " ".join(plain.output.split())


def test_a_registered_task_in_a_docker_environment_needs_the_engine(taskbench, offline, tmp_path):
    task = tmp_path / "boxed"
    shutil.copytree(SAMPLES / "11_regression_ridge", task)
    meta = task / "model-metadata.yaml"
    meta.write_text(meta.read_text() + "environmentID: python-sklearn\n")
    assert taskbench("task", "add", task).exit_code == 0
    code, checks, _ = report(taskbench)
    assert code == 1 and checks["docker"]["needed"] and "regression_ridge" in checks["docker"]["detail"]


def test_an_unreachable_index_names_the_index_and_where_it_came_from(taskbench, offline):
    _, checks, _ = report(taskbench)
    index = checks["package index"]
    assert index["status"] == "fail" and DEAD_INDEX in index["detail"] and "PIP_INDEX_URL" in index["detail"]
    assert "PIP_FIND_LINKS" in index["fix"] and not index["needed"]


def test_the_index_check_lists_the_extra_indexes_pip_also_looks_in(taskbench, offline, monkeypatch, tmp_path):
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "https://mirror.example/simple https://ci:s3cret@wheels.example/simple")
    _, checks, _ = report(taskbench)
    detail = checks["package index"]["detail"]
    assert detail.startswith(f"{DEAD_INDEX} (from PIP_INDEX_URL) does not answer")
    assert ("pip also looks in the extra indexes https://mirror.example/simple, https://ci:****@wheels.example/simple "
            "(from PIP_EXTRA_INDEX_URL)") in detail and "s3cret" not in detail
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL")
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nextra-index-url = https://mirror.example/simple\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    _, checks, _ = report(taskbench)
    assert f"the extra index https://mirror.example/simple (from {conf})" in checks["package index"]["detail"]
    assert "mirror.example" in " ".join(taskbench("doctor").output.split())


def test_an_engine_without_the_base_image_says_so_and_fails_when_it_is_set(taskbench, docker_engine, monkeypatch):
    monkeypatch.setenv("TASKBENCH_BASE_IMAGE", "taskbench-doctor-absent:none")
    code, checks, _ = report(taskbench)
    assert checks["docker"]["status"] == "ok" and "answers at" in checks["docker"]["detail"]
    base = checks["base image"]
    assert base["status"] == "fail" and "taskbench-doctor-absent:none is not here" in base["detail"]
    assert "TASKBENCH_BASE_IMAGE" in base["fix"] and code == 1


def test_an_engine_with_the_base_image_passes(taskbench, docker_engine, monkeypatch):
    base = require_base_image()
    monkeypatch.setenv("TASKBENCH_BASE_IMAGE", base)
    monkeypatch.delenv("PIP_INDEX_URL", raising=False)
    _, checks, _ = report(taskbench)
    assert checks["docker"]["status"] == "ok" and checks["base image"]["status"] == "ok"
    assert checks["base image"]["detail"] in (f"{base} is here.",
                                              f"{base} is not here but its registry has it; the first build pulls it.")


def test_a_shared_workspace_with_a_folder_not_group_writable_fails_naming_it(taskbench, offline, home):
    group = grp.getgrgid(os.getgid()).gr_name
    init = taskbench("workspace", "init", home, "--group", group)
    assert init.exit_code == 0, init.output
    assert taskbench("task", "list").exit_code == 0  # the first open makes the workspace's folders
    code, checks, _ = report(taskbench)
    assert checks["sharing"]["status"] == "ok" and code == 0
    folder = sorted(p for p in home.iterdir() if p.is_dir() and not p.name.startswith("."))[0]
    os.chmod(folder, 0o755)
    code, checks, _ = report(taskbench)
    sharing = checks["sharing"]
    assert code == 1 and sharing["status"] == "fail" and str(folder) in sharing["detail"]
    assert "drwxr-xr-x" in sharing["detail"] and f"chgrp {group} FOLDER && chmod 2770 FOLDER" in sharing["fix"]


def test_a_database_from_a_newer_taskbench_fails_the_schema_check(taskbench, offline, home):
    import sqlite3

    assert taskbench("task", "list").exit_code == 0
    with sqlite3.connect(home / "taskbench.db") as conn:
        conn.execute("PRAGMA user_version = 999")
    code, checks, _ = report(taskbench)
    assert code == 1 and "schema 999, newer than this taskbench knows" in checks["schema"]["detail"]


def test_a_port_in_use_is_a_warning_naming_it(taskbench, offline):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, checks, _ = report(taskbench, "--port", str(port))
    assert checks["serve port"]["status"] == "warn" and f"port {port} is in use" in checks["serve port"]["detail"]
    assert code == 0


def test_a_registered_r_task_needs_r(taskbench, offline, monkeypatch, tmp_path):
    import sys

    assert taskbench("task", "add", SAMPLES / "15_binary_r_ridge_logistic").exit_code == 0
    bare = tmp_path / "bin"
    bare.mkdir()
    (bare / "python").symlink_to(sys.executable)
    monkeypatch.setenv("PATH", str(bare))  # no Rscript on it
    code, checks, _ = report(taskbench)
    assert code == 1 and checks["R"]["status"] == "fail" and checks["R"]["needed"]
    assert "Rscript is not on PATH" in checks["R"]["detail"] and "apt-get install r-base-core" in checks["R"]["fix"]


def test_no_index_is_no_index_to_reach(taskbench, offline, monkeypatch):
    """PIP_NO_INDEX: pip reads only its find-links, so an unreachable PIP_INDEX_URL is not a failure to report."""
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", "/opt/wheels")
    _, checks, _ = report(taskbench)
    index = checks["package index"]
    assert index["status"] == "ok" and DEAD_INDEX not in index["detail"]
    assert "no index (PIP_NO_INDEX): only the find-links /opt/wheels (PIP_FIND_LINKS)" in index["detail"]
