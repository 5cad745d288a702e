"""Taskbench's stand-in for DRUM's package: only the custom task interfaces."""
