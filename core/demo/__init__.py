"""`taskbench demo`: the whole workflow on bundled data, from registering tasks to a leaderboard."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..errors import UsageError
from ..store import Store

PROJECT = "diabetes-demo"
DATA = "10k_diabetes.csv"
TARGET = "readmitted"

# Blueprints that use the sample tasks once they are registered (names from their metadata).
SAMPLE_BLUEPRINTS = {
    "sample-impute-clip-logreg": """
# blueprint: sample-impute-clip-logreg    target: binary
num     = transform_median_impute(NUM)
clipped = transform_clip_outliers(num)
model   = binary_module_hooks(clipped)
""",
    "sample-text-pipeline": """
# blueprint: sample-text-pipeline    target: binary
model = binary_text_pipeline(NUM, CAT, TXT)
""",
}

# Trained only where R is installed: Python transforms feeding the R sample task (15_binary_r_ridge_logistic).
R_BLUEPRINTS = {
    "sample-impute-clip-r-logistic": """
# blueprint: sample-impute-clip-r-logistic    target: binary
num     = transform_median_impute(NUM)
clipped = transform_clip_outliers(num)
model   = r_ridge_logistic(clipped)
""",
}


def find_samples(explicit: Path | None = None) -> Path:
    """The sample_tasks folder: the one given, ./sample_tasks, or the one beside the installed package."""
    candidates = [explicit] if explicit else [Path.cwd() / "sample_tasks", Path(__file__).resolve().parents[2] / "sample_tasks"]
    for folder in candidates:
        if folder and (folder / "data" / DATA).is_file():
            return folder.resolve()
    raise UsageError(
        "the demo needs the repository's sample_tasks folder (with data/10k_diabetes.csv); "
        "run it from the repository root or pass --samples DIR."
    )


def run_demo(
    store: Store, samples: Path, *, jobs: int, on_step: Callable[[str], None], on_event: Callable[[str, dict], None]
):
    """Register the sample tasks, create the project, train templates and sample blueprints; returns the leaderboard."""
    from ..blueprints.templates import templates_for
    from ..runtime.rtask import rscript
    from ..runtime.taskcode import task_language
    from ..tasks.versions import add_task
    from ..training.engine import BlueprintSource, leaderboard, train_blueprints
    from ..training.projects import create_project

    with_r = rscript() is not None
    folders = sorted(p for p in samples.iterdir() if p.is_dir() and task_language(p) is not None)
    if not with_r and any(task_language(p) == "r" for p in folders):
        on_step("R is not installed (no Rscript on PATH), so the R sample task and its blueprint are "
                "skipped")
    for folder in folders:
        if task_language(folder) == "r" and not with_r:
            continue
        version, created = add_task(store, folder)
        on_step(f"task {version.ref} {'registered' if created else 'already registered'} from {folder.name}")
    name = PROJECT
    suffix = 2
    while store.project(name):
        name = f"{PROJECT}-{suffix}"
        suffix += 1
    project, note = create_project(store, samples / "data" / DATA, target=TARGET, name=name)
    sizes = project.settings["partition_sizes"]
    on_step(f"project {project.name}: {note}; training {sizes['training']}, validation {sizes['validation']}, holdout {sizes['holdout']} (locked)")
    sources = [BlueprintSource(n, t, f"<template {n}>") for n, t in _templates(templates_for(project.target_type))]
    samples_used = {**SAMPLE_BLUEPRINTS, **(R_BLUEPRINTS if with_r else {})}
    sources += [BlueprintSource(n, t.strip() + "\n", f"<sample {n}>") for n, t in samples_used.items()]
    on_step(f"training {len(sources)} blueprints with --jobs {jobs}")
    train_blueprints(store, project.name, sources, jobs=jobs, on_event=on_event)
    return leaderboard(store, project.name)


def _templates(templates):
    if isinstance(templates, dict):
        return list(templates.items())
    return [t if isinstance(t, tuple) else (t.name, t.text) for t in templates]
