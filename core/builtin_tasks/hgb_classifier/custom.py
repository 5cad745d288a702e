"""Built-in estimator: histogram gradient boosting with early stopping and encoded categories, binary and multiclass."""
from threadpoolctl import threadpool_limits
from sklearn.ensemble import HistGradientBoostingClassifier

from builtin_helpers import (
    boosting_pipeline,
    boosting_summary,
    column_names,
    fit_classifier,
    matrix,
    none_word,
    param,
    probability_frame,
    save,
    select_columns,
    StepWeights,
)

TASK = "hgb_classifier"
SINGLE_THREAD = 1  # training parallelism is the engine's job, as for gbm_classifier


def fit(X, y, output_dir, class_order=None, row_weights=None, parameters=None, **kwargs):
    """Fit the boosting pipeline; `ordinal__` columns are categories, missing values are routed natively."""
    columns = column_names(X)
    M = matrix(X, allow_sparse=False)
    booster = HistGradientBoostingClassifier(
        learning_rate=float(param(parameters, "learning_rate", 0.05)),
        max_iter=int(param(parameters, "max_iter", 1000)),
        max_leaf_nodes=int(param(parameters, "max_leaf_nodes", 15)),
        min_samples_leaf=int(param(parameters, "min_samples_leaf", 40)),
        l2_regularization=float(param(parameters, "regularization", 0.0)),
        n_iter_no_change=int(param(parameters, "n_iter_no_change", 20)),
        validation_fraction=float(param(parameters, "validation_fraction", 0.1)),
        class_weight=none_word(param(parameters, "class_weight", "none")),
        random_state=int(param(parameters, "seed", 0)),
    )
    pipeline, early = boosting_pipeline(
        booster, M, columns, param(parameters, "categorical", "target"), param(parameters, "early_stopping", "auto")
    )
    with threadpool_limits(limits=SINGLE_THREAD):
        state = fit_classifier(StepWeights(pipeline, "booster"), M, y, class_order, row_weights)
    if state["estimator"] is not None:
        state["estimator"] = pipeline
    save(output_dir, {"task": TASK, "columns": columns, **state})
    summary = boosting_summary(pipeline, early, columns, M.shape[0]) if state["estimator"] is not None else "one class"
    print(f"{TASK}: {summary}, classes {state['class_order']}")


def predict_proba(X, model, **kwargs):
    """Return one probability column per class label, each row summing to 1."""
    M = matrix(select_columns(X, model["columns"], TASK), allow_sparse=False)
    with threadpool_limits(limits=SINGLE_THREAD):
        return probability_frame(model, M, len(X), kwargs)
