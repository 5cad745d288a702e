"""Frames a scoring worker hands back: a package scored in containers gets Parquet only, never a pickle to load."""

from __future__ import annotations

import pickle

import pandas as pd
import pytest

from core.runtime.errors import TaskCrash
from core.runtime.serving import WorkerSegment, save_frame

NODE = {"name": "model", "kind": "estimator", "inputs": ["NUM"], "channels": {"NUM": ["x"]}}
PLAN = {"target_type": "regression", "class_labels": None, "final": "model", "nodes": [NODE]}


class Payload:
    """Unpickling this creates `path`: what a hostile task would do instead."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


class Worker:
    """A worker whose `scoring_run` answer is whatever `answer(folder)` writes and returns."""

    def __init__(self, answer):
        self.answer = answer

    def request(self, op, payload):
        if op == "scoring_load":
            return {"status": "ok"}
        return {"status": "ok", "outputs": {"model": self.answer(payload["folder"])}}


def segment(tmp_path, answer, trusted):
    return WorkerSegment(Worker(answer), "sk@1", 0, PLAN, [NODE], str(tmp_path), str(tmp_path), ["model"], trusted=trusted)


def test_an_untrusted_worker_cannot_hand_back_a_pickle(tmp_path):
    marker = tmp_path / "unpickled"

    def hostile(folder):
        with open(f"{folder}/out-model.pkl", "wb") as fh:
            pickle.dump(Payload(marker), fh)
        return f"{folder}/out-model.pkl"

    with pytest.raises(TaskCrash, match="returned its output from the container as a pickle"):
        segment(tmp_path, hostile, trusted=False).run(pd.DataFrame({"x": [1.0]}), {})
    assert not marker.exists()


def test_an_untrusted_worker_hands_back_parquet(tmp_path):
    frame = pd.DataFrame({"Predictions": [1.5, 2.5]})
    outputs = {}
    segment(tmp_path, lambda folder: save_frame(frame, f"{folder}/out-model"), trusted=False).run(
        pd.DataFrame({"x": [1.0, 2.0]}), outputs)
    assert outputs["model"].equals(frame)


@pytest.mark.parametrize("trusted", [True, False])
def test_no_worker_points_outside_its_folder(tmp_path, trusted):
    elsewhere = tmp_path / "elsewhere.parquet"
    pd.DataFrame({"Predictions": [1.0]}).to_parquet(elsewhere)
    with pytest.raises(TaskCrash, match="outside its folder"):
        segment(tmp_path, lambda folder: str(elsewhere), trusted=trusted).run(pd.DataFrame({"x": [1.0]}), {})
