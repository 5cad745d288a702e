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
