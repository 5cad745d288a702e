"""One vocabulary (issue 12): target types, python-local, the input error and the worker protocol are each named
in one module, and the worker answers every op that module names."""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import pytest

from core.runtime import protocol

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(p for folder in ("core", "tui") for p in (ROOT / folder).rglob("*.py") if "builtin_tasks" not in p.parts)


def _string_tokens(path: Path):
    """(line, value) of every plain string literal in `path`."""
    for token in tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline):
        if token.type == tokenize.STRING:
            try:
                yield token.start[0], ast.literal_eval(token.string)
            except (ValueError, SyntaxError):  # f-strings
                continue


@pytest.mark.parametrize("word", ["binary", "multiclass", "regression", "anomaly", "python-local"])
def test_target_types_and_python_local_are_literals_only_in_the_contract(word):
    found = [f"{p.relative_to(ROOT)}:{line}" for p in SOURCES for line, value in _string_tokens(p) if value == word]
    assert found == [f"core/runtime/contract.py:{line}" for line, value in _string_tokens(ROOT / "core/runtime/contract.py")
                     if value == word]


def test_one_class_per_error_name():
    """`UsageError` is the engine's (core.errors); the harness's input error has a name of its own."""
    defined: dict[str, list[str]] = {}
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.name.endswith(("Error", "Input")):
                defined.setdefault(node.name, []).append(str(path.relative_to(ROOT)))
    assert defined["UsageError"] == ["core/errors.py"]
    assert defined["BadInput"] == ["core/runtime/errors.py"]


def test_the_harness_input_error_keeps_its_kind_and_exit_code():
    from core.runtime.errors import BadInput

    reply = BadInput("input file x.csv is empty.").to_dict()
    assert reply[protocol.STATUS] == protocol.USAGE and reply[protocol.EXIT_CODE] == 2


def test_the_worker_dispatches_every_op_the_protocol_names():
    tree = ast.parse((ROOT / "core/runtime/worker.py").read_text(encoding="utf-8"))
    handle = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "handle")
    used = {n.attr for n in ast.walk(handle) if isinstance(n, ast.Attribute) and getattr(n.value, "id", "") == "protocol"}
    assert {name for name in dir(protocol) if getattr(protocol, name) in protocol.OPS} <= used


def test_no_caller_names_an_op_by_a_literal():
    """Requests go out as protocol.X: a literal op name in a request would drift from the worker's."""
    senders = {"request", "_request", "_call", "send"}
    literal = []
    for path in SOURCES:
        if path.name == "protocol.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) in senders:
                literal += [f"{path.relative_to(ROOT)}:{node.lineno}" for arg in node.args
                            if isinstance(arg, ast.Constant) and arg.value in protocol.OPS]
    assert literal == []


def test_a_worker_answers_through_the_protocol(tmp_path):
    """A real worker: ready line, an ok reply, and an unknown op as an engine error in the protocol's shape."""
    from core.runners.base import WorkerSpec, ready
    from core.runners.start import start_worker

    output = []
    worker = ready(start_worker(WorkerSpec(on_output=output.append, writable=[tmp_path])))
    try:
        assert protocol.succeeded(worker.request(protocol.PING, {}, timeout=60))
        reply = worker.request("no_such_op", {}, timeout=60)
        assert reply[protocol.STATUS] == protocol.ENGINE_ERROR and "unknown op 'no_such_op'" in reply[protocol.MESSAGE]
    finally:
        worker.close()


def test_batch_events_are_built_one_way():
    assert protocol.is_final(protocol.finished(rows=3, seconds=0.1, warnings=[]))
    assert protocol.is_final(protocol.error(protocol.USAGE, "bad input."))
    assert not protocol.is_final(protocol.progress(1, 10, 100))
