"""One store interface (mlflow's `AbstractStore` is the model): every operation is declared and documented once,
`Store` implements exactly those, and its row mixins stand on `Database`'s documented helpers only."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from core.store import AbstractStore, Store
from core.store.database import Database
from core.store.versioned import VersionedRows

STORE = Path(__file__).resolve().parents[2] / "core" / "store"
CONNECTION_INTERNALS = {"_conn", "_connect", "_local", "_lock", "_connections", "_migrations", "_tables"}


def store_modules() -> list[Path]:
    return sorted(STORE.glob("*.py"))


def test_every_public_store_method_is_an_operation_of_the_interface():
    public = {name for name, _ in inspect.getmembers(Store, callable) if not name.startswith("_")}
    assert public - {"open"} == set(AbstractStore.__abstractmethods__)
    assert not Store.__abstractmethods__


def test_every_operation_of_the_interface_has_a_docstring():
    undocumented = [name for name in AbstractStore.__abstractmethods__ if not getattr(AbstractStore, name).__doc__]
    assert not undocumented


@pytest.mark.parametrize("path", store_modules(), ids=lambda p: p.name)
def test_store_modules_reach_private_store_attributes_only_through_self(path):
    """No module function taking a store and reaching into it (`store._rows(...)`): such code is a method."""
    private = {name for name in dir(Store) if name.startswith("_") and not name.startswith("__")} | CONNECTION_INTERNALS
    tree = ast.parse(path.read_text(encoding="utf-8"))
    made_here = {  # `store = cls(...)` in a classmethod is the class's own instance
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name) and node.value.func.id == "cls"
        for target in node.targets if isinstance(target, ast.Name)
    }
    found = [
        f"{node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in private
        and not (isinstance(node.value, ast.Name) and node.value.id in {"self", "cls", *made_here})
    ]
    assert not found


@pytest.mark.parametrize("path", [p for p in store_modules() if p.name != "database.py"], ids=lambda p: p.name)
def test_row_mixins_use_only_documented_helpers(path):
    """A mixin's `self._x` is its own, or a documented helper of Database/VersionedRows; never the connection."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    own = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    helpers = {
        name
        for base in (Database, VersionedRows)
        for name, member in vars(base).items()
        if name.startswith("_") and not name.startswith("__") and inspect.getdoc(member)
    } - CONNECTION_INTERNALS
    used = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self"
        and node.attr.startswith("_") and not node.attr.startswith("__")
    }
    assert used - own - helpers == set()
