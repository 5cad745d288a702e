"""core.log: engine tracebacks go to the workspace's log file through stdlib logging, never to the screen."""

import logging

from core import log


def _file_handlers():
    return [h for h in logging.getLogger(log.NAME).handlers if isinstance(h, logging.FileHandler)]


def test_the_handler_is_attached_once_and_moves_with_the_workspace(tmp_path):
    first = log.to_workspace(tmp_path / "a", "cli")
    log.to_workspace(tmp_path / "a", "cli")
    assert [h.baseFilename for h in _file_handlers()] == [str(tmp_path / "a" / "logs" / "cli.log")]
    try:
        raise RuntimeError("the engine broke")
    except RuntimeError as exc:
        first.error("a command failed", exc_info=exc)
    written = (tmp_path / "a" / "logs" / "cli.log").read_text()
    assert "ERROR a command failed" in written and "Traceback" in written and "RuntimeError: the engine broke" in written
    log.to_workspace(tmp_path / "b", "workbench").error("in b")
    assert [h.baseFilename for h in _file_handlers()] == [str(tmp_path / "b" / "logs" / "workbench.log")]
    assert "in b" in (tmp_path / "b" / "logs" / "workbench.log").read_text()
    assert "in b" not in (tmp_path / "a" / "logs" / "cli.log").read_text()


def test_a_log_that_cannot_be_written_is_silent(tmp_path, capfd):
    (tmp_path / "ws" / "logs" / "cli.log").mkdir(parents=True)  # opening it fails, as on a full disk
    log.to_workspace(tmp_path / "ws", "cli").error("lost", exc_info=RuntimeError("x"))
    (tmp_path / "file-home").write_text("not a folder")
    log.to_workspace(tmp_path / "file-home", "cli").error("lost too")
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # no "--- Logging error ---" and no last-resort traceback on the screen
