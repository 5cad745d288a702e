"""Say what is wrong with a YAML file in plain words: where (1-based line and column) and what to change.

PyYAML's own wording ('while parsing a block mapping ... expected <block end>, but found ...', over several
lines, pointing into '<unicode string>') names its parser states, not the user's mistake.
"""

from __future__ import annotations

import ast
import re

import yaml

_FLOW_CLOSE = {"[": "]", "{": "}"}
_QUOTES = "'\""


def describe_syntax_error(exc: yaml.YAMLError, text: str) -> tuple[int | None, int | None, str]:
    """Return ``(line, column, sentence)`` for a YAML syntax error in ``text``; line and column are 1-based (None
    when PyYAML gives no position) and the sentence says what is wrong and how to fix it."""
    if isinstance(exc, yaml.reader.ReaderError):
        line, column = _line_column(text, exc.position)
        char = exc.character
        code = f"U+{char:04X}" if exc.encoding == "unicode" else f"byte 0x{char:02X}"
        return line, column, f"the character {code} is not allowed in YAML; delete it"
    if not isinstance(exc, yaml.MarkedYAMLError):
        return None, None, f"{' '.join(str(exc).split())}; check the file's indentation and quoting"
    problem = exc.problem or ""
    context = exc.context or ""
    opened = exc.context_mark
    mark, sentence = _explain(problem, context, opened, exc.problem_mark, text)
    mark = mark or exc.problem_mark or opened
    if mark is None:
        return None, None, sentence
    return mark.line + 1, mark.column + 1, sentence


# Problems said by what PyYAML found alone, at the place it found them: its wording, and the sentence ({0}: the part
# PyYAML showed, such as the character or name).
_AT_THE_PROBLEM = {
    r"found unknown escape character (.+)$": "'\\{0}' is not an escape YAML knows inside double quotes; write a "
    "backslash as '\\\\', or put the value in single quotes (as for a Windows path)",
    r"expected escape sequence of (\d+) hexadecimal numbers": "this escape inside double quotes needs {0} hexadecimal "
    "digits; complete it, write a backslash as '\\\\', or put the value in single quotes",
    r"found undefined alias (.+)$": "'*{0}' refers to an anchor '&{0}' that is not defined before it; define the "
    "anchor first, or put the value in quotes if the '*' is meant literally",
    r"expected the node content, but found (.+)$": "'{0}' cannot stand here, where a value is expected; remove it, or "
    "put the value in quotes if it is part of the text",
}


def _explain(problem: str, context: str, opened, at, text: str):
    """``(mark to report or None for the problem's, sentence)`` for one PyYAML problem."""
    where_opened = f"line {opened.line + 1}, column {opened.column + 1}" if opened else "above"
    found = re.match(r"found character (.+) that cannot start any token$", problem)
    if found:
        char = _literal(found.group(1))
        if char == "\t":
            return None, "a tab is used for indentation or spacing here, which YAML does not allow; use spaces"
        return None, f"a value cannot start with '{char}', which YAML reserves; put the whole value in quotes"
    if problem == "could not find expected ':'":
        return opened, (
            "this line has no ':' after its key; write it as 'key: value', or indent it further if it continues "
            "the value on the line above"
        )
    if problem == "mapping values are not allowed here":
        return None, (
            "a ':' here starts a new 'key: value' where a value was expected; if this line is a new key, line it "
            "up with the keys above it, and if the ':' is part of the value, put the value in quotes"
        )
    block_end = re.match(r"expected <block end>, but found '(.+)'$", problem)
    if block_end:
        token = block_end.group(1)
        if token in ("]", "}"):
            return None, f"this '{token}' closes no bracket; delete it or add the opening one"
        if token == "<scalar>" and at is not None and text[: at.pointer].rstrip(" ")[-1:] in tuple(_QUOTES):
            return None, (
                "text follows the closing quote of a quoted value; put the whole value inside the quotes (inside "
                "single quotes, write a quote as two: 'it''s')"
            )
        block = "list" if "collection" in context else "mapping"
        return None, (
            f"this line is not indented like the {block} it belongs to (which starts at {where_opened}); indent it "
            "with spaces exactly as far as the other keys or '- ' items at its level"
        )
    flow = re.match(r"expected ',' or '([\]}])', but got '(.+)'$", problem)
    if flow:
        close = flow.group(1)
        start = "[" if close == "]" else "{"
        token = flow.group(2)
        if token == "<stream end>":
            return opened, f"the '{start}' opened here is never closed; add the matching '{close}'"
        if token in ("]", "}"):
            return None, f"the '{start}' opened at {where_opened} is closed here with '{token}'; close it with '{close}'"
        return None, (
            f"items inside the '{start}' opened at {where_opened} must be separated by ','; add a ',' before this "
            f"or close the '{start}' with '{close}'"
        )
    if "quoted scalar" in context and problem.startswith("found unexpected"):
        return opened, "the quote opened here is never closed; add the closing quote at the end of the value"
    for pattern, sentence in _AT_THE_PROBLEM.items():
        found = re.match(pattern, problem)
        if found:
            return None, sentence.format(*map(_literal, found.groups()))
    duplicate = re.match(r"found duplicate anchor (.+); first occurrence$", context)
    if duplicate:
        first = f" (first on line {opened.line + 1})" if opened else ""
        return None, f"the anchor '&{_literal(duplicate.group(1))}' is defined twice{first}; rename one of them"
    if problem == "but found another document":
        return None, (
            "a '---' line here starts a second YAML document, but the file must hold one; delete the line and "
            "keep everything in one document"
        )
    if context in ("while scanning an anchor", "while scanning an alias"):
        sign = "&" if "anchor" in context else "*"
        return opened, (
            f"'{sign}' must be followed by a name here; put the value in quotes if the '{sign}' is meant literally"
        )
    if context == "while scanning a block scalar":
        return opened, (
            "after '|' or '>' only an indentation digit 1-9, '+' or '-' and a comment may follow on the same line; "
            "move the text to the indented lines below, or put the value in quotes"
        )
    if "tag" in context or "tag" in problem:
        return opened, "a value starting with '!' is read as a YAML tag, and this one is not valid; put the value in quotes"
    if context == "while scanning a directive":
        return opened, "a line starting with '%' is read as a YAML directive; put the value in quotes or remove the '%'"
    return None, (
        f"{problem or context or 'syntax error'}; check that indentation uses spaces and lines up with the lines "
        "above, and put values with special characters in quotes"
    )


def _literal(shown: str) -> str:
    """The character or name PyYAML showed with repr()."""
    try:
        value = ast.literal_eval(shown)
    except (ValueError, SyntaxError):
        return shown.strip("'\"")
    return str(value)


def _line_column(text: str, position: int) -> tuple[int, int]:
    """1-based line and column of character ``position`` in ``text``."""
    before = text[:position]
    return before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1
