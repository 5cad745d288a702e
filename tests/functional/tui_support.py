"""What the workbench's Pilot tests share."""

from __future__ import annotations

import time


async def wait_for(pilot, condition, timeout: float = 15.0) -> float:
    """Let the app run, no key pressed, until `condition()` holds; returns the seconds it took."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"the screen did not reach the expected state within {timeout} s")
        await pilot.pause(0.02)
    return time.monotonic() - start
