"""Benchmark: the log view on a 1 GB log, and its answers to keys while a job floods its log.

(a) Opening a 1 GB log (about 10 million engine-style lines with some tracebacks)
    until its last page is drawn, in a headless `App.run_test()`; baseline: reading
    the last 50 lines with a tail-like seek. Target: under 1 s.
(b) While a thread appends 10,000 lines per second to the followed log, keys
    (j, k, G) go in through the pilot; each one's latency is the time until the
    view's action ran. Target: max and p95 under 100 ms.
(c) A search whose only hit is at the top of the 1 GB file runs in a worker;
    keys sent meanwhile (`app.simulate_key`) are timed the same way.

Run: python bench/tui_logs.py [--size-mb 1024] [--flood-seconds 10]
Temporary files are deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual.app import App, ComposeResult

from tui.widgets.logview import LogView

NODES = ["num", "cat", "txt", "model"]
TASKS = ["impute_median@1", "one_hot@1", "tfidf@2", "logistic_regression@3", "gbm@1"]
TRACEBACK = [
    "Traceback (most recent call last):",
    '  File "/work/tasks/gbm/custom.py", line 41, in fit',
    "    booster = train(params, dtrain, num_boost_round=rounds)",
    '  File "/usr/lib/python3/site-packages/gbm/engine.py", line 212, in train',
    "    raise ValueError(f'label must be in [0, 1], got {bad}')",
    "ValueError: label must be in [0, 1], got 2.0",
]


def engine_lines(start: float, count: int, rng: random.Random) -> list[str]:
    """`count` realistic log lines from `start` (seconds since the epoch): engine lines, task output, a rare traceback."""
    out = []
    t = start
    for i in range(count):
        t += rng.random() * 0.004
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) + f".{int(t % 1 * 1000):03d}"
        kind = rng.random()
        if kind < 0.0005:
            out.append(f"{stamp} [engine] node model: {TASKS[i % 5]} failed; its traceback follows")
            out.extend(TRACEBACK)
        elif kind < 0.7:
            node = NODES[i % 4]
            out.append(f"{stamp} [engine] node {node}: {TASKS[i % 5]} fitting on {rng.randrange(1000, 99999):,} rows, batch {i % 977}")
        elif kind < 0.9:
            out.append(f"[{TASKS[i % 5]}] iteration {i % 5000:5d} train loss {rng.random():.6f} valid loss {rng.random():.6f} lr 0.0100")
        else:
            out.append(f"{stamp} [engine] cache hit for {TASKS[i % 5]} inputs sha256 {rng.getrandbits(128):032x}")
    return out


def write_big_log(path: Path, size: int) -> int:
    """Write about `size` bytes of log lines; returns the line count."""
    rng = random.Random(42)
    lines = 0
    t = time.time() - 86400
    with open(path, "w", buffering=1 << 22) as fh:
        fh.write("2026-01-01 00:00:00.000 [engine] job 1 started: the very first line of this log\n")
        written = 0
        while written < size:
            block = engine_lines(t, 20_000, rng)
            t += 80
            text = "\n".join(block) + "\n"
            fh.write(text)
            written += len(text)
            lines += len(block)
    return lines + 1


def tail_baseline(path: Path, count: int = 50) -> list[str]:
    """The last `count` lines by seeking to the end and reading backwards, as `tail` does."""
    with open(path, "rb") as fh:
        end = fh.seek(0, os.SEEK_END)
        pos, data = end, b""
        while pos > 0 and data.count(b"\n") <= count:
            step = min(pos, 1 << 16)
            pos -= step
            fh.seek(pos)
            data = fh.read(step) + data
    return [line.decode("utf-8", "replace") for line in data.splitlines()[-count:]]


class LogApp(App):
    def __init__(self, path: Path, follow: bool):
        super().__init__()
        self.path, self.follow = path, follow

    def compose(self) -> ComposeResult:
        yield LogView(self.path, follow=self.follow)

    def on_mount(self) -> None:
        self.query_one(LogView).focus_lines()


async def open_time(path: Path) -> tuple[float, float, list[str]]:
    """Seconds from starting the app (and from the view's open) until the file's last line is drawn."""
    started = time.perf_counter()
    app = LogApp(path, follow=True)
    async with app.run_test(size=(120, 40)) as pilot:
        lines = app.query_one(LogView).lines
        while lines.last_line_painted_at is None:
            await asyncio.sleep(0.001)
        painted = lines.last_line_painted_at
        shown = lines.visible_text()
        await pilot.pause()
        return painted - started, painted - lines.opened_at, shown


async def timed_keys(pilot, view: LogView, keys: list[str], gap: float) -> list[float]:
    """Each key's latency: from sending it through the pilot until the view's action ran."""
    latencies = []
    for key in keys:
        before = view.keys_handled
        sent = time.perf_counter()
        await pilot.press(key)
        while view.keys_handled == before:
            await asyncio.sleep(0.0005)
        latencies.append(view.last_key_at - sent)
        await asyncio.sleep(gap)
    return latencies


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def summary(latencies: list[float]) -> str:
    ms = sorted(x * 1000 for x in latencies)
    return f"{len(ms)} keys: median {statistics.median(ms):.1f} ms, p95 {p95(ms):.1f} ms, max {ms[-1]:.1f} ms"


async def flood(path: Path, seconds: float, rate: int) -> tuple[list[float], int, int, bool]:
    """Follow `path` while a thread appends `rate` lines a second; press j, k, G meanwhile."""
    path.write_text("")
    stop = threading.Event()
    written = [0]

    def appender() -> None:
        template = engine_lines(time.time(), 1000, random.Random(7))
        per_tick = rate // 100  # written every 10 ms
        with open(path, "a") as fh:
            tick = time.perf_counter()
            n = 0
            while not stop.is_set():
                fh.write("".join(f"{template[(n + i) % 1000]} seq={n + i}\n" for i in range(per_tick)))
                fh.flush()
                n += per_tick
                written[0] = n
                tick += 0.01
                delay = tick - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)

    app = LogApp(path, follow=True)
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.query_one(LogView)
        await pilot.pause()
        thread = threading.Thread(target=appender, daemon=True)
        started = time.perf_counter()
        thread.start()
        latencies = []
        keys = ["j", "k", "k", "j", "G"]
        while time.perf_counter() - started < seconds:
            latencies += await timed_keys(pilot, view, keys, gap=0.05)
        stop.set()
        thread.join()
        elapsed = time.perf_counter() - started
        # the view catches up with the last line once the flood stops
        lines = view.lines
        view.following = True
        deadline = time.perf_counter() + 5
        caught_up = False
        while time.perf_counter() < deadline:
            await pilot.pause(0.1)
            text = lines.visible_text()
            if text and text[-1].endswith(f"seq={written[0] - 1}"):
                caught_up = True
                break
        return latencies, written[0], int(written[0] / elapsed), caught_up


async def search_while_typing(path: Path) -> tuple[float, list[float]]:
    """Search for the file's first line from its end (a scan of the whole file in a worker) while pressing keys."""
    app = LogApp(path, follow=False)
    async with app.run_test(size=(120, 40)):
        view = app.query_one(LogView)
        lines = view.lines
        while lines.last_line_painted_at is None:
            await asyncio.sleep(0.001)
        started = time.perf_counter()
        view.search("the very first line")
        latencies = []
        while lines.current_line() is None and time.perf_counter() - started < 60:
            # app.simulate_key posts the key as the terminal driver would, without the pilot's
            # wait for an idle CPU (which a scanning worker never gives), so more keys fit in
            for key in ("k", "j"):
                before = view.keys_handled
                sent = time.perf_counter()
                app.simulate_key(key)
                while view.keys_handled == before:
                    await asyncio.sleep(0.0005)
                latencies.append(view.last_key_at - sent)
                await asyncio.sleep(0.02)
        found = time.perf_counter() - started
        assert lines.current_line() == 0 and b"the very first line" in lines.index.line(0)
        return found, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--flood-seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=10_000, help="lines appended per second in (b)")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="taskbench-bench-logs-"))
    try:
        big = folder / "big.log"
        t = time.perf_counter()
        count = write_big_log(big, args.size_mb << 20)
        size = big.stat().st_size
        print(f"wrote {size / (1 << 30):.2f} GiB, {count:,} lines in {time.perf_counter() - t:.1f} s")

        base = []
        for _ in range(5):
            t = time.perf_counter()
            last = tail_baseline(big)
            base.append(time.perf_counter() - t)
        runs = [asyncio.run(open_time(big)) for _ in range(3)]
        assert all(shown[-1] == last[-1] for _, _, shown in runs), "the view's last line differs from tail's"
        app_times = [r[0] for r in runs]
        open_times = [r[1] for r in runs]
        print(f"(a) open a {size / (1 << 30):.2f} GiB log to its last page")
        print(f"    baseline, last 50 lines by seek:       median {statistics.median(base) * 1000:.2f} ms")
        print(f"    LogView, app start -> last page drawn: median {statistics.median(app_times):.3f} s, max {max(app_times):.3f} s")
        print(f"    LogView, open() -> last page drawn:    median {statistics.median(open_times) * 1000:.1f} ms")
        print(f"    target < 1 s: {'met' if max(app_times) < 1 else 'NOT met'}")

        found, during_search = asyncio.run(search_while_typing(big))
        print("(c) search from the end for the file's first line (the whole file, in a worker)")
        print(f"    found after {found:.2f} s; keys meanwhile: {summary(during_search)}")

        latencies, written, rate, caught_up = asyncio.run(flood(folder / "flood.log", args.flood_seconds, args.rate))
        print(f"(b) keys while {rate:,} lines/s are appended to the followed log ({written:,} lines)")
        print(f"    {summary(latencies)}")
        print(f"    view showed the last line after the flood: {'yes' if caught_up else 'NO'}")
        print(f"    target < 100 ms: {'met' if max(latencies) < 0.1 and p95(latencies) < 0.1 else 'NOT met'}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
