"""The user's pip settings carried into builds and cached venvs (issue 16): which settings pass, when a build needs
the host's network, and a cached venv installing from a wheelhouse with no index reachable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.environments import pipconfig
from core.environments.docker_build import BuildError
from core.environments.venvs import requirements_python
from tests.docker.test_offline_build import DEAD_INDEX, make_wheel


@pytest.fixture
def clean_pip(monkeypatch):
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST", "PIP_FIND_LINKS", "PIP_NO_INDEX",
                 "TASKBENCH_WHEELHOUSE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")


def test_pips_default_index_passes_nothing_and_a_local_find_links_folder_is_not_passed(clean_pip, monkeypatch):
    assert pipconfig.build_args() == {}
    monkeypatch.setenv("PIP_FIND_LINKS", "/opt/wheels https://example.org/wheels/")
    assert pipconfig.build_args() == {"PIP_FIND_LINKS": "https://example.org/wheels/"}


def test_index_settings_pass_and_a_loopback_index_needs_the_hosts_network(clean_pip, monkeypatch, tmp_path):
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:8000/simple")
    monkeypatch.setenv("PIP_TRUSTED_HOST", "127.0.0.1")
    monkeypatch.setenv("TASKBENCH_WHEELHOUSE", str(tmp_path))
    args = pipconfig.build_args()
    assert args == {"PIP_INDEX_URL": "http://127.0.0.1:8000/simple", "PIP_TRUSTED_HOST": "127.0.0.1",
                    "PIP_FIND_LINKS": "/opt/taskbench-wheels"}
    assert pipconfig.needs_host_network(args)
    assert not pipconfig.needs_host_network({"PIP_INDEX_URL": "https://mirror.example.org/simple"})
    assert pipconfig.needs_host_network({"PIP_EXTRA_INDEX_URL": "http://localhost:3141/root/pypi"})


def test_an_index_from_a_pip_conf_is_named_with_its_file(clean_pip, monkeypatch, tmp_path):
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nindex-url = https://mirror.example.org/simple\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    assert pipconfig.pip_index() == ("https://mirror.example.org/simple", str(conf))
    assert pipconfig.build_args() == {"PIP_INDEX_URL": "https://mirror.example.org/simple"}


def test_a_wheelhouse_that_is_no_folder_is_one_sentence(clean_pip, monkeypatch, tmp_path):
    monkeypatch.setenv("TASKBENCH_WHEELHOUSE", str(tmp_path / "absent"))
    with pytest.raises(BuildError, match="TASKBENCH_WHEELHOUSE=.* is not a folder; give a folder of wheels"):
        pipconfig.build_args()


def test_a_cached_venv_installs_from_the_wheelhouse_with_no_index_reachable(clean_pip, monkeypatch, tmp_path):
    wheel = make_wheel(tmp_path / "wheels", "taskbench_probe_venv")
    monkeypatch.setenv("PIP_INDEX_URL", DEAD_INDEX)
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("TASKBENCH_WHEELHOUSE", str(wheel.parent))
    lines: list[str] = []
    python = requirements_python(tmp_path / "ws", "taskbench_probe_venv==1.0\n", lines.append)
    said = " ".join(lines)
    assert f"pip installs from {DEAD_INDEX} (PIP_INDEX_URL) and the wheelhouse {wheel.parent}" in said
    out = subprocess.run([python, "-c", "import taskbench_probe_venv as p; print(p.MARK)"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "taskbench_probe_venv"


def test_a_cached_venv_without_the_package_names_the_index_it_tried(clean_pip, monkeypatch, tmp_path):
    from core.errors import TaskbenchError

    monkeypatch.setenv("PIP_INDEX_URL", DEAD_INDEX)
    monkeypatch.setenv("PIP_RETRIES", "0")
    with pytest.raises(TaskbenchError, match=f"could not be installed from the index {DEAD_INDEX} \\(PIP_INDEX_URL\\)"):
        requirements_python(tmp_path / "ws", "taskbench_probe_absent==1.0\n", lambda line: None)


def test_extra_indexes_come_from_the_variable_or_a_pip_conf_and_none_when_pip_loads_no_file(monkeypatch, tmp_path):
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    conf = tmp_path / "config" / "pip" / "pip.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text("[global]\nextra-index-url = file:///opt/a/simple\n    file:///opt/b/simple\n")
    if not (Path(sys.prefix) / "pip.conf").is_file():  # the only file pip prefers to the user's
        assert pipconfig.extra_indexes() == (["file:///opt/a/simple", "file:///opt/b/simple"], str(conf))
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "https://extra.example.org/simple")
    assert pipconfig.extra_indexes() == (["https://extra.example.org/simple"], "PIP_EXTRA_INDEX_URL")
    assert pipconfig.pip_sources().endswith("and the extra index https://extra.example.org/simple (PIP_EXTRA_INDEX_URL)")
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL")
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")  # pip then loads no configuration file at all
    assert pipconfig.extra_indexes() == ([], None)
    assert pipconfig.looked_in("Looking in indexes: https://pypi.org/simple, file:///opt/a/simple\n") == [
        "https://pypi.org/simple", "file:///opt/a/simple"]
    assert pipconfig.looked_in("Looking in links: /opt/wheels") is None


def test_no_index_is_said_as_such_with_the_find_links_pip_installs_from(clean_pip, monkeypatch, tmp_path):
    """With PIP_NO_INDEX (or a pip.conf's no-index) pip reads no index: the sentences must not name pypi.org."""
    assert pipconfig.pip_sources().startswith("the index https://pypi.org/simple")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", "/opt/wheels")
    assert pipconfig.pip_sources() == "no index (PIP_NO_INDEX): only the find-links /opt/wheels (PIP_FIND_LINKS)"
    monkeypatch.delenv("PIP_NO_INDEX")
    monkeypatch.delenv("PIP_FIND_LINKS")
    conf = tmp_path / "pip.conf"
    conf.write_text("[install]\nno-index = true\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    assert pipconfig.pip_sources().startswith(f"no index ({conf}): ")  # find-links: wherever this machine sets them
