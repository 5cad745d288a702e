"""Engine tracebacks go to the workspace's log file (logs/cli.log, logs/workbench.log) through stdlib logging, set up
once per process by the front end, so the screen shows one sentence and the log keeps the rest."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from . import workspace

NAME = "taskbench"
FORMAT = "%(asctime)s %(levelname)s %(message)s"

_logger = logging.getLogger(NAME)
_logger.addHandler(logging.NullHandler())  # never Python's last-resort handler, which writes to the screen
_logger.propagate = False  # an application's own logging setup never copies engine tracebacks to the screen
_logger.setLevel(logging.INFO)


class _FileHandler(logging.FileHandler):
    """A log file that is opened on the first record and stays silent when it cannot be written (a full disk:
    the sentence on screen is all there is room for)."""

    _shared: workspace.Sharing | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            super().emit(record)  # opening the file on the first record happens outside logging's own error handling
        except OSError:
            pass

    def handleError(self, record: logging.LogRecord) -> None:
        pass

    def _open(self):
        """The file, group-writable in a shared workspace whatever the umask it was opened under (a command that
        failed before entering its workspace), so every member's tracebacks keep landing in it."""
        before = os.umask(workspace.SHARED_UMASK) if self._shared is not None else None
        try:
            stream = super()._open()
        finally:
            if before is not None:
                os.umask(before)
        if self._shared is not None:
            workspace.share_files([self.baseFilename], self._shared)
        return stream


def to_workspace(root: str | os.PathLike, front_end: str) -> logging.Logger:
    """The `taskbench` logger, writing to `root/logs/<front_end>.log`: its handler is attached once per process and
    moved only when another workspace (or front end) asks, so records never go to two files."""
    path = str(Path(root) / workspace.LOGS / f"{front_end}.log")
    current = [h for h in _logger.handlers if isinstance(h, _FileHandler)]
    if [h.baseFilename for h in current] == [os.path.abspath(path)]:
        return _logger
    for handler in current:
        _logger.removeHandler(handler)
        handler.close()
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return _logger  # no log folder (a full or read-only disk): records are dropped, the screen is unchanged
    handler = _FileHandler(path, encoding="utf-8", delay=True)
    try:
        handler._shared = workspace.sharing(root)
    except Exception:  # noqa: BLE001 - a workspace one may not enter: its log cannot be written either
        handler._shared = None
    handler.setFormatter(logging.Formatter(FORMAT, datefmt="%Y-%m-%dT%H:%M:%S%z"))
    _logger.addHandler(handler)
    return _logger
