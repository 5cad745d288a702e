"""Is a process still the one we recorded? Liveness plus start time, so a reused pid is not mistaken for it."""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    return socket.gethostname()


def pid_alive(pid: int) -> bool:
    """True when a process with this pid exists on this host and is not a zombie."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    return _proc_state(pid) != "Z"


def process_start_time(pid: int) -> str | None:
    """The process's start time as the kernel counts it (clock ticks since boot), or None where unknown."""
    fields = _proc_stat_fields(pid)
    return fields[19] if fields and len(fields) > 19 else None


def same_process(pid: int, start_time: str | None) -> bool:
    """True when `pid` is alive and, where start times are known, started when recorded."""
    if not pid_alive(pid):
        return False
    if start_time is None:
        return True
    now = process_start_time(pid)
    return now is None or now == start_time


def _proc_stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (field 3 onward), or None off Linux."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            raw = fh.read().decode("ascii", "replace")
    except OSError:
        return None
    # The command name is in parentheses and may itself hold spaces or parentheses.
    return raw[raw.rfind(")") + 2 :].split()


def _proc_state(pid: int) -> str | None:
    fields = _proc_stat_fields(pid)
    return fields[0] if fields else None
