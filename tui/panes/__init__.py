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

    def shared_object(self) -> tuple[str, str] | str:
        """What the Shares view (S) opens on: the selected object as (kind, name), or one sentence saying why
        nothing here can be shared."""
        return f"nothing in the {self.TITLE} pane is shared by itself; open S on its project or blueprint instead."

    def pending_losses(self) -> list[str]:
        """What quitting would lose in this pane: its long-running workers (a training, a fit check, a build)."""
        from textual.worker import WorkerState

        found = []
        for worker in self.workers:
            what = LONG_WORK.get(worker.group)
            if what and worker.state in (WorkerState.PENDING, WorkerState.RUNNING) and worker.node is self:
                found.append(f"{what} is running and would be cancelled")
        return found

    def on_worker_state_changed(self, event) -> None:
        """A pane's engine call that raised says so, instead of leaving the pane silently empty or stale: one
        sentence as a notification, the traceback appended to the workspace's logs/workbench.log."""
        from textual.worker import WorkerState

        if event.state != WorkerState.ERROR or event.worker.node is not self:
            return
        error = event.worker.error
        message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
        self.notify(f"{self.TITLE or 'workbench'}: {message}", severity="error", timeout=10, markup=False)
        try:
            from core import log, workspace

            logger = log.to_workspace(workspace.home(getattr(self.app, "home", None)), "workbench")
            logger.error("%s worker %s: %s", self.TITLE, event.worker.name, message, exc_info=error)
        except Exception:  # noqa: BLE001 - reporting a failure must not fail
            pass

    def focus_default(self) -> None:
        """Put the focus where the pane's keys make sense."""
        for child in self.query("*"):
            if child.can_focus:
                child.focus()
                return


# Worker groups whose work quitting would cancel, and how to name it in the quit question.
LONG_WORK = {
    "bp-train": "a training (Blueprints)",
    "tasks-fit": "a fit check (Tasks)",
    "env-build": "an image build (Environments)",
    "proj-export": "an export (Projects)",
    "proj-retrain": "a retraining (Projects)",
}

def pane_classes() -> list[type[Pane]]:
    """The pane classes in key order (imported here, not at the top: each pane module imports Pane from this one)."""
    from .blueprints import BlueprintsPane
    from .deployments import DeploymentsPane
    from .environments import EnvironmentsPane
    from .jobs import JobsPane
    from .projects import ProjectsPane
    from .tasks import TasksPane

    return [TasksPane, EnvironmentsPane, BlueprintsPane, ProjectsPane, JobsPane, DeploymentsPane]
