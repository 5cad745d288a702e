"""Reading keys for any scrolling view (a Dockerfile, a graph, a deployment's numbers, a build log).

Textual's own scroll actions are deferred until the next refresh and compute
their target from the offset before it, so keys pressed faster than the screen
refreshes land on the same row and are lost. Here every key moves at once from
the last target, so ten fast `j` presses move ten lines, and `g`/`G`, `h`/`l`
work everywhere text is read.
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll


READING_KEYS: list[BindingType] = [
    Binding("j,down", "line(1)", "Line down", show=False),
    Binding("k,up", "line(-1)", "Line up", show=False),
    Binding("l,right", "column(1)", "Scroll right", show=False),
    Binding("h,left", "column(-1)", "Scroll left", show=False),
    Binding("pagedown,space", "page(1)", "Page down", show=False),
    Binding("pageup", "page(-1)", "Page up", show=False),
    Binding("g,home", "top", "Start", show=False),
    Binding("G,end", "bottom", "End", show=False),
]


class ReadingKeys:
    """Mixin placed before a scrollable widget class; the class sets `BINDINGS = READING_KEYS` (Textual reads
    bindings and CSS only from widget classes, so a plain mixin keeps the widget's own default CSS)."""

    def _go(self, x: float | None = None, y: float | None = None) -> None:
        self.scroll_to(x=x, y=y, animate=False, immediate=True)  # now, so the next key starts from here

    def action_line(self, step: int) -> None:
        self._go(y=self.scroll_target_y + step)

    def action_column(self, step: int) -> None:
        self._go(x=max(0, self.scroll_target_x + step * max(8, self.scrollable_content_region.width // 2)))

    def action_page(self, step: int) -> None:
        self._go(y=self.scroll_target_y + step * max(1, self.scrollable_content_region.height - 1))

    def action_top(self) -> None:
        self._go(x=0, y=0)

    def action_bottom(self) -> None:
        self._go(y=self.max_scroll_y)


def fold_at_spaces(plain: str, width: int) -> list[int]:
    """Where `plain` folds into rows of `width` cells, at spaces only: a word wider than `width` (a path, an image
    tag) keeps one row whole, to be read with h/l, rather than being cut inside where it can be neither read nor
    copied."""
    from rich._wrap import divide_line

    return divide_line(plain, width, fold=False)


class Reader(ReadingKeys, VerticalScroll):
    """A focusable scroll box of text with the reading keys (its content may be wider than the box)."""

    BINDINGS: ClassVar[list[BindingType]] = READING_KEYS


__all__ = ["READING_KEYS", "ReadingKeys", "Reader", "fold_at_spaces"]
