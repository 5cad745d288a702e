"""Numbers as both front ends show them: one formatter for the workbench and the command line, so a score reads
the same in a pane, a table and a progress line. Standard library only (the CLI imports it without textual)."""

from __future__ import annotations

import math
from collections.abc import Iterable

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
