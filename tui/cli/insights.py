"""`taskbench insights` and `taskbench artifacts`: a model's built-in insights, custom insight files, export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from core.runtime.contract import CLASSIFICATION_TYPES, REGRESSION

from ..numbers import decimals, number, score
from .common import console, error_console, open_workspace, print_json, size

INSIGHTS_HELP = """Show a model's insights: scores, permutation feature impact, ROC/lift/confusion
matrix (classification) or residuals (regression), and each node's custom insight files.

Built-in insights are computed on the validation partition (and the holdout once
it is unlocked) the first time, then read from the model's folder.
"""

ARTIFACTS_HELP = """List a model's artifact files per node, or copy them into a new or empty folder with --to."""

WIDTH = 80
IMPACT_ROWS = 15
BAR = 36
PREVIEW_INDENT = 6


def insights(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(metavar="MODEL", help="Model number (see `taskbench leaderboard PROJECT`).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    no_preview: Annotated[bool, typer.Option("--no-preview", help="List custom insight files without previews.")] = False,
    refresh: Annotated[bool, typer.Option("--refresh", help="Recompute instead of reading the cached insights.")] = False,
) -> None:
    from core.insights import cached_insights, compute_insights, custom_insight_files, preview
    from core.training.engine import get_model, visible_scores

    with open_workspace(ctx) as store:
        found, project = get_model(store, model)
        cached = None if refresh else cached_insights(store, found.id)
        if not as_json and (cached is None or (project.holdout_unlocked and "holdout" not in cached)):
            error_console().print(
                f"[dim]Computing insights for model {found.id}: feature impact shuffles each column in turn…[/]")
        result = compute_insights(store, found.id, refresh=refresh)
        scores = visible_scores(found, project)
        files = custom_insight_files(found)
    if as_json:
        print_json({**result, "scores": scores,
                    "custom_insights": [{k: f[k] for k in ("node", "task", "name", "kind", "size", "path")} for f in files]})
        return
    out = console()
    lines = _report(found, project, result, scores)
    out.print(f"[bold]{escape(lines[0][1])}[/]", soft_wrap=True)
    for kind, text in lines[1:]:
        _emit(out, kind, text)
    _emit(out, "head", "Custom insights")
    if not files:
        _emit(out, "text", "  (no node wrote any files)")
    node = None
    for f in files:
        if f["node"] != node:
            node = f["node"]
            _emit(out, "text", f"  node {node} ({f['task'] or 'unknown task'})")
        _emit(out, "text", f"    {f['name']:<28} {f['kind']:<6} {size(f['size']):>9}")
        if not no_preview and f["kind"] in ("text", "csv", "html", "image"):
            for line in preview(f["path"], WIDTH - PREVIEW_INDENT).splitlines():
                _emit(out, "plain", " " * PREVIEW_INDENT + line)


def _emit(out, kind: str, text: str) -> None:
    if kind == "head":
        out.print()
        out.print(f"[bold]{escape(text)}[/]", soft_wrap=True)
    elif kind == "dim":
        out.print(f"[dim]{escape(text)}[/]", soft_wrap=True)
    else:
        out.print(escape(text), soft_wrap=True)


def _fmt(value, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}g}"


def _scores_table(scores: dict, project) -> list[tuple[str, str]]:
    """The scores as the workbench shows them: one row per partition, one right-aligned column per metric, each
    metric at its one precision; a locked holdout says how to unlock it."""
    parts = [("validation", scores.get("validation") or {}), ("cv mean", scores.get("cv") or {})]
    if project.holdout_unlocked:
        parts.append(("holdout", scores.get("holdout") or {}))
    parts = [(label, values) for label, values in parts if values or label != "cv mean"]
    names = list(dict.fromkeys(name for _, values in parts for name in values))
    cells = {n: [f"{n} {score(n, values.get(n), (v.get(n) for _, v in parts))}" for _, values in parts] for n in names}
    widths = {n: max(map(len, shown)) for n, shown in cells.items()}
    out = [("text", f"  {label:<10}" + "".join(f"  {cells[n][i]:>{widths[n]}}" for n in names) if names
            else f"  {label:<11} not scored") for i, (label, _) in enumerate(parts)]
    if not project.holdout_unlocked:
        out.append(("dim", f"  holdout     locked (`taskbench project unlock-holdout {project.name}` unlocks it for good)"))
    return out


def _report(model, project, result: dict, scores: dict) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = [
        ("head", f"Model {model.id}: {model.blueprint} in project {project.name} ({project.target_type})"),
    ]
    lines += _scores_table(scores, project)
    validation = result["validation"]
    lines += _impact(validation.get("feature_impact"))
    for part in ("validation", "holdout"):
        if part not in result:
            continue
        data = result[part]
        if project.target_type in CLASSIFICATION_TYPES:
            lines += _classification(part, data)
        elif project.target_type == REGRESSION:
            lines += _regression(part, data)
        else:
            lines += _anomaly(part, data)
    return lines


def _impact(impact: dict | None) -> list[tuple[str, str]]:
    if not impact or not impact["features"]:
        return [("head", "Feature impact"), ("text", "  (the blueprint reads no raw columns)")]
    measured, used = impact["columns_measured"], impact["columns_used"]
    scope = f"{measured} columns" if measured == used else f"{measured} of {used} columns"
    if impact["metric"].startswith("mean |"):
        note = f"  mean change of the anomaly score when a column is shuffled, largest = 100%; {scope}"
    else:
        worse = "falls" if impact["metric"] in ("AUC", "Accuracy", "F1", "Balanced Accuracy", "R2") else "rises"
        note = f"  {impact['metric']} {worse} by this much when a column is shuffled (largest = 100%); {scope}"
    rows = impact["features"][:IMPACT_ROWS]
    name_w = min(max(len(r["feature"]) for r in rows), 24)
    out = [("head", "Feature impact on validation"), ("dim", note)]
    for r in rows:
        pct = r["impact_percent"] or 0.0
        bar = "#" * max(0, round(BAR * min(pct, 100.0) / 100.0))
        name = r["feature"] if len(r["feature"]) <= name_w else r["feature"][: name_w - 1] + "…"
        out.append(("text", f"  {name:<{name_w}} {bar:<{BAR}} {pct:6.1f}%"))
    if len(impact["features"]) > IMPACT_ROWS:
        out.append(("dim", f"  … {len(impact['features']) - IMPACT_ROWS} more (see --json)"))
    return out


def _row_table(label_rows: list[tuple[str, list[str]]]) -> list[str]:
    """A horizontal table (one line per label), cells right-aligned to a shared width."""
    label_w = max(len(label) for label, _ in label_rows)
    cell_w = max(len(c) for _, cells in label_rows for c in cells) + 1
    return [f"  {label:<{label_w}}" + "".join(f"{c:>{cell_w}}" for c in cells) for label, cells in label_rows]


def _classification(part: str, data: dict) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    roc = data.get("roc") or {}
    if "points" in roc:
        out.append(("head", f"ROC on {part}: AUC {score('AUC', roc.get('auc'))} (positive class {roc.get('positive_class')}, {data['rows']} rows)"))
        points = roc["points"]
        if points:
            import numpy as np

            fpr = np.array([p["fpr"] for p in points])
            tpr = np.array([p["tpr"] for p in points])
            marks = [0.05, 0.1, 0.2, 0.3, 0.5, 0.7]
            out += [("text", line) for line in _row_table([
                ("false positive rate", [f"{m:.2f}" for m in marks]),
                ("true positive rate", [f"{float(np.interp(m, fpr, tpr)):.2f}" for m in marks]),
            ])]
    else:
        per_class = roc.get("per_class_auc") or {}
        out.append(("head", f"One-vs-rest AUC on {part}: macro {score('AUC', roc.get('macro_auc'))} ({data['rows']} rows)"))
        text = "  " + "  ".join(f"{label} {score('AUC', v)}" for label, v in per_class.items())
        out.append(("text", text))
    if data.get("lift"):
        out.append(("head", f"Lift chart on {part}: rows in 10 bins by predicted probability"))
        lift = data["lift"]
        out += [("text", line) for line in _row_table([
            ("bin", [str(b["bin"]) for b in lift]),
            ("predicted", [f"{b['mean_predicted']:.3f}" for b in lift]),
            ("actual", [f"{b['actual_rate']:.3f}" for b in lift]),
        ])]
    cm = data.get("confusion_matrix")
    if cm:
        labels, matrix = cm["labels"], cm["matrix"]
        shown = min(len(labels), 10)
        out.append(("head", f"Confusion matrix on {part}: rows actual, columns predicted"
                    + (f" (first {shown} of {len(labels)} classes)" if shown < len(labels) else "")))
        names = [lab if len(lab) <= 10 else lab[:9] + "…" for lab in labels[:shown]]
        rows = [("actual \\ predicted", names)] + [(names[i], [str(v) for v in matrix[i][:shown]]) for i in range(shown)]
        out += [("text", line) for line in _row_table(rows)]
    return out


def _regression(part: str, data: dict) -> list[tuple[str, str]]:
    r = data["residuals"]
    out = [("head", f"Residuals on {part} (actual - predicted, {data['rows']} rows)"),
           ("text", f"  mean {_fmt(r['mean'])}  std {_fmt(r['std'])}  mean |residual| {_fmt(r['mean_abs'])}")]
    keys = ("min", "p5", "p25", "median", "p75", "p95", "max")
    digits = decimals(r[k] for k in keys)
    out += [("text", line) for line in _row_table([("quantile", list(keys)), ("residual", [number(r[k], digits) for k in keys])])]
    bins = data.get("predicted_vs_actual") or []
    if bins:
        out.append(("head", f"Predicted vs actual on {part}: 10 bins by predicted value"))
        digits = decimals([b["mean_predicted"] for b in bins] + [b["mean_actual"] for b in bins])
        table = [("bin", [str(b["bin"]) for b in bins]),
                 ("predicted", [number(b["mean_predicted"], digits) for b in bins]),
                 ("actual", [number(b["mean_actual"], digits) for b in bins])]
        out += [("text", line) for line in _row_table(table)]
    return out


def _anomaly(part: str, data: dict) -> list[tuple[str, str]]:
    hist = data.get("score_histogram") or {}
    edges, counts = hist.get("edges") or [], hist.get("counts") or []
    out = [("head", f"Anomaly scores on {part} ({data['rows']} rows)")]
    metrics = data.get("metrics") or {}
    if metrics:
        out.append(("text", "  " + "  ".join(f"{k} {score(k, v)}" for k, v in metrics.items())))
    top = max(counts, default=0) or 1
    for i, count in enumerate(counts):
        span = f"[{_fmt(edges[i], 3)}, {_fmt(edges[i + 1], 3)}" + ("]" if i == len(counts) - 1 else ")")
        out.append(("text", f"  {span:<22} {'#' * round(30 * count / top):<30} {count}"))
    return out


def artifacts(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(metavar="MODEL", help="Model number (see `taskbench leaderboard PROJECT`).")],
    to: Annotated[Optional[Path], typer.Option("--to", help="A new or empty folder to copy the artifacts into.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    from core.insights import custom_insight_files, export_artifacts
    from core.training.engine import get_model

    with open_workspace(ctx) as store:
        found, _project = get_model(store, model)
        if to is None:
            files = custom_insight_files(found)
        else:
            report = export_artifacts(store, found.id, to)
    if to is None:
        if as_json:
            print_json([{k: f[k] for k in ("node", "task", "name", "kind", "size", "path")} for f in files])
            return
        out = console()
        out.print(f"Artifacts of model {found.id} ({escape(found.blueprint)}); copy them with --to DIR:")
        for f in files:
            out.print(f"  {escape(f['node'] + '/' + f['name']):<40} {f['kind']:<6} {size(f['size']):>9}", crop=False)
        return
    if as_json:
        print_json(report)
        return
    out = console()
    out.print(f"Exported {report['files']} file(s) of model {found.id} to {escape(report['path'])}:", soft_wrap=True)
    for node in report["nodes"]:
        out.print(f"  {escape(node['node'])}/  {escape(node['task'])}: {escape(', '.join(node['files']) or 'no files')}", soft_wrap=True)
    out.print("  README.txt says which node and task version each folder came from.")
