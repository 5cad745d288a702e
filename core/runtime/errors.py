"""Failures a step reports back to the engine, each with the exit code of SPEC §4."""

from . import protocol


class StepFailure(Exception):
    """A step could not complete; `kind` picks the exit code and `details` holds extra text."""

    kind = protocol.FAILED
    exit_code = 1

    def __init__(self, message, details=None, rule=None):
        super().__init__(message)
        self.message = message
        self.details = details
        self.rule = rule

    def to_dict(self):
        return {
            protocol.STATUS: self.kind,
            protocol.EXIT_CODE: self.exit_code,
            protocol.MESSAGE: self.message,
            protocol.DETAILS: self.details,
            protocol.RULE: self.rule,
        }


class RuleViolation(StepFailure):
    """The task's output broke an output rule (SPEC §2.3)."""

    kind = protocol.BROKEN_RULE


class TaskCrash(StepFailure):
    """The task's own code raised or could not be imported."""

    kind = protocol.CRASH


class SchemaViolation(StepFailure):
    """Data did not satisfy the task's `typeSchema`."""

    kind = protocol.SCHEMA
    exit_code = 3


class BadInput(StepFailure):
    """The command or its input files are wrong, not the task; the engine turns it into core.errors.UsageError
    (exit 2). A name of its own because the harness imports nothing else of core."""

    kind = protocol.USAGE
    exit_code = 2
