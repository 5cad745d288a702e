"""The fit check (SPEC §4): fit a task in a worker, load it in a fresh process, score, apply every rule.

Front ends pass options and a listener; the listener hears each step and the
task's live output, and the report says what passed or which rule failed. A
front end that may stop early (a closing terminal app) also passes an event:
setting it kills the worker at once and the check ends as cancelled.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from .. import sharing, workspace
from ..errors import (EXIT_OK, EXIT_SCHEMA, EXIT_TASK_FAILED, EXIT_USAGE, TaskbenchError, UsageError, disk_full,
                      not_a_folder)
from ..joblog import JobLog
from ..jobs import Cancelled, JobRun
from ..tasks.versions import get_task_version
from ..store import open_store
from ..units import human_size
from ..environments.resolve import resolve_environment, with_requirements
from ..runners.base import Limits, WorkerDied, WorkerSpec, WorkerTimeout
from ..runners.start import start_worker
from ..runtime import contract, protocol, typeschema
from ..runtime.layout import model_layout
from ..runtime.taskcode import find_custom_files
from .hookscan import missing_scoring_hook
from .score import remember_fit
from .metadata import TaskMetadata, load_metadata, resolve_parameters

STATUS_EXIT = {protocol.USAGE: EXIT_USAGE, protocol.SCHEMA: EXIT_SCHEMA}
EXIT_CANCELLED = 130  # as for Ctrl-C; the job ends `cancelled`
CANCELLED = "the fit check was cancelled."
DISK_FULL_KEPT = "the check stopped and removed what it wrote, and earlier work is kept"


@dataclass
class FitCheckOptions:
    """The `taskbench fit` flags, DRUM-compatible plus limits and --check-missing."""

    code_dir: Path | None
    input: Path
    target_type: str | None = None
    target: str | None = None
    target_csv: Path | None = None
    row_weights: str | None = None
    row_weights_csv: Path | None = None
    sparse_column_file: Path | None = None
    encoding: str | None = None
    class_labels: list[str] | None = None
    positive_class_label: str | None = None
    negative_class_label: str | None = None
    parameter_file: Path | None = None
    output: Path | None = None
    num_rows: int | None = None
    skip_predict: bool = False
    check_missing: bool = False
    timeout: float | None = None
    memory: int | None = None
    cpus: float | None = None
    env: str | None = None
    docker: str | None = None
    network: bool = False
    home: Path | None = None
    task: str | None = None
    disable_strict_validation: bool = False


class FitCheckListener(Protocol):
    """What a front end hears while the check runs."""

    def step(self, name: str, status: str, text: str) -> None:
        """`status` is start, ok, fail, info (verbose detail) or warn."""

    def task_output(self, chunk: bytes) -> None: ...


@dataclass
class FitCheckReport:
    """The outcome: exit code, the one-sentence reason on failure, and what each step found."""

    exit_code: int = EXIT_OK
    message: str = ""
    details: str | None = None
    rule: str | None = None
    log_path: Path | None = None
    job_id: int | None = None
    seconds: float = 0.0
    target_type: str | None = None
    data: dict = field(default_factory=dict)
    fit: dict = field(default_factory=dict)
    score: dict = field(default_factory=dict)
    output_dir: Path | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.exit_code == EXIT_OK

    @property
    def cancelled(self) -> bool:
        return self.exit_code == EXIT_CANCELLED

    def to_json(self) -> dict:
        out = {k: v for k, v in self.__dict__.items()}
        out["passed"] = self.passed
        out["log_path"] = str(self.log_path) if self.log_path else None
        out["output_dir"] = str(self.output_dir) if self.output_dir else None
        return out


class _StepFailed(Exception):
    def __init__(self, reply: dict):
        self.reply = reply


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Bytes from a size such as 512m, 2G, 300MB or 1048576."""
    match = _SIZE.match(str(text))
    if not match:
        raise UsageError(f"memory size {text!r} is not understood; write it like 512m or 2g.")
    number, unit = float(match[1]), match[2].lower()
    return int(number * (1 << (10 * " kmgt".index(unit or " "))))


def resolve_target_type(given: str | None, meta: TaskMetadata) -> str:
    """The target type from the command line and the metadata, which must agree."""
    if given and given not in contract.TARGET_TYPES:
        raise UsageError(f"--target-type {given!r} is not one of {', '.join(contract.TARGET_TYPES)}.")
    declared = meta.target_types or ((meta.target_type,) if meta.target_type else ())
    if given and declared and given not in declared:
        raise UsageError(
            f"--target-type {given} contradicts targetType {'/'.join(declared)} in {meta.path}; "
            "make them agree (or drop --target-type)."
        )
    if not given and len(declared) > 1:
        raise UsageError(f"the task serves {', '.join(declared)}; pass --target-type to pick one.")
    chosen = given or (declared[0] if declared else None)
    if not chosen:
        raise UsageError(
            "the task's target type is unknown; pass --target-type "
            f"({', '.join(contract.TARGET_TYPES)}) or set targetType in model-metadata.yaml."
        )
    return chosen


def _read_parameter_file(path: Path | None) -> dict:
    if path is None:
        return {}
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UsageError(f"parameter file {path} does not exist.") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"parameter file {path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.") from None
    if not isinstance(data, dict):
        raise UsageError(f"parameter file {path} must hold a JSON object of name: value pairs.")
    return data


def schema_payload(meta: TaskMetadata) -> dict:
    """The task's type schema as plain JSON for the worker."""
    def reqs(items):
        return [{"field": r.field, "condition": r.condition, "value": r.value, "line": r.line} for r in items]

    return {
        "input_requirements": reqs(meta.type_schema.input_requirements),
        "output_requirements": reqs(meta.type_schema.output_requirements),
    }


def _prepare_output(path: Path | None) -> Path | None:
    if path is None:
        return None
    path = Path(path).resolve()
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise UsageError(f"--output {path} already exists and is not an empty folder; pick a new folder.")
    path.mkdir(parents=True, exist_ok=True)
    return path


def copy_code(code_dir: Path, output_dir: Path) -> int:
    """Copy the task's files into `output_dir` beside the artifacts (never over one), as `drum fit --output` does,
    so that the folder is a fitted folder `taskbench score`/`serve --code-dir` load; returns how many were copied."""
    import shutil

    copied = 0
    output_dir = Path(output_dir).resolve()
    for source in sorted(Path(code_dir).rglob("*")):
        relative = source.relative_to(code_dir)
        if source.resolve() == output_dir or output_dir in source.resolve().parents:
            continue  # --output inside --code-dir: the artifacts are not the task's code
        if any(part == "__pycache__" or part.startswith(".") for part in relative.parts) or not source.is_file():
            continue
        target = output_dir / relative
        if target.exists() or target.is_symlink() or any(p.is_file() for p in target.parents if output_dir in p.parents):
            continue  # an artifact of the same name wins: it is what fit wrote
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        copied += 1
    return copied


class FitCheck:
    """One run of the fit check; `run()` returns the report and never raises for task faults."""

    def __init__(self, options: FitCheckOptions, listener: FitCheckListener, cancel: threading.Event | None = None):
        self.opts = options
        self.listener = listener
        self.report = FitCheckReport()
        self.root = workspace.home(options.home)
        self.store = None
        self.job_run: JobRun | None = None  # the `fit` job: its log, cancel watcher, worker and scratch folder
        self.log = None
        self.worker = None
        self.cancel = cancel
        self._disk_was_full = False

    # ------------------------------------------------------------ cancelling

    @property
    def _cancelled(self) -> bool:
        """The cancel event was seen and the job's worker killed: failures from here on are the user's stop."""
        return self.job_run is not None and self.job_run.cancelled

    def _check_cancel(self) -> None:
        """Stop between steps once cancelled (a step still running is stopped by the job's cancel watcher)."""
        if self.job_run is not None:
            self.job_run.check_cancel()
        elif self.cancel is not None and self.cancel.is_set():
            raise Cancelled()

    def _adopt_worker(self, worker) -> None:
        self.worker = worker
        self.job_run.adopt(worker)  # cancelled while the worker started: killed, and Cancelled raised

    def _output(self, chunk: bytes) -> None:
        self.log.output(chunk)
        self.listener.task_output(chunk)

    def _step(self, name: str, status: str, text: str) -> None:
        if self.log is not None:
            self.log.line(f"{name}: {status}: {text}")
        self.listener.step(name, status, text)

    def _open_job(self, code_dir: Path, input_path: Path) -> None:
        """Record the check as a `fit` job whose log holds the engine's lines and the task's output."""
        subject = {"code_dir": str(code_dir), "input": str(input_path), "task": self.opts.task}
        title = f"fit check of {self.opts.task or code_dir.name}"
        self.job_run = JobRun(self.store, "fit", title, subject, cancel=self.cancel, announce=False).start()
        self.log = self.job_run.log
        self.report.log_path = self.log.path
        self.report.job_id = self.job_run.id
        self.log.line(f"job {self.job_run.id}: {title} on {input_path} (pid {os.getpid()})")

    def _code_dir(self) -> Path:
        """The folder to check: --code-dir, or the snapshot of a registered version (--task NAME[@N])."""
        if self.opts.env and self.store is not None:  # an environment named by the user is used in their own work
            sharing.require(self.store, "env", self.opts.env.split("@")[0], "read", "use")
        if self.opts.task:
            if self.opts.code_dir:
                raise UsageError("give --code-dir or --task, not both.")
            version = get_task_version(self.store, self.opts.task)
            if version.env and not (self.opts.env or self.opts.docker):
                self.opts.env = version.env
            return version.path
        if not self.opts.code_dir:
            raise UsageError("say which task to check: --code-dir DIR or --task NAME[@N].")
        code_dir = Path(self.opts.code_dir).expanduser().resolve()
        if not code_dir.is_dir():
            raise UsageError(f"--code-dir {not_a_folder(self.opts.code_dir, 'the task folder that holds custom.py')}")
        return code_dir

    def run(self) -> FitCheckReport:
        started = time.perf_counter()
        try:
            self.store = open_store(self.root)
            code_dir = self._code_dir()
            input_path = Path(self.opts.input).expanduser().resolve()
            if not input_path.is_file():
                from ..runtime.data import not_a_file  # pandas loads only on this path

                raise UsageError(not_a_file(str(self.opts.input)))
            self._open_job(code_dir, input_path)
            self._check_cancel()
            self._run(code_dir, input_path, self.job_run.scratch("fit"))
        except Cancelled:
            self._fail(EXIT_CANCELLED, CANCELLED)
        except (WorkerDied, WorkerTimeout) as exc:
            self._fail(EXIT_TASK_FAILED, f"the worker process failed: {exc}.")
        except TaskbenchError as exc:
            if not self._disk_full(exc):
                self._fail(exc.exit_code, exc.message, exc.details)
        except _StepFailed as exc:
            reply = exc.reply
            if not self._disk_full(TaskbenchError(f"{reply.get('message', '')} {reply.get('details') or ''}")):
                code = STATUS_EXIT.get(reply.get(protocol.STATUS), reply.get(protocol.EXIT_CODE) or EXIT_TASK_FAILED)
                self._fail(code, reply.get("message", "the step failed"), reply.get("details"), reply.get("rule"))
                if reply.get(protocol.STATUS) == protocol.ENGINE_ERROR:
                    self.log.line(f"worker traceback:\n{reply.get('details')}")
                    self.report.details = None
        except KeyboardInterrupt:
            self._fail(EXIT_CANCELLED, CANCELLED)
        except Exception:  # noqa: BLE001 - engine faults go to the log, the user gets its path
            self._internal_error()
        finally:
            if self.job_run is not None:
                # Closed, so its last output lands before the job's last lines; killed when cancelled (a worker
                # busy in a hung hook would keep Ctrl-C waiting for its polite exit).
                self.job_run.stop(succeeded=self.report.exit_code != EXIT_CANCELLED)
            self.report.seconds = time.perf_counter() - started
            self._finish_job()
        return self.report

    def _disk_full(self, exc: BaseException) -> bool:
        """When `exc` means the workspace's disk is full: fail with that one sentence (traceback to the log)."""
        full = disk_full(exc, self.root, kept=DISK_FULL_KEPT)
        if full is None:
            return False
        self._disk_was_full = True
        if self.log is not None:
            self.log.exception("the disk is full")
        self._fail(EXIT_TASK_FAILED, full.message)
        return True

    def _internal_error(self) -> None:
        if self._cancelled:  # whatever the killed worker's pipes raised, the user stopped the check
            self._fail(EXIT_CANCELLED, CANCELLED)
            return
        if self._disk_full(sys.exc_info()[1]):
            return
        if self.log is None:
            self.log = JobLog(workspace.new_log_path(self.root, "fit"))
            self.report.log_path = self.log.path
        self.log.exception("engine error")
        self._fail(EXIT_TASK_FAILED, f"taskbench hit an internal error; the traceback is in {self.log.path}.")

    def _finish_job(self) -> None:
        code = self.report.exit_code
        if self.log is not None:
            self.log.line(f"finished with exit code {code} in {self.report.seconds:.2f} s")
        if self.job_run is not None:
            state = "succeeded" if code == EXIT_OK else "cancelled" if code == EXIT_CANCELLED else "failed"
            try:  # a full disk frees the workspace's reserve first, so the ending lands
                self.job_run.finish(state, exit_code=code, message=self.report.message or None, full=self._disk_was_full)
            except Exception:  # noqa: BLE001 - the result was shown; the next open marks the job interrupted
                pass
        if self.log is not None:
            self.log.close()
        if self.store is not None:
            self.store.close()

    def _env_log(self, line: str) -> None:
        self._step("env", "info", line)

    def _start_worker(self, code_dir: Path, input_path: Path, scratch: Path, output_dir: Path, meta: TaskMetadata):
        """Pick the environment (with the task's requirements on top) and start a worker in it."""
        opts = self.opts
        requirements_file = code_dir / contract.REQUIREMENTS_FILE
        requirements = requirements_file.read_text(errors="replace") if requirements_file.is_file() else ""
        self._step("env", "start", "preparing the environment")
        try:
            resolved = resolve_environment(opts.env, opts.docker, self._env_log, store=self.store)
            resolved = with_requirements(resolved, requirements, self.root, self._env_log, code_dir=code_dir)
        except TaskbenchError:
            raise
        except Exception as exc:  # noqa: BLE001 - Docker and pip errors become one sentence
            self.log.exception("environment preparation failed")
            message = getattr(exc, "message", None) or str(exc).strip().splitlines()[0]
            raise TaskbenchError(
                f"the environment could not be prepared: {message}", details=getattr(exc, "log_tail", None)
            ) from None
        status = "ok" if resolved.kind == "docker" or requirements.strip() else "info"
        self._step("env", status, resolved.describe())
        inputs = [  # the files alone, never their folders (a sibling may be a private key)
            Path(p).resolve()
            for p in (input_path, opts.target_csv, opts.row_weights_csv, opts.sparse_column_file)
            if p
        ]
        spec = WorkerSpec(
            on_output=self._output,
            read_only=[code_dir, *inputs],
            writable=[scratch, output_dir] if opts.output else [scratch],
            network=bool(meta.network or opts.network),
            limits=Limits(timeout=opts.timeout, memory=opts.memory, cpus=opts.cpus),
        )
        return start_worker(spec, image=resolved.image, python=resolved.python)

    def _fail(self, code: int, message: str, details: str | None = None, rule: str | None = None) -> None:
        if self._cancelled:  # the failure is the killed worker's: say what the user did
            code, message, details, rule = EXIT_CANCELLED, CANCELLED, None, None
        self.report.exit_code = code
        self.report.message = message
        self.report.details = details
        self.report.rule = rule
        if self.log is not None:
            self.log.line(f"FAILED ({code}): {message}" + (f"\n{details}" if details else ""))

    def _request(self, op: str, payload: dict) -> dict:
        self._check_cancel()
        timeout = None
        if self.opts.timeout:
            timeout = self.opts.timeout + 60
        reply = self.worker.request(op, payload, timeout=timeout)
        if not protocol.succeeded(reply):
            raise _StepFailed(reply)
        return reply

    def _run(self, code_dir: Path, input_path: Path, scratch: Path) -> None:
        opts, report = self.opts, self.report
        found = find_custom_files(str(code_dir))
        if not found:
            raise UsageError(f"{code_dir} has no custom.py or custom.R, so it is not a task folder; point --code-dir at one.")
        if len(found) > 1:
            raise TaskbenchError(f"{code_dir} holds {len(found)} task files ({', '.join(found)}); keep exactly one custom.py or custom.R.")
        meta = load_metadata(code_dir)  # a MetadataError is a UsageError: FILE:LINE:COL: sentence, exit 2
        for warning in meta.warnings:
            report.warnings.append(warning)
            self._step("metadata", "warn", warning)
        target_type = resolve_target_type(opts.target_type, meta)
        report.target_type = target_type
        for warning in filter(None, [missing_scoring_hook(code_dir, target_type)]):
            report.warnings.append(warning)
            self._step("task", "warn", warning)
        parameters = resolve_parameters(meta.hyperparameters, _read_parameter_file(opts.parameter_file))  # exit 2
        if meta.environment_id and meta.environment_id != contract.LOCAL_ENV:
            self._step("metadata", "info", f"environmentID {meta.environment_id} names no environment here; ignored.")
        self._step(
            "task",
            "ok",
            f"{found[0]} ({target_type}); "
            + (f"{meta.path and Path(meta.path).name} valid" if meta.path else "no model-metadata.yaml, default schema")
            + (f", {len(parameters)} parameter(s)" if parameters else ""),
        )
        if parameters:
            self._step("task", "info", "parameters: " + json.dumps(parameters, default=str))
        output_dir = _prepare_output(opts.output) or (scratch / "output")
        output_dir.mkdir(exist_ok=True)
        report.output_dir = output_dir if opts.output else None
        work_dir = scratch / "work"
        work_dir.mkdir()

        self._check_cancel()
        self._adopt_worker(self._start_worker(code_dir, input_path, scratch, output_dir, meta))
        ready = self.worker.wait_ready()
        self._step("worker", "info", f"worker pid {ready.get('pid')}, Python {ready.get('python')}, pandas {ready.get('pandas')}")
        self._step("data", "start", f"reading {input_path.name}")
        data = self._request(
            protocol.LOAD_DATA,
            {
                "input": str(input_path),
                "target_type": target_type,
                "target": opts.target,
                "target_csv": str(Path(opts.target_csv).resolve()) if opts.target_csv else None,
                "row_weights": opts.row_weights,
                "row_weights_csv": str(Path(opts.row_weights_csv).resolve()) if opts.row_weights_csv else None,
                "class_labels": opts.class_labels,
                "positive": opts.positive_class_label,
                "negative": opts.negative_class_label,
                "num_rows": opts.num_rows,
                "sparse_column_file": str(Path(opts.sparse_column_file).resolve()) if opts.sparse_column_file else None,
                "encoding": opts.encoding,
            },
        )["data"]
        report.data = data
        kinds = sorted(set(data["types"].values()))
        labels = f", classes {data['class_labels']}" if data.get("class_labels") else ""
        self._step(
            "data",
            "ok",
            f"{data['rows']} rows × {len(data['columns'])} columns ({', '.join(kinds) or 'none'}){labels}",
        )
        schema = schema_payload(meta)
        self._schema_warnings(schema, data, input_path)
        if opts.disable_strict_validation:  # the worker enforces nothing; the rules broken are warnings here
            enforced = {"input_requirements": [], "output_requirements": []}
        else:
            enforced = schema
        preloaded = self.worker.request(protocol.PRELOAD, {"code_dir": str(code_dir)})
        if preloaded.get("r_version"):
            packages = ", ".join(preloaded.get("preloaded") or []) or "none"
            self._step("R", "ok", f"{preloaded['r_version']} runs custom.R; packages loaded once: {packages}")
        step = {
            "code_dir": str(code_dir),
            "output_dir": str(output_dir),
            "work_dir": str(work_dir),
            "target_type": target_type,
            "parameters": parameters,
            "schema": enforced,
            "timeout": opts.timeout,
            "memory": opts.memory,
        }
        self._step("fit", "start", "fitting in a worker process")
        fit = self._request(protocol.FIT, step)
        report.fit = fit
        files = ", ".join(f"{name} ({human_size(size)})" for name, size in fit["artifacts"][:6])
        more = f" and {len(fit['artifacts']) - 6} more" if len(fit["artifacts"]) > 6 else ""
        self._step("fit", "ok", f"fitted in {fit['fit_seconds']:.2f} s; artifacts: {files}{more}")
        if opts.skip_predict:
            self._step("score", "info", "scoring skipped (--skip-predict)")
            self._keep_code(code_dir, output_dir)
            return
        step["model_dir"] = model_layout(str(code_dir), str(output_dir), str(scratch / "model"))
        step["check_missing"] = opts.check_missing
        self._step("score", "start", "loading the artifact in a fresh process and scoring")
        score = self._request(protocol.SCORE, step)
        report.score = score
        self._step("score", "ok", f"{score['hook']} on {score['rows']} rows: {_describe_score(score, target_type)}")
        if opts.disable_strict_validation and target_type == contract.TRANSFORM:
            output_facts = {
                "types": {t: t for t in score.get("output_types", [])},  # the worker reports kinds, not columns
                "columns": score.get("output_column_count"),
                "sparse": score.get("output_sparse"),
                "input_sparse": _sparse_input(opts, input_path),
            }
            self._warn_problems(typeschema.schema_problems(output_facts, schema["output_requirements"], "the output"))
        self._step("sample", "ok", f"a sample of {score['sample_rows']} rows scores the same as the full data")
        if opts.check_missing and score.get("missing_skipped"):
            self._step("missing", "warn", f"not checked: {score['missing_skipped']}")
        elif opts.check_missing:
            self._step("missing", "ok", f"scored with each of {len(score['missing_checked'])} columns blanked")
        self._keep_code(code_dir, output_dir)

    def _keep_code(self, code_dir: Path, output_dir: Path) -> None:
        """With --output, copy the task's code beside the kept artifacts once the checks that read the folder are done."""
        if self.opts.output:
            copied = copy_code(code_dir, output_dir)
            remember_fit(output_dir, self.report.target_type, (self.report.data or {}).get("class_labels"), self.opts.target)
            self._step("fit", "info", f"copied {copied} code file(s) beside the artifacts, as `drum fit --output` does")

    def _schema_warnings(self, schema: dict, data: dict, input_path: Path) -> None:
        """Warn about text columns read as CAT (DRUM's reading), and, without strict validation, broken input rules."""
        inputs = schema["input_requirements"]
        text = typeschema.text_read_as_cat(inputs, data["types"])
        if text:
            more = f" and {len(text) - 5} more" if len(text) > 5 else ""
            self._warn(
                f"read {len(text)} text column(s) as CAT, as DRUM does: {', '.join(map(repr, text[:5]))}{more}; "
                "blueprint validation against a project keeps TXT and CAT apart"
            )
        if self.opts.disable_strict_validation:
            facts = {
                "types": data["types"],
                "columns": len(data["columns"]),
                "missing": data.get("missing_cells", 0) > 0,
                "sparse": _sparse_input(self.opts, input_path),
            }
            self._warn_problems(typeschema.schema_problems(facts, inputs, "the input data"))

    def _warn_problems(self, problems: list) -> None:
        for _, message in problems:
            self._warn(f"{message.rstrip('.')} (not enforced: --disable-strict-validation)")

    def _warn(self, text: str) -> None:
        self.report.warnings.append(text)
        self._step("schema", "warn", text)


def _sparse_input(opts: FitCheckOptions, input_path: Path) -> bool:
    """The reader makes a sparse frame of a MatrixMarket file (with or without a column file)."""
    return bool(opts.sparse_column_file) or input_path.suffix.lower() == ".mtx"




def _describe_score(score: dict, target_type: str) -> str:
    if target_type == contract.TRANSFORM:
        sparse = "sparse" if score.get("output_sparse") else "dense"
        return f"{score['output_column_count']} {sparse} columns ({', '.join(score['output_types']) or 'none'})"
    summary = score["summary"]
    if target_type in contract.CLASSIFICATION_TYPES:
        counts = ", ".join(f"{k}: {v}" for k, v in summary["predicted_counts"].items())
        return f"probabilities per class valid; predicted {counts}"
    return f"Predictions mean {summary['mean']:.4g} (min {summary['min']:.4g}, max {summary['max']:.4g})"


def run_fit_check(
    options: FitCheckOptions, listener: FitCheckListener, cancel: threading.Event | None = None
) -> FitCheckReport:
    """Run the fit check and return its report.

    Setting `cancel` (from any thread) kills the worker and its task processes at
    once; the report and the job then say cancelled (exit code 130). An
    environment still being prepared (an image build, a requirements venv) is
    finished first: the check stops before it starts the worker.
    """
    return FitCheck(options, listener, cancel).run()


__all__ = ["FitCheckOptions", "FitCheckReport", "FitCheckListener", "run_fit_check", "parse_size", "EXIT_CANCELLED"]
