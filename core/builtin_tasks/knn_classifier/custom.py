"""Built-in estimator: k-nearest neighbours for binary and multiclass targets."""
from threadpoolctl import threadpool_limits
from sklearn.neighbors import KNeighborsClassifier

from builtin_helpers import column_names, fit_classifier, forbid_missing, matrix, param, probability_frame, save, select_columns

TASK = "knn_classifier"

# One thread for the neighbour search: with several, the BLAS distance computation and the
# tie-breaking between equally distant neighbours can depend on how many rows are scored at
# once, so a row could get other neighbours in a sample than in the full data.
SINGLE_THREAD = 1


def fit(X, y, output_dir, class_order=None, row_weights=None, parameters=None, **kwargs):
    """Store the training rows in a KNeighborsClassifier (row weights cannot be used: it has no sample_weight)."""
    columns = column_names(X)
    M = matrix(X)
    forbid_missing(M, columns, TASK)
    k = max(1, min(int(param(parameters, "n_neighbors", 5)), M.shape[0]))
    estimator = KNeighborsClassifier(n_neighbors=k, weights=param(parameters, "weights", "uniform"), n_jobs=1)
    state = fit_classifier(estimator, M, y, class_order, row_weights, weighted=False)
    save(output_dir, {"task": TASK, "columns": columns, **state})
    note = "; row weights ignored (k-nearest neighbours has no sample weights)" if row_weights is not None else ""
    print(f"{TASK}: k={k} ({estimator.weights}), {len(columns)} columns, {M.shape[0]} rows, classes {state['class_order']}{note}")


def predict_proba(X, model, **kwargs):
    """Return one probability column per class label (neighbour votes), each row summing to 1."""
    columns = model["columns"]
    M = matrix(select_columns(X, columns, TASK))
    forbid_missing(M, columns, TASK)
    with threadpool_limits(limits=SINGLE_THREAD):
        return probability_frame(model, M, len(X), kwargs)
