"""A task flooding a streamed log (a fit check printing tens of thousands of lines) never stalls the workbench."""

from __future__ import annotations

import asyncio
import threading

from rich.text import Text
from textual.app import App
from textual.binding import Binding

from tui.widgets.streamlog import FedLog, StreamLog


class Flood(App):
    BINDINGS = [Binding("x", "mark", "mark")]

    def __init__(self):
        super().__init__()
        self.waiting_at_key: list[int] = []

    def compose(self):
        yield FedLog(id="log", max_lines=500, markup=False)

    def action_mark(self) -> None:
        self.waiting_at_key.append(len(self.query_one(StreamLog)._fed))


async def drained(pilot, log: StreamLog) -> None:
    for _ in range(2000):
        if not log._fed and not log._fed_posted:
            return
        await pilot.pause(0.01)
    raise AssertionError("the fed lines were never drawn")


async def test_lines_fed_from_a_thread_end_as_the_last_lines_in_order():
    app = Flood()
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.query_one(StreamLog)
        await pilot.pause()
        feeder = threading.Thread(target=lambda: [log.feed(Text(f"line {i}")) for i in range(3000)])
        feeder.start()
        feeder.join()
        await drained(pilot, log)
        assert [t.plain for t in log.texts] == [f"line {i}" for i in range(2500, 3000)]
        shown = ["".join(segment.text for segment in strip).rstrip() for strip in log.lines]
        assert shown[-1] == "line 2999" and shown == [f"line {i}" for i in range(3000 - len(shown), 3000)]


async def test_a_key_is_answered_while_a_flood_is_still_being_drawn():
    """Lines are drawn a batch per turn of the event loop, so a key sent during a flood runs before the flood is
    drawn (one message per line, as before, answered it only after the last line)."""
    app = Flood()
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.query_one(StreamLog)
        log.focus()
        await pilot.pause()
        for i in range(20_000):
            log.feed(Text(f"line {i}"))
        app.simulate_key("x")
        while not app.waiting_at_key:
            await asyncio.sleep(0.001)
        assert app.waiting_at_key[0] > 0, "the key waited for the whole flood"
        await drained(pilot, log)
        assert log.texts[-1].plain == "line 19999"
