"""Lines a worker streams in (an image build), readable with the reading keys and wrapped at spaces only.

`LogView` tails a file; a build's lines arrive as messages, some before any job
log exists (Docker not ready, "image up to date"), and the job log's timestamps
would take half of an 80-column pane. So this is a RichLog with the reading keys
(`tui.widgets.reader`). Lines fold at spaces to the log's width and fold again
when it changes; a word wider than the log (a path, an image name, an id) is
never cut inside: it overflows, and h/l scroll sideways to read it. Like `LogView`
it follows new lines only while the reader is at the bottom.
"""

from __future__ import annotations

import threading
from collections import deque

from rich.text import Text
from textual import on
from textual.message import Message
from textual.widgets import RichLog

from .reader import READING_KEYS, ReadingKeys, fold_at_spaces


class StreamLog(ReadingKeys, RichLog):
    """A focusable, key-scrollable log of streamed lines that follows them while scrolled to the bottom."""

    BINDINGS = READING_KEYS

    def __init__(self, *, max_lines: int | None = None, **kwargs):
        kwargs["wrap"] = False  # folded here, at spaces: RichLog's wrap cuts a long word anywhere
        super().__init__(max_lines=max_lines, **kwargs)
        self.texts: deque[Text] = deque(maxlen=max_lines)  # every line as written, to fold again on a resize
        self._flowed_for = 0  # the width the shown lines were folded for

    def write_line(self, line: Text | str) -> None:
        """Add one line (never read as markup) at the bottom, folded at spaces to the log's width."""
        text = Text(line) if isinstance(line, str) else line
        self.texts.append(text)
        if self._flowed_for:
            self._write_folded(text)

    def _write_folded(self, text: Text, scroll_end: bool | None = None) -> None:
        """Write one line folded at spaces; `scroll_end` as RichLog.write's (None: follow while at the bottom)."""
        width = self._flowed_for
        for part in text.split(allow_blank=True):
            part.expand_tabs()
            for row in part.divide(fold_at_spaces(part.plain, width)):  # Text.wrap cannot keep a long word whole
                row.rstrip()
                self.write(row, width=max(width, row.cell_len), scroll_end=scroll_end)

    def on_resize(self, event) -> None:
        """Fold every line again for a new width (RichLog's own handler runs too: Textual calls both)."""
        at_end, y = self.auto_scroll, self.scroll_y
        width = self.scrollable_content_region.width
        if width > 0 and width != self._flowed_for:
            self._flowed_for = width
            super().clear()
            for text in self.texts:
                self._write_folded(text)
            self.scroll_to(x=0, y=y, animate=False, immediate=True)
        if at_end:  # a log shown again or grown taller stays at its end
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)
            self.auto_scroll = True

    def action_bottom(self) -> None:
        super().action_bottom()
        self.auto_scroll = True

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.auto_scroll = new_value >= self.max_scroll_y  # scrolled up: stay there while lines arrive

    def clear(self):
        super().clear()
        self.texts.clear()
        self.auto_scroll = True
        return self


DRAIN_BATCH = 100  # fed lines drawn per turn of the event loop (~30 ms); keys are answered between turns


class FedLog(StreamLog):
    """A StreamLog that worker threads hand lines to with `feed`: a task printing tens of thousands of lines is drawn
    in batches between keys, not queued as one message per line (which stalled the workbench)."""

    class Fed(Message, bubble=False):
        """Lines are waiting in `feed`'s queue (posted once until they are drawn)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._fed: deque[Text | str] = deque()  # lines from other threads, not drawn yet
        self._fed_lock = threading.Lock()
        self._fed_posted = False

    def write_lines(self, lines: list[Text | str]) -> None:
        """Add lines at the bottom, scrolling once; lines the log's `max_lines` would drop at once are not drawn."""
        texts = [Text(line) if isinstance(line, str) else line for line in lines]
        self.texts.extend(texts)
        if not self._flowed_for or not texts:
            return
        for text in texts[-self.max_lines:] if self.max_lines else texts:
            self._write_folded(text, scroll_end=False)
        if self.auto_scroll:
            self.scroll_end(animate=False, immediate=False, x_axis=False)

    def feed(self, line: Text | str) -> None:
        """Add a line from any thread; it is drawn with the others waiting, a batch per turn of the event loop."""
        with self._fed_lock:
            self._fed.append(line)
            if self._fed_posted:
                return
            self._fed_posted = True
        self.post_message(self.Fed())

    def flush(self, limit: int | None = None) -> bool:
        """Draw up to `limit` fed lines (all when None); True when more are waiting. Lines that `max_lines` newer
        ones already waiting would push out of the log are dropped undrawn: a flood costs the last screenfuls only."""
        with self._fed_lock:
            while self.max_lines and len(self._fed) > self.max_lines:
                self._fed.popleft()
            take = len(self._fed) if limit is None else min(limit, len(self._fed))
            batch = [self._fed.popleft() for _ in range(take)]
            more = bool(self._fed)
            if not more:
                self._fed_posted = False
        self.write_lines(batch)
        return more

    @on(Fed)
    def _draw_fed(self, message: Fed) -> None:
        message.stop()
        if self.flush(DRAIN_BATCH):
            # The rest after a timer, not a message posted at once: a widget whose queue is never empty never yields
            # the event loop, so no key (this log's own j/k included) would be answered until the flood ended.
            self.set_timer(0.001, lambda: self.post_message(self.Fed()))

    def clear(self):
        super().clear()
        with self._fed_lock:
            self._fed.clear()
        return self


__all__ = ["StreamLog", "FedLog"]
