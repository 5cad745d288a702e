"""Reusable pieces of the workbench's screens (the log view, …), shared by the panes."""
