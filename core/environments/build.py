"""Build a registered environment's image as a job, and find the image a run should use.

Images are tagged by the environment version's content (and the base-image
setting), so a version is built once and every later run reuses it.
"""

from __future__ import annotations

import hashlib
from typing import Callable

from .. import settings
from ..errors import UsageError
from .. import sharing
from ..environments.versions import LOCAL, environment_version_to_run, set_environment_build
from ..jobs import JobRun
from ..store import Store
from ..store.records import EnvironmentVersion


def image_tag(version: EnvironmentVersion) -> str:
    """The deterministic image tag of an environment version under the current base-image setting."""
    base = settings.BASE_IMAGE.get() or ""
    digest = hashlib.sha256(f"{version.sha256}\n{base}".encode()).hexdigest()[:12]
    slug = "".join(c if c.isalnum() or c in "-_." else "-" for c in version.environment.lower()).strip("-")
    return f"taskbench-env-{slug or 'env'}:{digest}"


def build_environment(
    store: Store, ref: str, on_log: Callable[[str], None], *, force: bool = False
) -> tuple[EnvironmentVersion, str, bool]:
    """Build `NAME[@N]` through the Docker Engine API as an `env-build` job; returns (version, tag, built).

    An image that already exists is reused unless `force`; the build log is
    streamed to `on_log` and kept as the job's log. Asked for by name, it needs read on the environment (its log
    shows the Dockerfile); a run builds what its task version needs (image_for_environment) by execute.
    """
    from .resolve import docker_ready

    sharing.require(store, "env", ref.split("@")[0], "read", "build")
    if ref.split("@")[0] != LOCAL:
        docker_ready()
    return _build(store, ref, on_log, force=force)


def _build(store: Store, ref: str, on_log: Callable[[str], None], *, force: bool = False
           ) -> tuple[EnvironmentVersion, str, bool]:
    from .docker_build import build_image, image_exists

    if ref.split("@")[0] == LOCAL:
        raise UsageError(f"{LOCAL} is the Python taskbench runs on; it has no image to build.")
    version = environment_version_to_run(store, ref)
    tag = image_tag(version)
    if not force and image_exists(tag):
        if version.status != "built":
            set_environment_build(store, version.id, "built", image_id=tag)
        on_log(f"environment image {tag} for {version.ref} is up to date")
        return version, tag, False
    # The version's row says `building` while the job runs; a failed, cancelled or dead job ends it `failed`
    # (store.schema.JOB_OWNED_ROWS).
    with JobRun(store, "env-build", f"build {version.ref}", {"environment": version.ref, "tag": tag}) as run:
        set_environment_build(store, version.id, "building", job_id=run.id)

        def relay(line: str) -> None:
            run.log.line(line, who="build")
            on_log(line)

        relay(f"building {version.ref} as {tag} (job {run.id})")
        image_id = build_image(version.path, tag, on_log=relay, scratch_dir=run.scratch("build"))
        set_environment_build(store, version.id, "built", image_id=image_id, job_id=run.id)
        relay(f"built {tag} ({image_id[:19]})")
    return environment_version_to_run(store, version.ref), tag, True


def image_for_environment(store: Store, ref: str, on_log: Callable[[str], None]) -> tuple[EnvironmentVersion, str]:
    """The image to run `NAME[@N]` in, built first when missing."""
    version, tag, _ = _build(store, ref, on_log)
    return version, tag
