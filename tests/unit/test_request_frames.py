"""A served fitted folder's request frame is exactly the frame pandas' reader makes of the same CSV body (issue 15): the
same dtypes, values bit for bit, column Index (its dtype too) and row index, whether the server built it itself or
left the body to pandas' reader."""

from __future__ import annotations

import io
import random

import numpy as np
import pandas as pd
import pytest

from core.deploy.server import BadRequest, Served


def folder_served():
    one = object.__new__(Served)
    one.features, one.numeric, one.infer_types = (), set(), True
    return one


def assert_same_frame(ours, theirs):
    assert type(ours.columns) is type(theirs.columns)
    assert ours.columns.dtype == theirs.columns.dtype
    assert ours.columns.tolist() == theirs.columns.tolist()
    assert type(ours.index) is type(theirs.index) and ours.index.equals(theirs.index)
    assert ours.dtypes.tolist() == theirs.dtypes.tolist()
    pd.testing.assert_frame_equal(ours, theirs, check_exact=True)
    for j in range(ours.shape[1]):
        a, b = ours.iloc[:, j].to_numpy(), theirs.iloc[:, j].to_numpy()
        if a.dtype.kind == "f":  # bit for bit: -0.0 is not 0.0 here
            assert np.array_equal(np.isnan(a), np.isnan(b))
            assert np.array_equal(a[~np.isnan(a)].view("int64"), b[~np.isnan(b)].view("int64"))


BODIES = [
    "a,b,c\n1,2.5,\n",
    "a,b,c\n-3,1e5,\n7,,2\n",
    "a,b\n,\n",
    "a,b\n007,.5\n",
    "x,y\n1,2\n3,4\n",
    "a\n999999999999999999\n",
    "a\n-999999999999999999\n",
    'name,"quoted, with comma","say ""hi"""\n1,2,3\n',
    '"a\nb",c\n1,2\n',
    " a,b \n1,2\n",
    "1,2\n3,4\n",
    "é,ü\n1,2\n",
    "a,b\r\n1,2\r\n",
    "a,b\r1,2\r",  # lines ended by a lone carriage return (was a 500: the csv module refuses them)
    "a,b\n-0,1\n,2\n",  # integers beside an empty cell: -0 reads as 0.0
    "a,b\n-0,1\n1.5,2\n",  # with a float in the column: -0.0
    "a,b\n-0.0,1\n",
    "a\n1e309\n",
    "a\n-1e400\n",
    "a\n1e-400\n",
    "a\n0.45446457700000004\n",
    "a,b\n99999999999999999999,1\n",  # too large for int64: pandas' reader decides
    "a,b\n9223372036854775808,1\n",
    "a,b\n1,x\n",
    "a,b\n1,NA\n",
    "a,b\n1, 2\n",
    "a,b\n+1,2\n",
    "a,b\n1,inf\n",
    "a,b\n1,True\n",
    "a,b\n1,\u00b2\n",
    "a,b\n-,1\n",
    "a,b\n1,2\n3,x\n",
    "a,b\n1,2\n\n3,4\n",
    "a,b\n1,2,\n",
    "a,b,\n1,2,\n",
    "a,b\n1\n",
    'a,b\n"1",2\n',
    "a,b\n1,2\n\n\n",
]


@pytest.mark.parametrize("text", BODIES)
def test_a_request_frame_is_what_pandas_reader_makes(text):
    served = folder_served()
    ours = served.parse_csv(text.encode())
    assert_same_frame(ours, pd.read_csv(io.BytesIO(text.encode())))


NAMES = ["a", "b c", '"q,x"', '"he said ""hi"""', " sp", "1", "x.1", "é", '"a\nb"', "TPA(ADJ)_fr", "-1", "nan", "NA"]
PLAIN = ["1", "-2", "007", "0", "-0", "3.5", "-0.0", ".5", "1.", "1e5", "1E-5", "-2.5e+3", ""]
ODD = ["NA", "x", '"1"', " 2", "2 ", "+1", "1e400", "99999999999999999999", "999999999999999999", "9223372036854775808",
       "-", ".", "inf", "1_0", "\u0661", "True", "0.45446457700000004", "0x10", '"2,5"', "nan", "None"]


def random_body(rng):
    width = rng.randint(1, 5)
    eol = rng.choice(["\n", "\r\n"])
    lines = [",".join(rng.sample(NAMES, width))]
    for _ in range(rng.randint(1, 3)):
        cells = PLAIN if rng.random() < 0.6 else PLAIN + ODD
        lines.append(",".join(rng.choice(cells) for _ in range(width)))
    return eol.join(lines) + (eol if rng.random() < 0.8 else "")


def test_random_bodies_make_what_pandas_reader_makes():
    rng = random.Random(15)
    built = 0
    for _ in range(1500):
        text = random_body(rng)
        theirs = pd.read_csv(io.StringIO(text))
        try:
            ours = folder_served().parse_csv(text.encode())
        except BadRequest as exc:  # a header naming a column twice, or no rows: pandas renames or reads none
            assert theirs.empty or "more than once" in exc.message, text
            continue
        assert_same_frame(ours, theirs)
        built += folder_served()._small_csv(text) is not None
    assert built > 300  # most of them were built without pandas' reader


def test_the_column_index_is_shared_by_requests_but_never_a_name_a_task_gave_it():
    served = folder_served()
    first = served.parse_csv(b"a,b\n1,2\n")
    first.columns.name = "set by a task"
    second = served.parse_csv(b"a,b\n3,4\n")
    assert second.columns.name is None and second.columns.tolist() == ["a", "b"]


def test_unquoted_text_is_split_as_the_csv_module_reads_it():
    import csv

    from core.deploy.server import csv_rows

    rng = random.Random(3)
    for _ in range(3000):
        text = "".join(rng.choice(['a', '1', ',', ',', '\n', '\r\n', '\r', '"', ' ', '\0', '.']) for _ in range(rng.randint(0, 12)))
        try:
            expected = list(csv.reader(io.StringIO(text)))
        except csv.Error:
            with pytest.raises(csv.Error):
                csv_rows(text)
            continue
        assert csv_rows(text) == expected, repr(text)


def rows_of(data: bytes, tmp_path, charset=None, piece: int = 64 * 1024) -> list:
    from core.deploy.server import Body

    body = Body(str(tmp_path))
    for at in range(0, len(data), piece):
        body.add(data[at:at + piece])
    try:
        return [frame for frame, _ in folder_served().frames(body.finish(), "text/csv", charset)]
    finally:
        body.close()


def test_a_csv_body_with_a_nul_byte_is_refused_as_not_text_saying_where(tmp_path):
    text = "a,b\n1,2\n3,4\n"
    with pytest.raises(BadRequest) as wide:  # UTF-16 without a byte order mark: pandas read names 'a\0', never the model's
        rows_of(text.encode("utf-16-le"), tmp_path)
    assert wide.value.status == 400
    assert wide.value.message == (
        "the CSV body is not UTF-8 text (it holds a NUL byte at offset 1; probably UTF-16-LE without a byte order "
        "mark); send UTF-8, or name its encoding in the header 'Content-Type: text/csv; charset=utf-16-le'.")
    assert rows_of(text.encode("utf-16-le"), tmp_path, "utf-16-le")[0].columns.tolist() == ["a", "b"]
    assert rows_of(text.encode("utf-16"), tmp_path)[0].columns.tolist() == ["a", "b"]  # its mark names it
    with pytest.raises(BadRequest) as stray:
        rows_of(b"a,b\n1,2\x00\n", tmp_path)
    assert stray.value.message == (
        "the CSV body is not plain text (it holds a NUL byte at offset 7); remove the NUL byte and send the rows as "
        "CSV text in UTF-8.")
    with pytest.raises(BadRequest) as pickled:
        rows_of(b"\x80\x04\x95" + bytes(range(256)) * 4, tmp_path)
    assert pickled.value.message.startswith("the CSV body is binary data, not text (it holds a NUL byte at offset 3)")


def test_a_nul_byte_deep_in_a_spooled_body_is_found_where_it_arrived(tmp_path):
    from core.deploy.server import SPOOL_BYTES

    line = b"1,2\n"
    data = b"a,b\n" + line * (SPOOL_BYTES // len(line) + 1000)
    data = data[:-3] + b"\x00\n"
    with pytest.raises(BadRequest) as found:
        rows_of(data, tmp_path, piece=10_000)
    assert f"at offset {len(data) - 2}" in found.value.message
    assert not list(tmp_path.iterdir())  # the spooled body's file is gone


def test_an_unclosed_quote_is_said_with_the_line_it_opened_at(tmp_path):
    """A quote never closed swallows the rest of the body into one value: the answer names the line it opened at,
    as pandas' reader does, not 'line 3 has 1 fields but the header has 2' (a trial finding)."""
    said = ("the CSV body is malformed: the quote opened at line {} is never closed; end the quoted value with a '\"' "
            "(a quote inside it is written twice).")
    schema = object.__new__(Served)  # a deployment's server: its small reader knows the training columns
    schema.features, schema.numeric, schema.infer_types = ("a", "b"), {"a", "b"}, False
    small = b'a,b\n1,2\n"3,4\n5,6\n'
    for served in (schema, folder_served()):  # the small reader, and pandas' for a fitted folder
        with pytest.raises(BadRequest) as bad:
            served.parse_csv(small)
        assert (bad.value.status, bad.value.message) == (400, said.format(3))
    with pytest.raises(BadRequest) as later:  # a closed multi-line value before it: still the line it opened at
        schema.parse_csv(b'a,b\n"1\n1",2\n3,"4\n')
    assert later.value.message == said.format(4)
    big = b"a,b\n" + b"1,2\n" * 20_000 + b'"3,4\n5,6\n'  # past the small reader: pandas' reader
    with pytest.raises(BadRequest) as pandas_said:
        schema.parse_csv(big)
    assert pandas_said.value.message == said.format(20_002)
    from core.deploy.server import SPOOL_BYTES

    spooled = b"a,b\n" + b"1,2\n" * (SPOOL_BYTES // 4 + 10) + b'"3,4\n5,6\n'  # read in chunks from a file
    with pytest.raises(BadRequest) as chunked:
        rows_of(spooled, tmp_path)
    assert chunked.value.message == said.format(SPOOL_BYTES // 4 + 12)
