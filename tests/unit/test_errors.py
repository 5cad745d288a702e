"""One error hierarchy rooted in TaskbenchError: the user's mistakes exit 2, a worker's death exits 1, and each
reaches the screen as its own sentence without a hand conversion."""

import pytest

from core.errors import EXIT_TASK_FAILED, EXIT_USAGE, TaskbenchError, UsageError
from core.jobs import JobRun
from core.runners.base import WorkerDied, WorkerTimeout
from core.store import open_store
from core.tasks.metadata import MetadataError, ParameterError, load_metadata, resolve_parameters


@pytest.mark.parametrize(
    "error, base, code",
    [
        (MetadataError("m.yaml", 2, 5, "bad"), UsageError, EXIT_USAGE),
        (ParameterError("bad", "alpha"), UsageError, EXIT_USAGE),
        (WorkerDied("the worker process ended unexpectedly"), TaskbenchError, EXIT_TASK_FAILED),
        (WorkerTimeout("the worker did not reply within 5 s"), TaskbenchError, EXIT_TASK_FAILED),
    ],
)
def test_every_engine_error_is_a_taskbench_error_with_its_exit_code(error, base, code):
    assert isinstance(error, base) and error.exit_code == code
    assert error.message == str(error)


def test_a_metadata_error_carries_its_place_in_the_sentence_the_cli_prints(tmp_path):
    (tmp_path / "model-metadata.yaml").write_text("name: x\ntargetType: textgeneration\n")
    with pytest.raises(UsageError) as info:  # no conversion needed: the CLI prints .message
        load_metadata(tmp_path)
    assert info.value.message.startswith(f"{tmp_path / 'model-metadata.yaml'}:2:13: ")
    assert (info.value.line, info.value.column) == (2, 13) and "textgeneration" in info.value.problem


def test_a_parameter_error_is_still_a_value_error():
    from core.tasks.metadata import Hyperparameter

    declared = [Hyperparameter(name="alpha", type="int", default=1, min=0, max=10)]
    with pytest.raises(ValueError) as info:
        resolve_parameters(declared, {"alpha": 11})
    assert isinstance(info.value, UsageError) and "above its maximum 10" in info.value.message


def test_a_job_whose_worker_died_ends_with_the_sentence_and_no_engine_traceback(home):
    with open_store(home) as store:
        run = JobRun(store, "train", "its worker dies").start()
        run.fail(WorkerDied("the worker process ended unexpectedly"))
        run.close()
        job = store.job(run.job.id)
        assert (job.state, job.exit_code, job.message) == ("failed", 1, "the worker process ended unexpectedly")
    log = (home / job.log_path).read_text()
    assert "the worker process ended unexpectedly" in log and "Traceback" not in log
