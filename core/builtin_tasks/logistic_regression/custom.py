"""Built-in estimator: logistic regression for binary and multiclass targets."""
from sklearn.linear_model import LogisticRegression

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

TASK = "logistic_regression"


def fit(X, y, output_dir, class_order=None, row_weights=None, parameters=None, **kwargs):
    """Fit scikit-learn's LogisticRegression (lbfgs; multinomial for several classes) with row weights."""
    columns = column_names(X)
    M = matrix(X)
    forbid_missing(M, columns, TASK)
    estimator = LogisticRegression(
        C=float(param(parameters, "C", 1.0)),
        max_iter=int(param(parameters, "max_iter", 1000)),
        class_weight=none_word(param(parameters, "class_weight", "none")),
    )
    state = fit_classifier(estimator, M, y, class_order, row_weights)
    save(output_dir, {"task": TASK, "columns": columns, **state})
    weights = "" if row_weights is None else ", weighted rows"
    print(f"{TASK}: C={estimator.C}, {len(columns)} columns, {M.shape[0]} rows, classes {state['class_order']}{weights}")


def predict_proba(X, model, **kwargs):
    """Return one probability column per class label, each row summing to 1."""
    columns = model["columns"]
    M = matrix(select_columns(X, columns, TASK))
    forbid_missing(M, columns, TASK)
    return probability_frame(model, M, len(X), kwargs)
