"""`taskbench score`: `drum score` on a fitted folder, predictions as CSV to a file or stdout."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

HELP = """Score a file with a fitted task folder, as `drum score` does.

The folder holds custom.py and the artifact fit wrote (DRUM's fitted folder,
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
    code_dir: Annotated[Path, typer.Option("--code-dir", help="The fitted folder: custom.py and the artifact side by side.")],
    input: Annotated[Path, typer.Option("--input", help="Rows to score: CSV, Parquet, or sparse MatrixMarket (.mtx).")],
    output: Annotated[Optional[Path], typer.Option("--output", help="Write the predictions CSV here (default: stdout).")] = None,
    target_type: Annotated[
        Optional[str],
        typer.Option("--target-type", help="transform, binary, multiclass, regression or anomaly (default: targetType from the metadata)."),
    ] = None,
    class_labels: Annotated[
        Optional[list[str]],
        typer.Option("--class-labels", help="Class labels, negative first for binary (DRUM style: --class-labels no yes)."),
    ] = None,
    class_labels_file: Annotated[Optional[Path], typer.Option("--class-labels-file", help="A file with one class label per line.")] = None,
    positive_class_label: Annotated[Optional[str], typer.Option("--positive-class-label", help="The positive class (binary).")] = None,
    negative_class_label: Annotated[Optional[str], typer.Option("--negative-class-label", help="The negative class (binary).")] = None,
    sparse_column_file: Annotated[
        Optional[Path], typer.Option("--sparse-column-file", help="Column names (one per line) for a .mtx --input.")
    ] = None,
    encoding: Annotated[
        Optional[str],
        typer.Option("--encoding", metavar="NAME", help="Text encoding of CSV files without a byte-order mark (default UTF-8)."),
    ] = None,
) -> None:
    from core.errors import TaskbenchError, UsageError
    from core.tasks.score import ScoreOptions, score_folder

    err = Console(stderr=True, highlight=False)
    try:
        labels = list(class_labels or [])
        if class_labels_file:
            try:
                labels += [line.strip() for line in class_labels_file.read_text().splitlines() if line.strip()]
            except OSError as exc:
                raise UsageError(f"cannot read --class-labels-file {class_labels_file}: {exc.strerror}.") from None
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
