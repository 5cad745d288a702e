"""Drive the real `taskbench` in a tmux terminal: send keys, read the screen, as a user would."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest


def require_tmux() -> str:
    tmux = shutil.which("tmux")
    if not tmux:
        pytest.skip("needs tmux (apt-get install tmux)")
    return tmux


class Terminal:
    """One tmux session running a command at a fixed size; `screen()` is what the user sees."""

    def __init__(self, command: list[str], width: int = 80, height: int = 24, env: dict | None = None):
        self.tmux = require_tmux()
        self.name = f"tb-{uuid.uuid4().hex[:8]}"
        exports = " ".join(f"{k}={v}" for k, v in (env or {}).items())
        shell = f"env -u COLUMNS -u LINES TERM=xterm {exports} {' '.join(_quote(c) for c in command)}; sleep 30"
        subprocess.run(
            [self.tmux, "-f", "/dev/null", "new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height), shell],
            check=True,
        )

    def keys(self, *keys: str) -> None:
        for key in keys:
            subprocess.run([self.tmux, "send-keys", "-t", self.name, key], check=True)
            time.sleep(0.05)

    def type(self, text: str) -> None:
        subprocess.run([self.tmux, "send-keys", "-t", self.name, "-l", text], check=True)

    def screen(self) -> str:
        out = subprocess.run([self.tmux, "capture-pane", "-p", "-t", self.name], capture_output=True, text=True)
        return out.stdout

    def wait_for(self, text: str, timeout: float = 15.0) -> str:
        """The screen once `text` is on it; fails with the last screen after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} did not appear within {timeout} s; the screen was:\n{screen}")

    def wait_gone(self, text: str, timeout: float = 10.0) -> None:
        """Wait until `text` is no longer on the screen (the app closed or moved on)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text not in self.screen():
                return
            time.sleep(0.1)
        raise AssertionError(f"{text!r} stayed on the screen for {timeout} s:\n{self.screen()}")

    def running_command(self) -> str:
        """The program in the foreground of the terminal: the app's Python, or `sleep` once it has ended."""
        out = subprocess.run(
            [self.tmux, "display-message", "-p", "-t", self.name, "#{pane_current_command}"],
            capture_output=True,
            text=True,
            check=False,
        )
        return out.stdout.strip()

    def close(self) -> None:
        subprocess.run([self.tmux, "kill-session", "-t", self.name], capture_output=True)


def taskbench_command(home: Path) -> list[str]:
    script = Path(sys.executable).parent / "taskbench"
    return [str(script), "--home", str(home)]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"
