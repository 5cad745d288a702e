"""The blueprint text syntax (SPEC §7): a tokenizer, a parser that reports every error with line and column,
and a formatter that aligns the `=` signs and orders parameters without changing meaning.

    # blueprint: impute-onehot-logreg    target: binary
    num   = impute_median(NUM)
    cat   = one_hot(CAT, max_categories=20)
    model = my_logreg@3(num, cat, C=0.5)

A node may continue over several lines while its parentheses are open; a line
that starts a new node (`name = task(`) ends an unclosed one with an error, so
one missing `)` does not swallow the rest of the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import TaskbenchError
from .model import Blueprint, Node, Param, Position

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_WORD = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)")
_INTEGER = re.compile(r"^[+-]?\d+$")
_NEW_NODE = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*=\s*[A-Za-z0-9_][A-Za-z0-9_.\-]*\s*(?:@\s*\w+\s*)?\(")
_HEADER = re.compile(r"^#\s*blueprint:\s*(?P<name>\S+)?(?:\s+target:\s*(?P<target>\S+))?", re.IGNORECASE)
_TARGET_ONLY = re.compile(r"^#\s*target:\s*(?P<target>\S+)", re.IGNORECASE)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}
_PUNCTUATION = "=@(),[]"
_CLOSERS = {"(": ")", "[": "]"}


@dataclass(frozen=True)
class SyntaxIssue:
    """One syntax error: 1-based line and column and a plain sentence."""

    line: int
    column: int
    message: str


class BlueprintSyntaxError(TaskbenchError):
    """The text is not a blueprint; `errors` holds every problem found, in order."""

    def __init__(self, path: str, errors: list[SyntaxIssue]):
        self.path = path
        self.errors = sorted(errors, key=lambda e: (e.line, e.column))
        first = self.errors[0]
        more = f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        super().__init__(f"{path}:{first.line}:{first.column}: {first.message}{more}")

    def __str__(self) -> str:
        return "\n".join(f"{self.path}:{e.line}:{e.column}: {e.message}" for e in self.errors)


@dataclass(frozen=True)
class Token:
    """kind is 'word', 'number', 'string', one of `=@(),[]`, 'comment', 'newline', 'error' or 'eof'."""

    kind: str
    text: str
    line: int
    column: int
    value: object = None


def tokenize(text: str) -> tuple[list[Token], list[SyntaxIssue]]:
    """Split the text into tokens; problems become issues plus an 'error' token where they stand."""
    lines = text.splitlines()
    tokens: list[Token] = []
    issues: list[SyntaxIssue] = []
    open_stack: list[tuple[str, int, int]] = []  # (bracket, line, column)

    for index, line_text in enumerate(lines):
        line = index + 1
        pos = 0
        while pos < len(line_text):
            char = line_text[pos]
            column = pos + 1
            if char in " \t\f\v":
                pos += 1
            elif char == "#":
                tokens.append(Token("comment", line_text[pos:].rstrip(), line, column))
                pos = len(line_text)
            elif char in "\"'":
                end, value, problem = _read_string(line_text, pos)
                if problem:
                    issues.append(SyntaxIssue(line, problem[0] + 1, problem[1]))
                    tokens.append(Token("error", line_text[pos:], line, column))
                    pos = len(line_text)
                else:
                    tokens.append(Token("string", line_text[pos:end], line, column, value))
                    pos = end
            elif char in _PUNCTUATION:
                if char in _CLOSERS:
                    open_stack.append((char, line, column))
                elif char in ")]":
                    if open_stack and _CLOSERS[open_stack[-1][0]] == char:
                        open_stack.pop()
                tokens.append(Token(char, char, line, column))
                pos += 1
            elif char.isascii() and (char.isalnum() or char == "_"):
                word = _WORD.match(line_text, pos).group()
                number = _NUMBER.fullmatch(word)
                kind = "number" if number else "word"
                tokens.append(Token(kind, word, line, column, _number(word) if number else None))
                pos += len(word)
            elif char in "+-." and (number := _NUMBER.match(line_text, pos)):
                word = number.group()
                tokens.append(Token("number", word, line, column, _number(word)))
                pos += len(word)
            else:
                shown = f"'{char}'" if char.isprintable() else f"U+{ord(char):04X} (not printable)"
                issues.append(SyntaxIssue(line, column, f"unexpected character {shown}{_hint(char)}"))
                tokens.append(Token("error", char, line, column))
                pos += 1
        if open_stack and tokens and tokens[-1].kind == "error" and tokens[-1].line == line:
            open_stack.clear()  # the line is broken already; one error is enough
        if open_stack and not _continues(lines, index):
            bracket, open_line, open_column = open_stack[0]
            closer = _CLOSERS[bracket]
            issues.append(
                SyntaxIssue(open_line, open_column, f"'{bracket}' is never closed; add '{closer}' to finish this node")
            )
            tokens.append(Token("error", "", line, len(line_text) + 1))
            open_stack.clear()
        if not open_stack:
            tokens.append(Token("newline", "", line, len(line_text) + 1))
    last = len(lines)
    tokens.append(Token("eof", "", last + 1 if lines else 1, 1))
    return tokens, issues


def _continues(lines: list[str], index: int) -> bool:
    """True when an open node goes on after line `index`: a next non-blank line exists and starts no new node."""
    for following in lines[index + 1 :]:
        stripped = following.strip()
        if not stripped or stripped.startswith("#"):
            continue
        return not _NEW_NODE.match(following)
    return False


def _hint(char: str) -> str:
    if char == ":":
        return "; parameters are written name=value"
    if char == ";":
        return "; write one node per line"
    if char in "{}":
        return "; lists are written [a, b]"
    return ""


def _read_string(line_text: str, start: int) -> tuple[int, str, tuple[int, str] | None]:
    """Read a quoted string starting at `start`: (end index, value, None) or (…, (column index, problem))."""
    quote = line_text[start]
    out: list[str] = []
    pos = start + 1
    while pos < len(line_text):
        char = line_text[pos]
        if char == quote:
            return pos + 1, "".join(out), None
        if char == "\\":
            if pos + 1 >= len(line_text):
                break
            escaped = line_text[pos + 1]
            if escaped not in _ESCAPES:
                return pos, "", (pos, f"unknown escape '\\{escaped}' in a string; write '\\\\' for a backslash")
            out.append(_ESCAPES[escaped])
            pos += 2
            continue
        out.append(char)
        pos += 1
    return len(line_text), "", (start, f"this string is not closed; end it with {quote} on the same line")


def _number(text: str) -> int | float:
    return int(text) if _INTEGER.match(text) else float(text)


class _Abandon(Exception):
    """The current node cannot be read further; skip to its end."""


class _Parser:
    """Recursive descent over the tokens, one node statement at a time, collecting issues."""

    def __init__(self, text: str, path: str):
        self.text = text
        self.path = path
        self.tokens, self.issues = tokenize(text)
        self.pos = 0
        self.nodes: list[Node] = []
        self.comments: list[tuple[int, str]] = []
        self.inner_comments: list[tuple[int, str]] = []

    # ------------------------------------------------------------ helpers

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.peek()
        if token.kind != "eof":
            self.pos += 1
        return token

    def skip_inner_comments(self) -> None:
        """Comments inside an open node's parentheses are kept as full-line comments."""
        while self.peek().kind == "comment":
            token = self.advance()
            self.inner_comments.append((token.line, token.text))

    def fail(self, token: Token, message: str) -> _Abandon:
        if token.kind != "error":  # the tokenizer already said what is wrong there
            self.issues.append(SyntaxIssue(token.line, token.column, message))
        return _Abandon()

    def issue(self, token: Token, message: str) -> None:
        self.issues.append(SyntaxIssue(token.line, token.column, message))

    def skip_statement(self, start: int) -> None:
        """Skip to the end of the node that started at token `start` (its newline may be consumed already)."""
        if self.pos > start and self.tokens[self.pos - 1].kind == "newline":
            return
        while self.peek().kind not in ("newline", "eof"):
            self.advance()
        self.advance()

    # ------------------------------------------------------------ grammar

    def parse(self) -> Blueprint:
        while self.peek().kind != "eof":
            token = self.peek()
            if token.kind == "newline":
                self.advance()
            elif token.kind == "comment":
                self.comments.append((token.line, token.text))
                self.advance()
            else:
                start = self.pos
                try:
                    self.statement()
                except _Abandon:
                    self.skip_statement(start)
        if not self.nodes and not self.issues:
            self.issues.append(
                SyntaxIssue(1, 1, "the blueprint has no nodes; write one per line, like `model = ridge(NUM)` for "
                                  "regression or `model = logistic_regression(NUM)` for classification")
            )
        if self.issues:
            raise BlueprintSyntaxError(self.path, self.issues)
        comments = tuple(sorted(self.comments + self.inner_comments))
        name, target = _header(self.comments, self.nodes[0].position.line)
        return Blueprint(tuple(self.nodes), name=name, target_type=target, source=self.text, comments=comments)

    def statement(self) -> None:
        name_token = self.advance()
        if name_token.kind != "word":
            raise self.fail(name_token, f"expected a node name here, not {_describe(name_token)}; "
                                        "a node reads `name = task(inputs…)`")
        if not IDENTIFIER.match(name_token.text):
            self.issue(name_token, f"node name '{name_token.text}' is not valid; use letters, digits and '_', "
                                   "not starting with a digit")
        equals = self.advance()
        if equals.kind != "=":
            raise self.fail(equals, f"expected '=' after the node name '{name_token.text}', "
                                    f"not {_describe(equals)}; a node reads `name = task(inputs…)`")
        task_token = self.advance()
        if task_token.kind not in ("word", "number"):
            raise self.fail(task_token, f"expected a task name after '=', not {_describe(task_token)}")
        if task_token.kind == "number" and not _WORD.fullmatch(task_token.text):
            raise self.fail(task_token, f"'{task_token.text}' is not a task name")
        version = None
        version_position = None
        if self.peek().kind == "@":
            self.advance()
            version_token = self.advance()
            if version_token.kind != "number" or not isinstance(version_token.value, int) or version_token.value < 1 \
                    or not version_token.text.isdigit():
                raise self.fail(version_token, f"expected a version number after '@', not {_describe(version_token)}; "
                                               f"write {task_token.text}@3 or leave the version out for the latest")
            version = version_token.value
            version_position = Position(version_token.line, version_token.column)
        opening = self.advance()
        if opening.kind != "(":
            raise self.fail(opening, f"expected '(' after the task name '{task_token.text}', "
                                     f"not {_describe(opening)}; write {task_token.text}(NUM)")
        inputs: list[str] = []
        input_positions: list[Position] = []
        params: list[Param] = []
        seen_params: dict[str, Param] = {}
        while True:
            self.skip_inner_comments()
            token = self.peek()
            if token.kind == ")":
                closing = self.advance()
                break
            if token.kind != "word":
                raise self.fail(token, f"expected an input or a parameter here, not {_describe(token)}")
            self.advance()
            if self.peek().kind == "=":
                self.advance()
                self.skip_inner_comments()
                param = self.parameter(token)
                if not IDENTIFIER.match(token.text):
                    self.issue(token, f"parameter name '{token.text}' is not valid; use letters, digits and '_'")
                if token.text in seen_params:
                    first = seen_params[token.text].position
                    self.issue(token, f"parameter '{token.text}' is given twice in node '{name_token.text}' "
                                      f"(first at column {first.column}" +
                                      ("" if first.line == token.line else f" of line {first.line}") + "); keep one")
                else:
                    seen_params[token.text] = param
                    params.append(param)
            else:
                if not IDENTIFIER.match(token.text):
                    self.issue(token, f"input '{token.text}' is not a valid name; inputs are channels "
                                      "(NUM, CAT, TXT, DATE, ALL) or node names")
                inputs.append(token.text)
                input_positions.append(Position(token.line, token.column))
            self.skip_inner_comments()
            separator = self.peek()
            if separator.kind == ",":
                self.advance()
            elif separator.kind != ")":
                raise self.fail(separator, f"expected ',' or ')' here, not {_describe(separator)}")
        comment = None
        after = self.peek()
        if after.kind == "comment":
            comment = after.text
            self.advance()
            after = self.peek()
        if after.kind not in ("newline", "eof"):
            raise self.fail(after, f"unexpected {_describe(after)} after ')'; write one node per line")
        self.advance()
        self.nodes.append(
            Node(
                name=name_token.text,
                task=task_token.text,
                version=version,
                inputs=tuple(inputs),
                params=tuple(params),
                position=Position(name_token.line, name_token.column),
                task_position=Position(task_token.line, task_token.column),
                input_positions=tuple(input_positions),
                version_position=version_position,
                comment=comment,
                end_line=closing.line,
            )
        )

    def parameter(self, name: Token) -> Param:
        token = self.peek()
        value, text = self.value(allow_list=True)
        return Param(
            name=name.text,
            value=value,
            position=Position(name.line, name.column),
            value_position=Position(token.line, token.column),
            text=text,
        )

    def value(self, allow_list: bool) -> tuple[object, str | None]:
        """A parameter value and, for numbers and lists, its spelling in the source."""
        token = self.advance()
        if token.kind == "number":
            return token.value, token.text
        if token.kind == "string":
            return token.value, None
        if token.kind == "word":
            if token.text in ("true", "false"):
                return token.text == "true", None
            if token.text.lower() in ("true", "false"):
                raise self.fail(token, f"'{token.text}' is not a value; write {token.text.lower()} in lowercase")
            raise self.fail(token, f"'{token.text}' is not a value; quote text like \"{token.text}\" "
                                   "(values are numbers, quoted strings, true/false or [lists])")
        if token.kind == "[":
            if not allow_list:
                raise self.fail(token, "lists cannot hold lists; give numbers, strings or true/false")
            items: list[object] = []
            spelled: list[str] = []
            while True:
                self.skip_inner_comments()
                if self.peek().kind == "]":
                    self.advance()
                    break
                item, text = self.value(allow_list=False)
                items.append(item)
                spelled.append(text if text is not None else render_value(item))
                self.skip_inner_comments()
                separator = self.peek()
                if separator.kind == ",":
                    self.advance()
                elif separator.kind != "]":
                    raise self.fail(separator, f"expected ',' or ']' in the list, not {_describe(separator)}")
            return tuple(items), "[" + ", ".join(spelled) + "]"
        raise self.fail(token, f"expected a value here, not {_describe(token)}; "
                               "values are numbers, quoted strings, true/false or [lists]")


def _describe(token: Token) -> str:
    """How a token is named in a message."""
    if token.kind in ("newline", "eof"):
        return "the end of the line"
    if token.kind == "comment":
        return "a comment"
    if token.kind == "string":
        return f"the string {token.text}"
    return f"'{token.text}'"


def _header(comments: list[tuple[int, str]], first_node_line: int) -> tuple[str | None, str | None]:
    """The name and target type from a `# blueprint: NAME    target: T` comment above the first node."""
    name = target = None
    for line, text in comments:
        if line > first_node_line:
            break
        match = _HEADER.match(text)
        if match and name is None:
            name = match["name"]
            target = target or (match["target"].lower() if match["target"] else None)
            continue
        match = _TARGET_ONLY.match(text)
        if match and target is None:
            target = match["target"].lower()
    return name, target


def renamed(text: str, name: str) -> str:
    """`text` with its `# blueprint:` header naming `name` (a header line is added above when it has none), the
    rest as written: how a clone's text names the clone, so saving or training an edited copy means the clone."""
    lines = text.splitlines(keepends=True)
    try:
        bp = parse_blueprint(text)
    except BlueprintSyntaxError:
        bp = None
    first = bp.nodes[0].position.line if bp is not None else 0
    for line, comment in bp.comments if bp is not None else ():
        match = _HEADER.match(comment)
        if line > first or not match:
            continue
        source = lines[line - 1]
        if match["name"] is None:
            start = source.find(comment) + comment.lower().index("blueprint:") + len("blueprint:")
            lines[line - 1] = f"{source[:start]} {name}{source[start:]}"
        else:
            start = source.find(comment) + match.start("name")
            lines[line - 1] = source[:start] + name + source[start + len(match["name"]):]
        return "".join(lines)
    return f"# blueprint: {name}\n" + text


def parse_blueprint(text: str, path: str = "<blueprint>") -> Blueprint:
    """Parse blueprint text; raise BlueprintSyntaxError listing every problem with line and column."""
    return _Parser(text, str(path)).parse()


# ------------------------------------------------------------------ formatting


def render_value(value: object) -> str:
    """A parameter value as the syntax writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        escaped = escaped.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
        return f'"{escaped}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(render_value(item) for item in value) + "]"
    raise TypeError(f"a blueprint parameter cannot hold {type(value).__name__}")


def render_node(node: Node, name_width: int = 0) -> str:
    """One node on one line, inputs in order, parameters alphabetically, its trailing comment kept."""
    params = sorted(node.params, key=lambda p: (p.name.lower(), p.name))
    args = list(node.inputs) + [f"{p.name}={p.text if p.text is not None else render_value(p.value)}" for p in params]
    line = f"{node.name.ljust(name_width)} = {node.task_ref}({', '.join(args)})"
    if node.comment:
        line += "  " + node.comment
    return line


def format_blueprint(bp: Blueprint) -> str:
    """The blueprint in canonical layout: aligned `=`, sorted parameters, comments and paragraph breaks kept."""
    width = max(len(node.name) for node in bp.nodes)
    items: list[tuple[int, int, str]] = [(line, line, text.rstrip()) for line, text in bp.comments]
    items += [(n.position.line, n.end_line or n.position.line, render_node(n, width)) for n in bp.nodes]
    items.sort(key=lambda item: item[0])
    out: list[str] = []
    previous_end = None
    for start, end, text in items:
        if previous_end is not None and start > previous_end + 1:
            out.append("")
        out.append(text)
        previous_end = max(end, previous_end or 0)
    return "\n".join(out) + "\n"


def format_text(text: str, path: str = "<blueprint>") -> str:
    """Parse and format; raises BlueprintSyntaxError when the text does not parse."""
    return format_blueprint(parse_blueprint(text, path))
