"""Batch predictions: the CSV writer writes what `DataFrame.to_csv` writes, the read-ahead thread hands chunks
over in order with the reader's errors, and the collector pauses only while built-in tasks load."""

import io

import numpy as np
import pandas as pd
import pytest

from core.deploy.score_process import ReadAhead
from core.deploy.csvio import float_texts, write_csv


def written(frame, chunks=1):
    out = io.StringIO()
    for i, part in enumerate(np.array_split(np.arange(len(frame)), chunks)):
        write_csv(frame.iloc[part], out, header=i == 0)
    return out.getvalue()


def pandas_text(frame):
    out = io.StringIO()
    frame.to_csv(out, index=False)
    return out.getvalue()


def tricky_floats(n=20_000):
    rng = np.random.default_rng(7)
    x = rng.standard_normal(n) * 10.0 ** rng.integers(-320, 300, n)
    x[::5] = np.round(x[::5])  # whole numbers: "3.0"
    x[::7] = np.nan
    specials = [np.inf, -np.inf, -0.0, 0.0, 1e16, 1e15 + 0.5, 9999999999999998.0, 1e-4, 1e-5, 5e-324,
                np.finfo(float).max, 0.1, 1 / 3, 123456789.123456789]
    x[: len(specials)] = specials
    return x


@pytest.mark.parametrize("columns", [["Predictions"], ["no", "yes"], ["a,b", 'say "x"', "3"]])
def test_floats_are_written_as_to_csv_writes_them(columns):
    x = tricky_floats()
    frame = pd.DataFrame({name: np.roll(x, i) for i, name in enumerate(columns)})
    assert written(frame) == pandas_text(frame)
    assert written(frame, chunks=3) == pandas_text(frame)
    assert pd.read_csv(io.StringIO(written(frame)))[columns].equals(frame)  # numbers round-trip exactly


@pytest.mark.parametrize("frame", [
    pd.DataFrame({"Predictions": [np.nan]}),
    pd.DataFrame({"Predictions": [1.5, np.nan, 2.0]}),
    pd.DataFrame({"Predictions": np.array([], dtype="float64")}),
    pd.DataFrame({"x": [1, 2], "Predictions": [0.5, np.nan]}),  # --include-input columns: to_csv itself
    pd.DataFrame({"no": [0.25, 0.5], "yes": [0.75, 0.5], "prediction": ["yes", "a,b"]}),
    pd.DataFrame({"Predictions": np.array([0.5, 1.5], dtype="float32")}),
], ids=["one-missing-row", "single-column-missing", "empty", "with-input", "labels", "float32"])
def test_edge_frames(frame):
    assert written(frame) == pandas_text(frame)


def test_read_ahead_keeps_order_and_raises_the_readers_error():
    def items():
        yield from range(5)
        raise ValueError("bad row 6")

    ahead = ReadAhead(items())
    got = []
    with pytest.raises(ValueError, match="bad row 6"):
        for item in ahead:
            got.append(item)
    assert got == [0, 1, 2, 3, 4]


def test_read_ahead_ends_and_stops_when_closed():
    ahead = ReadAhead(iter(range(3)))
    assert list(ahead) == [0, 1, 2]
    assert list(ahead) == []
    endless = ReadAhead(iter(int, 1))  # never ends: close() must stop its thread
    assert next(endless) == 0
    endless.close()
    endless.thread.join(5)
    assert not endless.thread.is_alive()


def test_float_texts_are_reprs_across_magnitudes():
    rng = np.random.default_rng(11)
    n = 400_000
    x = rng.standard_normal(n) * 10.0 ** rng.integers(-8, 20, n)
    x[::3] = np.round(x[::3], rng.integers(0, 6))  # few digits: ties between shortest candidates are likeliest
    x[::5] = rng.integers(-10**6, 10**6, len(x[::5])) / 8  # exact binary fractions, x.5, x.125
    x[::7] = 2.0 ** 53 + rng.integers(-64, 64, len(x[::7]))  # around where whole numbers stop being exact
    x[::11] = np.nan
    expected = ["" if v != v else repr(v) for v in x.tolist()]
    assert float_texts(x) == expected
    assert x[~np.isnan(x)].astype(str).tolist() == [repr(v) for v in x[~np.isnan(x)].tolist()]  # what pandas writes


def test_collector_paused_only_while_builtin_tasks_load(tmp_path):
    import gc

    from core.deploy.score_process import _builtin_only, _collector_off
    from core.runtime.serving import BUILTIN_TASKS

    builtin = {"nodes": [{"task_dir": f"{BUILTIN_TASKS}/impute_median"}, {"task_dir": f"{BUILTIN_TASKS}/ridge"}]}
    mixed = {"nodes": [{"task_dir": f"{BUILTIN_TASKS}/impute_median"}, {"task_dir": str(tmp_path / "my_task")}]}
    lookalike = {"nodes": [{"task_dir": f"{BUILTIN_TASKS}_copy/ridge"}]}
    assert _builtin_only(builtin) and not _builtin_only(mixed) and not _builtin_only(lookalike)
    assert gc.isenabled()
    try:
        with _collector_off(_builtin_only(mixed)):
            assert gc.isenabled()  # a user's task loads with the collector on
        with _collector_off(_builtin_only(builtin)):
            assert not gc.isenabled()
        assert gc.isenabled()
        with pytest.raises(RuntimeError):
            with _collector_off(True):
                raise RuntimeError("load failed")
        assert gc.isenabled()
    finally:
        gc.unfreeze()
        gc.enable()
