"""The store and registries are engine code: importing them loads no front-end library and no pandas."""

import subprocess
import sys

MODULES = [
    "core.store",
    "core.store.store",
    "core.store.files",
    "core.store.schema",
    "core.tasks.versions",
    "core.environments.versions",
    "core.jobs",
]


def test_store_and_registry_import_no_front_end_library_or_pandas():
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in MODULES)
        + "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'typer', 'pandas'))\n"
        + "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# ---------------------------------------------------------------- one store, behind its interface

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STORE = ROOT / "core" / "store"
SQL = re.compile(r"\bSELECT\b[\s\S]+\bFROM\b|\bINSERT\s+INTO\b|\bUPDATE\s+\w+\s+SET\b|\bDELETE\s+FROM\b|\bPRAGMA\s+\w+")
EXECUTE = {"execute", "executemany", "executescript"}


def outside_store() -> list[Path]:
    """Every Python file of core and tui that is not part of core/store."""
    return sorted(
        path
        for package in ("core", "tui")
        for path in (ROOT / package).rglob("*.py")
        if STORE not in path.parents and "__pycache__" not in path.parts
    )


def _names_a_store(node: ast.AST) -> bool:
    """`store`, `self.store`, `self._store`, `workspace.store`…: an expression that names a store."""
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
    return "store" in name.lower()


def private_store_access(source: str) -> list[str]:
    """`store._x`, `self.store._x` or `getattr(store, "_x")` in `source`, as 'LINE: code'."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            private, owner = node.attr, node.value
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "setattr")
              and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
            private, owner = node.args[1].value, node.args[0]
        else:
            continue
        if private.startswith("_") and not private.startswith("__") and _names_a_store(owner):
            found.append((node.lineno, f"{node.lineno}: {ast.unparse(node)}"))
    return [text for _, text in sorted(found)]


def sql_in(source: str) -> list[str]:
    """Calls of execute/executemany/executescript and SQL statements written as strings, as 'LINE: code'."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in EXECUTE:
            found.append((node.lineno, f"{node.lineno}: {ast.unparse(node.func)}(…)"))
        elif isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "x" for v in node.values)
            if SQL.search(text):
                found.append((node.lineno, f"{node.lineno}: {text[:60]!r}"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
            found.append((node.lineno, f"{node.lineno}: {node.value[:60]!r}"))
    return [text for _, text in sorted(found)]


def test_the_checks_find_what_they_look_for():
    """The walks below would pass vacuously if these finders saw nothing; here is what they must see."""
    reaching = 'rows = store._rows("SELECT 1")\nself.store._conn()\ngetattr(store, "_local")\nstore.close()\n'
    assert [line.split(":")[0] for line in private_store_access(reaching)] == ["1", "2", "3"]
    writing = ('conn.execute("x")\nq = "SELECT id FROM jobs"\nf"UPDATE {t} SET a = 1"\n'
               'conn.executemany(s, [])\nprint("Select a model from the list")\n')
    assert [line.split(":")[0] for line in sql_in(writing)] == ["1", "2", "3", "4"]


@pytest.mark.parametrize("path", outside_store(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_module_outside_the_store_touches_a_private_store_attribute(path):
    found = private_store_access(path.read_text(encoding="utf-8"))
    assert not found, f"{path.relative_to(ROOT)} reaches into the store; add a documented store method instead: {found}"


@pytest.mark.parametrize("path", outside_store(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_sql_is_written_only_in_core_store(path):
    found = sql_in(path.read_text(encoding="utf-8"))
    assert not found, f"{path.relative_to(ROOT)} writes SQL; it belongs in a core/store row mixin: {found}"
