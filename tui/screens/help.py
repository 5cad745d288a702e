"""`?`: every key binding, generated from the action registry."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..actions import key_label

KEY_COLUMN = 15  # "  " + the key padded to 12 + " ": where a description starts, and where its next rows start


class KeyList(Text):
    """The help text; a description too long for the screen wraps at spaces under itself, never under the keys
    (plain text otherwise: `str()` of it is what the help says)."""

    def visualize(self):
        return _Hanging(self)


class KeyListStatic(Static):
    """A Static whose `render()` is its KeyList (Text), drawn with the descriptions' hanging indent."""

    def __init__(self, text: KeyList, **kwargs):
        super().__init__(**kwargs)
        self.key_list = text

    def render(self) -> KeyList:
        return self.key_list


class _Hanging:
    """Renders a KeyList with each action's description wrapped at spaces and indented to KEY_COLUMN."""

    def __init__(self, text: Text):
        self.text = text

    def __rich_console__(self, console, options):
        width = options.max_width
        for line in self.text.split("\n", allow_blank=True):
            if line.plain.startswith("  ") and line.cell_len > width > KEY_COLUMN + 10:
                head, body = line[:KEY_COLUMN], line[KEY_COLUMN:]
                for n, row in enumerate(body.wrap(console, width - KEY_COLUMN)):
                    yield (head if n == 0 else Text(" " * KEY_COLUMN)) + row
            else:
                yield line


class HelpScreen(ModalScreen):
    """A list of every action and its key, global first, then pane by pane; esc closes it."""

    BINDINGS = [Binding("escape", "dismiss", "Close"), Binding("question_mark", "dismiss", "Close", show=False)]

    def __init__(self, actions, where: str = ""):
        super().__init__()
        self.actions = actions
        self.where = where  # a shared workspace's identity, said whole (user text: plain, never markup)

    def compose(self) -> ComposeResult:
        text = KeyList()
        text.append("Keys", style="bold")
        text.append("  (esc closes; ctrl+p searches every action)\n")
        text.append("In a text field or the blueprint editor every printable key is typed, 1–6, q and ? too: "
                    "esc leaves it (then the keys below work), e goes back into the editor, p to its problems.\n")
        if self.where:
            text.append(f"{self.where}\n")
        current = object()
        for action, pane in self.actions:
            if pane is not current:
                current = pane
                text.append(f"\n{pane.TITLE if pane else 'Everywhere'}\n", style="bold")
            text.append(f"  {key_label(action.key):<12} {action.description}\n")
        with VerticalScroll(id="help-body"):
            yield KeyListStatic(text, id="help-text")
