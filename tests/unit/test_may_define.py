"""hookscan.may_define: `score --code-dir` reads the input itself unless custom.py/custom.R may define
read_input_data; when it cannot tell, the loaded task decides in the worker."""

from __future__ import annotations

import pytest

from core.tasks.hookscan import may_define
from tests.conftest import make_task


@pytest.mark.parametrize("files, expected", [
    ({"custom.py": "def predict(X, model):\n    return X\n"}, False),
    ({"custom.py": "def read_input_data(input_binary_data):\n    return None\n"}, True),
    ({"custom.py": "try:\n    from helpers import read_input_data\nexcept ImportError:\n    pass\n"}, True),
    ({"custom.py": "from helpers import *\n"}, True),  # a star import may bind it
    ({"custom.py": "def read_input_data(b):\n    pass\n\nclass CustomTask:\n    pass\n"}, False),  # DRUM ignores it
    ({"custom.py": "def broken(:\n"}, True),  # loading the task says what is wrong
    ({"custom.R": "read_input_data <- function(input_binary_data) NULL\n"}, True),
    ({"custom.R": "fit <- function(X, y, output_dir, ...) NULL\n"}, False),
    ({"custom.R": "source('helpers.R')\n"}, True),
])
def test_read_input_data_is_looked_for_where_the_runtime_finds_hooks(tmp_path, files, expected):
    assert may_define(make_task(tmp_path, files), "read_input_data") is expected
