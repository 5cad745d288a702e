"""The `core` modules import each other without a cycle at module level (imports inside functions don't count).

A cycle makes import order matter and hides which concept depends on which; the
graph is read with `ast` from the source, the way import-linter's grimp reads it.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "core"
# Folders under core/ that are task or shim folders run by the worker, not modules of the package.
NOT_MODULES = ("core/builtin_tasks/", "core/runtime/drum_shim/", "core/environments/python-sklearn/")


def core_modules() -> dict[str, Path]:
    """Every module of the core package by dotted name (a package by its own name)."""
    found = {}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(NOT_MODULES) or "__pycache__" in rel:
            continue
        parts = rel[: -len(".py")].split("/")
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _top_level_imports(tree: ast.Module):
    """Import statements run when the module is imported: top level, and in top-level if/try, not TYPE_CHECKING."""
    todo = list(tree.body)
    while todo:
        node = todo.pop(0)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            if "TYPE_CHECKING" not in ast.unparse(node.test):
                todo[:0] = node.body + node.orelse
        elif isinstance(node, ast.Try):
            todo[:0] = node.body + node.orelse + node.finalbody + [s for h in node.handlers for s in h.body]


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The core modules `name` imports at module level: `from a import b` means module a.b when it is one, else a."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in _top_level_imports(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = package
            for _ in range(node.level - 1 if node.level else 0):
                base = base.rpartition(".")[0]
            source = node.module or ""
            if node.level:
                source = f"{base}.{source}" if source else base
            targets = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source for alias in node.names]
        out.update(t for t in targets if t in modules and t != name)
    return out


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_core_modules_import_each_other_without_a_cycle():
    modules = core_modules()
    graph = {name: imports_of(name, path, modules) for name, path in modules.items()}
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle at module level: " + " -> ".join(cycle)


def test_core_packages_import_each_other_without_a_cycle():
    """One concept per package: core.tasks may use core.environments, but then never the other way round at import."""
    modules = core_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        graph.setdefault(package_of(name), set()).update(
            package_of(other) for other in imports_of(name, path, modules) if package_of(other) != package_of(name)
        )
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle between packages at module level: " + " -> ".join(cycle)


def package_of(module: str) -> str:
    """The first-level package (or module) of core that `module` belongs to: core.tasks.versions -> core.tasks."""
    return ".".join(module.split(".")[:2])


def test_the_cycle_finder_sees_a_cycle_and_a_package_relative_import():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    modules = core_modules()
    assert "core.store.files" in imports_of("core.tasks.catalog", modules["core.tasks.catalog"], modules)
