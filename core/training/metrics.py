"""Metrics per target type (SPEC §5); the code lives in the runtime so workers can score where the data is."""

from ..runtime.metrics import DEFAULT_METRIC, HIGHER_IS_BETTER, METRICS, better, compute, sort_key

__all__ = ["DEFAULT_METRIC", "HIGHER_IS_BETTER", "METRICS", "better", "compute", "sort_key"]
