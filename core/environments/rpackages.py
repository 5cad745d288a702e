"""An R task's requirements.txt: R package names, installed in Docker as Debian's `r-cran-<name>` packages.

No CRAN is reachable from where taskbench builds, so Debian's builds are the only source; base R's own
packages come with r-base-core and need nothing.
"""

from __future__ import annotations

import re

from ..errors import UsageError

# Shipped inside r-base-core: nothing to install, and Debian has no r-cran-* package of these names.
BASE_R_PACKAGES = frozenset({
    "base", "compiler", "datasets", "graphics", "grDevices", "grid", "methods", "parallel",
    "splines", "stats", "stats4", "tcltk", "tools", "utils",
})

# A name as R allows it (letters, digits and dots, from a letter, not ending in a dot), then an optional
# version constraint: `glmnet (>= 4.1)` as in a DESCRIPTION file, or pip-like `glmnet>=4.1`.
_LINE = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9.]*[A-Za-z0-9])\s*(?P<version>\(.*\)|[<>=!~].*)?$")


def r_requirements(text: str) -> list[tuple[str, str]]:
    """(R name, version constraint or "") for each requirement line, comments and blank lines skipped, in order.

    A line that is not an R package name is a usage error naming it.
    """
    found: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _LINE.match(line)
        if match is None:
            raise UsageError(
                f"requirements.txt line '{line}' is not an R package name; an R task's requirements.txt lists one "
                "R package per line (letters, digits and dots, starting with a letter)."
            )
        found.setdefault(match["name"], (match["version"] or "").strip())
    return list(found.items())


def debian_package(name: str) -> str:
    """Debian's package of the R package `name` (data.table -> r-cran-data.table)."""
    return f"r-cran-{name.lower()}"


def to_install(text: str) -> list[str]:
    """The R packages of an R task's requirements.txt that need a Debian package (base R's own left out)."""
    return [name for name, _ in r_requirements(text) if name not in BASE_R_PACKAGES]


def no_debian_build(names: list[str]) -> str:
    """The one sentence for R packages that Debian does not build."""
    quoted = " and ".join(", ".join(f"'{n}'" for n in names).rsplit(", ", 1))
    debs = ", ".join(debian_package(n) for n in names)
    if len(names) == 1:
        return (f"R package {quoted} has no Debian build ({debs}); remove it from requirements.txt "
                "or use an environment whose Dockerfile installs it.")
    return (f"R packages {quoted} have no Debian build ({debs}); remove them from requirements.txt "
            "or use an environment whose Dockerfile installs them.")
