"""The worker protocol in one place: every op the engine sends, every message kind and reply field it gets back.

The engine writes one JSON request per line (`{"id", "op", ...payload}`); the worker
answers each with one JSON reply carrying the same id and a `status` (`ok`, or a
failure kind with `exit_code`, `message`, `details`, `rule`). Batch scoring
reports over the same kind of channel, as `progress` events then one `done` or
`error`. Runners, the worker, the engine's callers and batch scoring all build and
read messages here. Standard library only: it runs inside worker processes.
"""

import json

# ---------------------------------------------------------------- ops (the request's "op")

EXIT = "exit"
PING = "ping"
PRELOAD = "preload"  # import a task folder's third-party modules, so forked steps inherit them
WARM = "warm"  # import named modules, best effort
LOAD_DATA = "load_data"  # the fit check's dataset, kept for its fit and score steps
FIT = "fit"
SCORE = "score"
LOAD_PROJECT = "load_project"  # a training job's project data and task imports
TRAIN = "train"
PREDICT = "predict"
SCORING_LOAD = "scoring_load"  # a scoring session: load a segment's nodes once ...
SCORING_RUN = "scoring_run"  # ... then score frames with them, in the worker itself
OPS = (EXIT, PING, PRELOAD, WARM, LOAD_DATA, FIT, SCORE, LOAD_PROJECT, TRAIN, PREDICT, SCORING_LOAD, SCORING_RUN)
STEP_OPS = (FIT, SCORE, TRAIN, PREDICT)  # run in a forked child under the time and memory limits

# ---------------------------------------------------------------- message kinds (the "event" field)

READY = "ready"  # the worker's first line: pid, python, pandas versions
RESULT = "result"  # a reply to a request
PROGRESS = "progress"  # batch scoring: rows scored so far, done/total of the input
DONE = "done"  # batch scoring finished: rows, seconds, warnings
ERROR = "error"  # batch scoring failed: kind, message, details

# ---------------------------------------------------------------- fields and statuses

ID, OP, EVENT = "id", "op", "event"
STATUS, EXIT_CODE, MESSAGE, DETAILS, RULE, KIND = "status", "exit_code", "message", "details", "rule", "kind"

OK = "ok"
# failures, each a StepFailure kind (runtime/errors.py) or the worker's own
FAILED = "failed"  # a step could not complete
BROKEN_RULE = "rule"  # the task's output broke an output rule
SCHEMA = "schema"  # data broke the task's typeSchema, exit 3
ENGINE_ERROR = "engine_error"  # the worker itself failed, not the task
TIMEOUT = "timeout"  # a step ran past its time limit
MEMORY = "memory"  # a step used more memory than its limit
CRASH = "crash"  # the task's code raised, or ended the process
USAGE = "usage"  # the input or command is wrong (runtime.errors.BadInput), exit 2


# ---------------------------------------------------------------- building and reading messages


def request_line(rid, op, payload):
    """The bytes of one request line, as runners write it to the worker."""
    return (json.dumps({ID: rid, OP: op, **payload}) + "\n").encode()


def ok(**fields):
    """A successful reply."""
    return {STATUS: OK, **fields}


def failure(status, message, *, exit_code=1, details=None, rule=None):
    """A failed reply: `status` names the kind (see above, or a StepFailure's kind)."""
    reply = {STATUS: status, EXIT_CODE: exit_code, MESSAGE: message}
    if details is not None:
        reply[DETAILS] = details
    if rule is not None:
        reply[RULE] = rule
    return reply


def succeeded(reply):
    """Whether a reply reports success."""
    return reply.get(STATUS) == OK


def is_ready(message):
    """Whether a message is the worker's ready line."""
    return message.get(EVENT) == READY


def progress(rows, done, total):
    """A batch-scoring progress event."""
    return {EVENT: PROGRESS, "rows": rows, "done": done, "total": total}


def finished(rows, seconds, warnings):
    """The batch-scoring event that ends a successful run."""
    return {EVENT: DONE, "rows": rows, "seconds": seconds, "warnings": warnings}


def error(kind, message, details=None):
    """The batch-scoring event that ends a failed run; `kind` is a StepFailure kind or USAGE."""
    event = {EVENT: ERROR, KIND: kind, MESSAGE: message}
    if details is not None:
        event[DETAILS] = details
    return event


def is_final(event):
    """Whether a batch-scoring event ends the run (done or error)."""
    return event.get(EVENT) in (DONE, ERROR)
