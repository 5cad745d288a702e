"""Screens pushed over the panes (help, confirmations)."""
