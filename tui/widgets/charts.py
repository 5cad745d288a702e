"""`Chart`: a Static that redraws a drawing of `tui.drawing` (bars, line plots, tables) whenever its width changes."""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import Static

from ..drawing import BAR, NEGATIVE_BAR, confusion, hbars, line_plot, text_table  # noqa: F401 - the panes import them from here
from ..numbers import number  # noqa: F401 - one number formatter for the panes and the CLI


class Chart(Static):
    """A Static whose text is drawn for its current width, and redrawn when the width changes."""

    def __init__(self, *, id: str | None = None, classes: str | None = None):
        super().__init__("", id=id, classes=classes, markup=False)
        self._draw: Callable[[int], str] | None = None
        self._drawn_width = 0

    def draw_with(self, draw: Callable[[int], str] | None) -> None:
        """Draw now with `draw(width)` and again whenever the width changes; None clears the chart."""
        self._draw = draw
        self._redraw()

    def _redraw(self) -> None:
        width = self.content_region.width or self.size.width or 76
        self._drawn_width = width
        self.update(self._draw(width) if self._draw else "")

    def on_resize(self) -> None:
        if self._draw is not None and (self.content_region.width or self.size.width) != self._drawn_width:
            self._redraw()
