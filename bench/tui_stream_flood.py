"""Benchmark: the workbench's streamed logs (a fit check's output, an image build) while a task floods them.

A thread hands 60,000 output lines to a `StreamLog` (max 5,000 lines kept, as the
Tasks and Environments panes use it) as fast as it can, the way a fit check's task
output arrives, while a key is sent every 20 ms (`app.simulate_key`, as the terminal
driver posts keys); each key's latency is the time until its action ran. Two ways
in the same run: `feed` (the lines wait in a queue and are drawn in batches between
keys: what the panes use) against the baseline of one posted message per line
(what the Tasks pane did before, which stalled the workbench for 10-17 s).
Target: every key answered within 100 ms, and the whole output drawn in seconds.

Run: python bench/tui_stream_flood.py [--lines 60000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.text import Text  # noqa: E402
from textual.app import App  # noqa: E402
from textual.binding import Binding  # noqa: E402
from textual.message import Message  # noqa: E402
from textual.widget import Widget  # noqa: E402

from tui.widgets.streamlog import FedLog, StreamLog  # noqa: E402


class Holder(Widget):
    """Posts lines to the log one message each: the baseline."""

    @dataclass
    class Line(Message):
        line: Text

    def compose(self):
        yield FedLog(id="log", max_lines=5000, markup=False)

    def on_holder_line(self, message: Line) -> None:
        self.query_one(StreamLog).write_line(message.line)


class Flood(App):
    BINDINGS = [Binding("x", "mark", "mark")]

    def __init__(self):
        super().__init__()
        self.marks: list[float] = []

    def compose(self):
        yield Holder()

    def action_mark(self) -> None:
        self.marks.append(time.perf_counter())


def line(i: int) -> Text:
    return Text.assemble(("  | ", "dim"), f"epoch {i // 100} batch {i % 100}: loss 0.{i % 9973:04d} accuracy 0.{i % 997:03d}")


async def run(lines: int, way: str) -> tuple[float, list[float]]:
    app = Flood()
    async with app.run_test(size=(80, 24)) as pilot:
        holder, log = app.query_one(Holder), app.query_one(StreamLog)
        await pilot.pause()
        done = threading.Event()

        def produce() -> None:
            for i in range(lines):
                if way == "feed":
                    log.feed(line(i))
                else:
                    holder.post_message(Holder.Line(line(i)))
            done.set()

        started = time.perf_counter()
        threading.Thread(target=produce, daemon=True).start()
        latencies = []
        last = f"batch {(lines - 1) % 100}:"
        while True:
            before, sent = len(app.marks), time.perf_counter()
            app.simulate_key("x")
            while len(app.marks) == before:
                await asyncio.sleep(0.0005)
            latencies.append(app.marks[-1] - sent)
            if done.is_set() and log.texts and last in log.texts[-1].plain and not log._fed:
                break
            await asyncio.sleep(0.02)
        drawn = time.perf_counter() - started
        await pilot.pause()
        return drawn, latencies


def summary(latencies: list[float]) -> str:
    ms = sorted(x * 1000 for x in latencies)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"{len(ms)} keys: median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, max {ms[-1]:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=60_000)
    args = parser.parse_args()
    results = {}
    for way in ("feed", "message per line"):
        drawn, latencies = asyncio.run(run(args.lines, way))
        results[way] = (drawn, max(latencies))
        print(f"{way:>16}: {args.lines:,} lines drawn in {drawn:.2f} s; {summary(latencies)}")
    (feed_s, feed_max), (base_s, base_max) = results["feed"], results["message per line"]
    print(f"ratio (message per line / feed): drawn {base_s / feed_s:.1f}x faster, worst key {base_max / feed_max:.1f}x sooner; "
          f"target: worst key under 100 ms ({'met' if feed_max < 0.1 else 'not met'})")


if __name__ == "__main__":
    main()
