"""Blenders (SPEC §7): one blueprint that merges trained models' blueprints and feeds their estimators to a final one.

Each member's nodes are renamed `mN_NODE` (N its model number) so the graphs stay apart while sharing the
project's channels; transforms the members share come from the fitted-step cache. An estimator feeding
another node passes out-of-fold predictions on the training rows (runtime/pipeline.py), so the stacked
blender's linear estimator learns from predictions its members made on rows they never saw.
"""

from __future__ import annotations

from dataclasses import replace

from ..errors import UsageError
from ..runtime.contract import BINARY, MULTICLASS, REGRESSION
from ..store import Model, Project, Store
from .engine import BlueprintSource, get_model

AVERAGE = "avg"
STACK = "stack"
KINDS = (AVERAGE, STACK)

# The final estimator of a stacked blender per target type: linear, lightly regularised.
STACKERS = {BINARY: "logistic_regression", MULTICLASS: "logistic_regression", REGRESSION: "ridge"}


def blend_name(kind: str, model_ids: list[int]) -> str:
    """The leaderboard label of a blender: what it does and which models it blends, e.g. `blend-avg-#3-#5-#7`."""
    return f"blend-{kind}-" + "-".join(f"#{m}" for m in model_ids)


def merged_nodes(models: list[Model]) -> tuple[list[str], dict, list[str]]:
    """The members' nodes as blueprint lines under prefixed names, their pins under those names, and the name of
    each member's final estimator."""
    from ..blueprints.syntax import parse_blueprint, render_node

    lines, pins, finals = [], {}, []
    for model in models:
        prefix = f"m{model.id}_"
        bp = parse_blueprint(model.blueprint_text, f"model {model.id}")
        names = {node.name for node in bp.nodes}
        for node in bp.needed():
            inputs = tuple(prefix + i if i in names else i for i in node.inputs)
            lines.append(render_node(replace(node, name=prefix + node.name, inputs=inputs, comment=None)))
            if node.name in (model.resolved or {}):
                pins[prefix + node.name] = model.resolved[node.name]
        finals.append(prefix + bp.final.name)
    return lines, pins, finals


def blend_source(models: list[Model], kind: str, target_type: str) -> BlueprintSource:
    """The blueprint of an averaging (`avg`) or stacked linear (`stack`) blender of `models`."""
    if kind not in KINDS:
        raise UsageError(f"there is no blender {kind!r}; use one of {', '.join(KINDS)}.")
    if target_type not in STACKERS:
        raise UsageError(f"blenders combine estimators' predictions, which {target_type} models do not give.")
    if len(models) < 2:
        raise UsageError("a blender needs at least two trained models.")
    models = sorted(models, key=lambda m: m.id)
    name = blend_name(kind, [m.id for m in models])
    lines, pins, finals = merged_nodes(models)
    task = "average_blend" if kind == AVERAGE else STACKERS[target_type]
    what = ("the average of the predictions of" if kind == AVERAGE
            else f"{task} on the out-of-fold predictions of")
    header = [f"# blueprint: {name.replace('#', '')}    target: {target_type}",
              f"# {what} models {', '.join(str(m.id) for m in models)}"]
    text = "\n".join(header + lines + [f"model = {task}({', '.join(finals)})"]) + "\n"
    return BlueprintSource(name, text, f"<blender {name}>", pins=pins)


def blend_models(store: Store, project: Project, model_ids: list[int | str], kind: str) -> BlueprintSource:
    """A blender of trained models of `project`, checked to be blendable (trained, of this project, distinct)."""
    from .engine import unusable_model

    models = []
    for ref in model_ids:
        model, of = get_model(store, ref)
        if of.id != project.id:
            raise UsageError(f"model {model.id} is not a model of the project {project.name!r}; blend models of one project.")
        problem = unusable_model(model, project, "blend it")
        if problem is not None:
            raise problem
        if model.id not in {m.id for m in models}:
            models.append(model)
    return blend_source(models, kind, project.target_type)
