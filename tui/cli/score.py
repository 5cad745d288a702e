"""`taskbench score`: `drum score` on a fitted folder, predictions as CSV to a file or stdout."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from . import options as opts
from .common import error_console

HELP = """Score a file with a fitted task folder, as `drum score` does.

The folder holds custom.py (or custom.R) and the artifact fit wrote (DRUM's fitted folder,
as `taskbench fit --output DIR` leaves it: the code beside the artifacts). The task is loaded
the way scoring always loads it (load / load_model / its one .pkl, .joblib, ...)
in a worker process. Output: CSV with one column per class label (binary and
multiclass), a `Predictions` column (regression, anomaly) or the transformed
columns, to --output or to stdout. Exit codes as for `taskbench fit`.

Example: taskbench score --code-dir fitted/ --input data.csv --target-type binary
--positive-class-label yes --negative-class-label no --output preds.csv
"""


def score(
    ctx: typer.Context,
    code_dir: Annotated[Path, typer.Option("--code-dir", help="The fitted folder: custom.py or custom.R and the artifact side by side.")],
    input: Annotated[Path, typer.Option("--input", help="Rows to score: CSV, Parquet, sparse MatrixMarket (.mtx), or any format the task's read_input_data reads.")],
    output: Annotated[Optional[Path], typer.Option("--output", help="Write the predictions CSV here (default: stdout).")] = None,
    target_type: opts.TargetType = None,
    class_labels: opts.ClassLabels = None,
    class_labels_file: opts.ClassLabelsFile = None,
    positive_class_label: opts.PositiveClassLabel = None,
    negative_class_label: opts.NegativeClassLabel = None,
    sparse_column_file: opts.SparseColumnFile = None,
    encoding: opts.Encoding = None,
) -> None:
    from core.errors import TaskbenchError, UsageError
    from core.tasks.score import ScoreOptions, score_folder

    err = error_console()
    try:
        labels = opts.read_class_labels(class_labels, class_labels_file)
        if output is not None and output.is_dir():
            raise UsageError(f"--output {output} is a folder; give a file name such as {output / 'predictions.csv'}.")
        options = ScoreOptions(
            code_dir=code_dir,
            input=input,
            target_type=target_type,
            class_labels=labels or None,
            positive_class_label=positive_class_label,
            negative_class_label=negative_class_label,
            sparse_column_file=sparse_column_file,
            encoding=encoding,
            home=(ctx.obj or {}).get("home"),
        )
        predictions = score_folder(options)
        if output is None:
            predictions.to_csv(sys.stdout, index=False)
            return
        partial = output.with_name(f".{output.name}.partial")
        try:
            predictions.to_csv(partial, index=False)
            partial.replace(output)  # never a half-written file under the name asked for
        finally:
            partial.unlink(missing_ok=True)
    except TaskbenchError as exc:
        err.print(f"[bold red]error:[/] {escape(exc.message)}")
        if exc.details:
            for line in exc.details.splitlines():
                err.print(f"  {escape(line)}")
        raise typer.Exit(exc.exit_code) from None
    err.print(f"Wrote {len(predictions)} rows to {escape(str(output))}.")
