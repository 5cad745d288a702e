"""Built-in estimator: logistic regression for binary and multiclass targets."""
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold

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
C_GRID = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0]  # searched when C_search is cv: inner 3-fold log loss on the training rows


def fit(X, y, output_dir, class_order=None, row_weights=None, parameters=None, **kwargs):
    """Fit scikit-learn's LogisticRegression (lbfgs; multinomial for several classes) with row weights.

    With C_search=cv, LogisticRegressionCV chooses C from C_GRID (needs 3 rows of each class)."""
    columns = column_names(X)
    M = matrix(X)
    forbid_missing(M, columns, TASK)
    max_iter = int(param(parameters, "max_iter", 1000))
    class_weight = none_word(param(parameters, "class_weight", "none"))
    search = str(param(parameters, "C_search", "none")) == "cv" and pd.Series(y).value_counts().min() >= 3
    if search:
        estimator = LogisticRegressionCV(
            Cs=C_GRID, cv=StratifiedKFold(3, shuffle=True, random_state=0), scoring="neg_log_loss",
            max_iter=max_iter, class_weight=class_weight, l1_ratios=(0,), use_legacy_attributes=False,
        )
    else:
        estimator = LogisticRegression(C=float(param(parameters, "C", 1.0)), max_iter=max_iter, class_weight=class_weight)
    state = fit_classifier(estimator, M, y, class_order, row_weights)
    searched = search and state["estimator"] is not None
    chosen = f"C={float(np.ravel(estimator.C_)[0]):g} chosen by inner 3-fold log loss" if searched else f"C={estimator.C}"
    save(output_dir, {"task": TASK, "columns": columns, **state})
    weights = "" if row_weights is None else ", weighted rows"
    print(f"{TASK}: {chosen}, {len(columns)} columns, {M.shape[0]} rows, classes {state['class_order']}{weights}")


def predict_proba(X, model, **kwargs):
    """Return one probability column per class label, each row summing to 1."""
    columns = model["columns"]
    M = matrix(select_columns(X, columns, TASK))
    forbid_missing(M, columns, TASK)
    return probability_frame(model, M, len(X), kwargs)
