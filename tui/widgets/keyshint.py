"""The line of a pane's keys that the footer does not show at the moment.

Textual's footer shows the bindings marked `show` of whatever has the focus; a
pane's other keys (enter on a list, esc, d, [ ]…) would go unseen, and a fixed
hint line beside the footer named some keys twice. This line is computed from
the same registry and the footer's own bindings, so each action is hinted once.
"""

from __future__ import annotations

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
        self.message: Text | None = None  # a pane's answer, shown instead of the keys until the focus moves
        self._said_at = None  # what had the focus when the message was shown

    def say(self, text: str | Text, error: bool = False) -> None:
        """Show a message (never markup) in place of the keys; an empty text brings the keys back."""
        self.message = (Text(text) if isinstance(text, str) else text) if text else None
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
            if action.short and action.name not in in_footer
        )

    def update_hint(self) -> None:
        if self.message is not None and self.screen.focused is not self._said_at:
            self.message = None  # the user moved on: the keys of where they are now
            self.remove_class("error")
        self.update(self.message if self.message is not None else Text(self.hint()))


__all__ = ["KeysHint"]
