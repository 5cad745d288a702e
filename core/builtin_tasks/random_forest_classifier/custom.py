"""Built-in estimator: random forest for binary and multiclass targets."""
from sklearn.ensemble import RandomForestClassifier

from builtin_helpers import (
    column_names,
    fit_classifier,
    forbid_missing,
    matrix,
    none_word,
    param,
    probability_frame,
    save,
    select_columns,
)

TASK = "random_forest_classifier"


def _max_features(value):
    return None if value == "all" else value


def fit(X, y, output_dir, class_order=None, row_weights=None, parameters=None, **kwargs):
    """Fit RandomForestClassifier on one core (n_jobs=1: the engine runs trainings in parallel)."""
    columns = column_names(X)
    M = matrix(X)
    forbid_missing(M, columns, TASK)
    estimator = RandomForestClassifier(
        n_estimators=int(param(parameters, "n_estimators", 100)),
        max_depth=none_word(param(parameters, "max_depth", "none")),
        min_samples_leaf=int(param(parameters, "min_samples_leaf", 1)),
        max_features=_max_features(param(parameters, "max_features", "sqrt")),
        class_weight=none_word(param(parameters, "class_weight", "none")),
        random_state=int(param(parameters, "seed", 0)),
        n_jobs=1,
    )
    state = fit_classifier(estimator, M, y, class_order, row_weights)
    save(output_dir, {"task": TASK, "columns": columns, **state})
    print(f"{TASK}: {estimator.n_estimators} trees, {len(columns)} columns, {M.shape[0]} rows, classes {state['class_order']}")


def predict_proba(X, model, **kwargs):
    """Return one probability column per class label, each row summing to 1."""
    columns = model["columns"]
    M = matrix(select_columns(X, columns, TASK))
    forbid_missing(M, columns, TASK)
    return probability_frame(model, M, len(X), kwargs)
