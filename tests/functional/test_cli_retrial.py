"""The CLI items a newcomer's re-trial found (issue 11): one sentence for binary input, paths as typed, one
`error:` form, plurals, and honest predict timing."""

from __future__ import annotations

import os
import sys

from tests.conftest import DATA


def flat(result):
    return " ".join(result.output.split())


def test_predict_refuses_a_binary_input_like_fit_and_names_the_path_as_typed(taskbench, tmp_path, monkeypatch):
    blob = tmp_path / "binfile"
    blob.write_bytes(bytes(range(256)) * 64)
    link = tmp_path / "python"
    os.symlink(sys.executable, link)
    monkeypatch.chdir(tmp_path)
    for given in ("binfile", "python"):
        said = taskbench("predict", "1", "--input", given, "--output", "out.csv")
        assert said.exit_code == 2
        assert f"input file {given} is not a text CSV or Parquet file (it holds binary data)" in flat(said)
        assert "neither CSV nor Parquet" not in flat(said) and os.path.realpath(sys.executable) not in flat(said)
    fitted = taskbench("project", "create", "binfile", "--target", "y")
    assert "binfile is not a text CSV or Parquet file (it holds binary data)" in flat(fitted)  # the same sentence


def test_click_usage_errors_say_error_in_our_form(taskbench):
    for args in (("project", "create", "x.csv", "--bogus"), ("nosuch",), ("jobs", "--limit", "many")):
        said = taskbench(*args)
        assert said.exit_code == 2
        assert "error: " in said.output and "Error:" not in said.output, said.output


def test_one_file_is_one_file(taskbench, tmp_path):
    folder = tmp_path / "lean"
    folder.mkdir()
    (folder / "Dockerfile").write_text("FROM python:3.11-slim\n")
    added = taskbench("env", "add", folder, "--name", "lean")
    assert added.exit_code == 0, added.output
    assert "(1 file," in flat(added) and "1 files" not in flat(added)
    written = taskbench("env", "download", "lean", "--to", tmp_path / "out")
    assert "(1 file)" in flat(written) and "1 files" not in flat(written)
