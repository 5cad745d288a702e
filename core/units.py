"""Byte counts and durations as people write and read them, shared by the engine's sentences and the command line."""

import re

_PART = re.compile(r"(\d+(?:\.\d*)?)\s*(hours?|h|minutes?|mins|min|m|seconds?|secs|sec|s)?\s*", re.IGNORECASE)
_SECONDS = {"h": 3600, "m": 60, "s": 1}


def human_size(n: float) -> str:
    """Bytes in decimal units: 512 B, 1.5 kB, 2.0 MB … TB."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"


def parse_duration(text: str) -> float:
    """Seconds from `90s`, `10m`, `1h`, `1h30m` or a bare number of seconds; anything else is a ValueError."""
    text = str(text).strip()
    total, position, parts = 0.0, 0, 0
    while position < len(text):
        match = _PART.match(text, position)
        if not match or (match.group(2) is None and (parts or match.end() < len(text))):
            raise ValueError(f"{text!r} is not a duration")
        total += float(match.group(1)) * _SECONDS[(match.group(2) or "s")[0].lower()]
        position, parts = match.end(), parts + 1
    if not parts or total <= 0:
        raise ValueError(f"{text!r} is not a duration")
    return total
