"""Model insights (SPEC §8): built-in, model-agnostic charts and the custom insight files tasks write."""

from .builtin import INSIGHTS_FILE, cached_insights, compute_insights
from .custom import custom_insight_files, decode_png, export_artifacts, file_kind, preview, render_png

__all__ = [
    "INSIGHTS_FILE",
    "cached_insights",
    "compute_insights",
    "custom_insight_files",
    "decode_png",
    "export_artifacts",
    "file_kind",
    "preview",
    "render_png",
]
