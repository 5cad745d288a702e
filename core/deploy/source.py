"""What scoring needs from a trained model, wherever it lives: its plan, its artifact folder, and a description."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..runtime.contract import LOCAL_ENV



@dataclass(frozen=True)
class ModelSource:
    """A trained model ready to score: the plan (nodes, task folders), the folder holding `nodes/<node>/`, and facts."""

    plan: dict
    model_dir: Path
    info: dict = field(default_factory=dict)

    @property
    def target_type(self) -> str:
        return self.plan["target_type"]

    @property
    def local_only(self) -> bool:
        """Every node scores in this process: python-local, with no task requirements to install (deploy.workers)."""
        from ..environments.resolve import segment_environment

        return all(segment_environment(n) == LOCAL_ENV for n in self.plan["nodes"])

    def request(self) -> dict:
        """The plan as a scoring process reads it."""
        return {"plan": self.plan, "model_dir": str(self.model_dir)}


def model_source(store, model_ref: int | str, doing: str = "score with a model of") -> ModelSource:
    """A workspace model as a ModelSource, for a user who can read its project (`doing` names what is refused
    otherwise); a model that is not trained is a usage error."""
    from ..sharing import require_model

    model, project = require_model(store, model_ref, doing)
    return _trained_source(store, model, project)


def deployed_source(store, deployment) -> ModelSource:
    """A deployment's model as a ModelSource: using the deployment (checked by get_deployment) carries execute on
    its model, so the model's project needs no share of its own."""
    from ..training.engine import get_model

    model, project = get_model(store, deployment.model_id)
    return _trained_source(store, model, project)


def _trained_source(store, model, project) -> ModelSource:
    from ..training.engine import model_plan, unusable_model

    if (refusal := unusable_model(model, project, "score, deploy or export it")) is not None:
        raise refusal
    plan = model_plan(store, model, project)
    return ModelSource(plan, model.artifact_path, describe(plan, model=model.id, blueprint=model.blueprint,
                                                            blueprint_text=model.blueprint_text, project=project.name))


def describe(plan: dict, **facts) -> dict:
    """The facts `/info/` and packages show: target type, class labels, features, nodes."""
    features = list(dict.fromkeys(c for n in plan["nodes"] for cols in n["channels"].values() for c in cols))
    final = next(n for n in plan["nodes"] if n["name"] == plan["final"])
    return {
        **facts,
        "target_type": "transform" if final["kind"] == "transform" else plan["target_type"],
        "class_labels": plan.get("class_labels"),
        "features": features,
        "nodes": [{"name": n["name"], "task": n["task_ref"], "kind": n["kind"]} for n in plan["nodes"]],
    }


def folder_source(opts, model_dir: Path) -> ModelSource:
    """A fitted folder (custom.py beside its artifact, `drum server --code-dir`) as a ModelSource: the one-node plan
    `taskbench score` builds, its feature columns unknown until a request sends them (as in DRUM)."""
    from ..tasks.score import folder_facts, folder_plan

    code_dir, meta, target_type, labels = folder_facts(opts)
    plan = folder_plan(code_dir, meta, target_type, labels, model_dir, [])
    info = {"code_dir": str(code_dir), "target_type": target_type, "class_labels": labels, "features": None,
            "nodes": [{"name": "task", "task": str(code_dir), "kind": plan["nodes"][0]["kind"]}]}
    return ModelSource(plan, model_dir, info)


def folder_scorer(source: ModelSource, scratch_dir: str):
    """A PlanScorer for a fitted folder that feeds the task whatever columns each request sends."""
    from ..runtime.serving import PlanScorer, fed_all

    class FolderScorer(PlanScorer):
        def score(self, frame):
            return super().score(fed_all(self.nodes[0], frame))

    return FolderScorer(source.plan, source.model_dir, scratch_dir)
