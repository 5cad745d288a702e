"""`NAME` and `NAME@N` references to versioned objects (tasks, environments), parsed and checked once."""

from __future__ import annotations

import difflib
import re

from .errors import UsageError

# SPEC §7: task names may start with a digit and hold '-' and '.', like DRUM's `4_python_binary_classification`.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
MAX_NAME_LENGTH = 100


def check_name(name: str, what: str, hint: str = "") -> str:
    """Return `name` if it is a valid object name, else raise a UsageError that says what is allowed."""
    if not name or not NAME_PATTERN.match(name) or len(name) > MAX_NAME_LENGTH:
        raise UsageError(
            f"{what} name {name!r} is not valid; use letters, digits, '_', '.' and '-' "
            f"(not first), at most {MAX_NAME_LENGTH} characters{hint}."
        )
    return name


def parse_ref(text: str, what: str) -> tuple[str, int | None]:
    """Split 'name' or 'name@N' into (name, N or None)."""
    name, at, version = text.strip().partition("@")
    if not at:
        check_name(name, what)
        return name, None
    if not version.isdigit() or int(version) < 1 or not name or not NAME_PATTERN.match(name):
        raise UsageError(f"{text!r} is not a {what} reference; write NAME or NAME@N with N a version number.")
    return name, int(version)


def unknown_name(what: str, name: str, known: list[str], listing: str) -> UsageError:
    """The error for a name that is not registered, with a close match when there is one."""
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return UsageError(f"there is no {what} named '{name}'{hint} (`{listing}` shows them).")


def missing_version(what: str, name: str, version: int, versions: list[int]) -> UsageError:
    """The error for NAME@N when N does not exist: 'task 'x' has no version 7; it has 1–3'."""
    if len(versions) == 1:
        have = f"it has only version {versions[0]}"
    elif versions == list(range(versions[0], versions[-1] + 1)):
        have = f"it has {versions[0]}–{versions[-1]}"
    else:
        have = "it has " + ", ".join(str(v) for v in versions)
    return UsageError(f"{what} '{name}' has no version {version}; {have}.")
