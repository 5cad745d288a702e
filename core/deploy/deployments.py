"""Deployments (SPEC §9): publish a trained model under a name, list deployments with their monitoring."""

from __future__ import annotations

import re

from .. import sharing
from ..errors import UsageError
from ..workspace import current_user
from ..store import Deployment, Store
from .monitor import merge_snapshots
from .source import model_source

RECENT_SECONDS = 60  # a running server writes its monitor every few seconds
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def create_deployment(store: Store, model_ref: int | str, name: str | None = None, token: str | None = None) -> Deployment:
    """Record a deployment of a trained model (named `model-N` unless given a name), owned by the deployer, who needs
    read on the model's project; whoever may use the deployment then scores with the model through it."""
    source = model_source(store, model_ref, "deploy a model of")
    model_id = source.info["model"]
    name = name or f"model-{model_id}"
    if not NAME.match(name):
        raise UsageError(f"deployment name {name!r} must be letters, digits, '.', '_' or '-' (up to 64, starting with a letter or digit).")
    return store.add_deployment(name=name, model_id=model_id, token=token)


def get_deployment(store: Store, name: str, *, needed: str = "read", doing: str = "use") -> Deployment:
    """The deployment `name`, when the acting user has `needed` access to it (read to use it, owner to delete it)."""
    deployment = store.deployment(name)
    if deployment is None:
        raise UsageError(f"there is no deployment {name!r}; create one with `taskbench deploy MODEL --name {name}`.")
    sharing.require(store, "deployment", name, needed, doing)
    return deployment


def serving_pids(store: Store, deployment: Deployment) -> list[int]:
    """Live server processes of the deployment's latest run: pids its workers recorded with a recent monitor write."""
    from datetime import datetime, timedelta, timezone

    from ..store.processes import pid_alive

    recent = datetime.now(timezone.utc) - timedelta(seconds=RECENT_SECONDS)
    return sorted({s["worker"] for s in store.latest_monitor(deployment.id)
                   if datetime.fromisoformat(s["updated_at"]) > recent and pid_alive(int(s["worker"]))})


def deployment_to_delete(store: Store, name: str) -> Deployment:
    """The deployment `name`, when the acting user may delete it (its owner): asked before a confirmation."""
    return get_deployment(store, name, needed="owner", doing="delete")


def delete_deployment(store: Store, name: str) -> Deployment:
    """Delete a deployment and its monitoring history; refused while a server of it still runs here."""
    deployment = deployment_to_delete(store, name)
    running = serving_pids(store, deployment)
    if running:
        raise UsageError(f"deployment {name!r} is being served by process {running[0]}; stop `taskbench serve {name}` first.")
    store.delete_deployment(deployment.id)
    return deployment


def deployment_rows(store: Store) -> list[dict]:
    """Every deployment as JSON, with the monitoring totals of its latest server run; in a shared workspace a
    deployment the user may not use is listed (like every listing) without its numbers (`monitor` None)."""
    hidden = set()
    if store.sharing is not None:
        levels = sharing.owners_and_access(store, current_user(), "deployment")
        hidden = {name for name, (_, level) in levels.items() if level == "none"}
    rows = []
    for deployment in store.list_deployments():
        row = deployment.to_json()
        snapshots = [] if deployment.name in hidden else store.latest_monitor(deployment.id)
        if snapshots:
            merged = merge_snapshots(snapshots)
            row["monitor"] = {**merged, "run_started_at": snapshots[0]["started_at"],
                              "updated_at": max(s["updated_at"] for s in snapshots)}
        else:
            row["monitor"] = None
        rows.append(row)
    return rows
