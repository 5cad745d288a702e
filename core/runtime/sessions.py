"""Kill a whole process session (Linux /proc); shared by the engine's runner and the worker itself."""

import os
import signal


def kill_session_members(sid, spare=None):
    """SIGKILL every process whose session id is `sid`, except the pid `spare`."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == spare:
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
            # Fields after the command name (which may contain spaces): state ppid pgrp session ...
            if int(stat[stat.rindex(")") + 2 :].split()[3]) == sid:
                os.kill(int(entry), signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            continue
