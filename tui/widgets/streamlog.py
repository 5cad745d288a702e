"""Lines a worker streams in (an image build), readable with the log view's keys.

`LogView` tails a file; a build's lines arrive as messages, some before any job
log exists (Docker not ready, "image up to date"), and the job log's timestamps
would take half of an 80-column pane. So this is a RichLog with the same reading
keys instead: j/k and the arrows by line, pgup/pgdn by page, g/home and G/end to
the ends. Like `LogView` it follows new lines only while the reader is at the bottom.
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import RichLog


class StreamLog(RichLog):
    """A focusable, key-scrollable log of streamed lines that follows them while scrolled to the bottom."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "line(1)", "Line down", show=False),
        Binding("k,up", "line(-1)", "Line up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("g,home", "top", "Start of the log", show=False),
        Binding("G,end", "bottom", "End of the log, following", show=False),
    ]

    # Each key moves at once (no animation) and never passes on to the pane, even when nothing can scroll.
    def action_line(self, step: int) -> None:
        self.scroll_to(y=self.scroll_y + step, animate=False)

    def action_page(self, step: int) -> None:
        self.scroll_to(y=self.scroll_y + step * max(1, self.scrollable_content_region.height - 1), animate=False)

    def action_top(self) -> None:
        self.scroll_to(y=0, animate=False)

    def action_bottom(self) -> None:
        self.scroll_to(y=self.max_scroll_y, animate=False)
        self.auto_scroll = True

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.auto_scroll = new_value >= self.max_scroll_y  # scrolled up: stay there while lines arrive

    def clear(self):
        super().clear()
        self.auto_scroll = True
        return self


__all__ = ["StreamLog"]
