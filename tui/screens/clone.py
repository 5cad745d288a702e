"""The Blueprints pane's questions for a name: a clone's (default NAME-copy), and a never saved buffer's on ctrl+s."""

from __future__ import annotations

from .prompt import LinePrompt


class BlueprintNamePrompt(LinePrompt):
    """A blueprint's name asked in a box over the pane; a subclass says the question and the keys line."""

    BOX = "bp-name-box"
    FIELD = "bp-name"
    DEFAULT_CSS = """
    BlueprintNamePrompt { align: center middle; }
    #bp-name-box { width: 64; height: auto; border: round $accent; background: $surface; padding: 0 1; }
    """


class ClonePrompt(BlueprintNamePrompt):
    """Asks for the clone's name; enter clones (an emptied field: core's default name), esc cancels."""

    HINT = "enter clones and opens it   esc cancels"

    def __init__(self, ref: str, suggestion: str):
        super().__init__(f"Clone {ref} as your own blueprint named:", suggestion)


class SaveAsPrompt(BlueprintNamePrompt):
    """Asks a never saved buffer's name before its first save; enter saves under it, esc cancels (nothing saved)."""

    HINT = "enter saves it   esc cancels"

    def __init__(self, suggestion: str):
        super().__init__("Save the new blueprint under the name:", suggestion)
