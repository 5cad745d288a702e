"""The autopilot's estimate of its blenders' time, kept aside before tuning: the stacker from its members' inner CV
(the scoring stage's timings), members left out of the longest blender until they fit."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from core.training.autopilot import (BLEND_MARGIN, BLEND_SLACK, BLEND_START, STACK_FROM_INNER, STACK_UNSCORED,
                                     Autopilot)
from core.training.blend import AVERAGE, STACK
from core.training.tune import InnerCV


def pilot(jobs: int, inner_seconds: dict) -> Autopilot:
    found = Autopilot.__new__(Autopilot)  # only the time estimates: no store, no project
    found.jobs, found.inner = jobs, InnerCV(None, "AUC", seconds=inner_seconds)
    return found


def model(number: int, train_seconds: float):
    return SimpleNamespace(id=number, train_seconds=train_seconds)


def test_the_stacker_is_estimated_from_its_members_inner_cv_and_trains_beside_the_average():
    members = {AVERAGE: [model(1, 10), model(2, 8)], STACK: [model(1, 10), model(2, 8), model(3, 5)]}
    stack = BLEND_START + (40 + 30) * STACK_FROM_INNER + 5 * STACK_UNSCORED  # model 3 not scored: its training, scaled
    assert pilot(2, {1: 40.0, 2: 30.0}).blend_seconds(members) == pytest.approx(stack)
    assert pilot(1, {1: 40.0, 2: 30.0}).blend_seconds(members) == pytest.approx(stack + BLEND_START + 18)


def test_the_longest_blender_loses_its_weakest_members_first_down_to_two():
    ranked = [model(m, 5) for m in range(1, 5)]
    autopilot = pilot(2, {1: 40.0, 2: 30.0, 3: 20.0, 4: 10.0})
    fitted = autopilot.fit_blenders({AVERAGE: list(ranked), STACK: list(ranked)}, seconds=80)
    assert [m.id for m in fitted[STACK]] == [1, 2] and [m.id for m in fitted[AVERAGE]] == [1, 2, 3, 4]
    assert autopilot.blend_seconds(fitted) * BLEND_MARGIN + BLEND_SLACK <= 80
    tight = autopilot.fit_blenders({AVERAGE: list(ranked), STACK: list(ranked)}, seconds=10)
    assert [len(group) for group in tight.values()] == [2, 2]  # never fewer than two: the stage then skips them


def test_the_scoring_and_templates_notes_name_each_model_left_out_and_why():
    from core.training.autopilot import not_trained_why, scoring_note

    assert scoring_note([3, 1], [1, 2, 3, 4, 5], {4: "no such column"}) == (
        "inner CV scored models 3, 1, best first; 3 of 5 not scored: 4 (failed: no such column), 2 and 5 (out of time)")
    assert scoring_note([], [1, 2, 3], {}) == "inner CV scored no model; 3 of 3 not scored: 1, 2 and 3 (out of time)"
    assert scoring_note([2, 1], [1, 2], {}) == "inner CV scored models 2, 1, best first"
    assert not_trained_why("not started: the stage's time is up") == "out of time"
    assert not_trained_why("ValueError: bad input\nTraceback ...") == "failed: ValueError: bad input"
