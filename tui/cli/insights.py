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

ARTIFACTS_HELP = """List a model's artifact files per node, or copy them into a new or empty folder with --to.

In a shared workspace, reading the model's project is enough for every node
but those whose registered task you may not read: their files are left out
(one line says which and whose), and --node names one of them is refused.
"""

PREVIEW_INDENT = 6


def insights(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(metavar="MODEL", help="Model number (see `taskbench leaderboard PROJECT`).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    no_preview: Annotated[bool, typer.Option("--no-preview", help="List custom insight files without previews.")] = False,
    refresh: Annotated[bool, typer.Option("--refresh", help="Recompute instead of reading the cached insights.")] = False,
) -> None:
    from core.insights import cached_insights, compute_insights, preview, visible_files
    from core.sharing import require_model
    from core.training.engine import visible_scores

    with open_workspace(ctx) as store:
        found, project = require_model(store, model, "see the insights of a model of")
        cached = None if refresh else cached_insights(store, found.id)
        if not as_json and (cached is None or (project.holdout_unlocked and "holdout" not in cached)):
            error_console().print(
                f"[dim]Computing insights for model {found.id}: feature impact shuffles each column in turn…[/]")
        result = compute_insights(store, found.id, refresh=refresh)
        scores = visible_scores(found, project)
        files, withheld = visible_files(store, found)
    if as_json:
        print_json({**result, "scores": scores,
                    "custom_insights": [{k: f[k] for k in ("node", "task", "name", "kind", "size", "path")} for f in files],
                    "withheld": withheld})
        return
    out = console()
    lines = report(found, project, result, scores, WIDTH)
    out.print(f"[bold]{escape(lines[0][1])}[/]", soft_wrap=True)
    for kind, text in lines[1:]:
        _emit(out, kind, text)
    _emit(out, "head", "Custom insights")
    for sentence in withheld:
        _emit(out, "dim", f"  {sentence}")
    if not files and not withheld:
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
    node: Annotated[Optional[str], typer.Option("--node", metavar="NODE", help="Only this blueprint node's files.")] = None,
) -> None:
    from core.insights import artifact_files, export_artifacts

    with open_workspace(ctx) as store:
        if to is None:
            found, files, withheld = artifact_files(store, model, node)
        else:
            report = export_artifacts(store, model, to, node)
    if to is None:
        if as_json:
            print_json([{k: f[k] for k in ("node", "task", "name", "kind", "size", "path")} for f in files])
            for sentence in withheld:  # stdout stays the JSON list
                error_console().print(f"note: {escape(sentence)}", soft_wrap=True)
            return
        out = console()
        out.print(f"Artifacts of model {found.id} ({escape(found.blueprint)}); copy them with --to DIR:")
        for f in files:
            out.print(f"  {escape(f['node'] + '/' + f['name']):<40} {f['kind']:<6} {size(f['size']):>9}", crop=False)
        for sentence in withheld:
            out.print(f"  [dim]{escape(sentence)}[/]", soft_wrap=True)
        return
    if as_json:
        print_json(report)
        return
    out = console()
    out.print(f"Exported {report['files']} file(s) of model {report['model']} to {escape(report['path'])}:", soft_wrap=True)
    for done in report["nodes"]:
        out.print(f"  {escape(done['node'])}/  {escape(done['task'])}: {escape(', '.join(done['files']) or 'no files')}", soft_wrap=True)
    for sentence in report["withheld"]:
        out.print(f"  [dim]Left out: {escape(sentence)}[/]", soft_wrap=True)
    out.print("  README.txt says which node and task version each folder came from.")
