"""`taskbench insights` and `taskbench artifacts`: a model's built-in insights, custom insight files, export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from ..insights_view import WIDTH, report
from ..numbers import score  # noqa: F401 - the one number formatter (tests check it is)
from .common import console, error_console, open_workspace, print_json, size

INSIGHTS_HELP = """Show a model's insights: scores, permutation feature impact, ROC/lift/confusion
matrix (classification) or residuals (regression), and each node's custom insight files.

Built-in insights are computed on the validation partition (and the holdout once
it is unlocked) the first time, then read from the model's folder.
"""

ARTIFACTS_HELP = """List a model's artifact files per node, or copy them into a new or empty folder with --to."""

PREVIEW_INDENT = 6


def insights(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(metavar="MODEL", help="Model number (see `taskbench leaderboard PROJECT`).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    no_preview: Annotated[bool, typer.Option("--no-preview", help="List custom insight files without previews.")] = False,
    refresh: Annotated[bool, typer.Option("--refresh", help="Recompute instead of reading the cached insights.")] = False,
) -> None:
    from core.insights import cached_insights, compute_insights, custom_insight_files, preview
    from core.training.engine import get_model, visible_scores

    with open_workspace(ctx) as store:
        found, project = get_model(store, model)
        cached = None if refresh else cached_insights(store, found.id)
        if not as_json and (cached is None or (project.holdout_unlocked and "holdout" not in cached)):
            error_console().print(
                f"[dim]Computing insights for model {found.id}: feature impact shuffles each column in turn…[/]")
        result = compute_insights(store, found.id, refresh=refresh)
        scores = visible_scores(found, project)
        files = custom_insight_files(found)
    if as_json:
        print_json({**result, "scores": scores,
                    "custom_insights": [{k: f[k] for k in ("node", "task", "name", "kind", "size", "path")} for f in files]})
        return
    out = console()
    lines = report(found, project, result, scores, WIDTH)
    out.print(f"[bold]{escape(lines[0][1])}[/]", soft_wrap=True)
    for kind, text in lines[1:]:
        _emit(out, kind, text)
    _emit(out, "head", "Custom insights")
    if not files:
        _emit(out, "text", "  (no node wrote any files)")
    node = None
    for f in files:
        if f["node"] != node:
            node = f["node"]
            _emit(out, "text", f"  node {node} ({f['task'] or 'unknown task'})")
        _emit(out, "text", f"    {f['name']:<28} {f['kind']:<6} {size(f['size']):>9}")
        if not no_preview and f["kind"] in ("text", "csv", "html", "image"):
            for line in preview(f["path"], WIDTH - PREVIEW_INDENT).splitlines():
                _emit(out, "plain", " " * PREVIEW_INDENT + line)


def _emit(out, kind: str, text: str) -> None:
    if kind == "head":
        out.print()
        out.print(f"[bold]{escape(text)}[/]", soft_wrap=True)
    elif kind == "dim":
        out.print(f"[dim]{escape(text)}[/]", soft_wrap=True)
    else:
        out.print(escape(text), soft_wrap=True)


def artifacts(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(metavar="MODEL", help="Model number (see `taskbench leaderboard PROJECT`).")],
    to: Annotated[Optional[Path], typer.Option("--to", help="A new or empty folder to copy the artifacts into.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    from core.insights import custom_insight_files, export_artifacts
    from core.training.engine import get_model

    with open_workspace(ctx) as store:
        found, _project = get_model(store, model)
        if to is None:
            files = custom_insight_files(found)
        else:
            report = export_artifacts(store, found.id, to)
    if to is None:
        if as_json:
            print_json([{k: f[k] for k in ("node", "task", "name", "kind", "size", "path")} for f in files])
            return
        out = console()
        out.print(f"Artifacts of model {found.id} ({escape(found.blueprint)}); copy them with --to DIR:")
        for f in files:
            out.print(f"  {escape(f['node'] + '/' + f['name']):<40} {f['kind']:<6} {size(f['size']):>9}", crop=False)
        return
    if as_json:
        print_json(report)
        return
    out = console()
    out.print(f"Exported {report['files']} file(s) of model {found.id} to {escape(report['path'])}:", soft_wrap=True)
    for node in report["nodes"]:
        out.print(f"  {escape(node['node'])}/  {escape(node['task'])}: {escape(', '.join(node['files']) or 'no files')}", soft_wrap=True)
    out.print("  README.txt says which node and task version each folder came from.")
