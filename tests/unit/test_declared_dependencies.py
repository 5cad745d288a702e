"""Every third-party module the engine and the front end import comes with `pip install .`: a module imported by
core/ or tui/ is a declared dependency or one that a declared dependency requires (a trial found serve --code-dir
failing on a fresh install: `packaging` came only with the test extras)."""

import ast
import re
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Imported only where they are optional, each behind an ImportError with a sentence (a cluster, a task's own
# framework), or the engine's own modules that run as task code.
OPTIONAL = {"distributed", "torch", "tensorflow", "builtin_helpers", "datarobot_drum"}


def imported_top_level_modules() -> dict[str, str]:
    found: dict[str, str] = {}
    for folder in ("core", "tui"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return {m: p for m, p in found.items() if m not in sys.stdlib_module_names and m not in ("core", "tui")}


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;(]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def dependency_closure() -> set[str]:
    """The distributions `pip install .` brings: the declared ones and, recursively, what they require (extras
    they name included, markers that do not hold here left out)."""
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    todo, seen = list(declared), set()
    while todo:
        requirement = todo.pop()
        if ";" in requirement and "extra ==" not in requirement:
            from packaging.markers import Marker

            if not Marker(requirement.split(";", 1)[1]).evaluate():
                continue
        name = _name(requirement)
        extras = set(re.findall(r"\[([^\]]+)\]", requirement.split(";")[0])[0].split(",")) if "[" in requirement.split(";")[0] else set()
        key = (name, frozenset(e.strip() for e in extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for sub in requires:
            marker = sub.split(";", 1)[1] if ";" in sub else ""
            wanted = re.findall(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
            if wanted and not set(wanted) & key[1]:
                continue
            todo.append(sub.split(";", 1)[0] if wanted else sub)
    return {name for name, _ in seen}


def test_every_imported_library_is_installed_by_pip_install_dot():
    closure = dependency_closure()
    providers = metadata.packages_distributions()
    missing = []
    for module, where in sorted(imported_top_level_modules().items()):
        if module in OPTIONAL:
            continue
        dists = {d.lower().replace("_", "-") for d in providers.get(module, [])}
        if not dists & closure:
            missing.append(f"{module} (imported by {where}; provided by {sorted(dists) or 'nothing installed'})")
    assert not missing, "add to pyproject's dependencies: " + "; ".join(missing)
