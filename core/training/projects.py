"""Projects (SPEC §5): a data set copied into the workspace, its target, and a fixed partitioning.

The data is stored as Parquet and the partition as one small integer per row
(-1 holdout, 0…K-1 folds; fold 0 is validation), both written under a
temporary name and renamed, so a project row never points at a half file.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Callable

from .. import sharing, workspace
from ..errors import UsageError
from ..store import Project, ProjectExists, Store
from ..store.files import write_bytes_atomic
from ..runtime import contract

HOLDOUT = -1
MAX_MULTICLASS = 100


def _read(path: Path, encoding: str | None = None):
    from ..runtime.data import read_table
    from ..runtime.errors import StepFailure

    try:
        return read_table(str(path), encoding=encoding)
    except StepFailure as exc:
        raise UsageError(exc.message) from None


def infer_target_type(y) -> tuple[str, str]:
    """The target type for a target column and the reason, in words the user sees."""
    import pandas as pd

    distinct = y.nunique(dropna=True)
    if distinct == 2:
        return contract.BINARY, f"two distinct values ({', '.join(map(str, sorted(y.dropna().unique(), key=str)))})"
    numeric = pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y)
    if numeric:
        return contract.REGRESSION, f"numbers with {distinct} distinct values (pass --target-type multiclass for labels)"
    if distinct <= MAX_MULTICLASS:
        return contract.MULTICLASS, f"{distinct} repeated labels"
    raise UsageError(
        f"the target has {distinct} distinct non-numeric values, too many for classification; "
        "pick another column or pass --target-type."
    )


ID_MIN_ROWS = 20


def id_like(column, kind: str) -> bool:
    """Whether a column identifies rows rather than describing them, so learning from it is leakage or noise:
    one distinct value per row (nothing missing), and either whole numbers forming a near-sequence (their span at most
    twice the row count) or strings without spaces (free text, read as TXT, is never id-like)."""
    import pandas as pd

    n = len(column)
    if n < ID_MIN_ROWS or column.isna().any() or column.nunique() != n:
        return False
    if pd.api.types.is_bool_dtype(column):
        return False
    if pd.api.types.is_integer_dtype(column):
        return int(column.max()) - int(column.min()) + 1 <= 2 * n
    if pd.api.types.is_float_dtype(column):
        whole = (column % 1 == 0).all()
        return bool(whole) and int(column.max()) - int(column.min()) + 1 <= 2 * n
    if kind == "TXT":
        return False
    text = column.astype(str)
    return not text.str.contains(r"\s", regex=True).any()


def partition_rows(y, target_type: str, holdout: float, folds: int, seed: int):
    """One int8 per row: -1 for holdout, else the fold (0 = validation); stratified for classification."""
    import numpy as np
    from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

    n = len(y)
    index = np.arange(n)
    stratify = y if target_type in contract.CLASSIFICATION_TYPES else None
    parts = np.zeros(n, dtype="int8")
    if holdout > 0:
        rest, held = train_test_split(index, test_size=holdout, random_state=seed, stratify=stratify)
        parts[held] = HOLDOUT
    else:
        rest = index
    splitter = (
        StratifiedKFold(folds, shuffle=True, random_state=seed)
        if stratify is not None
        else KFold(folds, shuffle=True, random_state=seed)
    )
    labels = None if stratify is None else np.asarray(y)[rest]
    for fold, (_, chosen) in enumerate(splitter.split(rest, labels)):
        parts[rest[chosen]] = fold
    return parts


def create_project(
    store: Store,
    data: Path,
    *,
    target: str | None,
    target_type: str | None = None,
    weights: str | None = None,
    positive_class: str | None = None,
    holdout: float = 0.2,
    folds: int = 5,
    seed: int = 0,
    name: str | None = None,
    encoding: str | None = None,
    keep_columns: list[str] | tuple[str, ...] = (),
    on_step: Callable[[str], None] | None = None,
) -> tuple[Project, str]:
    """Copy the data in, infer or check the target type, partition it; returns the project and the inference note.

    Id-like columns (see `id_like`) are left out of the features unless named in `keep_columns`; the project's
    settings record them under "excluded". `on_step` hears each slow step ("reading …", "partitioning", …)."""
    step = on_step or (lambda text: None)
    import numpy as np

    from ..runtime.checks import column_types, normalize_label
    from ..runtime.data import class_order
    from ..runtime.errors import StepFailure

    data = Path(data).expanduser().resolve()
    if not data.is_file():
        from ..runtime.data import not_a_file  # pandas loads only on this path

        raise UsageError(not_a_file(str(data), "data file"))
    if not 0 <= holdout < 0.9:
        raise UsageError(f"--holdout {holdout} must be a share between 0 and 0.9, such as 0.2.")
    if not 2 <= folds <= 20:
        raise UsageError(f"--folds {folds} must be between 2 and 20.")
    name = name or data.stem
    if store.project(name):
        raise UsageError(f"a project named {name!r} already exists; pass --name to choose another.")
    step(f"reading {data.name}")
    frame = _read(data, encoding)
    step(f"checking {len(frame):,} rows")
    from ..runtime.data import _pick_column  # the same "did you mean" as the fit check

    try:
        if target is not None:
            _pick_column(frame, target, "target", "--target")
        if weights is not None:
            _pick_column(frame, weights, "weights", "--weights")
    except StepFailure as exc:
        raise UsageError(exc.message) from None
    for column in keep_columns:
        if column not in frame.columns:
            raise UsageError(f"--keep-column {column!r} is not a column of {data.name}.")
    kept = [str(c) for c in frame.columns if c not in (target, weights)]
    if not kept:
        besides = " and ".join(repr(c) for c in (target, weights) if c)
        raise UsageError(
            f"{data.name} has no feature columns besides {besides}; a project needs at least one column to learn from."
            if besides else f"{data.name} has no columns; give a CSV with a header row and data."
        )
    if target is not None and frame[target].isna().any():
        raise UsageError(f"the target {target!r} has {int(frame[target].isna().sum())} missing values; drop those rows first.")

    if target is None:
        if target_type not in (None, contract.ANOMALY):
            raise UsageError(f"a {target_type} project needs --target.")
        target_type, note = contract.ANOMALY, "no target column, so anomaly detection"
    elif target_type is None:
        target_type, reason = infer_target_type(frame[target])
        note = f"target {target!r}: {target_type}, inferred from {reason}"
    else:
        if target_type not in contract.ESTIMATOR_TYPES or target_type == contract.ANOMALY:
            raise UsageError(f"--target-type must be binary, multiclass or regression with a target, not {target_type!r}.")
        note = f"target {target!r}: {target_type}, as given"

    labels = None
    if target_type in contract.CLASSIFICATION_TYPES:
        try:
            labels = class_order(frame[target], target_type, None, positive_class, None)
        except StepFailure as exc:
            raise UsageError(exc.message) from None
        if target_type == contract.BINARY:
            note += f"; positive class {labels[1]!r}"
    elif positive_class is not None:
        raise UsageError("--positive-class applies to binary projects only.")
    if target_type == contract.REGRESSION:
        import pandas as pd

        if not pd.api.types.is_numeric_dtype(frame[target]):
            raise UsageError(f"a regression target must be numeric, but {target!r} holds text.")

    y = frame[target] if target else np.zeros(len(frame))
    strat = y.map(normalize_label) if labels is not None else y
    min_class = strat.value_counts().min() if labels is not None else None
    if min_class is not None and min_class < folds + 1:
        raise UsageError(
            f"the rarest class has {min_class} rows, too few for {folds} folds and a holdout; use fewer --folds."
        )
    step("partitioning")
    parts = partition_rows(strat, target_type, holdout, folds, seed)
    features = frame.drop(columns=[c for c in (target, weights) if c])
    types = column_types(features)
    excluded = {c: "id-like" for c in features.columns if str(c) not in keep_columns and id_like(features[c], types[c])}
    if len(excluded) == len(types):
        excluded = {}  # a project needs something to learn from: keep them all rather than none
    types = {c: kind for c, kind in types.items() if c not in excluded}
    import pandas as pd

    for column, kind in types.items():
        if kind == "NUM" and not pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = pd.to_numeric(frame[column], errors="coerce")  # numbers that arrived as text
            features[column] = frame[column]
    channels: dict[str, list[str]] = {}
    for column, kind in types.items():
        channels.setdefault(kind, []).append(column)
    settings = {
        "holdout": holdout,
        "folds": folds,
        "seed": seed,
        "weights": weights,
        "class_labels": labels,
        "channels": channels,
        "excluded": {str(c): why for c, why in excluded.items()},
        "missing": {kind: bool(features[cols].isna().to_numpy().any()) for kind, cols in channels.items()},
        "inference": note,
        "partition_sizes": {
            "training": int((parts >= 1).sum()),
            "validation": int((parts == 0).sum()),
            "holdout": int((parts == HOLDOUT).sum()),
        },
    }
    step("writing the project")
    objects = store.root / workspace.PROJECT_OBJECTS
    objects.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    frame.columns = [str(c) for c in frame.columns]
    frame.to_parquet(buffer, index=False)
    payload = buffer.getvalue()
    digest = hashlib.sha256(payload).hexdigest()[:16]
    data_path = objects / f"{digest}.parquet"
    part_buffer = io.BytesIO()
    np.save(part_buffer, parts)
    part_payload = part_buffer.getvalue()
    # Named by content too: the same data under another target or target type is partitioned differently.
    part_digest = hashlib.sha256(part_payload).hexdigest()[:12]
    partition_path = objects / f"{digest}-partition-{holdout}-{folds}-{seed}-{part_digest}.npy"
    files = {data_path: payload, partition_path: part_payload}

    def ensure_files() -> None:
        for path, content in files.items():
            if not path.exists():
                write_bytes_atomic(path, content)

    try:
        ensure_files()  # outside the write lock: a large file must not hold up other writers
        # and again inside the insert's transaction: a losing creator may have removed a file
        # nobody referenced yet, between the write above and the insert
        project = store.add_project(
            name=name,
            data_path=data_path,
            partition_path=partition_path,
            source=str(data),
            rows=len(frame),
            target=target,
            target_type=target_type,
            settings=settings,
            before_insert=ensure_files,
        )
    except ProjectExists:
        store.remove_unreferenced_files(list(files))
        raise UsageError(f"a project named {name!r} already exists; pass --name to choose another.") from None
    except BaseException:
        try:  # nothing half-made stays behind: files no project points to go
            store.remove_unreferenced_files(list(files))
        except Exception:  # noqa: BLE001 - the first failure (a full disk, say) is the one to report
            pass
        raise
    return project, note


def get_project(store: Store, name: str) -> Project:
    project = store.project(name)
    if project is None:
        known = [p.name for p in store.list_projects()]
        hint = f" Projects: {', '.join(known)}." if known else " Create one with `taskbench project create DATA --target COL`."
        raise UsageError(f"there is no project named {name!r} in workspace {store.root} (choose another with --home).{hint}")
    return project


def list_projects(store: Store) -> list[Project]:
    return store.list_projects()


def unlock(store: Store, name: str) -> Project:
    """Unlock a project's holdout for good; returns the project (already unlocked projects stay as they were)."""
    project = get_project(store, name)
    sharing.require(store, "project", project.name, "write", "unlock the holdout of")
    return store.unlock_holdout(project.id)


def project_json(project: Project) -> dict:
    """The fixed JSON form of SPEC §11: name, target type and partition sizes (and a little more)."""
    s = project.settings
    return {
        "name": project.name,
        "target": project.target,
        "target_type": project.target_type,
        "rows": project.rows,
        "partitions": s["partition_sizes"],
        "folds": s["folds"],
        "seed": s["seed"],
        "class_labels": s["class_labels"],
        "channels": {k: len(v) for k, v in s["channels"].items()},
        "excluded": sorted(s.get("excluded") or {}),
        "inference": s["inference"],
        "holdout_unlocked": project.holdout_unlocked,
        "source": project.source,
        "created_by": project.created_by,
    }



