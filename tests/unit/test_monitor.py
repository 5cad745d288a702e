"""Deployment monitoring: counters shared by several server processes sum exactly; percentiles from 2 % bins."""

from __future__ import annotations

import numpy as np

from core.deploy.monitor import Monitor, SharedCounts, psi


def test_shared_counts_of_two_processes_sum_exactly(tmp_path):
    first, second = Monitor(), Monitor()
    first.shared, second.shared = SharedCounts(tmp_path, 101), SharedCounts(tmp_path, 102)
    latencies = np.random.default_rng(0).lognormal(np.log(0.003), 0.5, 2000)
    for i, seconds in enumerate(latencies):
        monitor = first if i % 3 else second
        monitor.record("/predict/", 200 if i % 50 else 422, float(seconds))
    second.record("/stats/", 200, 0.001)
    second.record("/nowhere", 404, 0.001)
    first.observe(np.zeros(7))
    total = SharedCounts.total(tmp_path)
    assert total["workers"] == 2
    assert total["routes"]["/predict/"] == {"requests": 2000, "errors": 40, "4xx": 40}
    assert total["routes"]["/stats/"] == {"requests": 1} and total["routes"]["other"]["4xx"] == 1
    assert total["requests"] == 2002 and total["errors"] == 41 and total["rows_scored"] == 7
    for q in (50, 95, 99):
        exact = np.percentile(latencies, q) * 1000
        assert abs(total["latency_ms"][f"p{q}"] - exact) / exact < 0.03, (q, total["latency_ms"], exact)


def test_psi_is_zero_for_equal_distributions_and_grows_with_shift():
    assert psi([10, 20, 30], [1, 2, 3]) == 0
    assert psi([10, 20, 30], [30, 20, 10]) > psi([10, 20, 30], [12, 20, 28]) > 0


def test_aborted_timeouts_and_refused_are_counted_apart_from_answered_requests(tmp_path):
    """A client that left mid-body is no answered request and no error; connection events sum across processes."""
    from core.deploy.monitor import merge_snapshots

    first, second = Monitor(), Monitor()
    first.shared, second.shared = SharedCounts(tmp_path, 201), SharedCounts(tmp_path, 202)
    first.record("/predict/", 200, 0.002)
    for _ in range(3):
        first.aborted("/predict/")
    second.aborted("/transform/")
    second.event("timeouts")
    second.event("timeouts")
    first.event("refused")
    own = first.snapshot(drift=False)
    assert own["requests"] == 1 and own["errors"] == 0
    assert own["aborted"] == 3 and own["timeouts"] == 0 and own["refused"] == 1
    assert own["routes"]["/predict/"] == {"requests": 1, "aborted": 3}
    total = SharedCounts.total(tmp_path)
    assert total["requests"] == 1 and total["errors"] == 0
    assert (total["aborted"], total["timeouts"], total["refused"]) == (4, 2, 1)
    assert total["routes"]["/transform/"] == {"aborted": 1}
    merged = merge_snapshots([own, second.snapshot(drift=False)])
    assert (merged["aborted"], merged["timeouts"], merged["refused"]) == (4, 2, 1)
