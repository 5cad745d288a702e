"""Model insights (SPEC §8): built-in, model-agnostic charts and the custom insight files tasks write."""

from .builtin import INSIGHTS_FILE, cached_insights, compute_insights
from .custom import (artifact_files, custom_insight_files, decode_png, export_artifacts, file_kind, preview,
                     render_png, visible_files)

__all__ = [
    "INSIGHTS_FILE",
    "artifact_files",
    "cached_insights",
    "compute_insights",
    "custom_insight_files",
    "decode_png",
    "export_artifacts",
    "file_kind",
    "preview",
    "render_png",
    "visible_files",
]
