"""One log file per job: the engine's own timestamped lines and the task's raw output, in order."""

from __future__ import annotations

import errno
import threading
import time
import traceback
from pathlib import Path

DEFAULT_OUTPUT_CAP = 64 << 20


_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


class JobLog:
    """Appends to a log file from several threads; caps task output so a flood cannot fill the disk.

    On a full disk a write is dropped and counted instead of raising: the job goes on to record how it ended.
    """

    def __init__(self, path: Path, output_cap: int = DEFAULT_OUTPUT_CAP):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "ab", buffering=0)
        self._lock = threading.Lock()
        self._cap = output_cap
        self.output_bytes = 0
        self.unwritten_bytes = 0  # dropped because the disk was full
        self._partial = False

    def _write(self, data: bytes) -> bool:
        """Append `data` (lock held); on a full disk count it as unwritten."""
        try:
            self._fh.write(data)
            return True
        except OSError as exc:
            if exc.errno not in _DISK_FULL:
                raise
            self.unwritten_bytes += len(data)
            return False

    def line(self, text: str, *, who: str = "engine") -> None:
        """Write one engine line, timestamped."""
        now = time.time()
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1000):03d}"
        data = b"".join(
            f"{stamp} [{who}] {part}\n".encode("utf-8", "replace") for part in text.splitlines() or [""]
        )
        with self._lock:
            if self._partial:
                data = b"\n" + data
                self._partial = False
            self._write(data)

    def exception(self, text: str) -> None:
        """Write a line and the current exception's full traceback (engine faults go here, not the screen)."""
        self.line(f"{text}\n{traceback.format_exc()}")

    def output(self, chunk: bytes) -> None:
        """Append raw task output, up to the cap; past it, count what was dropped."""
        with self._lock:
            before = self.output_bytes
            self.output_bytes += len(chunk)
            if before >= self._cap:
                return
            keep = chunk[: self._cap - before]
            if self._write(keep):
                self._partial = not keep.endswith(b"\n")
            if self.output_bytes > self._cap and before + len(keep) >= self._cap:
                self._write(b"\n[taskbench] task output over the log cap; the rest is dropped\n")
                self._partial = False

    def close(self) -> None:
        with self._lock:
            if self.output_bytes > self._cap:
                dropped = self.output_bytes - self._cap
                self._write(f"[taskbench] {dropped} bytes of task output were not logged\n".encode())
            if self.unwritten_bytes:
                self._write(f"[taskbench] {self.unwritten_bytes} bytes were not logged: the disk was full\n".encode())
            try:
                self._fh.close()
            except OSError as exc:
                if exc.errno not in _DISK_FULL:
                    raise
