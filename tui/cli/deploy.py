"""`taskbench deploy`, `serve`, `deployments` and `export`: publishing trained models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from .common import confirm_or_stop, console, fail, open_workspace, print_json, when, listing

DEPLOY_HELP = "Publish a trained model as a named deployment that `taskbench serve` answers for."
SERVE_HELP = """Serve a deployment over HTTP with DRUM's routes: POST /predict/ and /transform/, GET /ping, /health/, /info/, /stats/.

Binds to 127.0.0.1 unless --host says otherwise. With --token (or a token
given at `deploy`), every route but /ping and /health/ needs
'Authorization: Bearer TOKEN'. The server process runs the model's task code.
The "Serving … on http://…" line is printed once the server answers /ping.
Bodies over 50 MB get a 413; past 1 MB they wait in a temporary file and are
scored in chunks. /stats/ counts clients that left mid-body (aborted),
connections closed by a timeout, and connections refused over the limit.
"""
DEPLOYMENTS_HELP = "List deployments with the request counts, latency and drift of their latest server run."
UNDEPLOY_HELP = "Delete a deployment and its monitoring history (the model stays). Asks first unless --yes."
EXPORT_HELP = "Write a trained model as a self-contained package (.zip) that `taskbench predict --package` scores with."


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
    deployment: Annotated[str, typer.Argument(metavar="DEPLOYMENT", help="Deployment name (see `taskbench deployments`).")],
    host: Annotated[str, typer.Option("--host", help="Address to bind (loopback unless you say otherwise).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.", min=0, max=65535)] = 8080,
    workers: Annotated[int, typer.Option("--workers", help="Server processes, each with the model loaded.", min=1)] = 1,
    token: Annotated[Optional[str], typer.Option("--token", help="Bearer token clients must send.", envvar="TASKBENCH_SERVE_TOKEN")] = None,
    header_timeout: Annotated[float, typer.Option("--header-timeout", metavar="SECONDS", min=0.1,
                                                  help="Close a connection that has not sent its request headers within this time (408).")] = 10.0,
    body_timeout: Annotated[float, typer.Option("--body-timeout", metavar="SECONDS", min=0.1,
                                                help="Answer 408 and close when a request body stops arriving for this long.")] = 30.0,
    keep_alive: Annotated[float, typer.Option("--keep-alive", metavar="SECONDS", min=0.1,
                                              help="Close an idle keep-alive connection after this time.")] = 5.0,
    max_connections: Annotated[int, typer.Option("--max-connections", metavar="N", min=1,
                                                 help="Open connections per server process; more are answered 503.")] = 256,
) -> None:
    from core import workspace
    from core.deploy.deployments import get_deployment
    from core.deploy.server import ServeConfig, check_host, serve as run_server

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


def deployments(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    from core.deploy.deployments import deployment_rows

    with open_workspace(ctx) as store:
        rows = deployment_rows(store)
    if as_json:
        print_json(rows)
        return
    cells = []
    for r in rows:
        m = r["monitor"] or {}
        latency = m.get("latency_ms") or {}
        psi = (m.get("drift") or {}).get("max_psi")
        cells.append([escape(r["name"]), str(r["model"]), "yes" if r["token"] else "no", str(m.get("requests", "-")),
                      str(m.get("errors", "-")), _num(latency.get("p50")), _num(latency.get("p99")), _num(psi),
                      when(m.get("updated_at"), short=True)])
    table = listing(["name", "model", "token", "requests", "errors", "p50 ms", "p99 ms", "max PSI", "updated"], cells,
                    keep=("name", "model"))
    console().print(table if rows else "No deployments yet; create one with `taskbench deploy MODEL`.")


def undeploy(
    ctx: typer.Context,
    deployment: Annotated[str, typer.Argument(metavar="DEPLOYMENT", help="Deployment name (see `taskbench deployments`).")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation (for scripts).")] = False,
) -> None:
    from core.deploy.deployments import delete_deployment, get_deployment

    with open_workspace(ctx) as store:
        found = get_deployment(store, deployment)
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
