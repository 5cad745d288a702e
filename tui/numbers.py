"""Numbers as both front ends show them: one formatter for the workbench and the command line, so a score, a
duration, a time or a size reads the same in a pane, a table and a progress line. Standard library and core only
(the CLI imports it without textual)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import datetime

from core.units import human_size as size  # noqa: F401 - bytes, one formatter for the engine and both front ends

# Scores that live in (or near) [0, 1]: always four decimals, so AUC 1 reads 1.0000 beside LogLoss 0.1116.
FRACTION_METRICS = frozenset({"AUC", "Accuracy", "Balanced Accuracy", "F1", "LogLoss", "R2"})


def number(value: float | None, digits: int | None = None) -> str:
    """A score as people read it: '-' when absent, thousands grouped, a few significant decimals."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if digits is not None:
        return f"{value:,.{digits}f}"
    if value == 0:
        return "0"
    size = abs(value)
    if isinstance(value, int) or size >= 1000:
        return f"{value:,.0f}"
    if size >= 100:
        return f"{value:.1f}"
    if size >= 1:
        return f"{value:.3f}"
    return f"{value:.4f}"


def decimals(values) -> int:
    """One precision for a whole column of a metric, from its largest value: 4 decimals under 1, 3 under 100,
    1 under 1,000, none above; so a column's digits line up and read the same from row to row."""
    finite = [abs(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    top = max(finite, default=0.0)
    return 4 if top < 1 else 3 if top < 100 else 1 if top < 1000 else 0


def metric_digits(metric: str, values: Iterable[float | None]) -> int:
    """The one precision of `metric` wherever it is shown: four decimals for a fraction-like score, otherwise the
    precision its largest value calls for (`decimals`)."""
    return 4 if metric in FRACTION_METRICS else decimals(values)


def score(metric: str, value: float | None, column: Iterable[float | None] = ()) -> str:
    """`value` of `metric` at that metric's precision (taken over `column` too, when it is shown in one)."""
    return number(value, metric_digits(metric, [value, *column]))


def duration(seconds: float | None) -> str:
    """0:03, 12:40, 1:02:03; '-' for something that has not started."""
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def when(stamp: str | None, *, short: bool = False) -> str:
    """A stored UTC timestamp shown in local time, to the second; `short` (for listings) drops what today implies."""
    if not stamp:
        return "-"
    moment = datetime.fromisoformat(stamp).astimezone()
    if not short:
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    today = datetime.now().astimezone()
    if moment.date() == today.date():
        return moment.strftime("%H:%M:%S")
    return moment.strftime("%b %d %H:%M" if moment.year == today.year else "%Y-%m-%d")


def age(stamp: str | None, now: datetime) -> str:
    """How long before `now` a stored UTC timestamp was: 4s ago, 12m ago, 3h ago, 2d ago."""
    if not stamp:
        return "-"
    seconds = max(0, int((now - datetime.fromisoformat(stamp)).total_seconds()))
    for unit, length in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= length:
            return f"{seconds // length}{unit} ago"
    return f"{seconds}s ago"


TUNED = re.compile(r" \(tuned from model \d+\)$")  # a tuned child's label suffix (core's child_label); the note says it


def tuned_setting(row: dict) -> str:
    """The parameters a tuned model changed from its parent, 'alpha=0.1' (node names only when two nodes share a
    parameter name); '' for a model not tuned or one that kept its parent's setting. `row`: a leaderboard row."""
    changed = (row.get("tuning") or {}).get("changed") or {} if row.get("tuned_from") is not None else {}
    if not changed:
        return ""
    from core.training.tune import changes_text

    names = [key.partition(".")[2] for key in changed]
    plain = len(set(names)) == len(names)
    return changes_text({(k.partition(".")[2] if plain else k): v for k, v in changed.items()})


def lineage_note(row: dict, *, short: bool = False) -> str:
    """A tuned model's lineage as both front ends say it: 'from #3: alpha=0.1', or 'from #3' when `short` or
    nothing changed; '' for a model not tuned."""
    if row.get("tuned_from") is None:
        return ""
    setting = "" if short else tuned_setting(row)
    return f"from #{row['tuned_from']}" + (f": {setting}" if setting else "")
