"""The server's fast scoring path (issue 15): small bodies parsed without pandas' reader or the form parser, outputs
checked in numpy, and everything unusual left to the full checks, whose sentences stay the same."""

from __future__ import annotations

import io
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from core.deploy.server import Served, small_multipart, typed_frame
from core.runtime import checks
from core.runtime.errors import RuleViolation, SchemaViolation
from core.runtime.serving import BUILTIN_TASKS, NodeCall


def rows(text):
    import csv

    parsed = list(csv.reader(io.StringIO(text)))
    return parsed[0], parsed[1:]


@pytest.mark.parametrize("text", ["a,b,c\n1,2.5,\n", "a,b,c\n-3,1e5,\n7,,2\n", "a,b\n,\n", "a,b\n007,.5\n",
                                  "x,y\n1,2\n3,4\n", "a,b\n1e5,1.\n", "a\n-.5E+2\n", "a,b,c\n1,2,\n1.5,,3\n",
                                  "a\n999999999999999999\n", "a,b,c\n1,-2,3\n"])
def test_plain_numbers_are_typed_as_pandas_reader_types_them(text):
    ours, theirs = typed_frame(*rows(text)), pd.read_csv(io.StringIO(text))
    pd.testing.assert_frame_equal(ours, theirs, check_exact=True)
    assert ours.columns.tolist() == theirs.columns.tolist()


@pytest.mark.parametrize("text", ["a,b\n1,x\n", "a,b\n1,True\n", "a,b\n1,NA\n", "a,b\n1, 2\n", "a,b\n+1,2\n",
                                  "a,b\n1,inf\n", "a,b\n99999999999999999999,2\n", "a,b\n1,\u00b2\n", "a,b\n-,1\n",
                                  "a,b\n1,2\n3,x\n"])
def test_anything_else_is_left_to_pandas_reader(text):
    assert typed_frame(*rows(text)) is None


def served(features, numeric):
    one = object.__new__(Served)
    one.features, one.numeric, one.infer_types = tuple(features), set(numeric), False
    return one


def test_a_deployment_frame_holds_its_features_in_training_order_and_numbers_as_floats():
    frame = served(["b", "a", "t"], {"a", "b"})._small_csv("extra,a,t,b\nq,1,x,\n")
    assert frame.columns.tolist() == ["b", "a", "t"]
    assert frame["a"].dtype == "float64" and np.isnan(frame["b"].iloc[0]) and frame["t"].iloc[0] == "x"
    pd.testing.assert_frame_equal(frame, pd.DataFrame({"b": [np.nan], "a": [1.0], "t": ["x"]}))


def test_the_words_pandas_reads_as_missing_are_missing_in_a_deployment_frame_too():
    """10k_diabetes writes 'None' for an untested A1C: batch predict (pandas' reader) reads it as missing, and a served
    row must too, or it scores as a category never seen in training (a served probability 0.971 against 0.965)."""
    text = "a,t,u\nNA,None,x\nnull,NULL,\n2,n/a,None\n"
    frame = served(["a", "t", "u"], {"a"})._small_csv(text)
    theirs = pd.read_csv(io.StringIO(text))
    assert frame["a"].isna().tolist() == theirs["a"].isna().tolist() == [True, True, False]
    assert frame["t"].isna().all() and theirs["t"].isna().all()
    assert frame["u"].isna().tolist() == theirs["u"].isna().tolist() == [False, True, True]


def test_a_body_lacking_a_feature_keeps_its_own_columns_so_the_scorer_names_the_missing_one():
    frame = served(["a", "z"], {"a", "z"})._small_csv("a,b\n1,2\n")
    assert frame.columns.tolist() == ["a", "b"]


def multipart(*parts, boundary="bnd"):
    body = b"".join(f"--{boundary}\r\n{head}\r\n\r\n".encode() + content + b"\r\n" for head, content in parts)
    return body + f"--{boundary}--\r\n".encode()


def test_small_multipart_finds_the_file_field_x():
    body = multipart(('Content-Disposition: form-data; name="other"', b"1"),
                     ('Content-Disposition: form-data; name="X"; filename="x.csv"\r\nContent-Type: text/csv; charset=latin-1',
                      b"a,b\r\n1,2\r\n"))
    assert small_multipart(body, " boundary=bnd") == (b"a,b\r\n1,2\r\n", "text/csv; charset=latin-1")
    assert small_multipart(body, ' boundary="bnd"') is not None


@pytest.mark.parametrize("body", [
    multipart(('Content-Disposition: form-data; name="X"', b"a\n1\n")),  # a plain form field
    multipart(('Content-Disposition: form-data; name="X"; filename="x"', b"a\n1\n"),
              ('Content-Disposition: form-data; name="X"; filename="y"', b"a\n2\n")),  # X twice
    multipart(('Content-Disposition: form-data; name="Y"; filename="x"', b"a\n1\n")),  # no X
    multipart(('Content-Disposition: form-data; name="X"; filename="x"', b"a\n1\n"))[:-4],  # no closing boundary
    b"--bnd\r\nnot a header\r\n\r\na\n1\n\r\n--bnd--\r\n",
])
def test_small_multipart_leaves_anything_unusual_to_the_form_parser(body):
    assert small_multipart(body, "boundary=bnd") is None


def regression(values, name="Predictions"):
    return pd.DataFrame({name: values})


@pytest.mark.parametrize("out, target, labels", [
    (regression([1, 2]), "regression", None),
    (regression([0.5, -1.0]), "anomaly", None),
    (pd.DataFrame({"yes": [0.25, 1.0], "no": [0.75, 0.0]}), "binary", ["no", "yes"]),
    (pd.DataFrame({1: [0.2, 0.1], 0: [0.3, 0.1], 2: [0.5, 0.8]}), "multiclass", ["0", "1", "2"]),
])
def test_plainly_good_outputs_come_back_as_the_full_check_returns_them(out, target, labels):
    full = checks.check_predictions(out, "predict", target, labels, 2)
    quick = checks.quick_predictions(out, target, labels, 2, {})
    np.testing.assert_array_equal(quick.reshape(2, -1), full.to_numpy())


@pytest.mark.parametrize("out, target, labels", [
    (regression([1.0, np.nan]), "regression", None),
    (regression([1.0, np.inf]), "regression", None),
    (regression([True, False]), "regression", None),
    (regression([1.0, 2.0], name="pred"), "regression", None),
    (regression([1.0]), "regression", None),
    (pd.DataFrame({"yes": [0.3, 1.0], "no": [0.75, 0.0]}), "binary", ["no", "yes"]),
    (pd.DataFrame({"yes": [1.5, 1.0], "no": [-0.5, 0.0]}), "binary", ["no", "yes"]),
    (pd.DataFrame({"yes": [0.5, 1.0], "maybe": [0.5, 0.0]}), "binary", ["no", "yes"]),
    (np.array([1.0, 2.0]), "regression", None),
])
def test_anything_doubtful_goes_to_the_full_check(out, target, labels):
    assert checks.quick_predictions(out, target, labels, 2, {}) is None


def node_call(tmp_path, hook, target_type="regression", task_dir=None, requirements=()):
    task = SimpleNamespace(language="python", uses_class=False, has=lambda name: False, code_dir=str(tmp_path))
    scorer = SimpleNamespace(task=task, fn=hook, hook="predict", model=None, kwargs={"target_type": target_type},
                             target_type=target_type, class_labels=None, output_requirements=list(requirements), post=None)
    runner = SimpleNamespace(node={"task_dir": str(task_dir or tmp_path)})
    return NodeCall(runner, scorer)


@pytest.mark.parametrize("bad", [
    pd.DataFrame({"Predictions": [np.nan]}),
    pd.DataFrame({"Predictions": [1.0], "other": [2.0]}),
    pd.DataFrame({"Predictions": ["x"]}),
    pd.DataFrame({"Predictions": [1.0, 2.0]}),
    [1.0],
])
def test_a_user_task_breaking_an_output_rule_gets_the_same_sentence(tmp_path, bad):
    call = node_call(tmp_path, lambda X, model, **kw: bad)
    with pytest.raises(RuleViolation) as fast:
        call(pd.DataFrame({"a": [1.0]}))
    with pytest.raises(RuleViolation) as full:
        checks.check_predictions(bad, "predict", "regression", None, 1)
    assert str(fast.value) == str(full.value)


MISSING_NEVER = [{"field": "contains_missing", "condition": "EQUALS", "value": "NEVER"}]


def test_output_schema_is_checked_for_user_transforms_and_known_for_built_in_ones(tmp_path):
    holes = lambda X, model: pd.DataFrame({"a": [np.nan]})  # noqa: E731
    user = node_call(tmp_path, holes, "transform", requirements=MISSING_NEVER)
    with pytest.raises(SchemaViolation):
        user(pd.DataFrame({"a": [1.0]}))
    builtin = node_call(tmp_path, holes, "transform", task_dir=f"{BUILTIN_TASKS}/impute_median",
                        requirements=MISSING_NEVER)
    assert builtin(pd.DataFrame({"a": [1.0]})).shape == (1, 1)


def test_an_answer_written_in_pieces_leaves_in_one_send():
    import asyncio

    from core.deploy.protocol import Coalesced

    class Transport:
        def __init__(self):
            self.sent, self.closed = [], False

        def write(self, data):
            self.sent.append(data)

        def is_closing(self):
            return self.closed

        def close(self):
            self.closed = True

    async def answer():
        transport = Transport()
        coalesced = Coalesced(transport, asyncio.get_running_loop())
        coalesced.write(b"HTTP/1.1 200 OK\r\n\r\n")
        coalesced.write(b"")
        coalesced.write(b"{}")
        assert transport.sent == []
        await asyncio.sleep(0)
        coalesced.write(b"late")
        coalesced.close()  # what is held leaves before the connection closes
        return transport

    transport = asyncio.run(answer())
    assert transport.sent == [b"HTTP/1.1 200 OK\r\n\r\n{}", b"late"] and transport.closed


def test_checked_predictions_are_a_copy_of_the_task_output(tmp_path):
    out = pd.DataFrame({"Predictions": [1.0, 2.0]})
    call = node_call(tmp_path, lambda X, model, **kw: out)
    got = call(pd.DataFrame({"a": [1.0, 2.0]}))
    out.iloc[0, 0] = 99.0  # the task changing its own frame afterwards changes nothing answered
    assert got["Predictions"].tolist() == [1.0, 2.0] and got.columns.tolist() == ["Predictions"]
