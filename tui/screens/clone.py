"""The Blueprints pane's questions for a name: a clone's (default NAME-copy), and a never saved buffer's on ctrl+s."""

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


class SaveAsPrompt(LinePrompt):
    """Asks a never saved buffer's name before its first save; enter saves under it, esc cancels (nothing saved)."""

    BOX = "bp-save-as"
    FIELD = "bp-save-name"
    HINT = "enter saves it   esc cancels"
    DEFAULT_CSS = """
    SaveAsPrompt { align: center middle; }
    #bp-save-as { width: 64; height: auto; border: round $accent; background: $surface; padding: 0 1; }
    """

    def __init__(self, suggestion: str):
        super().__init__("Save the new blueprint under the name:", suggestion)
