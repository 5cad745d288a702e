"""The log view's line index: found from the end backwards, it must agree with `splitlines` however it is read."""

from __future__ import annotations

import random

import pytest

from tui.widgets import logview
from tui.widgets.logview import (
    LineIndex,
    compile_search,
    display_text,
    find_line,
    scan_back,
)


@pytest.fixture
def small_chunks(monkeypatch):
    """Tiny read sizes, so every scan crosses many chunk boundaries."""
    monkeypatch.setattr(logview, "FIRST_CHUNK", 7)
    monkeypatch.setattr(logview, "SCAN_CHUNK", 23)


def expected(data: bytes) -> list[bytes]:
    return data.splitlines()


def read_all(index: LineIndex) -> list[bytes]:
    index.extend_back(10**9)
    assert index.complete
    return [index.line(i) for i in range(len(index))]


def random_log(seed: int, lines: int = 300) -> bytes:
    rng = random.Random(seed)
    out = []
    for n in range(lines):
        width = rng.choice([0, 1, 2, 5, 40, 120, 300])
        out.append(f"{n} " + "x" * width)
    return ("\n".join(out) + rng.choice(["\n", ""])).encode()


@pytest.mark.parametrize("seed", range(8))
def test_back_scan_agrees_with_splitlines(tmp_path, small_chunks, seed):
    data = random_log(seed)
    path = tmp_path / "job.log"
    path.write_bytes(data)
    index = LineIndex(path)
    # read back in uneven steps, checking the tail read so far each time
    rng = random.Random(seed)
    while not index.complete:
        index.extend_back(rng.choice([1, 2, 3, 17, 50]))
        n = len(index)
        assert [index.line(i) for i in range(n)] == expected(data)[-n:]
    assert read_all(index) == expected(data)


def test_the_first_lines_found_are_the_last_of_the_file(tmp_path):
    path = tmp_path / "big.log"
    path.write_bytes(b"".join(b"line %d\n" % i for i in range(100_000)))
    index = LineIndex(path)
    assert index.extend_back(50) == 50
    assert not index.complete
    assert index.line(0) == b"line 99950"
    assert index.line(49) == b"line 99999"
    assert index.top > path.stat().st_size - 1000  # only the tail was read


def test_reading_back_stops_at_its_byte_limit(tmp_path):
    path = tmp_path / "long.log"
    path.write_bytes(b"first\n" + b"x" * 100_000 + b"\nlast\n")
    index = LineIndex(path)
    assert index.extend_back(10, max_bytes=1000) == 1  # only "last" so far
    assert not index.complete
    assert index.extend_back(10, max_bytes=1000) == 0
    assert read_all(index) == [b"first", b"x" * logview.MAX_LINE_BYTES, b"last"]


def test_partial_last_line_then_completed(tmp_path):
    path = tmp_path / "job.log"
    path.write_bytes(b"one\ntwo\nthr")
    index = LineIndex(path)
    assert read_all(index) == [b"one", b"two", b"thr"]
    with open(path, "ab") as fh:
        fh.write(b"ee\nfour")
    index.refresh()
    assert [index.line(i) for i in range(len(index))] == [b"one", b"two", b"three", b"four"]
    with open(path, "ab") as fh:
        fh.write(b"\n")
    index.refresh()
    assert [index.line(i) for i in range(len(index))] == [b"one", b"two", b"three", b"four"]
    with open(path, "ab") as fh:
        fh.write(b"five\n")
    index.refresh()
    assert [index.line(i) for i in range(len(index))] == [b"one", b"two", b"three", b"four", b"five"]


def test_crlf_line_endings(tmp_path, small_chunks):
    data = b"alpha\r\nbeta\r\n\r\ngamma\r\n"
    path = tmp_path / "win.log"
    path.write_bytes(data)
    assert read_all(LineIndex(path)) == expected(data) == [b"alpha", b"beta", b"", b"gamma"]


def test_empty_lines_only(tmp_path, small_chunks):
    data = b"\n\n\n"
    path = tmp_path / "blank.log"
    path.write_bytes(data)
    assert read_all(LineIndex(path)) == [b"", b"", b""]


def test_empty_file_then_growth(tmp_path):
    path = tmp_path / "job.log"
    path.write_bytes(b"")
    index = LineIndex(path)
    assert index.exists and len(index) == 0 and index.complete
    assert index.extend_back(10) == 0
    with open(path, "ab") as fh:
        fh.write(b"first\nsecond\n")
    index.refresh()
    assert [index.line(i) for i in range(len(index))] == [b"first", b"second"]


def test_missing_file_appears_later(tmp_path):
    path = tmp_path / "later.log"
    index = LineIndex(path)
    assert not index.exists and len(index) == 0
    index.refresh()
    assert len(index) == 0
    path.write_bytes(b"hello\n")
    generation = index.generation
    index.refresh()
    assert index.exists and index.generation != generation  # opened as new: read back from its end
    assert read_all(index) == [b"hello"]


def test_growth_while_only_the_tail_is_indexed(tmp_path, small_chunks):
    data = random_log(1)
    path = tmp_path / "job.log"
    path.write_bytes(data)
    index = LineIndex(path)
    index.extend_back(5)
    more = random_log(2, lines=40)
    for piece in (more[:13], more[13:14], more[14:200], more[200:]):
        with open(path, "ab") as fh:
            fh.write(piece)
        index.refresh()
    assert read_all(index) == expected(data + more)


def test_refresh_reads_a_flood_in_bounded_steps(tmp_path):
    path = tmp_path / "job.log"
    path.write_bytes(b"")
    index = LineIndex(path)
    path.write_bytes(b"".join(b"%06d\n" % i for i in range(1000)))
    steps = 1
    while index.refresh(max_bytes=1000):
        steps += 1
    assert steps == 7
    assert len(index) == 1000 and index.line(999) == b"000999"


def test_truncation_starts_over(tmp_path):
    path = tmp_path / "job.log"
    path.write_bytes(b"a\nb\nc\n")
    index = LineIndex(path)
    read_all(index)
    generation = index.generation
    path.write_bytes(b"z\n")
    index.refresh()
    assert index.generation != generation
    assert read_all(index) == [b"z"]


def test_line_of_offset(tmp_path):
    data = b"ab\ncd\n\nef"
    path = tmp_path / "job.log"
    path.write_bytes(data)
    index = LineIndex(path)
    index.extend_back(2)  # "" and "ef"
    assert index.line_of_offset(0) is None
    assert index.line_of_offset(6) == 0
    assert index.line_of_offset(8) == 1
    read_all(index)
    assert [index.line_of_offset(o) for o in range(len(data))] == [0, 0, 0, 1, 1, 1, 2, 3, 3]


@pytest.mark.parametrize("seed", range(4))
def test_a_workers_back_scan_merges_with_the_ui_threads(tmp_path, small_chunks, seed):
    data = random_log(seed)
    path = tmp_path / "job.log"
    path.write_bytes(data)
    index = LineIndex(path)
    index.extend_back(3)
    top, generation = index.top, index.generation
    lo = top // 3
    starts = scan_back(path, lo, top, index.base)
    index.extend_back(4)  # the UI thread read on meanwhile
    index.merge_back(starts, lo, generation)
    assert index.top == lo
    n = len(index)
    assert [index.line(i) for i in range(n)] == expected(data)[-n:]
    index.merge_back(scan_back(path, 0, index.top, index.base), 0, generation)
    assert index.complete
    assert [index.line(i) for i in range(len(index))] == expected(data)


def test_find_line_both_ways_across_chunks(tmp_path, small_chunks):
    lines = [b"%03d ok" % i for i in range(60)]
    lines[5] = b"005 Traceback (most recent call last):"
    lines[41] = b"041 ERROR something broke"
    data = b"\n".join(lines) + b"\n"
    path = tmp_path / "job.log"
    path.write_bytes(data)
    start_of = {i: sum(len(x) + 1 for x in lines[:i]) for i in range(len(lines))}
    pattern = logview.ERRORS
    assert find_line(path, pattern, len(data), backwards=True) == start_of[41]
    assert find_line(path, pattern, start_of[41], backwards=True) == start_of[5]
    assert find_line(path, pattern, start_of[5], backwards=True) is None
    assert find_line(path, pattern, 0, backwards=False) == start_of[5]
    assert find_line(path, pattern, start_of[6], backwards=False) == start_of[41]
    assert find_line(path, pattern, start_of[42], backwards=False) is None
    smart = compile_search("error something")
    assert find_line(path, smart, len(data), backwards=True) == start_of[41]
    assert find_line(path, compile_search("Error"), len(data), backwards=True) is None
    assert find_line(path, compile_search("ok"), len(data), backwards=True) == start_of[59]
    assert find_line(path, compile_search("OK"), len(data), backwards=True) is None


@pytest.mark.parametrize("at", range(40))
def test_a_match_in_a_line_longer_than_a_chunk(tmp_path, small_chunks, at):
    data = b"short\n" + b"x" * (100 + at) + b"needle" + b"y" * 100 + b"\nlast\n"
    path = tmp_path / "job.log"
    path.write_bytes(data)
    needle = compile_search("needle")
    assert find_line(path, needle, len(data), backwards=True) == 6
    assert find_line(path, needle, 0, backwards=False) == 6
    assert find_line(path, compile_search("short"), len(data), backwards=True) == 0
    assert find_line(path, compile_search("last"), 0, backwards=False) == len(data) - 5


def test_display_text_keeps_what_a_terminal_shows():
    assert display_text(b"\x1b[31mred\x1b[0m text") == "red text"
    assert display_text(b" 10%\r 50%\r100%") == "100%"
    assert display_text(b"a\tb") == "a       b"
    assert display_text(b"bad \xff byte") == "bad \ufffd byte"
