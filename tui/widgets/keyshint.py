"""The line of a pane's keys that the footer does not show at the moment.

Textual's footer shows the bindings marked `show` of whatever has the focus; a
pane's other keys (enter on a list, esc, d, [ ]…) would go unseen, and a fixed
hint line beside the footer named some keys twice. This line is computed from
the same registry and the footer's own bindings, so each action is hinted once.
"""

from __future__ import annotations

import textwrap

from rich.text import Text
from textual.widgets import Static

from ..actions import Action, key_label


class KeysHint(Static):
    """`key word` for each of `actions` that has a footer word (`short`) and is not in the footer now;
    or a pane's message (`say`) until the focus moves."""

    DEFAULT_CSS = """
    KeysHint {
        height: auto;
        max-height: 3;
        color: $text-muted;
    }
    KeysHint.error {
        color: $error;
    }
    """

    def __init__(self, actions: list[Action], **kwargs):
        super().__init__("", markup=False, **kwargs)
        self.actions = actions
        self.message: str | Text | None = None  # a pane's answer, shown instead of the keys until the focus moves
        self._said_at = None  # what had the focus when the message was shown
        self.cut_long_words = False

    def say(self, text: str | Text, error: bool = False, *, cut_long_words: bool = False) -> None:
        """Show a message (never markup) in place of the keys; an empty text brings the keys back. With
        `cut_long_words` a word wider than the line (an image tag) is cut with … on its own row instead of being
        folded across two (for a message whose whole text is shown elsewhere too)."""
        self.message = text or None
        self.cut_long_words = cut_long_words
        self._said_at = self.screen.focused if self.is_attached else None
        self.set_class(error and bool(text), "error")
        self.update_hint()

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, lambda _screen: self.update_hint())
        self.update_hint()

    def hint(self) -> str:
        """What the line says now."""
        in_footer = {binding.action for _node, binding, _enabled, _tip in self.screen.active_bindings.values() if binding.show}
        return "  ".join(
            f"{key_label(action.key.split(',')[0])} {action.short}"
            for action in self.actions
            if action.short and action.name not in in_footer and self.can_act(action.name)
        )

    def can_act(self, name: str) -> bool:
        """Whether the widget that owns action `name` (the nearest ancestor with `action_<name>`) allows it now:
        a key its `check_action` disables or hides is not offered here either."""
        for node in self.ancestors:
            if hasattr(node, f"action_{name}"):
                return bool(node.check_action(name, ()))
        return True

    def update_hint(self) -> None:
        if self.message is not None and self.screen.focused is not self._said_at:
            self.message = None  # the user moved on: the keys of where they are now
            self.remove_class("error")
        message = self.message
        if isinstance(message, str):
            message = Text(whole_words(message, self.size.width) if self.cut_long_words else message)
        self.update(message if message is not None else Text(self.hint()))

    def on_resize(self) -> None:
        self.update_hint()


def whole_words(text: str, width: int) -> str:
    """`text` wrapped at spaces only: a word longer than `width` (an image tag, a path) keeps one row, cut with …,
    rather than being split across two rows where it can be neither read nor copied."""
    if width < 2:
        return text
    lines = textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""]
    return "\n".join(line if len(line) <= width else line[: width - 1] + "…" for line in lines)


__all__ = ["KeysHint"]
