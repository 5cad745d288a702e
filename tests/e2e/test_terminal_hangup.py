"""The workbench quits when its terminal goes away (an SSH session dropped, a tmux pane killed) even when no
SIGHUP reaches it, as under runuser or sudo: Textual's input thread would otherwise spin a core forever."""

from __future__ import annotations

import os
import pty
import signal
import time

from tests.e2e.tmux import taskbench_command


def test_the_workbench_quits_when_its_terminal_hangs_up_without_a_sighup(tmp_path):
    command = taskbench_command(tmp_path / "ws")
    pid, fd = pty.fork()
    if pid == 0:  # the child: the workbench on the pty, deaf to SIGHUP
        try:
            os.environ["TERM"] = "xterm-256color"
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            os.execv(command[0], command)
        finally:
            os._exit(127)
    try:
        seen, deadline = b"", time.monotonic() + 30
        while time.monotonic() < deadline and b"Tasks" not in seen:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
        assert b"Tasks" in seen, seen[-2000:]
        os.close(fd)  # the terminal goes away
        fd = -1
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the workbench was still running 20 s after its terminal went away")
        pid = 0
    finally:
        if fd >= 0:
            os.close(fd)
        if pid:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
