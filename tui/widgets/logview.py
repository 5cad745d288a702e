"""A log view that opens a file from its end and keeps up while it grows (STYLE habit 5, after toolong).

`LineIndex` finds line starts by scanning backwards from the end of the file and
only as far back as the reader scrolls, so a 1 GB log opens as fast as a small
one. `LogLines` renders just the visible page from LRU caches; a watcher thread
notices appended bytes and posts "grew" messages that coalesce, so a flood of
output cannot flood the message queue. `LogView` adds the keys, `/` search and
jumps to errors; searching runs in a worker, so a huge file never blocks a key.
"""

from __future__ import annotations

import operator
import os
import re
import time
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.cache import LRUCache
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from ..actions import Action, bindings
from .reader import fold_at_spaces

POLL_SECONDS = 0.1  # how often the watcher thread looks at the file's size
SCAN_CHUNK = 1 << 22  # bytes read per step when scanning or searching a large span
REFRESH_CHUNK = 1 << 24  # most bytes indexed per "grew" message; the rest follows in the next
FIRST_CHUNK = 1 << 16  # the first back-scan step; it doubles until enough lines are found
MAX_LINE_BYTES = 1 << 16  # the part of one line read for display (the screen cuts it anyway)
INITIAL_LINES = 200  # lines indexed on opening (at least three screens)
GROW_LINES = 2000  # lines added above when the reader comes within two screens of the top

ERROR_WORDS = ("Traceback", "ERROR", "Error", "FAIL", "failed")
_ERROR_TEXT = re.compile("|".join(ERROR_WORDS))
_NEWLINE = re.compile(b"\n")
_ENGINE_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (\[[^\]]*\])?")
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
_CONTROL = str.maketrans({c: "\ufffd" for c in [*range(9), *range(10, 32), 127]})


def _starts_after_newlines(buf: bytes, offset: int) -> array:
    """The line starts (ascending) that follow each newline in `buf`, whose first byte is at `offset`."""
    return array("q", [m.end() + offset for m in _NEWLINE.finditer(buf)])


@dataclass(frozen=True)
class Needles:
    """Literal strings to look for in a log, any of them, optionally ignoring (ASCII) case.

    Plain `find`/`rfind` scan gigabytes a second; a regular expression with
    alternatives or IGNORECASE is about ten times slower.
    """

    words: tuple[bytes, ...]
    ignore_case: bool = False

    def __post_init__(self) -> None:
        if self.ignore_case:
            object.__setattr__(self, "words", tuple(w.lower() for w in self.words))

    def last(self, buf: bytes) -> int:
        """Where the last occurrence in `buf` starts, or -1."""
        if self.ignore_case:
            buf = buf.lower()
        return max(buf.rfind(w) for w in self.words)

    def first(self, buf: bytes) -> int:
        """Where the first occurrence in `buf` starts, or -1."""
        if self.ignore_case:
            buf = buf.lower()
        return min((i for w in self.words if (i := buf.find(w)) >= 0), default=-1)

    def on_screen(self) -> re.Pattern[str]:
        """The same search as a pattern over the decoded text, to mark matches."""
        words = "|".join(re.escape(w.decode("utf-8", "replace")) for w in self.words)
        return re.compile(words, re.IGNORECASE if self.ignore_case else 0)


ERRORS = Needles(tuple(w.encode() for w in ERROR_WORDS))


def compile_search(text: str) -> Needles:
    """What `/text` looks for; smart case as in less and vim: all-lowercase text ignores case."""
    return Needles((text.encode("utf-8"),), ignore_case=text == text.lower())


class LineIndex:
    """Where each line of a growing file starts, found from the end backwards on demand.

    Bytes `[top, size)` have been scanned. Starts below `base` (the size when the
    file was opened) are kept in descending order as the back-scan finds them;
    starts from `base` on are appended as the file grows. Line 0 is the earliest
    line found so far, not the first line of the file until `complete`.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.generation = 0
        self._fd: int | None = None
        self._identity: tuple[int, int] | None = None
        self._open()

    def _open(self) -> None:
        self.close()
        self.generation += 1
        self._back = array("q")
        self._fwd = array("q")
        self.size = self.base = self.top = 0
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return
        st = os.fstat(fd)
        self._fd = fd
        self._identity = (st.st_dev, st.st_ino)
        self.size = self.base = self.top = st.st_size

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    @property
    def exists(self) -> bool:
        return self._fd is not None

    @property
    def complete(self) -> bool:
        """True once the index reaches back to the first line of the file."""
        return self.top == 0

    def __len__(self) -> int:
        return len(self._back) + len(self._fwd)

    def start(self, i: int) -> int:
        nb = len(self._back)
        return self._back[nb - 1 - i] if i < nb else self._fwd[i - nb]

    def bounds(self, i: int) -> tuple[int, int]:
        """Line `i` is bytes `[start, end)`, its newline included when it has one."""
        end = self.start(i + 1) if i + 1 < len(self) else self.size
        return self.start(i), end

    def line(self, i: int) -> bytes:
        """Line `i` without its line ending (at most MAX_LINE_BYTES of it)."""
        start, end = self.bounds(i)
        if self._fd is None or end <= start:
            return b""
        data = os.pread(self._fd, min(end - start, MAX_LINE_BYTES), start)
        if data.endswith(b"\n"):
            data = data[:-1]
        if data.endswith(b"\r"):
            data = data[:-1]
        return data

    def line_of_offset(self, offset: int) -> int | None:
        """The line holding byte `offset`, or None when the index does not reach back that far."""
        if self._fwd and offset >= self._fwd[0]:
            return len(self._back) + bisect_right(self._fwd, offset) - 1
        if not self._back or offset < self._back[-1]:
            return None
        return len(self._back) - 1 - bisect_left(self._back, -offset, key=operator.neg)

    def extend_back(self, lines: int, max_bytes: int = 2 * SCAN_CHUNK) -> int:
        """Find up to `lines` more lines above the earliest one known, reading at most about `max_bytes`.

        Returns how many were found. The byte limit keeps a call short on the UI
        thread even when lines are huge; reading on needs another call.
        """
        added = 0
        chunk = FIRST_CHUNK
        stop_at = self.top - max_bytes
        while added < lines and self.top > 0 and self.top > stop_at and self._fd is not None:
            lo = max(0, self.top - chunk, stop_at)
            starts = _starts_after_newlines(os.pread(self._fd, self.top - lo, lo), lo)
            if starts and starts[-1] >= self.base:
                starts.pop()  # the end of the file as opened starts no line (growth adds it)
            need = lines - added
            if len(starts) > need:
                keep = starts[len(starts) - need :]
                self.top = keep[0] - 1  # the newline before the earliest kept line was read
                keep.reverse()
                self._back.extend(keep)
                return added + need
            starts.reverse()
            self._back.extend(starts)
            added += len(starts)
            self.top = lo
            if lo == 0 and self.base > 0:
                self._back.append(0)
                added += 1
            chunk = min(chunk * 2, SCAN_CHUNK)
        return added

    def merge_back(self, starts: array, lo: int, generation: int) -> int:
        """Add starts a worker found (descending, from `scan_back`) above the known ones; returns how many."""
        if generation != self.generation or lo >= self.top:
            return 0
        keep = starts[bisect_left(starts, -self.top, key=operator.neg) :]  # those at or below `top`
        self._back.extend(keep)
        self.top = lo
        return len(keep)

    def refresh(self, max_bytes: int = REFRESH_CHUNK) -> bool:
        """Index what was appended since the last look.

        A file that appeared, was replaced or was truncated is opened afresh (a new
        `generation`, nothing indexed: read back from its end again). Returns True
        when more bytes wait than `max_bytes` allowed.
        """
        try:
            st = os.stat(self.path)
        except OSError:
            if self._fd is not None:
                self._open()
            return False
        if self._fd is None or (st.st_dev, st.st_ino) != self._identity or st.st_size < self.size:
            self._open()
            return False
        if st.st_size == self.size:
            return False
        old = self.size
        lo = old - 1 if old > 0 else 0  # the byte before the old end tells whether a line starts there
        buf = os.pread(self._fd, min(st.st_size, old + max_bytes) - lo, lo)
        new = lo + len(buf)
        if new <= old:
            return False
        starts = _starts_after_newlines(buf, lo)
        if starts and starts[-1] >= new:
            starts.pop()  # a newline at the very end starts no line yet
        if old == 0:
            self._fwd.append(0)
        self._fwd.extend(starts)
        self.size = new
        return new < st.st_size


def scan_back(
    path: Path, lo: int, hi: int, base: int, cancelled: Callable[[], bool] = lambda: False
) -> array | None:
    """Line starts in `(lo, hi]` (and 0 when `lo` is 0), descending, below `base`; for `LineIndex.merge_back`.

    Runs in a worker: it reads through its own file handle. None when cancelled.
    """
    out = array("q")
    with open(path, "rb") as fh:
        fd = fh.fileno()
        top = hi
        while top > lo:
            if cancelled():
                return None
            clo = max(lo, top - SCAN_CHUNK)
            starts = _starts_after_newlines(os.pread(fd, top - clo, clo), clo)
            while starts and starts[-1] >= base:
                starts.pop()
            starts.reverse()
            out.extend(starts)
            top = clo
    if lo == 0 and base > 0:
        out.append(0)
    return out


def find_line(
    path: Path, needles: Needles, origin: int, backwards: bool, cancelled: Callable[[], bool] = lambda: False
) -> int | None:
    """The start of the nearest line holding `needles` before `origin` (or from `origin` on, forwards).

    `origin` is a line start. Reads in chunks cut at line ends, so a match never
    straddles two reads (inside a line longer than a chunk, the reads overlap);
    None when nothing matches or the search was cancelled.
    """
    overlap = max(len(w) for w in needles.words) - 1
    with open(path, "rb") as fh:
        fd = fh.fileno()
        if backwards:
            hi = min(origin, os.fstat(fd).st_size)
            while hi > 0:
                if cancelled():
                    return None
                lo = max(0, hi - SCAN_CHUNK)
                buf = os.pread(fd, hi - lo, lo)
                aligned = lo == 0
                if not aligned:
                    cut = buf.find(b"\n")
                    if 0 <= cut < len(buf) - 1:
                        buf, lo, aligned = buf[cut + 1 :], lo + cut + 1, True
                hit = needles.last(buf)
                if hit >= 0:
                    nl = buf.rfind(b"\n", 0, hit)
                    return lo + nl + 1 if nl >= 0 or aligned else _line_start(fd, lo + hit)
                hi = lo if aligned else min(lo + overlap, hi - 1)
            return None
        end = os.fstat(fd).st_size
        lo, aligned = origin, True
        while lo < end:
            if cancelled():
                return None
            buf = os.pread(fd, min(end, lo + SCAN_CHUNK) - lo, lo)
            whole = True
            if lo + len(buf) < end:
                cut = buf.rfind(b"\n")
                if cut >= 0:
                    buf = buf[: cut + 1]
                else:
                    whole = False
            hit = needles.first(buf)
            if hit >= 0:
                nl = buf.rfind(b"\n", 0, hit)
                return lo + nl + 1 if nl >= 0 or aligned else _line_start(fd, lo + hit)
            if whole:
                lo, aligned = lo + len(buf), True
            else:
                lo, aligned = lo + max(1, len(buf) - overlap), False
        return None


def _line_start(fd: int, pos: int) -> int:
    """The start of the line holding byte `pos`, reading backwards as far as needed."""
    hi = pos
    while hi > 0:
        lo = max(0, hi - FIRST_CHUNK)
        nl = os.pread(fd, hi - lo, lo).rfind(b"\n")
        if nl >= 0:
            return lo + nl + 1
        hi = lo
    return 0


def display_text(raw: bytes) -> str:
    """A line as a terminal would leave it: colour codes dropped, the last carriage-return overwrite kept."""
    text = raw.decode("utf-8", "replace")
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    if "\r" in text:
        parts = [p for p in text.split("\r") if p]
        text = parts[-1] if parts else ""
    if "\t" in text:
        text = text.expandtabs(8)
    return text.translate(_CONTROL)


class LogLines(ScrollView, can_focus=True):
    """The lines of one log file, rendered page by page from the index; scrolls, follows and marks lines."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "loglines--timestamp",
        "loglines--source",
        "loglines--error",
        "loglines--match",
        "loglines--current",
    }
    DEFAULT_CSS = """
    LogLines {
        background: $surface;
        color: $text;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
    }
    LogLines > .loglines--timestamp { text-style: dim; }
    LogLines > .loglines--source { text-style: bold; }
    LogLines > .loglines--error { color: $error; }
    LogLines > .loglines--match { text-style: reverse; }
    LogLines > .loglines--current { background: $primary 40%; }
    """

    following: reactive[bool] = reactive(True, init=False)
    """Stay at the bottom as lines are appended."""

    wrap: reactive[bool] = reactive(False, init=False)
    """Fold long lines at the pane's edge (like `less` without -S) instead of cutting them; `w` toggles it."""

    class Grew(Message):
        """The file changed size (or appeared); a newer one supersedes any still queued."""

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, LogLines.Grew)

    class Reopened(Message):
        """The file appeared, was replaced or was truncated, and is shown afresh."""

    def __init__(self, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self.index: LineIndex | None = None
        self.current_start: int | None = None  # the marked line (a search hit or an error), by byte offset
        self.highlight: re.Pattern[str] | None = None
        self._texts: LRUCache[tuple[int, int], str] = LRUCache(4096)
        self._strips: LRUCache[tuple[int, int, bool], tuple[Strip, Style]] = LRUCache(1024)
        self._grew_posted = False
        self._widest = 0  # cells of the widest line drawn so far: how far sideways scrolling may go
        self._page: tuple | None = None  # (key, strips) of the last wrapped page laid out
        self._wrap_x = 0  # while wrapping: how far h/l moved the rows holding a word wider than the view
        self._wrap_overflow = 0  # the widest such row on the page, less the view's width
        self._laid_out_width = 0  # the width the sideways offset was chosen for
        self.opened_at: float | None = None
        self.last_line_painted_at: float | None = None  # when the file's last line was first drawn after opening

    # ------------------------------------------------------------ opening and growth

    def open(self, path: str | os.PathLike, follow: bool = True) -> None:
        """Show `path` from its last page (it may not exist yet) and watch it grow."""
        self.opened_at = time.perf_counter()
        self.last_line_painted_at = None
        if self.index is not None:
            self.index.close()
        self.index = LineIndex(path)
        self.index.extend_back(self._page_lines())
        self._forget()
        self.following = follow
        self._sync_size(to_end=True)
        self._watch_file(self.index.path)

    def close(self) -> None:
        self.workers.cancel_group(self, "logview-watch")
        if self.index is not None:
            self.index.close()
        self.index = None
        self._forget()
        self._sync_size()

    def on_unmount(self) -> None:
        if self.index is not None:
            self.index.close()

    def _page_lines(self) -> int:
        return max(INITIAL_LINES, 3 * self.size.height)

    def _forget(self) -> None:
        self.current_start = None
        self._texts.clear()
        self._strips.clear()
        self._page = None
        self._widest = 0

    def _sync_size(self, to_end: bool = False) -> None:
        self.virtual_size = Size(0 if self.wrap else self._widest, len(self.index) if self.index is not None else 0)
        if to_end or self.following:
            self.scroll_to(y=self.max_scroll_y, animate=False, force=True)
        self.refresh()

    @work(thread=True, exclusive=True, group="logview-watch", exit_on_error=False)
    def _watch_file(self, path: Path) -> None:
        worker = get_current_worker()
        seen = None
        while not worker.is_cancelled:
            try:
                st = os.stat(path)
                now = (st.st_ino, st.st_size)
            except OSError:
                now = None
            if now != seen:
                seen = now
                if not self._grew_posted:
                    self._grew_posted = True
                    self.post_message(self.Grew())
            time.sleep(POLL_SECONDS)

    @on(Grew)
    def _grew(self, event: Grew) -> None:
        event.stop()
        self._grew_posted = False
        self.catch_up()

    def catch_up(self) -> None:
        """Index what was appended and redraw; at the bottom when following."""
        index = self.index
        if index is None:
            return
        generation = index.generation
        more = index.refresh()
        if index.generation != generation:
            self._forget()
            index.extend_back(self._page_lines())
            self.post_message(self.Reopened())
        self._sync_size()
        if more:
            self.call_later(self.catch_up)

    # ------------------------------------------------------------ scrolling

    def on_resize(self) -> None:
        if self.size.width != self._laid_out_width:  # a sideways offset chosen for the old width would start lines mid-word
            self._laid_out_width = self.size.width
            self.scroll_to(x=0, animate=False, force=True, immediate=True)
        if self.following:
            self.scroll_to(y=self.max_scroll_y, animate=False, force=True)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value < old_value and new_value < self.max_scroll_y and self.following:
            self.following = False
        if self.index is not None and not self.index.complete and new_value < 2 * self.size.height:
            self.call_later(self._grow_up)

    def _grow_up(self) -> None:
        index = self.index
        if index is None or index.complete or self.scroll_y >= 2 * self.size.height:
            return
        self.prepended(index.extend_back(max(GROW_LINES, 4 * self.size.height)))

    def prepended(self, added: int) -> None:
        """Lines were added above: keep the same lines in view."""
        if added:
            self.virtual_size = Size(0 if self.wrap else self._widest, len(self.index))
            self.scroll_to(y=self.scroll_y + added, animate=False, force=True)
            self.refresh()

    def scroll_lines(self, count: int) -> None:
        # at once, from the last target: keys typed faster than the screen redraws each move a line
        self.scroll_to(y=self.scroll_target_y + count, animate=False, force=True, immediate=True)

    def scroll_columns(self, count: int | None) -> None:
        """Scroll sideways by `count` cells (None: back to the first column); while wrapping, only the rows holding
        a word wider than the view move, so such a word is read whole."""
        if self.wrap:
            shift = 0 if count is None else max(0, min(self._wrap_x + count, self._wrap_overflow))
            if shift != self._wrap_x:
                self._wrap_x, self._page = shift, None
                self.refresh()
            return
        x = 0 if count is None else max(0, min(self.scroll_target_x + count, self.max_scroll_x))
        self.scroll_to(x=x, animate=False, force=True, immediate=True)

    def watch_wrap(self, _value: bool) -> None:
        self._page = None
        self._wrap_x = 0
        self.scroll_to(x=0, animate=False, force=True, immediate=True)
        self._sync_size(to_end=self.following)

    def action_page_up(self) -> None:
        self.scroll_lines(-max(1, self.size.height - 1))

    def action_page_down(self) -> None:
        self.scroll_lines(max(1, self.size.height - 1))

    def to_end(self) -> None:
        self.scroll_to(y=self.max_scroll_y, animate=False, force=True)

    def visible_range(self) -> tuple[int, int]:
        """The first visible line and the one after the last."""
        n = len(self.index) if self.index is not None else 0
        first = min(int(self.scroll_y), n)
        return first, min(first + self.size.height, n)

    def mark(self, start: int | None) -> None:
        """Mark the line starting at byte `start` and bring it into view (centred unless already visible)."""
        self.current_start = start
        self._strips.clear()
        self._page = None
        if start is not None and self.index is not None:
            self.following = False  # stay on the marked line while more is appended
            line = self.index.line_of_offset(start)
            if line is not None:
                first, end = self.visible_range()
                if not first <= line < end:
                    self.scroll_to(y=max(0, line - self.size.height // 2), animate=False, force=True)
        self.refresh()

    def visible_text(self) -> list[str]:
        """The lines in view as shown (before cutting to the width)."""
        first, end = self.visible_range()
        return [self._text(i, *self.index.bounds(i)) for i in range(first, end)]

    def current_line(self) -> int | None:
        if self.current_start is None or self.index is None:
            return None
        return self.index.line_of_offset(self.current_start)

    def set_highlight(self, pattern: re.Pattern[str] | None) -> None:
        self.highlight = pattern
        self._strips.clear()
        self._page = None
        self.refresh()

    # ------------------------------------------------------------ rendering

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()
        self._page = None

    def _line_strip(self, i: int) -> tuple[Strip, Style]:
        start, end = self.index.bounds(i)
        key = (start, end, start == self.current_start)
        cached = self._strips.get(key)
        if cached is None:
            cached = self._render_text(self._text(i, start, end), start == self.current_start)
            self._strips.set(key, cached)
            if cached[0].cell_length > self._widest:
                self._widest = cached[0].cell_length
                if not self.wrap:
                    self.call_later(self._sync_size)  # sideways scrolling reaches the new widest line
        if i == len(self.index) - 1 and self.last_line_painted_at is None:
            self.last_line_painted_at = time.perf_counter()
        return cached

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.rich_style
        index = self.index
        if self.wrap:
            return self._wrapped_page(width)[y] if index is not None and y < self.size.height else Strip.blank(width, base)
        i = scroll_y + y
        if index is None or i >= len(index):
            return Strip.blank(width, base)
        strip, pad = self._line_strip(i)
        return strip.crop_extend(scroll_x, scroll_x + width, pad)

    def _wrapped_page(self, width: int) -> list[Strip]:
        """The screen's rows with long lines folded at `width`. At the top of the file the page starts with line 0;
        elsewhere the last line in view (scroll_y + height - 1) sits at the bottom, so the end of the log and
        following always show the newest line whole."""
        index, height, top = self.index, self.size.height, int(self.scroll_y)
        n = len(index)
        key = (top, width, height, n, index.generation, index.base, self.current_start, id(self.highlight), self._wrap_x)
        if self._page is not None and self._page[0] == key:
            return self._page[1]
        width = max(width, 1)

        widest = 0

        def rows_of(i: int) -> list[Strip]:
            """Line i folded at spaces (the build log's folding); a row wider than the view shows from _wrap_x."""
            nonlocal widest
            strip, pad = self._line_strip(i)
            cells = strip.cell_length
            if cells <= width:
                return [strip.crop_extend(0, width, pad)]
            start, end = index.bounds(i)
            text = self._text(i, start, end)
            edges = [0, *(cell_len(text[:cut]) for cut in fold_at_spaces(text, width)), cells]
            rows = []
            for a, b in zip(edges, edges[1:]):
                widest = max(widest, b - a)
                shift = self._wrap_x if b - a > width else 0
                rows.append(strip.crop(a, b).crop_extend(shift, shift + width, pad))
            return rows

        rows: list[Strip] = []
        if top == 0:
            i = 0
            while i < n and len(rows) < height:
                rows += rows_of(i)
                i += 1
            rows = rows[:height]
        else:
            i = min(top + height, n) - 1
            while i >= 0 and len(rows) < height:
                rows = rows_of(i) + rows
                i -= 1
            rows = rows[-height:]
        rows += [Strip.blank(width, self.rich_style)] * (height - len(rows))
        self._wrap_overflow = max(0, widest - width)  # how far h/l may move a word wider than the view
        self._page = (key, rows)
        return rows

    def _text(self, i: int, start: int, end: int) -> str:
        text = self._texts.get((start, end))
        if text is None:
            text = display_text(self.index.line(i))
            self._texts.set((start, end), text)
        return text

    def _render_text(self, text: str, current: bool) -> tuple[Strip, Style]:
        """The whole line as a strip, and the style its blank tail gets (the marked line's background)."""
        style = self.rich_style
        if _ERROR_TEXT.search(text):
            style += self.get_component_rich_style("loglines--error", partial=True)
        if current:
            style += self.get_component_rich_style("loglines--current", partial=True)
        line = Text(text, style=style, no_wrap=True, end="")
        stamp = _ENGINE_LINE.match(text)
        if stamp:
            line.stylize(self.get_component_rich_style("loglines--timestamp", partial=True), 0, 23)
            if stamp.group(1):
                line.stylize(self.get_component_rich_style("loglines--source", partial=True), *stamp.span(1))
        if self.highlight is not None:
            match_style = self.get_component_rich_style("loglines--match", partial=True)
            for m in self.highlight.finditer(text):
                line.stylize(match_style, m.start(), m.end())
        return Strip(line.render(self.app.console)), style


class LogView(Vertical):
    """A log file's lines with follow mode, `/` search (n, N to repeat), `e` to the previous error, g/G ends."""

    ACTIONS: ClassVar[list[Action]] = [
        Action("search", "slash", "Search the log", short="search"),
        Action("next_match", "n", "Next match up", short="next"),
        Action("previous_match", "N", "Next match down", show=False),
        Action("previous_error", "e", "Previous error", short="error"),
        Action("next_error", "E", "Next error down", show=False),
        Action("toggle_follow", "f", "Follow", short="follow"),
        Action("top", "g", "Start of the log", show=False),
        Action("bottom", "G", "End and follow", short="end"),
        Action("down", "j", "Line down", show=False),
        Action("up", "k", "Line up", show=False),
        Action("toggle_wrap", "w", "Wrap long lines", short="wrap"),
        Action("right", "l,right", "Scroll right", show=False),
        Action("left", "h,left", "Scroll left", show=False),
        Action("line_start", "0,home", "First column", show=False),
    ]
    BINDINGS = bindings(ACTIONS) + [Binding("escape", "close_search", "Close search", show=False)]

    DEFAULT_CSS = """
    LogView {
        height: 1fr;
    }
    LogView > LogLines {
        height: 1fr;
    }
    LogView > Input.logview-search {
        height: 1;
        border: none;
        padding: 0 1;
        display: none;
    }
    LogView > .logview-status {
        height: 1;
        color: $text-muted;
    }
    """

    @dataclass
    class Found(Message):
        """A search worker's answer: the matching line's start, and the line starts the index needs to reach it."""

        kind: str  # "text", "error" or "start"
        backwards: bool
        start: int | None
        starts: array | None = None
        lo: int = 0
        generation: int = 0

    def __init__(self, path: str | os.PathLike | None = None, follow: bool = True, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self._initial = (path, follow)
        self.search_text: str | None = None
        self._search: Needles | None = None
        self.keys_handled = 0  # for benchmarks: how many key actions ran, and when the last one did
        self.last_key_at = 0.0

    def compose(self) -> ComposeResult:
        yield LogLines()
        yield Input(placeholder="search back for…  (enter; esc closes)", classes="logview-search")
        yield Static("", classes="logview-status", markup=False)

    def on_mount(self) -> None:
        self.watch(self.lines, "following", self._show_follow_state)
        path, follow = self._initial
        if path is not None:
            self.open(path, follow)
        else:
            self.say("no log open")

    @property
    def lines(self) -> LogLines:
        return self.query_one(LogLines)

    @property
    def following(self) -> bool:
        return self.lines.following

    @following.setter
    def following(self, value: bool) -> None:
        self.lines.following = value
        if value:
            self.lines.to_end()

    def open(self, path: str | os.PathLike, follow: bool = True) -> None:
        """Show the log at `path` from its last page; follow it as it grows when `follow`."""
        self.workers.cancel_group(self, "logview-search")
        self.lines.open(path, follow)
        self.lines.set_highlight(None)
        self.search_text = None
        self._search = None
        self._show_follow_state()

    def focus_lines(self) -> None:
        self.lines.focus()

    def say(self, text: str) -> None:
        self.query_one(".logview-status", Static).update(text)

    def _show_follow_state(self, _value: bool | None = None) -> None:
        index = self.lines.index
        if index is None:
            return
        if not index.exists:
            self.say(f"waiting for {index.path.name} to appear")
        elif self.following:
            self.say("following · f pauses" + self._wrap_hint())
        else:
            self.say("paused · f follows, G goes to the end" + self._wrap_hint())

    def _wrap_hint(self) -> str:
        return " · wrapped (w cuts)" if self.lines.wrap else " · w wraps, h/l scroll sideways"

    @on(LogLines.Reopened)
    def _reopened(self, event: LogLines.Reopened) -> None:
        event.stop()
        self._show_follow_state()

    def _handled(self) -> None:
        self.keys_handled += 1
        self.last_key_at = time.perf_counter()

    # ------------------------------------------------------------ keys

    def action_down(self) -> None:
        self.lines.scroll_lines(1)
        self._handled()

    def action_up(self) -> None:
        self.lines.scroll_lines(-1)
        self._handled()

    def action_bottom(self) -> None:
        self.lines.catch_up()
        self.following = True
        self._handled()

    def action_top(self) -> None:
        lines = self.lines
        lines.following = False
        index = lines.index
        if index is not None and not index.complete:
            self.say("reading back to the start…")
            self._scan_to_start(index.path, index.top, index.base, index.generation)
        else:
            lines.scroll_to(y=0, animate=False, force=True)
        self._handled()

    def action_toggle_follow(self) -> None:
        self.following = not self.following
        self._handled()

    def action_toggle_wrap(self) -> None:
        self.lines.wrap = not self.lines.wrap
        self._show_follow_state()
        self._handled()

    def action_right(self) -> None:
        self.lines.scroll_columns(max(8, self.lines.size.width // 2))
        self._handled()

    def action_left(self) -> None:
        self.lines.scroll_columns(-max(8, self.lines.size.width // 2))
        self._handled()

    def action_line_start(self) -> None:
        self.lines.scroll_columns(None)
        self._handled()

    def action_search(self) -> None:
        search = self.query_one(".logview-search", Input)
        search.value = self.search_text or ""
        search.display = True
        self.query_one(".logview-status").display = False
        search.focus()
        self._handled()

    def action_close_search(self) -> None:
        search = self.query_one(".logview-search", Input)
        if not search.display:
            raise SkipAction()
        self._close_search()

    def _close_search(self) -> None:
        self.query_one(".logview-search", Input).display = False
        self.query_one(".logview-status").display = True
        self.lines.focus()

    @on(Input.Submitted, ".logview-search")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._close_search()
        if event.value:
            self.search(event.value)

    def search(self, text: str, backwards: bool = True) -> None:
        """Find `text` in the lines above the view (or below it), mark the line and bring it into view."""
        self.search_text = text
        self._search = compile_search(text)
        self.lines.set_highlight(self._search.on_screen())
        self._find("text", self._search, backwards)

    def action_next_match(self) -> None:
        if self._search is not None:
            self._find("text", self._search, True)
        self._handled()

    def action_previous_match(self) -> None:
        if self._search is not None:
            self._find("text", self._search, False)
        self._handled()

    def action_previous_error(self) -> None:
        self._find("error", ERRORS, True)
        self._handled()

    def action_next_error(self) -> None:
        self._find("error", ERRORS, False)
        self._handled()

    # ------------------------------------------------------------ search

    def _find(self, kind: str, needles: Needles, backwards: bool) -> None:
        lines = self.lines
        index = lines.index
        if index is None or not index.exists:
            self.say("nothing to search yet")
            return
        first, end = lines.visible_range()
        current = lines.current_line()
        if current is not None and first <= current < end:
            origin = lines.current_start if backwards else _after(index, current)
        elif backwards:
            origin = index.start(end) if end < len(index) else index.size
        else:
            origin = index.start(first) if first < len(index) else index.size
        self.say(f"looking for {self._what(kind)}…")
        self._search_worker(kind, needles, origin, backwards, index.path, index.top, index.base, index.generation)

    def _what(self, kind: str) -> str:
        return f"'{self.search_text}'" if kind == "text" else "an error line"

    @work(thread=True, exclusive=True, group="logview-search", exit_on_error=False)
    def _search_worker(
        self, kind: str, needles: Needles, origin: int, backwards: bool, path: Path, top: int, base: int, generation: int
    ) -> None:
        worker = get_current_worker()
        start = find_line(path, needles, origin, backwards, lambda: worker.is_cancelled)
        if worker.is_cancelled:
            return
        starts, lo = None, 0
        if start is not None and start < top:
            lo = max(start - 1 - FIRST_CHUNK, 0)  # a little above the hit, so it can be centred
            starts = scan_back(path, lo, top, base, lambda: worker.is_cancelled)
            if starts is None:
                return
        self.post_message(self.Found(kind, backwards, start, starts, lo, generation))

    @work(thread=True, exclusive=True, group="logview-search", exit_on_error=False)
    def _scan_to_start(self, path: Path, top: int, base: int, generation: int) -> None:
        worker = get_current_worker()
        starts = scan_back(path, 0, top, base, lambda: worker.is_cancelled)
        if starts is not None:
            self.post_message(self.Found("start", True, 0, starts, 0, generation))

    @on(Found)
    def _found(self, message: Found) -> None:
        message.stop()
        lines = self.lines
        index = lines.index
        if index is None:
            return
        if message.generation != index.generation:
            self.say("the file was replaced; search again")
            return
        if message.starts is not None:
            lines.prepended(index.merge_back(message.starts, message.lo, message.generation))
        if message.kind == "start":
            lines.scroll_to(y=0, animate=False, force=True)
            self._show_follow_state()
        elif message.start is None:
            where = "above" if message.backwards else "below"
            self.say(f"no line {where} has '{self.search_text}'" if message.kind == "text" else f"no error line {where}")
        else:
            lines.mark(message.start)
            keys = "n next up · N next down" if message.kind == "text" else "e next up · E next down"
            self.say(f"{self._what(message.kind)} · {keys}")


def _after(index: LineIndex, line: int) -> int:
    return index.start(line + 1) if line + 1 < len(index) else index.size
