"""`python -m tui.cli` runs the taskbench command."""

from .main import run

run()
