"""`taskbench score`: DRUM's `drum score` on a fitted folder (task code and its artifact side by side).

The folder is loaded the way scoring always loads a task (`load`, `load_model`,
or its one native artifact, SPEC §2.3) in a worker process, never in this one,
and the rows are scored with the same output rules as the fit check. The result
is the frame `drum score` writes: one column per class label, `Predictions`, or
a transform's columns.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .. import workspace
from ..errors import TaskbenchError, UsageError, not_a_folder
from ..runtime import contract
from ..runtime.taskcode import find_custom_files
from .hookscan import may_define
from .metadata import load_metadata


@dataclass
class ScoreOptions:
    """The `taskbench score` flags, as in `drum score`."""

    code_dir: Path
    input: Path
    target_type: str | None = None
    class_labels: list[str] | None = None
    positive_class_label: str | None = None
    negative_class_label: str | None = None
    sparse_column_file: Path | None = None
    encoding: str | None = None
    home: Path | None = None


def task_folder(code_dir: Path) -> Path:
    """The fitted folder, refused with one sentence when it is not a Python task folder."""
    code_dir = Path(code_dir).expanduser()
    if not code_dir.is_dir():
        raise UsageError(f"--code-dir {not_a_folder(code_dir, 'the task folder that holds custom.py and its artifact')}")
    found = find_custom_files(str(code_dir))
    if not found:
        raise UsageError(f"{code_dir} has no custom.py or custom.R, so it is not a task folder; point --code-dir at one.")
    if len(found) != 1 or os.path.dirname(found[0]):
        raise UsageError(f"{code_dir} holds task files other than one at its top ({', '.join(found)}); keep exactly one, at the top.")
    return code_dir.resolve()


def remember_fit(output_dir: Path, target_type: str, labels: list | None, target: str | None) -> None:
    """Write what `fit --output` knew into the fitted folder's model-metadata.yaml, where `drum score` and
    `drum server` read it (`targetType`, and `inferenceModel`'s class labels and target name), so that score and
    serve --code-dir need no flags. A metadata file that already says it, or is not a plain mapping, is left alone."""
    import yaml

    existing = [output_dir / name for name in contract.METADATA_FILES if (output_dir / name).is_file()]
    path = existing[0] if existing else output_dir / contract.METADATA_FILES[0]
    text = path.read_text(encoding="utf-8") if existing else f"name: {output_dir.name}\ntype: training\n"
    try:
        before = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        return
    if not isinstance(before, dict) or "inferenceModel" in before:
        return
    facts: dict = {}
    if target:
        facts["targetName"] = str(target)
    if labels and target_type == contract.BINARY:
        facts["negativeClassLabel"], facts["positiveClassLabel"] = (str(label) for label in labels)
    elif labels and target_type == contract.MULTICLASS:
        facts["classLabels"] = [str(label) for label in labels]
    added = {} if "targetType" in before else {"targetType": target_type}
    if facts:
        added["inferenceModel"] = facts
    if not added:
        return
    block = yaml.safe_dump(added, sort_keys=False, allow_unicode=True, default_flow_style=False)
    joined = text + ("" if not text or text.endswith("\n") else "\n") + "# written by taskbench fit --output, as DRUM reads it\n" + block
    try:
        if yaml.safe_load(joined) != {**before, **added}:
            return
    except yaml.YAMLError:
        return
    path.write_text(joined, encoding="utf-8")


def remembered_labels(meta) -> list[str] | None:
    """The class labels a fitted folder's model-metadata.yaml names under `inferenceModel` (negative first), if any."""
    import yaml

    if not meta.path:
        return None
    try:
        facts = (yaml.safe_load(Path(meta.path).read_text(encoding="utf-8")) or {}).get("inferenceModel") or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError, AttributeError):
        return None
    if not isinstance(facts, dict):
        return None
    if facts.get("negativeClassLabel") is not None and facts.get("positiveClassLabel") is not None:
        return [str(facts["negativeClassLabel"]), str(facts["positiveClassLabel"])]
    labels = facts.get("classLabels")
    return [str(label) for label in labels] if isinstance(labels, list) and labels else None


def class_labels(opts: ScoreOptions, target_type: str, remembered: list[str] | None = None) -> list[str] | None:
    """The class labels `drum score` needs for classification: --class-labels, the two binary flags, or (as DRUM
    does) those the fitted folder's model-metadata.yaml names."""
    if target_type not in contract.CLASSIFICATION_TYPES:
        return None
    if opts.class_labels:
        labels = list(opts.class_labels)
        if target_type == contract.BINARY and len(labels) != 2:
            raise UsageError(f"binary scoring takes two --class-labels (negative first), not {len(labels)}.")
        return labels
    if opts.positive_class_label is not None and opts.negative_class_label is not None:
        if target_type != contract.BINARY:
            raise UsageError("--positive-class-label/--negative-class-label are for binary; give multiclass labels with --class-labels.")
        return [opts.negative_class_label, opts.positive_class_label]
    if remembered and (target_type != contract.BINARY or len(remembered) == 2):
        return remembered
    if target_type == contract.BINARY:
        raise UsageError("binary scoring needs the class labels: pass --positive-class-label and --negative-class-label (as for drum score).")
    raise UsageError("multiclass scoring needs the class labels: pass --class-labels A B C (as for drum score).")


def fitted(code_dir: Path) -> bool:
    """False when the folder certainly holds no artifact scoring could load: a CustomTask class with the DRUM
    interface's load and no drum_artifact.pkl, or hooks without load_model and no native artifact file (.pkl,
    .joblib, .pth, .h5); True otherwise (the loaded task decides)."""
    from .hookscan import default_loader

    loader = default_loader(code_dir)
    if loader == "class":  # DRUM's interface pickles to drum_artifact.pkl; a class without one, to artifact.pkl
        return (code_dir / DRUM_ARTIFACT).is_file() or (code_dir / contract.CLASS_ARTIFACT).is_file()
    if loader == "module":
        return any(p.is_file() and p.name.endswith(contract.NATIVE_EXTENSIONS) for p in code_dir.iterdir())
    return True


DRUM_ARTIFACT = "drum_artifact.pkl"  # what the DRUM interface's save writes and its load reads (the shim's too)


def folder_facts(opts: ScoreOptions):
    """The fitted folder, its metadata, target type and class labels, each refused with one sentence when wrong."""
    from .fitcheck import resolve_target_type

    code_dir = task_folder(opts.code_dir)
    if not fitted(code_dir):
        raise UsageError(f"{code_dir} holds no fitted artifact; fit it first: taskbench fit --code-dir {code_dir} "
                         "--input DATA --target COL --output FITTED, then pass --code-dir FITTED.")
    meta = load_metadata(code_dir)  # a MetadataError is a UsageError: FILE:LINE:COL: sentence, exit 2
    target_type = resolve_target_type(opts.target_type, meta)
    return code_dir, meta, target_type, class_labels(opts, target_type, remembered_labels(meta))


def folder_plan(code_dir: Path, meta, target_type: str, labels, model_dir: Path, columns: list[str]) -> dict:
    """The one-node plan that scores a fitted folder: `model_dir/nodes/task` is the folder itself (code and
    artifact at once, as in DRUM), fed the `columns` given."""
    from .fitcheck import schema_payload

    (model_dir / "nodes").mkdir(parents=True)
    os.symlink(code_dir, model_dir / "nodes" / "task")
    node = {
        "name": "task",
        "kind": "transform" if target_type == contract.TRANSFORM else "estimator",
        "task_dir": str(code_dir),
        "channels": {"ALL": list(columns)},
        "inputs": ["ALL"],
        "output_requirements": schema_payload(meta)["output_requirements"],
    }
    return {"target_type": target_type, "class_labels": labels, "final": "task", "nodes": [node]}


def score_folder(opts: ScoreOptions, on_output: Callable[[bytes], None] | None = None):
    """Score `opts.input` with the fitted folder in a worker; returns the frame `drum score` would write."""
    from ..runners.base import WorkerSpec, ready
    from ..runners.start import start_worker
    from ..runtime import errors as runtime_errors
    from ..runtime.data import not_a_file, read_table
    from ..runtime.serving import WorkerSegment

    code_dir, meta, target_type, labels = folder_facts(opts)
    input_path = Path(opts.input).expanduser()
    if input_path.is_dir():
        raise UsageError(not_a_file(str(input_path)))
    sparse_columns = str(opts.sparse_column_file) if opts.sparse_column_file else None
    raw = None  # DRUM's read_input_data gets the file's bytes in the worker, in place of the reader here
    if may_define(code_dir, contract.Hooks.READ_INPUT_DATA):
        if not input_path.is_file():
            raise UsageError(not_a_file(str(input_path), "input file"))
        raw = {"path": str(input_path.resolve()), "sparse_columns": sparse_columns, "encoding": opts.encoding}
        frame = None
    else:
        try:
            frame = read_table(str(input_path), sparse_columns, opts.encoding)
        except runtime_errors.StepFailure as exc:
            raise UsageError(exc.message) from None

    root = workspace.home(opts.home)
    scratch = workspace.scratch_dir(root, "score")
    worker = None
    try:
        model_dir = scratch / "model"
        plan = folder_plan(code_dir, meta, target_type, labels, model_dir, [] if raw else [str(c) for c in frame.columns])
        node = plan["nodes"][0]
        spec = WorkerSpec(
            on_output=on_output or _to_stderr,
            read_only=[code_dir],
            writable=[scratch],
            network=bool(meta.network),
        )
        worker = ready(start_worker(spec, python=_python(code_dir, root)))
        if frame is not None:
            frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
        segment = WorkerSegment(worker, contract.LOCAL_ENV, 0, plan, [node], str(model_dir), str(scratch), ["task"])
        outputs: dict = {}
        segment.run(frame, outputs, raw=raw)
        worker.close()  # done: asked to exit, so its last output lands
        worker = None
        return outputs["task"]
    except runtime_errors.StepFailure as exc:  # the task's failure, or the rows' (exit 1, 2 or 3 as in the fit check)
        raise TaskbenchError(exc.message, details=exc.details, exit_code=exc.exit_code) from None
    finally:
        if worker is not None:  # a failure or Ctrl-C: killed, since asking a busy worker to exit waits 10 s
            worker.kill()
        shutil.rmtree(scratch, ignore_errors=True)


def _python(code_dir: Path, root: Path) -> str | None:
    """The Python that runs the task: this one, or a cached virtual environment with its requirements.txt."""
    from ..environments.resolve import resolve_environment, with_requirements

    requirements = code_dir / contract.REQUIREMENTS_FILE
    text = requirements.read_text(errors="replace") if requirements.is_file() else ""
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731 - pip's progress, as predict shows it
    return with_requirements(resolve_environment(None, None, log), text, root, log, code_dir=code_dir).python


def _to_stderr(chunk: bytes) -> None:
    sys.stderr.buffer.write(chunk)
    sys.stderr.flush()
