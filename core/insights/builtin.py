"""Built-in, model-agnostic insights (SPEC §8): permutation feature impact, ROC, lift, confusion, residuals.

Insights are computed on the validation partition, and on the holdout too once
the project's holdout is unlocked (never before: nothing about the holdout is
scored, cached or returned while it is locked). The result is cached as
`insights.json` in the model's folder, written under a temporary name and
renamed, and recomputed when it is missing or lacks a partition it now needs.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path

from ..errors import UsageError
from ..runtime import contract
from ..store import Model, Project, Store
from ..store.files import write_text_atomic
from ..training import metrics
from ..sharing import require_model
from ..training.engine import predict_rows
from ..training.projects import HOLDOUT

INSIGHTS_FILE = "insights.json"
FORMAT = 1
MAX_IMPACT_COLUMNS = 40
ROC_POINTS = 101
BINS = 10


def compute_insights(store: Store, model_id: int | str, *, refresh: bool = False) -> dict:
    """The model's built-in insights (validation, plus holdout when unlocked), from the cache when it is complete.

    Keys: `format`, `model`, `project`, `blueprint`, `target_type`, `metric`,
    `computed_at`, `validation` and — only once the holdout is unlocked —
    `holdout`. Each partition holds `rows`, `metrics` and the charts of the
    target type; `validation` also holds `feature_impact`. Needs read on the
    model's project (execute on its tasks is enough).
    """
    model, project = require_model(store, model_id, "see the insights of a model of")
    if model.state != "trained" or model.artifact_path is None or not (model.artifact_path / "plan.json").is_file():
        raise UsageError(f"model {model.id} is {model.state}, so it has no insights; only trained models do.")
    path = cache_path(model)
    result = None if refresh else _read_cache(path, model)
    changed = result is None
    if result is None:
        result = _header(model, project)
        result["validation"] = _partition(store, project, model, "validation", feature_impact=True)
    if project.holdout_unlocked and "holdout" not in result:
        result["holdout"] = _partition(store, project, model, "holdout", feature_impact=False)
        changed = True
    if changed:
        result["computed_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        write_text_atomic(path, json.dumps(result, indent=1))
    if not project.holdout_unlocked:
        result.pop("holdout", None)
    return result


def cached_insights(store: Store, model_id: int | str) -> dict | None:
    """The cached insights when present (holdout removed while locked), without computing anything."""
    model, project = require_model(store, model_id, "see the insights of a model of")
    if model.artifact_path is None:
        return None
    result = _read_cache(cache_path(model), model)
    if result is not None and not project.holdout_unlocked:
        result.pop("holdout", None)
    return result


def cache_path(model: Model) -> Path:
    """Where a model's insights are cached: beside its folder (models/N.insights.json), read-only once trained."""
    return model.artifact_path.with_name(f"{model.artifact_path.name}.{INSIGHTS_FILE}")


def _read_cache(path: Path, model: Model) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("model") != model.id or "validation" not in data:
        return None
    return data


def _header(model: Model, project: Project) -> dict:
    return {
        "format": FORMAT,
        "model": model.id,
        "project": project.name,
        "blueprint": model.blueprint,
        "target_type": project.target_type,
        "metric": _impact_metric(project),
        "computed_at": None,
    }


def _impact_metric(project: Project) -> str:
    if project.target_type == contract.ANOMALY:
        return "mean |score change|"
    return metrics.DEFAULT_METRIC[project.target_type]


def impact_columns(plan: dict) -> tuple[list[tuple[str, str]], int]:
    """(column, channel) pairs the blueprint reads, and how many it reads.

    At most MAX_IMPACT_COLUMNS are measured, taken from the channels in turn
    (NUM, CAT, TXT … in plan order) so that every channel is represented.
    """
    by_channel: dict[str, list[str]] = {}
    seen: set[str] = set()
    for node in plan["nodes"]:
        for channel, columns in (node.get("channels") or {}).items():
            for column in columns:
                if column not in seen:
                    seen.add(column)
                    by_channel.setdefault(channel, []).append(column)
    queues = [[(c, channel) for c in columns] for channel, columns in by_channel.items()]
    chosen: list[tuple[str, str]] = []
    while len(chosen) < MAX_IMPACT_COLUMNS and any(queues):
        for queue in queues:
            if queue and len(chosen) < MAX_IMPACT_COLUMNS:
                chosen.append(queue.pop(0))
    return chosen, len(seen)


def _truth(project: Project, rows: str):
    import numpy as np
    import pandas as pd

    parts = np.load(project.partition_path)
    chosen = np.flatnonzero(parts == (HOLDOUT if rows == "holdout" else 0))
    if project.target is None:
        return None, len(chosen)
    y = pd.read_parquet(project.data_path, columns=[project.target])[project.target]
    return y.iloc[chosen].reset_index(drop=True), len(chosen)


def _partition(store: Store, project: Project, model: Model, rows: str, *, feature_impact: bool) -> dict:
    """Every insight of the target type on one row set (`validation` or `holdout`)."""
    if rows == "holdout" and not project.holdout_unlocked:  # a second guard: never score a locked holdout
        raise UsageError(f"the holdout of {project.name} is locked.")
    y, n = _truth(project, rows)
    plan = json.loads((model.artifact_path / "plan.json").read_text())
    columns, used = impact_columns(plan) if feature_impact else ([], 0)
    if columns:
        base, permuted = predict_rows(store, project, model, rows, permute=[c for c, _ in columns])
    else:
        base, permuted = predict_rows(store, project, model, rows), {}
    labels = project.settings.get("class_labels")
    out: dict = {"rows": n}
    out["metrics"] = metrics.compute(project.target_type, y, base, labels)
    if feature_impact:
        out["feature_impact"] = _feature_impact(project, y, base, permuted, columns, used)
    if project.target_type in contract.CLASSIFICATION_TYPES:
        out.update(_classification(project, y, base, labels))
    elif project.target_type == contract.REGRESSION:
        out.update(_regression(y, base))
    else:
        out.update(_anomaly(base))
    return _clean(out)


def _feature_impact(project, y, base, permuted, columns, used) -> dict:
    """Permutation impact per column: how much worse the default metric gets, the largest scaled to 100%."""
    import numpy as np

    metric = _impact_metric(project)
    labels = project.settings.get("class_labels")
    rows = []
    if project.target_type == contract.ANOMALY:
        ref = base[contract.PREDICTIONS_COLUMN].to_numpy(dtype="float64")
        baseline = 0.0
        for column, channel in columns:
            moved = permuted[column][contract.PREDICTIONS_COLUMN].to_numpy(dtype="float64")
            impact = float(np.mean(np.abs(moved - ref)))
            rows.append({"feature": column, "channel": channel, "score": impact, "impact": impact})
    else:
        baseline = metrics.compute(project.target_type, y, base, labels)[metric]
        higher = metric in metrics.HIGHER_IS_BETTER
        for column, channel in columns:
            score = metrics.compute(project.target_type, y, permuted[column], labels)[metric]
            impact = (baseline - score) if higher else (score - baseline)
            rows.append({"feature": column, "channel": channel, "score": score, "impact": impact})
    top = max((r["impact"] for r in rows if _finite(r["impact"])), default=0.0)
    scale = top if top > 0 else max((abs(r["impact"]) for r in rows if _finite(r["impact"])), default=0.0)
    for r in rows:
        r["impact_percent"] = 100.0 * r["impact"] / scale if scale > 0 and _finite(r["impact"]) else 0.0
    rows.sort(key=lambda r: -r["impact_percent"])
    return {
        "metric": metric,
        "baseline": baseline,
        "columns_measured": len(columns),
        "columns_used": used,
        "method": "each column shuffled once (seed 0) on the scored rows; impact = how much worse the metric gets",
        "features": rows,
    }


def _classification(project: Project, y, predictions, labels) -> dict:
    import numpy as np
    from sklearn import metrics as m

    from ..runtime.checks import normalize_label

    names = [normalize_label(c) for c in labels]
    truth = np.array([names.index(normalize_label(v)) for v in y])
    proba = predictions.to_numpy(dtype="float64")
    chosen = proba.argmax(axis=1)
    k = len(labels)
    matrix = np.zeros((k, k), dtype=int)
    np.add.at(matrix, (truth, chosen), 1)
    out: dict = {
        "confusion_matrix": {
            "labels": [str(c) for c in labels],
            "matrix": matrix.tolist(),
            "note": "rows are actual classes, columns predicted (the most probable class)",
        }
    }
    if project.target_type == contract.BINARY:
        positive = proba[:, 1]
        has_both = len(set(truth.tolist())) > 1
        roc: dict = {"positive_class": str(labels[1]), "auc": float(m.roc_auc_score(truth, positive)) if has_both else None, "points": []}
        if has_both:
            fpr, tpr, thresholds = m.roc_curve(truth, positive)
            keep = np.unique(np.linspace(0, len(fpr) - 1, min(ROC_POINTS, len(fpr))).round().astype(int))
            roc["points"] = [
                {"fpr": float(fpr[i]), "tpr": float(tpr[i]), "threshold": float(min(thresholds[i], 1.0))} for i in keep
            ]
        out["roc"] = roc
        out["lift"] = _lift(positive, truth == 1)
    else:
        per_class = {}
        for i, label in enumerate(labels):
            actual = truth == i
            per_class[str(label)] = float(m.roc_auc_score(actual, proba[:, i])) if 0 < actual.sum() < len(actual) else None
        valid = [v for v in per_class.values() if v is not None]
        out["roc"] = {"per_class_auc": per_class, "macro_auc": float(np.mean(valid)) if valid else None,
                      "note": "one-vs-rest AUC per class"}
    return out


def _lift(predicted, actual) -> list[dict]:
    """Rows sorted by predicted positive probability into ten equal bins: mean predicted vs actual rate."""
    import numpy as np

    order = np.argsort(predicted, kind="stable")
    out = []
    for i, chunk in enumerate(np.array_split(order, BINS)):
        if len(chunk) == 0:
            continue
        out.append({"bin": i + 1, "rows": int(len(chunk)), "mean_predicted": float(np.mean(predicted[chunk])),
                    "actual_rate": float(np.mean(actual[chunk]))})
    return out


def _regression(y, predictions) -> dict:
    import numpy as np

    pred = predictions[contract.PREDICTIONS_COLUMN].to_numpy(dtype="float64")
    actual = np.asarray(y, dtype="float64")
    residual = actual - pred
    q = np.percentile(residual, [0, 5, 25, 50, 75, 95, 100])
    summary = {"mean": float(residual.mean()), "std": float(residual.std()), "mean_abs": float(np.abs(residual).mean()),
               "min": q[0], "p5": q[1], "p25": q[2], "median": q[3], "p75": q[4], "p95": q[5], "max": q[6],
               "note": "residual = actual - predicted"}
    order = np.argsort(pred, kind="stable")
    bins = []
    for i, chunk in enumerate(np.array_split(order, BINS)):
        if len(chunk) == 0:
            continue
        bins.append({"bin": i + 1, "rows": int(len(chunk)), "mean_predicted": float(pred[chunk].mean()),
                     "mean_actual": float(actual[chunk].mean())})
    return {"residuals": {k: float(v) if not isinstance(v, str) else v for k, v in summary.items()},
            "predicted_vs_actual": bins}


def _anomaly(predictions) -> dict:
    import numpy as np

    scores = predictions[contract.PREDICTIONS_COLUMN].to_numpy(dtype="float64")
    counts, edges = np.histogram(scores, bins=BINS)
    return {"score_histogram": {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}}


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _clean(value):
    """JSON-safe: numpy scalars to Python, NaN and infinities to None."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
