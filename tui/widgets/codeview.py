"""A read-only code view: textual's TextArea with tree-sitter highlighting, and pygments' lexer for R.

textual[syntax] ships no tree-sitter grammar for R (and PyPI has no package of
one for it), so an `.R` file is highlighted from pygments' R lexer instead: its
tokens become the same highlight names tree-sitter captures give, so the theme
colours R like Python, and the view keeps the TextArea's scrolling, search and
selection.
"""

from __future__ import annotations

from pygments.lexer import Lexer
from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String, Token, Whitespace
from textual.widgets import TextArea
from textual.widgets.text_area import LanguageDoesNotExist

PYGMENTS_LANGUAGES = {"r": "r"}  # the view's language name -> pygments' lexer name, for grammars textual lacks
# pygments token types -> TextArea theme highlight names (the first that a token is a subtype of wins)
TOKEN_HIGHLIGHTS = (
    (Comment, "comment"),
    (String, "string"),
    (Number, "number"),
    (Keyword.Constant, "constant.builtin"),
    (Keyword, "keyword"),
    (Operator, "operator"),
    (Name.Builtin, "function.call"),
    (Name.Function, "function"),
)
BRACKETS = frozenset("()[]{}")


class CodeView(TextArea):
    """A TextArea that highlights a language textual has no tree-sitter grammar for through pygments."""

    _lexer: Lexer | None = None

    def set_code(self, text: str, language: str | None) -> None:
        """Show `text` highlighted as `language` when either tree-sitter or pygments knows it, else as plain text."""
        self._lexer = None
        if language in PYGMENTS_LANGUAGES:
            from pygments.lexers import get_lexer_by_name

            self._lexer = get_lexer_by_name(PYGMENTS_LANGUAGES[language], stripnl=False, ensurenl=False)
            language = None
        try:
            self.language = language
        except LanguageDoesNotExist:
            self.language = None
        self.load_text(text)

    def _build_highlight_map(self) -> None:
        """tree-sitter's highlights (TextArea's own); with a pygments lexer, its tokens as highlights by byte range."""
        super()._build_highlight_map()
        if self._lexer is None:
            return
        highlights = self._highlights
        row, column = 0, 0  # where the next token starts: line and UTF-8 byte offset
        tokens = [(kind, value) for kind, value in self._lexer.get_tokens(self.text) if value]
        for index, (kind, value) in enumerate(tokens):
            name = _highlight_name(kind, value, tokens, index)
            for number, part in enumerate(value.split("\n")):
                if number:
                    row, column = row + 1, 0
                size = len(part.encode("utf-8"))
                if name and size:
                    highlights[row].append((column, column + size, name))
                column += size


def _highlight_name(kind, value: str, tokens: list, index: int) -> str | None:
    """The theme's highlight name for one token: a name followed by `(` is a call, brackets are brackets."""
    if kind in Whitespace or kind is Token.Text:
        return None
    if kind in Punctuation:
        return "punctuation.bracket" if value in BRACKETS else "punctuation.delimiter"
    if kind in Name and not (kind in Name.Builtin or kind in Name.Function):
        following = next((v for k, v in tokens[index + 1:] if not (k in Whitespace or v.isspace())), "")
        return "function.call" if following.startswith("(") else None
    return next((name for token, name in TOKEN_HIGHLIGHTS if kind in token), None)
