"""Built-in estimator: histogram gradient boosting for binary and multiclass targets (missing values allowed)."""
from threadpoolctl import threadpool_limits
from sklearn.ensemble import HistGradientBoostingClassifier

from builtin_helpers import column_names, fit_classifier, matrix, none_word, param, probability_frame, save, select_columns

TASK = "gbm_classifier"

# One OpenMP thread, like n_jobs=1 for the forests: the engine runs trainings in parallel, and
# HistGradientBoosting's own threads mostly contend with each other on small data.
SINGLE_THREAD = 1


def fit(X, y, output_dir, class_order=None, row_weights=None, parameters=None, **kwargs):
    """Fit HistGradientBoostingClassifier; missing values are routed natively, no imputation needed."""
    columns = column_names(X)
    M = matrix(X, allow_sparse=False)
    estimator = HistGradientBoostingClassifier(
        learning_rate=float(param(parameters, "learning_rate", 0.1)),
        max_iter=int(param(parameters, "max_iter", 100)),
        max_leaf_nodes=int(param(parameters, "max_leaf_nodes", 31)),
        min_samples_leaf=int(param(parameters, "min_samples_leaf", 20)),
        l2_regularization=float(param(parameters, "regularization", 0.0)),
        early_stopping=False,
        class_weight=none_word(param(parameters, "class_weight", "none")),
        random_state=int(param(parameters, "seed", 0)),
    )
    with threadpool_limits(limits=SINGLE_THREAD):
        state = fit_classifier(estimator, M, y, class_order, row_weights)
    save(output_dir, {"task": TASK, "columns": columns, **state})
    print(
        f"{TASK}: {estimator.max_iter} iterations at learning rate {estimator.learning_rate}, "
        f"{len(columns)} columns, {M.shape[0]} rows, classes {state['class_order']}"
    )


def predict_proba(X, model, **kwargs):
    """Return one probability column per class label, each row summing to 1."""
    M = matrix(select_columns(X, model["columns"], TASK), allow_sparse=False)
    with threadpool_limits(limits=SINGLE_THREAD):
        return probability_frame(model, M, len(X), kwargs)
