"""The workbench's key table as Markdown, generated from the action registry (`python -m tui.keys`).

The README's "Keys" section is this output between its markers; a test keeps them equal.
"""

from __future__ import annotations

from .actions import GLOBAL_ACTIONS, key_label
from .panes import pane_classes


def key_table() -> str:
    """Every binding: global ones, pane keys, then each pane's actions."""
    rows = [(key_label(a.key), a.description, "everywhere") for a in GLOBAL_ACTIONS]
    panes = pane_classes()
    rows += [(p.KEY, f"Show the {p.TITLE} pane", "everywhere") for p in panes]
    for pane in panes:
        rows += [(key_label(a.key), a.description, pane.TITLE) for a in pane.ACTIONS]
    lines = ["| key | action | where |", "|---|---|---|"]
    lines += [f"| `{key}` | {what} | {where} |" for key, what, where in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    print(key_table())
