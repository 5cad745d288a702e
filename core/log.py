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

    def emit(self, record: logging.LogRecord) -> None:
        try:
            super().emit(record)  # opening the file on the first record happens outside logging's own error handling
        except OSError:
            pass

    def handleError(self, record: logging.LogRecord) -> None:
        pass


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
    handler.setFormatter(logging.Formatter(FORMAT, datefmt="%Y-%m-%dT%H:%M:%S%z"))
    _logger.addHandler(handler)
    return _logger
