"""The Blueprints pane's question before a clone: the name of the new blueprint (default NAME-copy)."""

from __future__ import annotations

from .prompt import LinePrompt


class ClonePrompt(LinePrompt):
    """Asks for the clone's name; enter clones (an emptied field: core's default name), esc cancels."""

    BOX = "bp-clone"
    FIELD = "bp-clone-name"
    HINT = "enter clones and opens it   esc cancels"
    DEFAULT_CSS = """
    ClonePrompt { align: center middle; }
    #bp-clone { width: 64; height: auto; border: round $accent; background: $surface; padding: 0 1; }
    """

    def __init__(self, ref: str, suggestion: str):
        super().__init__(f"Clone {ref} as your own blueprint named:", suggestion)
