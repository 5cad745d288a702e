"""Every `TASKBENCH_*` environment variable, named and parsed in one place (mlflow's environment_variables style).

Each setting is read when it is asked for, never at import, so a test or a front end that sets a variable before
calling the engine is heard; a bad value is one sentence naming the variable and how to write it.
"""

from __future__ import annotations

import os
from typing import Callable, Generic, Mapping, MutableMapping, TypeVar

from .errors import TaskbenchError, UsageError

T = TypeVar("T")

# Taskbench's own variables never reach task code: TASKBENCH_HOME leads to the workspace database,
# TASKBENCH_SERVE_CONFIG and TASKBENCH_SERVE_TOKEN carry a deployment's bearer token.
PREFIX = "TASKBENCH_"


class Setting(Generic[T]):
    """One environment variable: its name, how to parse it, its default, what it is for, and what a bad value is
    told (`invalid`, completing "NAME='value' …")."""

    def __init__(self, name: str, parse: Callable[[str], T], default: T, doc: str, invalid: str = "is not valid"):
        self.name = name
        self._parse = parse
        self.default = default
        self.doc = doc
        self.invalid = invalid

    def raw(self) -> str | None:
        """The variable's text as written, or None when it is unset or blank."""
        value = os.environ.get(self.name, "")
        return value if value.strip() else None

    def is_set(self) -> bool:
        """True when the variable holds something other than blanks."""
        return self.raw() is not None

    def get(self) -> T:
        """The parsed value, or the default when unset; a value that does not parse is a UsageError (exit 2)."""
        value = self.raw()
        if value is None:
            return self.default
        try:
            return self._parse(value)
        except (TypeError, ValueError, TaskbenchError):
            raise UsageError(f"{self.name}={value!r} {self.invalid}.") from None

    def export(self, value: str) -> None:
        """Set the variable in this process, for the processes it starts (a server's Uvicorn workers)."""
        os.environ[self.name] = value

    def __repr__(self) -> str:
        return f"Setting({self.name})"


def _text(value: str) -> str:
    return value


def _positive_float(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise ValueError(value)
    return number


def _size(value: str) -> int:
    from .tasks.fitcheck import parse_size  # the size syntax of --memory (512m, 2g), raising UsageError

    return parse_size(value)


def _ratio(value: str) -> float:
    number = float(value)
    if not number >= 1:
        raise ValueError(value)
    return number


HOME = Setting("TASKBENCH_HOME", _text, None, "The workspace folder (default ~/.taskbench).")
USER = Setting("TASKBENCH_USER", _text, None, "Who acts, in a private workspace (default: the operating-system user).")
BASE_IMAGE = Setting("TASKBENCH_BASE_IMAGE", _text, None, "Base image given to Docker environment builds as "
                     "BASE_IMAGE (default: each Dockerfile's own).")
CA_BUNDLE = Setting("TASKBENCH_CA_BUNDLE", _text, None, "An extra CA bundle for pip and image builds behind a "
                    "TLS-intercepting proxy.")
WHEELHOUSE = Setting("TASKBENCH_WHEELHOUSE", _text, None, "A folder of wheels that environment builds and cached "
                     "venvs install from beside the package index (copied into each build).")
MONITOR_SECONDS = Setting("TASKBENCH_MONITOR_SECONDS", _positive_float, 2.0, "How often a prediction server "
                          "stores its monitoring counters.", "is not a number of seconds; write it like 2 or 0.5")
SERVE_CONFIG = Setting("TASKBENCH_SERVE_CONFIG", _text, None, "Private: the configuration (JSON) a server's worker "
                       "processes start from.")
SERVE_TOKEN = Setting("TASKBENCH_SERVE_TOKEN", _text, None, "The bearer token `serve` requires (same as --token).")
PACKAGE_MAX_BYTES = Setting("TASKBENCH_PACKAGE_MAX_BYTES", _size, 2 << 30, "The most a package may unpack to "
                            "(default 2g).", "is not a size; write it like 500m or 4g")
# Apache POI refuses entries that inflate more than 100 times once past a grace size; deflate itself tops out near 1032.
PACKAGE_MAX_RATIO = Setting("TASKBENCH_PACKAGE_MAX_RATIO", _ratio, 100.0, "The most a package member over 1 MiB may "
                            "expand, unpacked to compressed (default 100).",
                            "is not a ratio; write a number of at least 1, like 200")

ALL = (HOME, USER, BASE_IMAGE, CA_BUNDLE, WHEELHOUSE, MONITOR_SECONDS, SERVE_CONFIG, SERVE_TOKEN, PACKAGE_MAX_BYTES,
       PACKAGE_MAX_RATIO)


def is_own(name: str) -> bool:
    """True for a variable of taskbench's own (`TASKBENCH_*`, any case), which task code must never see."""
    return name.upper().startswith(PREFIX)


def task_environment(env: Mapping[str, str]) -> dict[str, str]:
    """`env` without taskbench's own settings and secrets; PATH, HOME, locale, proxies, PIP_*, CA bundles stay."""
    return {name: value for name, value in env.items() if not is_own(name)}


def drop_own(environ: MutableMapping[str, str] = os.environ) -> None:
    """Remove taskbench's own variables from `environ` (this process's), before task code is loaded into it."""
    for name in [n for n in environ if is_own(n)]:
        del environ[name]
