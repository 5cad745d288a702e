"""One settings module and one workspace layout: every TASKBENCH_* variable is read through core/settings.py, on use
(never at import), and every workspace folder is named by core/workspace.py, so the sweep on open knows its temps."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import settings, workspace
from core.errors import EXIT_USAGE, UsageError

ROOT = Path(__file__).resolve().parents[2]
NOT_MODULES = ("core/builtin_tasks/", "core/runtime/drum_shim/", "core/environments/python-sklearn/")
LAYOUT_NAMES = {"logs", "tmp", "objects", "models", "cache", "packages", "venvs"}


def modules() -> list[Path]:
    """Every Python module of core and tui, but task folders the worker runs."""
    found = []
    for package in ("core", "tui"):
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if not rel.startswith(NOT_MODULES) and "__pycache__" not in rel:
                found.append(path)
    return found


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def variable_names(source: str) -> list[str]:
    """String constants in code (not docstrings) that are a TASKBENCH_ variable's name or the prefix itself."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
        and node.value.startswith("TASKBENCH_") and node.value.replace("_", "").isalnum() and node.value.isupper()
    ]


def layout_literals(source: str) -> list[str]:
    """Workspace folder names written as literals in a path (`root / "logs"`, `root / "objects/tasks"`)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            for side in (node.left, node.right):
                if isinstance(side, ast.Constant) and isinstance(side.value, str):
                    if side.value.split("/")[0] in LAYOUT_NAMES:
                        found.append(side.value)
    return found


def test_the_finders_see_what_they_look_for():
    assert variable_names('MONITOR = float(os.environ.get("TASKBENCH_MONITOR_SECONDS", "2"))') == [
        "TASKBENCH_MONITOR_SECONDS"
    ]
    assert variable_names('PRIVATE_PREFIX = "TASKBENCH_"') == ["TASKBENCH_"]
    assert variable_names('def f():\n    """Reads $TASKBENCH_HOME."""\nHELP = "stops at TASKBENCH_X (default 2g)"') == []
    assert layout_literals('log = root / "logs" / "workbench.log"\nobjects = store.root / "objects" / "projects"') == [
        "logs", "objects"
    ]
    assert layout_literals('path = folder / "Dockerfile"') == []


# What each module may not write itself, the finder that sees it, the one module that may, and the fix.
RULES = {
    "taskbench-variable": (variable_names, ROOT / "core" / "settings.py", "read it through core.settings"),
    "workspace-folder": (layout_literals, ROOT / "core" / "workspace.py", "use core.workspace's names"),
}


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("path", modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_settings_and_workspace_folders_are_named_in_one_module(path, rule):
    finder, home, fix = RULES[rule]
    found = [] if path == home else finder(path.read_text(encoding="utf-8"))
    assert found == [], f"{path.name} names {found}: {fix}"


def test_the_sweep_walks_the_layouts_temporary_locations():
    from core.store import files

    assert files.TEMP_LOCATIONS is workspace.TEMP_LOCATIONS
    folders = {rel.removesuffix("/*") for rel, _ in workspace.TEMP_LOCATIONS}
    assert folders == {workspace.TASK_OBJECTS, workspace.ENVIRONMENT_OBJECTS, workspace.PROJECT_OBJECTS,
                       workspace.LOGS, workspace.MODELS, workspace.TMP, workspace.VENVS, workspace.PACKAGES,
                       workspace.CACHE}


def test_a_temp_path_and_a_scratch_folder_carry_names_the_sweep_recognises(tmp_path):
    from core.store import files

    assert workspace.ATOMIC_TEMP.match(files.temp_path(tmp_path, "x").name)
    scratch = workspace.scratch_dir(tmp_path, "serve-counts")
    assert scratch.parent == tmp_path / workspace.TMP
    assert int(workspace.SCRATCH_TEMP.match(scratch.name)["pid"]) == os.getpid()


def test_a_setting_is_read_on_use_and_a_bad_value_is_one_sentence(monkeypatch):
    monkeypatch.delenv("TASKBENCH_MONITOR_SECONDS", raising=False)
    assert settings.MONITOR_SECONDS.get() == 2.0
    monkeypatch.setenv("TASKBENCH_MONITOR_SECONDS", "0.5")
    assert settings.MONITOR_SECONDS.get() == 0.5
    for bad in ("soon", "0", "-1"):
        monkeypatch.setenv("TASKBENCH_MONITOR_SECONDS", bad)
        with pytest.raises(UsageError) as info:
            settings.MONITOR_SECONDS.get()
        assert info.value.exit_code == EXIT_USAGE
        assert info.value.message == f"TASKBENCH_MONITOR_SECONDS={bad!r} is not a number of seconds; write it like 2 or 0.5."
    monkeypatch.setenv("TASKBENCH_MONITOR_SECONDS", "  ")
    assert settings.MONITOR_SECONDS.get() == 2.0  # blank is unset


def test_package_limits_keep_their_sentences(monkeypatch):
    monkeypatch.setenv("TASKBENCH_PACKAGE_MAX_BYTES", "lots")
    with pytest.raises(UsageError, match=r"^TASKBENCH_PACKAGE_MAX_BYTES='lots' is not a size; write it like 500m or 4g\.$"):
        settings.PACKAGE_MAX_BYTES.get()
    monkeypatch.setenv("TASKBENCH_PACKAGE_MAX_BYTES", "4g")
    assert settings.PACKAGE_MAX_BYTES.get() == 4 << 30
    monkeypatch.setenv("TASKBENCH_PACKAGE_MAX_RATIO", "0.5")
    with pytest.raises(UsageError, match=r"is not a ratio; write a number of at least 1, like 200\.$"):
        settings.PACKAGE_MAX_RATIO.get()


def test_importing_the_server_reads_no_setting(tmp_path):
    """The server read TASKBENCH_MONITOR_SECONDS at import: a bad value was a ValueError traceback at import."""
    env = dict(os.environ, TASKBENCH_MONITOR_SECONDS="soon")
    done = subprocess.run([sys.executable, "-c", "import core.deploy.server"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_home_and_user_come_from_their_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("TASKBENCH_HOME", str(tmp_path / "ws"))
    monkeypatch.setenv("TASKBENCH_USER", "ada")
    assert workspace.home() == (tmp_path / "ws").resolve()
    assert workspace.home(tmp_path / "other") == (tmp_path / "other").resolve()
    assert workspace.current_user() == "ada"


def test_task_code_never_sees_taskbench_variables(monkeypatch):
    env = {"PATH": "/bin", "TASKBENCH_HOME": "/w", "taskbench_serve_token": "secret", "PIP_CERT": "/ca"}
    assert settings.task_environment(env) == {"PATH": "/bin", "PIP_CERT": "/ca"}
    from core.runners.base import task_environment

    assert task_environment(env) == {"PATH": "/bin", "PIP_CERT": "/ca"}
    mine = dict(env)
    settings.drop_own(mine)
    assert mine == {"PATH": "/bin", "PIP_CERT": "/ca"}


def test_every_setting_is_named_with_the_prefix_and_documented():
    assert len({s.name for s in settings.ALL}) == len(settings.ALL)
    for setting in settings.ALL:
        assert setting.name.startswith(settings.PREFIX) and setting.doc.endswith(".")
