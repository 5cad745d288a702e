"""The workbench's panes, in the order of their number keys (1–6)."""

from __future__ import annotations

from textual.widget import Widget


class Pane(Widget):
    """Base of every pane: a number key, a title, its own actions, and a `refresh_data` the app may call."""

    KEY = ""
    TITLE = ""
    ACTIONS: list = []

    def refresh_data(self) -> None:
        """Reload what the pane shows from the engine (in a worker)."""

    def focus_default(self) -> None:
        """Put the focus where the pane's keys make sense."""
        for child in self.query("*"):
            if child.can_focus:
                child.focus()
                return


PANE_MODULES = [
    ("tasks", "TasksPane"),
    ("environments", "EnvironmentsPane"),
    ("blueprints", "BlueprintsPane"),
    ("projects", "ProjectsPane"),
    ("jobs", "JobsPane"),
    ("deployments", "DeploymentsPane"),
]


def pane_classes() -> list[type[Pane]]:
    """The pane classes in key order; a pane whose module is not written yet is simply absent."""
    import importlib

    found = []
    for module_name, class_name in PANE_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{module_name}":
                continue
            raise
        found.append(getattr(module, class_name))
    return found
