"""The layer contracts, stated as tests over every module (harlequin's import contracts, by hand with ast).

- tui imports core; core never imports tui, textual, rich or typer.
- core/runtime is the harness: it runs inside workers and images, so it imports nothing else of core.
- core/store is the bottom of the engine: it imports no domain (tasks, environments, blueprints, training, …),
  only the shared leaves (errors, workspace, settings, units, joblog).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIP_PARTS = {"builtin_tasks", "drum_shim", "__pycache__"}
FRONT_END_LIBRARIES = {"textual", "rich", "typer", "tui"}
STORE_MAY_IMPORT = {"core.errors", "core.workspace", "core.settings", "core.units", "core.joblog", "core.store"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if not SKIP_PARTS & set(p.relative_to(ROOT).parts))


def imported(path: Path) -> set[str]:
    """Every module `path` imports, anywhere in the file (functions included), as absolute dotted names."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module
            found.add(prefix)
            found.update(f"{prefix}.{alias.name}" for alias in node.names)
    return found


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


CORE = modules("core")
RUNTIME = [p for p in CORE if within(module_name(p), "core.runtime")]
STORE = [p for p in CORE if within(module_name(p), "core.store")]


def test_the_walk_sees_the_layers():
    """The lists are not empty and the import reader resolves relative imports, so the contracts below can fail."""
    assert len(CORE) > 60 and RUNTIME and STORE
    store_py = ROOT / "core" / "store" / "store.py"
    assert "core.workspace" in imported(store_py)
    engine = ROOT / "core" / "training" / "engine.py"
    assert any(within(n, "core.store") for n in imported(engine))


@pytest.mark.parametrize("path", CORE, ids=module_name)
def test_core_imports_no_front_end(path):
    bad = sorted(n for n in imported(path) if n.split(".")[0] in FRONT_END_LIBRARIES)
    assert not bad, f"{module_name(path)} imports {bad}: core stays headless; front ends import core, not the reverse."


@pytest.mark.parametrize("path", RUNTIME, ids=module_name)
def test_runtime_imports_nothing_else_of_core(path):
    bad = sorted(n for n in imported(path) if within(n, "core") and not within(n, "core.runtime"))
    assert not bad, f"{module_name(path)} imports {bad}: the harness runs in workers and images on its own."


@pytest.mark.parametrize("path", STORE, ids=module_name)
def test_store_imports_no_domain(path):
    bad = sorted(
        n for n in imported(path)
        if within(n, "core") and n != "core" and not any(within(n, allowed) for allowed in STORE_MAY_IMPORT)
    )
    assert not bad, f"{module_name(path)} imports {bad}: the store knows rows and files, not the domains above it."


def test_every_core_module_imports_without_a_front_end_library():
    """Importing all of core at once (transitive imports included) loads no textual, rich, typer or tui."""
    names = [module_name(p) for p in CORE]
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "print(','.join(sorted({m.split('.')[0] for m in sys.modules} & {'textual', 'rich', 'typer', 'tui'})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
