"""The blueprint formatter (SPEC §7): canonical layout, comments kept, idempotent, meaning unchanged."""

from __future__ import annotations

import random

import pytest

from core.blueprints.model import Blueprint
from core.blueprints.syntax import format_blueprint, format_text, parse_blueprint, render_value
from core.blueprints.templates import templates_for


def structure(bp: Blueprint) -> tuple:
    """What a blueprint means: nodes with tasks, inputs and parameters (in any order), and its header."""
    nodes = tuple(
        (n.name, n.task, n.version, n.inputs, tuple(sorted((p.name, repr(p.value)) for p in n.params)))
        for n in bp.nodes
    )
    return nodes, bp.name, bp.target_type, bp.final.name


def test_aligns_equals_signs_and_orders_parameters():
    text = "# blueprint: x    target: binary\nn = impute_median(NUM)\nmodel=logistic_regression( n ,max_iter = 50,C=0.5 , class_weight='balanced')\n"
    assert format_text(text) == (
        "# blueprint: x    target: binary\n"
        "n     = impute_median(NUM)\n"
        'model = logistic_regression(n, C=0.5, class_weight="balanced", max_iter=50)\n'
    )


def test_keeps_comments_paragraphs_and_number_spellings():
    text = (
        "# header\n\n\n"
        "num = impute_median(NUM)   # numbers\n"
        "# the model\n"
        "model = ridge(num, alpha=1e-3, b=[1.50, -2])\n\n"
    )
    assert format_text(text) == (
        "# header\n"
        "\n"
        "num   = impute_median(NUM)  # numbers\n"
        "# the model\n"
        "model = ridge(num, alpha=1e-3, b=[1.50, -2])\n"
    )


def test_a_multi_line_node_becomes_one_line_and_its_inner_comments_stay():
    text = "model = ridge(\n    NUM,  # numbers only\n    alpha=2,\n)\n"
    out = format_text(text)
    assert out == "model = ridge(NUM, alpha=2)\n# numbers only\n"
    assert format_text(out) == out


@pytest.mark.parametrize("value", ["plain", 'quote " and \\ backslash', "tab\tnew\nline", "", "é ünïcode"])
def test_strings_round_trip(value):
    text = f"model = ridge(NUM, s={render_value(value)})\n"
    assert parse_blueprint(format_text(text)).final.parameters["s"] == value


def test_templates_are_formatted_already():
    for template in templates_for():
        assert format_text(template.text) == template.text, template.name


SPEC_EXAMPLE = """\
# blueprint: impute-onehot-logreg    target: binary
num   = impute_median(NUM)
cat   = one_hot(CAT, max_categories=20)
txt   = tfidf(TXT)
model = my_logreg@3(num, cat, txt, C=0.5)
"""


@pytest.mark.parametrize("text", [SPEC_EXAMPLE] + [t.text for t in templates_for()])
def test_format_keeps_meaning_and_is_idempotent(text):
    once = format_text(text)
    assert structure(parse_blueprint(once)) == structure(parse_blueprint(text))
    assert format_text(once) == once


# ---------------------------------------------------------------- randomized (a fixed seed, no hypothesis)

_VALUES = [0, 7, -3, 0.25, 1e-4, "x", 'a "quoted" word', True, False, (1, 2), ("a", 0.5, False), ()]
_SPELLINGS = {1e-4: ["1e-4", "0.0001", "1E-4"], 0.25: ["0.25", ".25", "2.5e-1"], 7: ["7", "+7"]}


def _spell(rng: random.Random, value: object) -> str:
    if isinstance(value, tuple):
        inner = [_spell(rng, v) for v in value]
        return "[" + rng.choice([", ", ",", " , "]).join(inner) + (rng.choice(["", ","]) if inner else "") + "]"
    if isinstance(value, str):
        if '"' not in value and rng.random() < 0.5:
            return "'" + value + "'"
        return render_value(value)
    if not isinstance(value, bool) and value in _SPELLINGS:
        return rng.choice(_SPELLINGS[value])
    return render_value(value)


def _space(rng: random.Random) -> str:
    return rng.choice(["", "", " ", "  ", "\t"])


def _mangle(rng: random.Random, text: str) -> str:
    """The same blueprint written sloppily: odd spacing, shuffled extra parameters, comments, split lines."""
    bp = parse_blueprint(text)
    out: list[str] = []
    for line, comment in bp.comments:
        if line < bp.nodes[0].position.line:
            out.append(_space(rng) + comment)
    for node in bp.nodes:
        if rng.random() < 0.3:
            out.append("# about " + node.name)
        if rng.random() < 0.2:
            out.append("")
        args = list(node.inputs)
        params = [(p.name, p.value) for p in node.params]
        for index in range(rng.randint(0, 3)):
            params.append((rng.choice(["alpha", "Beta", "gamma_2", "z", "a"]) + str(index), rng.choice(_VALUES)))
        rng.shuffle(params)
        args += [f"{name}{_space(rng)}={_space(rng)}{_spell(rng, value)}" for name, value in params]
        separator = rng.choice([", ", ",", " ,  ", ",\n    "])
        call = separator.join(args)
        if rng.random() < 0.2:
            call += ","
        if rng.random() < 0.2 and args:
            call = "\n    " + call + "  # inside\n"
        task = node.task_ref.replace("@", _space(rng) + "@" + _space(rng))
        line = f"{_space(rng)}{node.name}{_space(rng)}={_space(rng)}{task}{_space(rng)}({call})"
        if rng.random() < 0.3:
            line += _space(rng) + "# trailing note"
        out.append(line)
    ending = rng.choice(["\n", "\n\n", "", "\r\n"])
    return ending.join(out) if ending == "\r\n" else "\n".join(out) + ending


@pytest.mark.parametrize("seed", range(40))
def test_randomized_sloppy_templates_format_to_the_same_meaning(seed):
    rng = random.Random(seed)
    for template in templates_for():
        sloppy = _mangle(rng, template.text)
        parsed = parse_blueprint(sloppy)
        once = format_blueprint(parsed)
        assert structure(parse_blueprint(once)) == structure(parsed), sloppy
        assert format_text(once) == once, sloppy
        lines = once.splitlines()
        equals = {line.index(" = ") for line in lines if line and not line.startswith("#")}
        assert len(equals) == 1, once
