"""Options that `fit` and `score` share with DRUM's `drum fit`/`drum score`, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

TargetType = Annotated[
    Optional[str],
    typer.Option("--target-type", help="transform, binary, multiclass, regression or anomaly (default: targetType from the metadata)."),
]
ClassLabels = Annotated[
    Optional[list[str]],
    typer.Option("--class-labels", help="Class labels, negative first for binary (DRUM style: --class-labels no yes)."),
]
ClassLabelsFile = Annotated[Optional[Path], typer.Option("--class-labels-file", help="A file with one class label per line.")]
PositiveClassLabel = Annotated[Optional[str], typer.Option("--positive-class-label", help="The positive class (binary).")]
NegativeClassLabel = Annotated[Optional[str], typer.Option("--negative-class-label", help="The negative class (binary).")]
SparseColumnFile = Annotated[
    Optional[Path], typer.Option("--sparse-column-file", help="Column names (one per line) for a .mtx --input.")
]
Encoding = Annotated[
    Optional[str],
    typer.Option("--encoding", metavar="NAME", help="Text encoding of CSV files without a byte-order mark (default UTF-8), e.g. cp1252."),
]


def read_class_labels(labels: list[str] | None, labels_file: Path | None) -> list[str]:
    """--class-labels followed by the lines of --class-labels-file (a one-sentence UsageError when unreadable)."""
    from core.errors import UsageError

    out = list(labels or [])
    if labels_file:
        try:
            out += [line.strip() for line in labels_file.read_text().splitlines() if line.strip()]
        except OSError as exc:
            raise UsageError(f"cannot read --class-labels-file {labels_file}: {exc.strerror}.") from None
    return out
