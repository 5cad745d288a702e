"""Score new rows with a trained model: every node loaded once, then any number of frames scored.

Used by batch prediction and by the prediction server, both of which run in a
process of their own (task code runs there, never in the engine). Standard
library, numpy and pandas only, like the rest of the runtime.
"""

import os
import shutil
import tempfile

import numpy as np
import pandas as pd

from . import contract
from .errors import UsageError
from .pipeline import NodeRunner


class MissingColumns(UsageError):
    """The rows to score lack columns the model was trained on."""


class PlanScorer:
    """A trained model's nodes, each loaded once (DRUM layout, fresh `load_model`), ready to score frames."""

    def __init__(self, plan, model_dir, scratch_dir=None):
        self.plan = plan
        self.nodes = plan["nodes"]
        self.final = plan["final"]
        self.target_type = plan["target_type"]
        self.class_labels = plan.get("class_labels")
        self.final_kind = next(n["kind"] for n in self.nodes if n["name"] == self.final)
        self.features = list(dict.fromkeys(c for n in self.nodes for cols in n["channels"].values() for c in cols))
        self._scratch = tempfile.mkdtemp(prefix="scorer-", dir=scratch_dir)
        req = {**plan, "scratch_dir": self._scratch}
        self._runners = [NodeRunner(node, req) for node in self.nodes]
        self._scorers = [r.scorer(os.path.join(model_dir, "nodes", r.node["name"])) for r in self._runners]

    def close(self):
        shutil.rmtree(self._scratch, ignore_errors=True)

    @property
    def is_transform(self):
        return self.final_kind == "transform"

    def missing(self, columns):
        """Training features absent from `columns`, in training order."""
        have = set(columns)
        return [c for c in self.features if c not in have]

    def score(self, frame):
        """The final node's output for `frame`: class probabilities, a Predictions column, or a transform's frame."""
        absent = self.missing(frame.columns)
        if absent:
            shown = ", ".join(repr(c) for c in absent[:5]) + (f" and {len(absent) - 5} more" if len(absent) > 5 else "")
            raise MissingColumns(f"the data lacks {len(absent)} column(s) the model was trained on: {shown}.")
        frame = frame.reset_index(drop=True)
        outputs = {}
        for runner, scorer in zip(self._runners, self._scorers):
            node = runner.node
            pieces = [frame[node["channels"][s]] if s in node["channels"] else outputs[s] for s in node["inputs"]]
            X = pd.concat(pieces, axis=1) if len(pieces) > 1 else pieces[0]
            if len(pieces) > 1 and X.columns.duplicated().any():
                X = X.loc[:, ~X.columns.duplicated()]
            out = scorer(X)
            if node["kind"] == "estimator" and node["name"] != self.final:
                out = runner.as_features(out)
            outputs[node["name"]] = out
        return outputs[self.final]


def output_frame(scorer, predictions):
    """Predictions as files show them: one column per class plus `prediction` (the likeliest label), or `Predictions`."""
    if scorer.target_type in contract.CLASSIFICATION_TYPES and not scorer.is_transform:
        out = predictions.copy()
        labels = np.asarray(scorer.class_labels, dtype=object)
        out["prediction"] = labels[predictions.to_numpy().argmax(axis=1)] if len(out) else []
        return out
    return predictions


def json_predictions(scorer, predictions):
    """DRUM's `predictions` list: numbers for regression and anomaly, {label: probability} per row for classes."""
    if scorer.target_type in contract.CLASSIFICATION_TYPES:
        names = [str(c) for c in predictions.columns]
        return [dict(zip(names, row)) for row in predictions.to_numpy().tolist()]
    return predictions[contract.PREDICTIONS_COLUMN].to_numpy().tolist()
