"""Terminal drawings in plain ASCII: horizontal bars, small line plots (ROC, predicted vs actual), text tables.

Pure functions (numbers in, text out) with no textual, so the command line draws with the same code as the
workbench's charts (`tui.widgets.charts.Chart` shows them). Only ASCII glyphs are used, so drawings survive any
terminal and `TERM=xterm`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from .numbers import number

BAR = "#"
NEGATIVE_BAR = "-"


def _clip(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + "~" if width > 1 else text[:width]


def hbars(rows: Sequence[tuple[str, float | None, str]], width: int, *, scale: float | None = None) -> str:
    """One bar per row: `label |#####     | value`; bars scale to `scale` (default: the largest |value|).

    Each row is (label, value, value text). Negative values draw with '-', missing ones with no bar.
    """
    if not rows:
        return ""
    label_width = min(max(len(label) for label, _, _ in rows), max(width // 3, 6))
    value_width = max(len(text) for _, _, text in rows)
    bar_width = max(width - label_width - value_width - 4, 4)
    finite = [abs(v) for _, v, _ in rows if v is not None and math.isfinite(v)]
    top = scale if scale else max(finite, default=0.0)
    lines = []
    for label, value, text in rows:
        length = 0
        if value is not None and math.isfinite(value) and top > 0:
            length = min(bar_width, round(bar_width * abs(value) / top))
        glyph = NEGATIVE_BAR if value is not None and value < 0 else BAR
        bar = (glyph * length).ljust(bar_width)
        lines.append(f"{_clip(label, label_width).ljust(label_width)} |{bar}| {text.rjust(value_width)}")
    return "\n".join(lines)


def _span(values: list[float], given: tuple[float, float] | None) -> tuple[float, float]:
    if given is not None:
        return given
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    if high == low:
        low, high = low - 0.5, high + 0.5
    return low, high


def line_plot(
    series: Sequence[tuple[str, str, Sequence[tuple[float, float]]]],
    width: int,
    height: int,
    *,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    x_label: str = "",
    y_label: str = "",
    diagonal: str | None = None,
    connect: bool = True,
) -> str:
    """A small plot: each series is (name, marker, points); consecutive points are joined when `connect`.

    `diagonal` draws the line y = x (scaled to the ranges) with that character, as
    the chance line of a ROC curve or the perfect line of predicted vs actual.
    """
    xs = [x for _, _, pts in series for x, _ in pts]
    ys = [y for _, _, pts in series for _, y in pts]
    x0, x1 = _span(xs, x_range)
    y0, y1 = _span(ys, y_range)
    top_label, bottom_label = number(y1), number(y0)
    gutter = max(len(top_label), len(bottom_label)) + 1
    cols = max(width - gutter - 1, 10)
    rows = max(height - 3, 4)
    canvas = [[" "] * cols for _ in range(rows)]

    def cell(x: float, y: float) -> tuple[int, int] | None:
        if not (math.isfinite(x) and math.isfinite(y)):
            return None
        c = round((x - x0) / (x1 - x0) * (cols - 1))
        r = rows - 1 - round((y - y0) / (y1 - y0) * (rows - 1))
        if 0 <= c < cols and 0 <= r < rows:
            return r, c
        return None

    def put(x: float, y: float, mark: str) -> None:
        at = cell(x, y)
        if at is not None:
            canvas[at[0]][at[1]] = mark

    if diagonal:
        low, high = max(x0, y0), min(x1, y1)
        for i in range(cols * 2):
            v = low + (high - low) * i / (cols * 2 - 1)
            put(v, v, diagonal)
    for _, mark, points in series:
        points = list(points)
        if connect:
            for (ax, ay), (bx, by) in itertools.pairwise(points):
                steps = max(cols, rows) * 2
                for i in range(steps + 1):
                    t = i / steps
                    put(ax + (bx - ax) * t, ay + (by - ay) * t, mark)
        for x, y in points:
            put(x, y, mark)

    lines = []
    if y_label:
        lines.append(" " * gutter + y_label)
    for r, row in enumerate(canvas):
        tick = top_label if r == 0 else bottom_label if r == rows - 1 else ""
        lines.append(f"{tick.rjust(gutter - 1)} |{''.join(row).rstrip()}")
    lines.append(" " * gutter + "+" + "-" * cols)
    left, right = number(x0), number(x1)
    axis = left + " " * max(cols - len(left) - len(right) + 1, 1) + right
    lines.append(" " * gutter + axis)
    legend = "   ".join(f"{mark} {name}" for name, mark, _ in series if name)
    footer = "  ".join(part for part in (x_label and f"x: {x_label}", legend) if part)
    if footer:
        lines.append(" " * gutter + footer)
    return "\n".join(lines)


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, align_left: int = 1) -> str:
    """Columns aligned with two spaces; the first `align_left` columns flush left, the rest right."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row)]

    def line(cells: Sequence[str]) -> str:
        parts = [c.ljust(w) if i < align_left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))]
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def confusion(labels: Sequence[str], matrix: Sequence[Sequence[int]], width: int) -> str:
    """A confusion matrix as a table: rows are actual classes, columns predicted."""
    short = [_clip(str(label), max(min(12, width // (len(labels) + 2)), 3)) for label in labels]
    headers = ["actual \\ predicted", *short]
    rows = [[short[i], *(f"{count:,}" for count in counts)] for i, counts in enumerate(matrix)]
    return text_table(headers, rows)
