"""The blueprint parser (SPEC §7): what it reads, and every error it reports with line and column."""

from __future__ import annotations

import pytest

from core.blueprints.model import Position
from core.blueprints.syntax import BlueprintSyntaxError, parse_blueprint, tokenize

SPEC_EXAMPLE = """\
# blueprint: impute-onehot-logreg    target: binary
num   = impute_median(NUM)
cat   = one_hot(CAT, max_categories=20)
txt   = tfidf(TXT)
model = my_logreg@3(num, cat, txt, C=0.5)
"""


def errors_of(text: str) -> list[tuple[int, int, str]]:
    with pytest.raises(BlueprintSyntaxError) as caught:
        parse_blueprint(text, "bad.bp")
    return [(e.line, e.column, e.message) for e in caught.value.errors]


def test_the_spec_example_parses_with_positions():
    bp = parse_blueprint(SPEC_EXAMPLE)
    assert bp.name == "impute-onehot-logreg"
    assert bp.target_type == "binary"
    assert [n.name for n in bp.nodes] == ["num", "cat", "txt", "model"]
    model = bp.final
    assert (model.task, model.version, model.inputs) == ("my_logreg", 3, ("num", "cat", "txt"))
    assert model.parameters == {"C": 0.5}
    assert model.position == Position(5, 1)
    assert model.task_position == Position(5, 9)
    assert model.version_position == Position(5, 19)
    assert model.input_positions == (Position(5, 21), Position(5, 26), Position(5, 31))
    (param,) = model.params
    assert param.position == Position(5, 36) and param.value_position == Position(5, 38)
    cat = bp.node("cat")
    assert cat.channels() == ("CAT",) and cat.parameters == {"max_categories": 20}
    assert bp.comments == ((1, "# blueprint: impute-onehot-logreg    target: binary"),)


def test_the_node_named_model_is_final_even_when_not_last():
    bp = parse_blueprint("model = ridge(num)\nnum = impute_median(NUM)\n")
    assert bp.final.name == "model"
    assert [n.name for n in bp.needed()] == ["num", "model"]


def test_task_names_may_start_with_digits_and_hold_dots_and_dashes():
    bp = parse_blueprint("a = 4_python_binary_classification(NUM)\nb = my-task.v2@12(a)\n")
    assert bp.nodes[0].task == "4_python_binary_classification"
    assert (bp.nodes[1].task, bp.nodes[1].version) == ("my-task.v2", 12)


@pytest.mark.parametrize(
    "source, value",
    [
        ("3", 3),
        ("-3", -3),
        ("+2", 2),
        ("0.5", 0.5),
        (".5", 0.5),
        ("1e-3", 0.001),
        ("-2.5E2", -250.0),
        ('"median"', "median"),
        ("'median'", "median"),
        ('"say \\"hi\\"\\n"', 'say "hi"\n'),
        ("true", True),
        ("false", False),
        ("[1, 2.5, \"a\", true]", (1, 2.5, "a", True)),
        ("[]", ()),
        ("[1, 2,]", (1, 2)),
    ],
)
def test_parameter_values(source, value):
    bp = parse_blueprint(f"model = ridge(NUM, p={source})\n")
    got = bp.final.parameters["p"]
    assert got == value and type(got) is type(value)


def test_a_node_may_span_lines_while_its_parentheses_are_open():
    bp = parse_blueprint("model = ridge(NUM,   # the numbers\n    alpha=2,\n)  # trailing\nother = ridge(NUM)\n")
    model = bp.nodes[0]
    assert model.parameters == {"alpha": 2} and model.end_line == 3
    assert model.comment == "# trailing"
    assert (1, "# the numbers") in bp.comments
    assert bp.nodes[1].position == Position(4, 1)


def test_header_without_target_and_target_only_header():
    assert parse_blueprint("# blueprint: mine\nmodel = ridge(NUM)\n").target_type is None
    bp = parse_blueprint("# target: Regression\nmodel = ridge(NUM)\n")
    assert (bp.name, bp.target_type) == (None, "regression")


def test_comments_after_the_first_node_are_not_headers():
    bp = parse_blueprint("model = ridge(NUM)\n# blueprint: late    target: binary\n")
    assert bp.name is None and bp.target_type is None


def test_crlf_and_tabs():
    bp = parse_blueprint("num\t= impute_median(NUM)\r\nmodel = ridge(num)\r\n")
    assert bp.final.input_positions == (Position(2, 15),)


def test_tokenizer_tells_numbers_from_task_names():
    tokens, issues = tokenize("a = 4_python(NUM, x=1e-3, y=-2)")
    assert not issues
    kinds = [(t.kind, t.text) for t in tokens if t.kind in ("word", "number")]
    assert kinds == [("word", "a"), ("word", "4_python"), ("word", "NUM"), ("word", "x"), ("number", "1e-3"),
                     ("word", "y"), ("number", "-2")]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("model ridge(NUM)\n", (1, 7, "expected '=' after the node name 'model'")),
        ("model = ridge NUM\n", (1, 15, "expected '(' after the task name 'ridge'")),
        ("model = ridge(NUM alpha=1)\n", (1, 19, "expected ',' or ')'")),
        ("model = ridge(NUM, alpha=high)\n", (1, 26, "quote text like \"high\"")),
        ("model = ridge(NUM, fit=True)\n", (1, 24, "write true in lowercase")),
        ("model = ridge(NUM, s=\"open)\n", (1, 22, "this string is not closed")),
        ("model = ridge(NUM, s='bad \\q')\n", (1, 27, "unknown escape")),
        ("model = ridge@latest(NUM)\n", (1, 15, "expected a version number after '@'")),
        ("model = ridge@0(NUM)\n", (1, 15, "expected a version number after '@'")),
        ("model = ridge(NUM); x = ridge(NUM)\n", (1, 19, "unexpected character ';'; write one node per line")),
        ("model = ridge(NUM) extra\n", (1, 20, "after ')'; write one node per line")),
        ("model = ridge(NUM, a=1, a=2)\n", (1, 25, "parameter 'a' is given twice")),
        ("model = ridge(NUM, a=[[1]])\n", (1, 23, "lists cannot hold lists")),
        ("4model = ridge(NUM)\n", (1, 1, "node name '4model' is not valid")),
        ("model = ridge(NUM, 2x)\n", (1, 20, "input '2x' is not a valid name")),
        ("= ridge(NUM)\n", (1, 1, "expected a node name here")),
        ("model = ridge(NUM, a: 1)\n", (1, 21, "unexpected character ':'")),
        ("model = ridge(NUM)\x00\n", (1, 19, "unexpected character U+0000 (not printable)")),
        ("# only a comment\n\n", (1, 1, "the blueprint has no nodes")),
        ("", (1, 1, "the blueprint has no nodes")),
    ],
)
def test_syntax_errors_point_at_the_offending_token(text, expected):
    found = errors_of(text)
    line, column, phrase = expected
    assert (found[0][0], found[0][1]) == (line, column), found
    assert phrase in found[0][2], found


def test_an_unclosed_parenthesis_does_not_swallow_the_next_node():
    found = errors_of("num = impute_median(NUM\nmodel = ridge(num, alpha=x)\n")
    assert [(line, column) for line, column, _ in found] == [(1, 20), (2, 26)]
    assert "'(' is never closed" in found[0][2]


def test_an_unclosed_parenthesis_at_the_end_of_the_file():
    found = errors_of("model = ridge(NUM,\n   alpha=1\n")
    assert found == [(1, 14, "'(' is never closed; add ')' to finish this node")]


def test_every_broken_line_is_reported_at_once():
    text = "a = t(NUM\nb = t(a) junk\nc t(b)\nd = t(c, k=v)\nmodel = ok(d)\n"
    found = errors_of(text)
    assert [line for line, _, _ in found] == [1, 2, 3, 4]


def test_the_error_reads_like_a_compiler_message():
    with pytest.raises(BlueprintSyntaxError) as caught:
        parse_blueprint("model = ridge(NUM\nx y\n", "my.bp")
    text = str(caught.value)
    assert text.splitlines()[0] == "my.bp:1:14: '(' is never closed; add ')' to finish this node"
    assert caught.value.message.startswith("my.bp:1:14: ") and "(and 1 more)" in caught.value.message
