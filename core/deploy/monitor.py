"""A deployment's monitoring: request counts, errors, latency percentiles, and drift of the scored data.

Drift compares each feature's distribution in the scored rows with the
training rows: numbers by the population stability index (PSI) over training
deciles (plus a missing-value bin), categories by PSI over the training's most
frequent values (plus "other" and missing). Requests only queue their frames;
the binning happens when a snapshot is taken, off the request path.
"""

from __future__ import annotations

import math
import mmap
import os
import threading
import time
from collections import Counter, deque
from pathlib import Path

PSI_FLOOR = 1e-4
TOP_CATEGORIES = 20
LATENCY_WINDOW = 100_000
PENDING_ROWS = 200_000


def psi(expected, actual) -> float:
    """Population stability index of two count vectors over the same bins."""
    import numpy as np

    e = np.asarray(expected, dtype="float64")
    a = np.asarray(actual, dtype="float64")
    if a.sum() == 0 or e.sum() == 0:
        return 0.0
    e = np.maximum(e / e.sum(), PSI_FLOOR)
    a = np.maximum(a / a.sum(), PSI_FLOOR)
    return float(((a - e) * np.log(a / e)).sum())


class FeatureBins:
    """One feature's training bins and the counts of scored values falling in each."""

    def __init__(self, name: str, train):
        import numpy as np
        import pandas as pd

        self.name = name
        self.numeric = pd.api.types.is_numeric_dtype(train) and not pd.api.types.is_bool_dtype(train)
        if self.numeric:
            values = train.to_numpy(dtype="float64", na_value=np.nan)
            present = values[~np.isnan(values)]
            self.edges = np.unique(np.quantile(present, np.linspace(0.1, 0.9, 9))) if present.size else np.array([])
            self.labels = None
        else:
            top = train.dropna().astype(str).value_counts().index[:TOP_CATEGORIES]
            self.labels = list(top)
            self.edges = None
        self.train = self.counts(train)
        self.scored = np.zeros_like(self.train)

    def counts(self, series):
        import numpy as np

        if self.numeric:
            import pandas as pd

            values = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            missing = np.isnan(values)
            bins = np.searchsorted(self.edges, values[~missing], side="right")
            out = np.bincount(bins, minlength=len(self.edges) + 1).astype("float64")
            return np.append(out, missing.sum())
        index = {label: i for i, label in enumerate(self.labels)}
        out = np.zeros(len(self.labels) + 2)
        for value, n in series.astype(object).where(series.notna(), None).value_counts(dropna=False).items():
            out[len(self.labels) + 1 if value is None else index.get(str(value), len(self.labels))] += n
        return out

    def summary(self) -> dict:
        total = int(self.scored.sum())
        out = {"kind": "numeric" if self.numeric else "category", "scored_rows": total,
               "psi": round(psi(self.train, self.scored), 6) if total else None}
        if not self.numeric and total:
            train = self.train / max(self.train.sum(), 1)
            scored = self.scored / total
            names = self.labels + ["(other)", "(missing)"]
            shifts = sorted(zip(names, scored - train), key=lambda p: -abs(p[1]))[:3]
            out["largest_shifts"] = {name: round(float(d), 4) for name, d in shifts}
        return out


class Monitor:
    """Counts every request by route and status, keeps recent latencies, and tracks drift (thread-safe)."""

    def __init__(self, training=None, features: list[str] | None = None):
        self._lock = threading.Lock()
        self.started = time.time()
        self.routes: dict[str, Counter] = {}
        self.latencies: deque = deque(maxlen=LATENCY_WINDOW)
        self.rows_scored = 0
        self.events: Counter = Counter()  # per connection, not per answered request: see EVENTS
        self._pending: list = []
        self._pending_rows = 0
        self.bins = {}
        if training is not None:
            for name in features or []:
                if name in training.columns:
                    self.bins[name] = FeatureBins(name, training[name])

    shared: SharedCounts | None = None

    def count(self, route: str, status: int) -> None:
        """Count one answered request (before its answer leaves, so a client never sees /stats/ lag behind it)."""
        with self._lock:
            counter = self.routes.setdefault(route, Counter())
            counter["requests"] += 1
            if status >= 400:
                counter["errors"] += 1
                counter["5xx" if status >= 500 else "4xx"] += 1
            if self.shared is not None:
                self.shared.count(route, status)

    def aborted(self, route: str) -> None:
        """Count a request whose client left before its body ended: not a request answered, and no error of ours."""
        with self._lock:
            self.routes.setdefault(route, Counter())["aborted"] += 1
            self.events["aborted"] += 1
            if self.shared is not None:
                self.shared.aborted(route)

    def event(self, name: str) -> None:
        """Count a connection-level event (one of EVENTS but `aborted`): a timeout, a connection refused."""
        with self._lock:
            self.events[name] += 1
            if self.shared is not None:
                self.shared.event(name)

    def timing(self, route: str, seconds: float) -> None:
        if route in SCORING_ROUTES:
            with self._lock:
                self.latencies.append(seconds)
                if self.shared is not None:
                    self.shared.timing(seconds)

    def record(self, route: str, status: int, seconds: float) -> None:
        self.count(route, status)
        self.timing(route, seconds)

    def observe(self, frame) -> None:
        """Queue a scored frame for the drift summary (dropped past a bound, so memory stays small)."""
        with self._lock:
            self.rows_scored += len(frame)
            if self.shared is not None:
                self.shared.add_rows(len(frame))
            if self.bins and self._pending_rows < PENDING_ROWS:
                self._pending.append(frame)
                self._pending_rows += len(frame)

    def _bin_pending(self) -> None:
        import pandas as pd

        with self._lock:
            pending, self._pending, self._pending_rows = self._pending, [], 0
        if not pending:
            return
        frame = pd.concat(pending, ignore_index=True) if len(pending) > 1 else pending[0]
        for name, bins in self.bins.items():
            if name in frame.columns:
                bins.scored += bins.counts(frame[name])

    def snapshot(self, *, drift: bool = True) -> dict:
        """Counts, latency percentiles (ms) and, with `drift`, each feature's drift so far."""
        import numpy as np

        with self._lock:
            routes = {route: dict(counter) for route, counter in self.routes.items()}
            latencies = np.fromiter(self.latencies, dtype="float64")
            rows = self.rows_scored
            events = {name: self.events.get(name, 0) for name in EVENTS}
        total = sum(c.get("requests", 0) for c in routes.values())
        errors = sum(c.get("errors", 0) for c in routes.values())
        out = {
            "uptime_seconds": round(time.time() - self.started, 3),
            "requests": total,
            "errors": errors,
            **events,
            "routes": routes,
            "rows_scored": rows,
            "latency_ms": {f"p{q}": round(float(np.percentile(latencies, q)) * 1000, 3) for q in (50, 95, 99)}
            if latencies.size else {},
        }
        if drift:
            self._bin_pending()
            features = {name: bins.summary() for name, bins in self.bins.items()}
            scored = [f["psi"] for f in features.values() if f["psi"] is not None]
            out["drift"] = {"max_psi": max(scored) if scored else None, "features": features}
        return out


SCORING_ROUTES = ("/predict/", "/transform/")
# aborted: the client left before its request body ended (also per route); timeouts: connections closed for
# incomplete headers or a stalled body; refused: connections over --max-connections (answered 503).
EVENTS = ("aborted", "timeouts", "refused")
SHARED_ROUTES = ("/predict/", "/transform/", "/info/", "/stats/", "/ping", "/health/", "/capabilities/", "other")
SHARED_FIELDS = ("requests", "errors", "4xx", "5xx", "aborted")
LATENCY_LOW, LATENCY_STEP, LATENCY_BINS = 1e-5, 1.02, 1024  # 10 µs to ~6e3 s in 2 % steps
_ROWS = len(SHARED_ROUTES) * len(SHARED_FIELDS)
_LATENCY = _ROWS + 1
_EVENTS = _LATENCY + LATENCY_BINS
_SLOTS = _EVENTS + len(EVENTS)


class SharedCounts:
    """One server process's counters in a small file that its sibling processes can read, so that `/stats/` of a
    server with several worker processes sums every process's requests exactly; latency goes into 2 % bins."""

    def __init__(self, folder: str | Path, pid: int | None = None):
        path = Path(folder) / f"{pid or os.getpid()}.counts"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            os.ftruncate(fd, _SLOTS * 8)
            self._map = mmap.mmap(fd, _SLOTS * 8)
        finally:
            os.close(fd)
        self.values = memoryview(self._map).cast("q")

    def count(self, route: str, status: int) -> None:
        at = (SHARED_ROUTES.index(route) if route in SHARED_ROUTES else len(SHARED_ROUTES) - 1) * len(SHARED_FIELDS)
        self.values[at] += 1
        if status >= 400:
            self.values[at + 1] += 1
            self.values[at + (3 if status >= 500 else 2)] += 1

    def aborted(self, route: str) -> None:
        at = (SHARED_ROUTES.index(route) if route in SHARED_ROUTES else len(SHARED_ROUTES) - 1) * len(SHARED_FIELDS)
        self.values[at + SHARED_FIELDS.index("aborted")] += 1
        self.values[_EVENTS] += 1

    def event(self, name: str) -> None:
        self.values[_EVENTS + EVENTS.index(name)] += 1

    def timing(self, seconds: float) -> None:
        step = int(math.log(max(seconds, LATENCY_LOW) / LATENCY_LOW, LATENCY_STEP))
        self.values[_LATENCY + min(step, LATENCY_BINS - 1)] += 1

    def add_rows(self, n: int) -> None:
        self.values[_ROWS] += n

    @staticmethod
    def total(folder: str | Path) -> dict:
        """The sum of every process's counters under `folder`: routes, requests, errors, rows, latency percentiles."""
        import numpy as np

        files = sorted(Path(folder).glob("*.counts"))
        sums = np.zeros(_SLOTS, dtype="int64")
        for path in files:
            values = np.fromfile(path, dtype="int64")
            if values.size == _SLOTS:
                sums += values
        routes = {}
        for i, route in enumerate(SHARED_ROUTES):
            counts = sums[i * len(SHARED_FIELDS):(i + 1) * len(SHARED_FIELDS)]
            if counts.any():
                routes[route] = {f: int(v) for f, v in zip(SHARED_FIELDS, counts) if v}
        latency = sums[_LATENCY:_EVENTS]
        out = {
            "requests": int(sum(r.get("requests", 0) for r in routes.values())),
            "errors": int(sum(r.get("errors", 0) for r in routes.values())),
            **{name: int(sums[_EVENTS + i]) for i, name in enumerate(EVENTS)},
            "routes": routes,
            "rows_scored": int(sums[_ROWS]),
            "latency_ms": _histogram_percentiles(latency) if latency.sum() else {},
            "workers": len(files),
        }
        return out


def _histogram_percentiles(bins) -> dict:
    """p50/p95/p99 in ms from 2 % latency bins (each bin reported at its geometric middle)."""
    import numpy as np

    cumulative = np.cumsum(bins)
    out = {}
    for q in (50, 95, 99):
        step = int(np.searchsorted(cumulative, cumulative[-1] * q / 100))
        out[f"p{q}"] = round(LATENCY_LOW * LATENCY_STEP ** (step + 0.5) * 1000, 3)
    return out


def merge_snapshots(snapshots: list[dict]) -> dict:
    """The totals of several worker processes' snapshots (latency percentiles: the worst worker's)."""
    if len(snapshots) == 1:
        return snapshots[0]
    routes: dict[str, Counter] = {}
    for snap in snapshots:
        for route, counts in snap.get("routes", {}).items():
            routes.setdefault(route, Counter()).update(counts)
    latency = {}
    for snap in snapshots:
        for key, value in snap.get("latency_ms", {}).items():
            latency[key] = max(latency.get(key, 0), value)
    drift = max((s.get("drift") or {} for s in snapshots), key=lambda d: d.get("max_psi") or 0, default={})
    return {
        "requests": sum(s.get("requests", 0) for s in snapshots),
        "errors": sum(s.get("errors", 0) for s in snapshots),
        **{name: sum(s.get(name, 0) for s in snapshots) for name in EVENTS},
        "routes": {r: dict(c) for r, c in routes.items()},
        "rows_scored": sum(s.get("rows_scored", 0) for s in snapshots),
        "latency_ms": latency,
        "drift": drift,
        "workers": len(snapshots),
    }
