"""`taskbench fit`: the fit check of SPEC §4, with DRUM's `drum fit` flags."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

from core.runtime.contract import LOCAL_ENV

from . import options as opts

from .common import console as common_console

HELP = """Check a task folder the way training will use it.

Fits the task in an isolated worker process, loads its artifact in a fresh
process, scores the data and a sample of it, and applies every output and
schema rule. Exit codes: 0 pass, 1 the task failed a rule or crashed,
2 bad usage or input, 3 schema violation.

Example: taskbench fit --code-dir sample_tasks/11_regression_ridge
--input sample_tasks/data/juniors_3_year_stats_regression.csv
--target-type regression --target "Grade 2014"
"""

ECHO_CAP = 1 << 20  # task output shown on the terminal; the log keeps more

STYLE = {"ok": ("ok", "green"), "fail": ("FAIL", "bold red"), "warn": ("warn", "yellow"), "info": ("..", "dim")}


class ConsoleListener:
    """Prints one line per finished step, a spinner while a step runs, and the task's output live."""

    def __init__(self, console: Console, verbose: bool):
        self.console = console
        self.verbose = verbose
        self.status = None
        self._lock = threading.Lock()
        self._partial = b""
        self._shown = 0
        self._capped = False

    def step(self, name: str, status: str, text: str) -> None:
        if status == "start":
            self._stop_status()
            if self.verbose:
                self.console.print(f"[dim]..   {name:<8} {escape(text)}[/]")
            self.status = self.console.status(f"{name}: {escape(text)}", spinner="line")
            self.status.start()
            return
        if status == "info" and not self.verbose:
            return
        self._stop_status()
        label, style = STYLE.get(status, (status, ""))
        self.console.print(f"[{style}]{label:<4}[/] {name:<8} {escape(text)}", highlight=False)

    def _stop_status(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None

    def task_output(self, chunk: bytes) -> None:
        with self._lock:
            if self._capped:
                return
            data = self._partial + chunk
            lines = data.split(b"\n")
            self._partial = lines.pop()
            if len(self._partial) > 4096:
                lines.append(self._partial)
                self._partial = b""
            for raw in lines:
                self._shown += len(raw) + 1
                if self._shown > ECHO_CAP:
                    self._capped = True
                    self.console.print("[yellow]  | (more task output than the terminal shows; the log keeps it)[/]")
                    return
                text = raw.decode("utf-8", "replace").rstrip("\r")
                self.console.print(f"[dim]  |[/] {escape(text)}", highlight=False, soft_wrap=True)

    def finish(self) -> None:
        self._stop_status()
        with self._lock:
            if self._partial and not self._capped:
                self.console.print(f"[dim]  |[/] {escape(self._partial.decode('utf-8', 'replace'))}", highlight=False)
            self._partial = b""


def fit(
    ctx: typer.Context,
    input: Annotated[Path, typer.Option("--input", help="Training data: CSV, Parquet, or sparse MatrixMarket (.mtx).")],
    code_dir: Annotated[Optional[Path], typer.Option("--code-dir", help="The task folder (holding custom.py or custom.R).")] = None,
    task: Annotated[Optional[str], typer.Option("--task", help="A registered task version instead: NAME or NAME@N.")] = None,
    target_type: opts.TargetType = None,
    target: Annotated[Optional[str], typer.Option("--target", help="Target column in the input.")] = None,
    target_csv: Annotated[Optional[Path], typer.Option("--target-csv", help="A one-column CSV holding the target instead.")] = None,
    row_weights: Annotated[Optional[str], typer.Option("--row-weights", help="Column of row weights in the input.")] = None,
    row_weights_csv: Annotated[Optional[Path], typer.Option("--row-weights-csv", help="A one-column CSV of row weights.")] = None,
    sparse_column_file: opts.SparseColumnFile = None,
    encoding: opts.Encoding = None,
    class_labels: opts.ClassLabels = None,
    class_labels_file: opts.ClassLabelsFile = None,
    positive_class_label: opts.PositiveClassLabel = None,
    negative_class_label: opts.NegativeClassLabel = None,
    parameter_file: Annotated[Optional[Path], typer.Option("--parameter-file", help="JSON object of hyperparameter values.")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", help="Keep the artifacts in this new folder, with the task's code copied beside them (DRUM's fitted folder, for score/serve --code-dir).")] = None,
    num_rows: Annotated[Optional[str], typer.Option("--num-rows", help="Fit on a random sample of this many rows (or ALL).")] = None,
    skip_predict: Annotated[bool, typer.Option("--skip-predict", help="Only fit; do not load and score.")] = False,
    check_missing: Annotated[bool, typer.Option("--check-missing", help="Also score with each column blanked in turn.")] = False,
    timeout: Annotated[Optional[float], typer.Option("--timeout", help="Time limit in seconds for each step (default: none; Ctrl-C stops a hung task).", min=0.1)] = None,
    memory: Annotated[Optional[str], typer.Option("--memory", help="Memory limit for each step, e.g. 512m or 2g (default: none).")] = None,
    cpus: Annotated[Optional[float], typer.Option("--cpus", help="CPU limit in Docker, e.g. 1.5.", min=0.01)] = None,
    env: Annotated[Optional[str], typer.Option("--env", help=f"Environment to run in: {LOCAL_ENV} (default), python-sklearn or r-base (Docker) or a registered one.")] = None,
    docker: Annotated[Optional[str], typer.Option("--docker", help="Run in Docker: a folder with a Dockerfile, or an image.")] = None,
    network: Annotated[bool, typer.Option("--network", help="Allow network access in Docker (off unless the task asks).")] = False,
    disable_strict_validation: Annotated[
        bool,
        typer.Option(
            "--disable-strict-validation",
            help="As in DRUM: a broken typeSchema rule is a warning line, not a failure (exit 3).",
        ),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Say what the engine does, step by step.")] = False,
) -> None:
    from core.errors import UsageError
    from core.tasks.fitcheck import FitCheckOptions, parse_size, run_fit_check

    console = common_console()
    try:
        labels = opts.read_class_labels(class_labels, class_labels_file)
        rows = None
        if num_rows and num_rows.upper() != "ALL":
            if not num_rows.isdigit() or int(num_rows) < 1:
                raise UsageError(f"--num-rows {num_rows!r} must be a positive whole number or ALL.")
            rows = int(num_rows)
        options = FitCheckOptions(
            code_dir=code_dir,
            task=task,
            input=input,
            target_type=target_type,
            target=target,
            target_csv=target_csv,
            row_weights=row_weights,
            row_weights_csv=row_weights_csv,
            sparse_column_file=sparse_column_file,
            encoding=encoding,
            class_labels=labels or None,
            positive_class_label=positive_class_label,
            negative_class_label=negative_class_label,
            parameter_file=parameter_file,
            output=output,
            num_rows=rows,
            skip_predict=skip_predict,
            check_missing=check_missing,
            timeout=timeout,
            memory=parse_size(memory) if memory else None,
            cpus=cpus,
            env=env,
            docker=docker,
            network=network,
            disable_strict_validation=disable_strict_validation,
            home=(ctx.obj or {}).get("home"),
        )
    except UsageError as exc:
        console.print(f"[bold red]error:[/] {escape(exc.message)}")
        raise typer.Exit(exc.exit_code) from None

    listener = ConsoleListener(console, verbose)
    console.print(f"Fit check of [bold]{escape(str(task or code_dir))}[/] on {escape(str(input))}", highlight=False)
    report = run_fit_check(options, listener)
    listener.finish()
    if report.passed:
        kept = f" Artifacts kept in {report.output_dir}." if report.output_dir else ""
        console.print(f"[bold green]Fit check passed[/] in {report.seconds:.1f} s.{escape(kept)}")
        if verbose:
            console.print(f"[dim]Job {report.job_id}. Log: {escape(str(report.log_path))}[/]")
        return
    console.print(f"[bold red]FAIL[/] {escape(report.message)}", highlight=False)
    if report.details:
        for line in report.details.splitlines():
            console.print(f"  {escape(line)}", highlight=False)
    where = ""
    if report.log_path:
        where = f" {'Job ' + str(report.job_id) + ', log' if report.job_id else 'Log'}: {report.log_path}"
    console.print(f"Fit check failed (exit {report.exit_code}).{escape(where)}", highlight=False)
    raise typer.Exit(report.exit_code)
