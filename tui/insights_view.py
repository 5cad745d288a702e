"""A model's insights as both front ends draw them: one renderer per insight, used by `taskbench insights` and the
Projects pane's model page, so a chart reads the same at the same width in both. Each renderer returns lines
tagged "head", "dim" or "text"; the CLI prints them with its styles, the pane joins them (`plain`). Standard
library, core and tui.numbers only: the CLI imports it without textual."""

from __future__ import annotations

from core.runtime.contract import CLASSIFICATION_TYPES, REGRESSION

from .drawing import BAR as BAR_GLYPH, hbars, line_plot
from .numbers import decimals, number, score

Line = tuple[str, str]  # (kind, text): kind is "head", "dim" or "text"

WIDTH = 80  # the command line's width (a pipe, a log), the pane passes its own
IMPACT_ROWS = 15
IMPACT_BAR = 36  # cells of the longest impact bar on the command line
PLOT_WIDTH = 72
PLOT_HEIGHT = 14


def plain(lines: list[Line]) -> str:
    """The lines as one text, a blank line before each heading but the first."""
    out: list[str] = []
    for kind, text in lines:
        if kind == "head" and out:
            out.append("")
        out.append(text)
    return "\n".join(out)


def fmt(value, digits: int = 4) -> str:
    """A raw statistic (a residual's mean, a histogram edge) to `digits` significant digits; '-' when absent."""
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}g}"


def row_table(label_rows: list[tuple[str, list[str]]]) -> list[str]:
    """A horizontal table (one line per label), cells right-aligned to a shared width."""
    label_w = max(len(label) for label, _ in label_rows)
    cell_w = max(len(c) for _, cells in label_rows for c in cells) + 1
    return [f"  {label:<{label_w}}" + "".join(f"{c:>{cell_w}}" for c in cells) for label, cells in label_rows]


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def bars(rows: list[tuple[str, float | None, str]], width: int, *, scale: float | None = None, indent: str = "") -> list[str]:
    """`drawing.hbars` as lines, each after `indent`, all within `width` cells."""
    drawn = hbars(rows, width - len(indent), scale=scale)
    return [indent + line for line in drawn.splitlines()]


# ---------------------------------------------------------------- the whole report (the command line)


def report(model, project, result: dict, scores: dict, width: int = WIDTH) -> list[Line]:
    """Everything `taskbench insights` prints before the custom files: the model, its scores, feature impact and
    the charts of each scored partition."""
    lines: list[Line] = [("head", f"Model {model.id}: {model.blueprint} in project {project.name} ({project.target_type})")]
    lines += scores_table(scores, project)
    lines += impact_lines(result["validation"].get("feature_impact"))
    for part in ("validation", "holdout"):
        if part in result:
            lines += partition_lines(project.target_type, part, result[part], width)
    return lines


def scores_table(scores: dict, project) -> list[Line]:
    """The scores: one row per partition, one right-aligned column per metric, each metric at its one precision;
    a locked holdout says how to unlock it."""
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


# ---------------------------------------------------------------- feature impact


def impact_lines(impact: dict | None) -> list[Line]:
    """Permutation feature impact as the command line prints it: the largest IMPACT_ROWS columns, percent of the
    largest to one decimal."""
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
        bar = BAR_GLYPH * max(0, round(IMPACT_BAR * min(pct, 100.0) / 100.0))
        out.append(("text", f"  {_clip(r['feature'], name_w):<{name_w}} {bar:<{IMPACT_BAR}} {pct:6.1f}%"))
    if len(impact["features"]) > IMPACT_ROWS:
        out.append(("dim", f"  … {len(impact['features']) - IMPACT_ROWS} more (see --json)"))
    return out


def draw_impact(insights: dict, width: int) -> str:
    """Permutation feature impact as the pane draws it: every column's bar, largest first, with the engine's own
    numbers beside each."""
    fi = (insights.get("validation") or {}).get("feature_impact")
    if not fi or not fi.get("features"):
        return "no feature impact: the blueprint reads no columns that could be shuffled"
    head = (f"permutation impact on validation {fi['metric']} (baseline {number(fi.get('baseline'))}); "
            f"{fi['columns_measured']} of {fi['columns_used']} columns measured\n{fi['method']}\n")
    return head + "\n" + hbars(impact_rows(fi["features"]), width, scale=100.0)


def impact_rows(features: list[dict]) -> list[tuple[str, float, str]]:
    """(feature, percent, text) for the bars: the percents and the raw impacts each right-aligned in a column of
    their own, the impacts at one precision, so the digits line up from row to row."""
    digits = decimals(f["impact"] for f in features)
    percents = [f"{f['impact_percent']:.0f}%" for f in features]
    impacts = [f"{f['impact']:+.{digits}f}" for f in features]
    pw, iw = max(map(len, percents)), max(map(len, impacts))
    return [(f["feature"], f["impact_percent"], f"{p.rjust(pw)}  {i.rjust(iw)}") for f, p, i in zip(features, percents, impacts)]


# ---------------------------------------------------------------- charts of one partition (both front ends)


def draw_charts(insights: dict, width: int) -> str:
    """The charts of the target type for validation, and holdout when present, as one text."""
    lines: list[Line] = []
    for part in ("validation", "holdout"):
        if insights.get(part):
            lines += partition_lines(insights["target_type"], part, insights[part], width)
    return plain(lines)


def partition_lines(target_type: str, part: str, data: dict, width: int = WIDTH) -> list[Line]:
    """The charts of one scored partition in `width` cells: ROC, lift and confusion matrix for classification,
    residuals and predicted vs actual for regression, the score histogram for anomaly detection."""
    if target_type in CLASSIFICATION_TYPES:
        return _classification(part, data, width)
    if target_type == REGRESSION:
        return _regression(part, data, width)
    return _anomaly(part, data, width)


def _plot(*args, **kwargs) -> list[str]:
    return ["  " + line for line in line_plot(*args, **kwargs).splitlines()]


def _classification(part: str, data: dict, width: int) -> list[Line]:
    out: list[Line] = []
    roc = data.get("roc") or {}
    if "points" in roc:
        out.append(("head", f"ROC on {part}: AUC {score('AUC', roc.get('auc'))} (positive class {roc.get('positive_class')}, {data['rows']} rows)"))
        points = roc["points"]
        if points:
            import numpy as np

            pts = [(p["fpr"], p["tpr"]) for p in points]
            out += [("text", line) for line in _plot([("model", "*", pts)], min(width, PLOT_WIDTH) - 2, PLOT_HEIGHT,
                                                     x_range=(0.0, 1.0), y_range=(0.0, 1.0), x_label="false positive rate",
                                                     y_label="true positive rate", diagonal=".")]
            fpr, tpr = np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
            marks = [0.05, 0.1, 0.2, 0.3, 0.5, 0.7]
            out += [("text", line) for line in row_table([
                ("false positive rate", [f"{m:.2f}" for m in marks]),
                ("true positive rate", [f"{float(np.interp(m, fpr, tpr)):.2f}" for m in marks]),
            ])]
    elif roc:
        per_class = roc.get("per_class_auc") or {}
        out.append(("head", f"One-vs-rest AUC on {part}: macro {score('AUC', roc.get('macro_auc'))} ({data['rows']} rows)"))
        out += [("text", line) for line in bars([(str(label), auc, score("AUC", auc)) for label, auc in per_class.items()],
                                                width, scale=1.0, indent="  ")]
    if data.get("lift"):
        out.append(("head", f"Lift chart on {part}: rows in 10 bins by predicted probability"))
        lift = data["lift"]
        out += [("text", line) for line in row_table([
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
        names = [_clip(str(lab), 10) for lab in labels[:shown]]
        rows = [("actual \\ predicted", names)] + [(names[i], [str(v) for v in matrix[i][:shown]]) for i in range(shown)]
        out += [("text", line) for line in row_table(rows)]
    return out


def _regression(part: str, data: dict, width: int) -> list[Line]:
    r = data["residuals"]
    keys = ("min", "p5", "p25", "median", "p75", "p95", "max")
    digits = decimals(r[k] for k in keys)  # one precision for every statistic of the residuals
    out = [("head", f"Residuals on {part} (actual - predicted, {data['rows']} rows)"),
           ("text", f"  mean {number(r['mean'], digits)}  std {number(r['std'], digits)}  "
                    f"mean |residual| {number(r['mean_abs'], digits)}")]
    out += [("text", line) for line in row_table([("quantile", list(keys)), ("residuals", [number(r[k], digits) for k in keys])])]
    bins = data.get("predicted_vs_actual") or []
    if bins:
        out.append(("head", f"Predicted vs actual on {part}: 10 bins by predicted value"))
        digits = decimals([b["mean_predicted"] for b in bins] + [b["mean_actual"] for b in bins])
        table = [("bin", [str(b["bin"]) for b in bins]),
                 ("predicted", [number(b["mean_predicted"], digits) for b in bins]),
                 ("actual", [number(b["mean_actual"], digits) for b in bins])]
        out += [("text", line) for line in row_table(table)]
        pts = [(b["mean_predicted"], b["mean_actual"]) for b in bins]
        span = (min(min(x, y) for x, y in pts), max(max(x, y) for x, y in pts))
        out.append(("dim", "  each bin's mean predicted vs actual (o), and where they would be equal (.)"))
        out += [("text", line) for line in _plot([("bin means", "o", pts)], min(width, PLOT_WIDTH) - 2, PLOT_HEIGHT,
                                                 x_range=span, y_range=span, x_label="mean predicted",
                                                 y_label="mean actual", diagonal=".", connect=False)]
    return out


def _anomaly(part: str, data: dict, width: int) -> list[Line]:
    hist = data.get("score_histogram") or {}
    edges, counts = hist.get("edges") or [], hist.get("counts") or []
    out = [("head", f"Anomaly scores on {part} ({data['rows']} rows)")]
    metrics = data.get("metrics") or {}
    if metrics:
        out.append(("text", "  " + "  ".join(f"{k} {score(k, v)}" for k, v in metrics.items())))
    spans = [f"[{fmt(edges[i], 3)}, {fmt(edges[i + 1], 3)}" + ("]" if i == len(counts) - 1 else ")") for i in range(len(counts))]
    out += [("text", line) for line in bars([(s, c, f"{c:,}") for s, c in zip(spans, counts)], width, indent="  ")]
    return out
