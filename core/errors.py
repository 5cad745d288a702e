"""Errors a user can cause, each carrying one plain sentence and the exit code of SPEC §4."""

EXIT_OK = 0
EXIT_TASK_FAILED = 1
EXIT_USAGE = 2
EXIT_SCHEMA = 3


class TaskbenchError(Exception):
    """A failure to show as one sentence (never a traceback); `details` may add a task's own traceback."""

    exit_code = EXIT_TASK_FAILED

    def __init__(self, message: str, *, details: str | None = None, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.details = details
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(TaskbenchError):
    """Bad command-line usage or unreadable input (exit 2)."""

    exit_code = EXIT_USAGE
