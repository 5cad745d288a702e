"""Find and kill the processes a task started (Linux /proc); shared by the engine's runner and the worker itself.

A task may fork, call setsid() and fork again, so neither its session nor its
process group holds everything it started. The worker therefore makes itself
a child subreaper: whatever a step leaves orphaned is re-parented to the
worker instead of init, and the worker's descendants are exactly the
processes of its steps.
"""

import os
import signal
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    """Make this process the reaper of its orphaned descendants (Linux prctl); False where that is unavailable."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _stat(pid):
    """(state, ppid, session) of a process from /proc/PID/stat, or None if it is gone."""
    try:
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY)  # low-level: the memory watch reads every process often
        try:
            stat = os.read(fd, 1024)
        finally:
            os.close(fd)
        # Fields after the command name (which may contain spaces and parentheses): state ppid pgrp session ...
        fields = stat[stat.rindex(b")") + 2 :].split(b" ", 5)
        return fields[0], int(fields[1]), int(fields[3])
    except (OSError, ValueError, IndexError):
        return None


def _table():
    """{pid: (state, ppid, session)} of every process this machine shows in /proc."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            found = _stat(entry)
            if found is not None:
                table[int(entry)] = found
    return table


def descendants(pid, table=None, spare=()):
    """PIDs of every live (not zombie) process below `pid`, whatever session or process group it moved to;
    the pids in `spare` are left out (their own children are not)."""
    table = _table() if table is None else table
    children = {}
    for p, (_state, ppid, _sid) in table.items():
        children.setdefault(ppid, []).append(p)
    found, todo = [], list(children.get(pid, ()))
    while todo:
        p = todo.pop()
        if table[p][0] not in (b"Z", b"X") and p not in spare:
            found.append(p)
        todo += children.get(p, ())
    return found


def rss(pids):
    """Resident memory of the processes `pids` together, in bytes."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/statm", "rb") as fh:
                total += int(fh.read().split()[1]) * page
        except (OSError, ValueError, IndexError):
            pass
    return total


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def kill_descendants(pid, passes=200, spare=()):
    """SIGKILL every process below `pid` until none is left alive.

    All that one pass finds are killed at once; a process forked meanwhile is
    orphaned when its parent dies, comes back under `pid` (a subreaper) and is
    found by the next pass.
    """
    for _ in range(passes):
        alive = descendants(pid, spare=spare)
        if not alive:
            return
        for p in alive:
            _kill(p)
        time.sleep(0.005)


def reap_children():
    """Collect the exit status of every finished child, so killed orphans leave no zombies."""
    while True:
        try:
            done, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if not done:
            return


def kill_session_members(sid, spare=None):
    """SIGKILL every process whose session id is `sid`, except the pid `spare`."""
    for p, (_state, _ppid, session) in _table().items():
        if session == sid and p != spare:
            _kill(p)
