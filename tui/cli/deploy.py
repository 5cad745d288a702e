"""`taskbench deploy`, `serve`, `deployments` and `export`: publishing trained models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from core import settings

from .common import confirm_or_stop, console, fail, open_workspace, print_json, when, listing
from .share import AccessColumn

DEPLOY_HELP = """Publish a trained model as a named deployment that `taskbench serve` answers for.

In a shared workspace you need read on the model's project; the deployment is
yours, and whoever you share it with (taskbench share deployment NAME USER
--role read) serves and scores with it without a share of the project or its
tasks.
"""
SERVE_HELP = """Serve a deployment over HTTP with DRUM's routes: POST /predict/ and /transform/, GET /ping, /health/, /info/, /stats/.

Binds to 127.0.0.1 unless --host says otherwise. With --token (or a token
given at `deploy`), every route but /ping and /health/ needs
'Authorization: Bearer TOKEN'. The server process runs the model's task code.
The "Serving … on http://…" line is printed once the server answers /ping.
Bodies over 50 MB get a 413; past 1 MB they wait in a temporary file and are
scored in chunks. /stats/ counts clients that left mid-body (aborted),
connections closed by a timeout, and connections refused over the limit.

In a shared workspace the server acts as you: it needs read on the deployment
(not on the model's project), and re-checks it about once a second, answering
403 with one sentence once the share is taken back or the deployment deleted.

With --code-dir DIR instead of a deployment, serves a fitted folder (custom.py or custom.R
beside its artifact, as `taskbench fit --output DIR` leaves it) the way
`drum server` does: columns are whatever each request sends, and /stats/ is
kept in memory (nothing is written to the workspace).
Example: taskbench serve --code-dir fitted/ --target-type binary
--positive-class-label yes --negative-class-label no
"""
DEPLOYMENTS_HELP = "List deployments with the request counts, latency and drift of their latest server run."
UNDEPLOY_HELP = "Delete a deployment and its monitoring history (the model stays). Asks first unless --yes."
EXPORT_HELP = """Write a trained model as a self-contained package (.zip) that `taskbench predict --package` scores with.

A package holds every node's task code and artifact: in a shared workspace it
needs read on the model's project and on each registered task the model uses.
"""


def deploy(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(metavar="MODEL", help="Model number (see `taskbench leaderboard PROJECT`).")],
    name: Annotated[Optional[str], typer.Option("--name", help="Deployment name (default: model-N).")] = None,
    token: Annotated[Optional[str], typer.Option("--token", help="Bearer token clients must send (only its digest is stored).")] = None,
) -> None:
    from core.deploy.deployments import create_deployment

    with open_workspace(ctx) as store:
        deployment = create_deployment(store, model, name, token)
    console().print(f"Deployed model {deployment.model_id} as {escape(deployment.name)}; start it with `taskbench serve {escape(deployment.name)}`.")


def serve(
    ctx: typer.Context,
    deployment: Annotated[Optional[str], typer.Argument(metavar="DEPLOYMENT", help="Deployment name (see `taskbench deployments`); or give --code-dir.")] = None,
    host: Annotated[str, typer.Option("--host", help="Address to bind (loopback unless you say otherwise).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.", min=0, max=65535)] = 8080,
    workers: Annotated[int, typer.Option("--workers", help="Server processes, each with the model loaded.", min=1)] = 1,
    token: Annotated[Optional[str], typer.Option("--token", help="Bearer token clients must send.", envvar=settings.SERVE_TOKEN.name)] = None,
    header_timeout: Annotated[float, typer.Option("--header-timeout", metavar="SECONDS", min=0.1,
                                                  help="Close a connection that has not sent its request headers within this time (408).")] = 10.0,
    body_timeout: Annotated[float, typer.Option("--body-timeout", metavar="SECONDS", min=0.1,
                                                help="Answer 408 and close when a request body stops arriving for this long.")] = 30.0,
    keep_alive: Annotated[float, typer.Option("--keep-alive", metavar="SECONDS", min=0.1,
                                              help="Close an idle keep-alive connection after this time.")] = 5.0,
    max_connections: Annotated[int, typer.Option("--max-connections", metavar="N", min=1,
                                                 help="Open connections per server process; more are answered 503.")] = 256,
    code_dir: Annotated[Optional[Path], typer.Option("--code-dir", help="Serve this fitted folder (custom.py or custom.R and its artifact) instead of a deployment, as `drum server` does.")] = None,
    target_type: Annotated[Optional[str], typer.Option("--target-type", help="With --code-dir: transform, binary, multiclass, regression or anomaly (default: the metadata's).")] = None,
    class_labels: Annotated[Optional[list[str]], typer.Option("--class-labels", help="With --code-dir: class labels, negative first for binary.")] = None,
    positive_class_label: Annotated[Optional[str], typer.Option("--positive-class-label", help="With --code-dir: the positive class (binary).")] = None,
    negative_class_label: Annotated[Optional[str], typer.Option("--negative-class-label", help="With --code-dir: the negative class (binary).")] = None,
) -> None:
    from core import workspace
    from core.deploy.deployments import get_deployment
    from core.deploy.server import ServeConfig, check_host, serve as run_server

    if code_dir is not None or deployment is None:
        folder_options = dict(target_type=target_type, class_labels=class_labels, positive=positive_class_label,
                              negative=negative_class_label)
        _serve_folder(ctx, deployment, code_dir, folder_options, host=host, port=port, workers=workers, token=token,
                      header_timeout=header_timeout, body_timeout=body_timeout, keep_alive=keep_alive,
                      max_connections=max_connections)
        return
    if target_type or class_labels or positive_class_label or negative_class_label:
        fail("--target-type and the class-label options are for --code-dir; a deployment knows its model's.", 2)
    with open_workspace(ctx) as store:
        found = get_deployment(store, deployment)
        needs_token = bool(token or found.token_hash)
    home = str(workspace.home((ctx.obj or {}).get("home")))
    out = console()
    if not check_host(host) and not needs_token:
        out.print(f"[yellow]warning:[/] serving on {escape(host)} without a token: anyone who can reach it can score with the model.")
    config = ServeConfig(home=home, deployment=deployment, host=host, port=port, workers=workers, token=token,
                         header_timeout=header_timeout, body_timeout=body_timeout, keep_alive=keep_alive,
                         max_connections=max_connections)
    processes = f" in {workers} worker processes" if workers > 1 else ""
    out.print(f"Loading model {found.model_id} of deployment {escape(deployment)}{processes}…")

    def ready(bound: int) -> None:
        shown = f"[{host}]" if ":" in host else host
        processes = f" with {workers} worker processes" if workers > 1 else ""
        out.print(f"Serving {escape(deployment)} (model {found.model_id}) on http://{escape(shown)}:{bound}{processes} — Ctrl+C stops.")

    try:
        run_server(config, on_ready=ready)
    except Exception as exc:  # noqa: BLE001 - start-up failures (a bad deployment, a busy port) are one sentence
        from core.errors import TaskbenchError

        if isinstance(exc, TaskbenchError):
            fail(exc.message, exc.exit_code)
        fail(f"the server could not start: {exc}.", 1)


def _serve_folder(ctx, deployment, code_dir, folder, **server) -> None:
    """`serve --code-dir`: a fitted folder served as `drum server` serves it, without a deployment."""
    from core import workspace
    from core.deploy.server import ServeConfig, check_host, requirements_note, serve as run_server
    from core.errors import TaskbenchError

    if code_dir is None:
        fail("give a DEPLOYMENT to serve (see `taskbench deployments`), or --code-dir DIR for a fitted folder.", 2)
    if deployment is not None:
        fail(f"give either the deployment {deployment} or --code-dir, not both.", 2)
    labels = list(folder["class_labels"] or [])
    if (folder["positive"] is None) != (folder["negative"] is None):
        fail("give both --positive-class-label and --negative-class-label (or --class-labels NEGATIVE POSITIVE).", 2)
    if folder["positive"] is not None:
        if labels:
            fail("give --class-labels or --positive-class-label/--negative-class-label, not both.", 2)
        labels = [folder["negative"], folder["positive"]]
    home = str(workspace.home((ctx.obj or {}).get("home")))
    out = console()
    host = server["host"]
    if not check_host(host) and not server["token"]:
        out.print(f"[yellow]warning:[/] serving on {escape(host)} without a token: anyone who can reach it can score with the model.")
    config = ServeConfig(home=home, deployment="", code_dir=str(code_dir), target_type=folder["target_type"],
                         class_labels=labels or None, **server)
    note = requirements_note(code_dir)
    if note:
        out.print(f"[yellow]note:[/] {escape(note)}")
    workers = server["workers"]
    processes = f" in {workers} worker processes" if workers > 1 else ""
    out.print(f"Loading the fitted folder {escape(str(code_dir))}{processes}…")

    def ready(bound: int) -> None:
        shown = f"[{host}]" if ":" in host else host
        processes = f" with {workers} worker processes" if workers > 1 else ""
        out.print(f"Serving {escape(str(code_dir))} on http://{escape(shown)}:{bound}{processes} — Ctrl+C stops.")

    try:
        run_server(config, on_ready=ready)
    except TaskbenchError as exc:
        fail(exc.message, exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - start-up failures (a task that does not load, a busy port) are one sentence
        fail(f"the server could not start: {exc}.", 1)


def deployments(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    from core.deploy.deployments import deployment_rows

    with open_workspace(ctx) as store:
        rows = deployment_rows(store)
        access = AccessColumn(store, "deployment", owner=True)
    if as_json:
        print_json([access.json(r["name"], r) for r in rows])
        return
    cells = []
    for r in rows:
        m = r["monitor"] or {}
        latency = m.get("latency_ms") or {}
        psi = (m.get("drift") or {}).get("max_psi")
        cells.append(access.cells(r["name"], [
            escape(r["name"]), str(r["model"]), "yes" if r["token"] else "no", str(m.get("requests", "-")),
            str(m.get("errors", "-")), _num(latency.get("p50")), _num(latency.get("p99")), _num(psi),
            when(m.get("updated_at"), short=True)]))
    table = listing(access.header(["name", "model", "token", "requests", "errors", "p50 ms", "p99 ms", "max PSI",
                                   "updated"]), cells, keep=("name", "model"))
    console().print(table if rows else "No deployments yet; create one with `taskbench deploy MODEL`.")


def undeploy(
    ctx: typer.Context,
    deployment: Annotated[str, typer.Argument(metavar="DEPLOYMENT", help="Deployment name (see `taskbench deployments`).")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation (for scripts).")] = False,
) -> None:
    from core.deploy.deployments import delete_deployment, deployment_to_delete

    with open_workspace(ctx) as store:
        found = deployment_to_delete(store, deployment)  # a refusal comes before the question
        if not yes:
            confirm_or_stop(f"Delete deployment {deployment} (model {found.model_id}) and its monitoring history?",
                            "Nothing deleted.")
        delete_deployment(store, deployment)
    console().print(f"Deleted deployment {escape(deployment)}; model {found.model_id} is still on its leaderboard.")


def _num(value) -> str:
    return "-" if value is None else f"{value:.3g}"


def export(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(metavar="MODEL", help="Model number (see `taskbench leaderboard PROJECT`).")],
    to: Annotated[Path, typer.Option("--to", help="Package file to write (.zip).")],
) -> None:
    from core.deploy.package import export_model

    with open_workspace(ctx) as store:
        manifest = export_model(store, model, to)
    from core.deploy.package import package_summary

    console().print(f"Exported model {manifest['model'].get('model')} to {escape(str(to))} ({escape(package_summary(to, manifest))}).")
