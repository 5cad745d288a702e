"""Built-in estimator: extremely randomised trees on target- and frequency-encoded categories, binary and multiclass."""
from sklearn.ensemble import ExtraTreesClassifier

from builtin_helpers import (
    StepWeights,
    column_names,
    encoded_trees,
    encoding_note,
    fit_classifier,
    frequency_tables,
    matrix,
    none_word,
    param,
    probability_frame,
    save,
    select_columns,
    with_frequencies,
)

TASK = "extra_trees_classifier"


def fit(X, y, output_dir, class_order=None, row_weights=None, parameters=None, **kwargs):
    """Fit the trees on one core; `ordinal__` columns are categories, encoded by their target rate and frequency."""
    columns = column_names(X)
    M = matrix(X, allow_sparse=False)
    seed = int(param(parameters, "seed", 0))
    trees = ExtraTreesClassifier(
        n_estimators=int(param(parameters, "n_estimators", 300)),
        min_samples_leaf=int(param(parameters, "min_samples_leaf", 5)),
        max_features=float(param(parameters, "max_features", 0.3)),
        class_weight=none_word(param(parameters, "class_weight", "none")),
        random_state=seed,
        n_jobs=1,
    )
    frequencies = frequency_tables(M, columns) if str(param(parameters, "frequency", "true")) == "true" else []
    pipeline = encoded_trees(trees, columns, param(parameters, "categorical", "target"), seed)
    state = fit_classifier(StepWeights(pipeline, "trees"), with_frequencies(M, frequencies), y, class_order, row_weights)
    if state["estimator"] is not None:
        state["estimator"] = pipeline
    save(output_dir, {"task": TASK, "columns": columns, "frequencies": frequencies, **state})
    print(f"{TASK}: {trees.n_estimators} trees, {len(columns)} columns ({encoding_note(pipeline, frequencies)}), "
          f"{M.shape[0]} rows, classes {state['class_order']}")


def predict_proba(X, model, **kwargs):
    """Return one probability column per class label, each row summing to 1."""
    M = matrix(select_columns(X, model["columns"], TASK), allow_sparse=False)
    return probability_frame(model, with_frequencies(M, model["frequencies"]), len(X), kwargs)
