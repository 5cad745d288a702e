"""`python -m tui.cli` runs the taskbench command."""

from .entry import run

run()
