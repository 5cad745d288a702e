"""Binary classifier written with DRUM's class interface: fit keeps the estimator on ``self``.

The engine pickles the whole instance to artifact.pkl after fit and unpickles it for scoring.
"""
import pandas as pd
from sklearn.ensemble import ExtraTreesClassifier

from datarobot_drum.custom_task_interfaces import BinaryEstimatorInterface


class CustomTask(BinaryEstimatorInterface):
    def fit(self, X, y, row_weights=None, parameters=None, **kwargs):
        """Train an extra-trees classifier with the ``criterion`` hyperparameter and optional row weights."""
        criterion = (parameters or {}).get("criterion", "gini")
        self.estimator = ExtraTreesClassifier(n_estimators=200, criterion=criterion, min_samples_leaf=2, random_state=0)
        self.estimator.fit(X, y, sample_weight=row_weights)
        classes = list(self.estimator.classes_)
        print(f"binary_class_interface: {criterion} extra-trees on {len(X)} rows, classes {classes}")

    def predict_proba(self, data, **kwargs):
        """Return one column per class, named by the labels the estimator was trained on."""
        return pd.DataFrame(self.estimator.predict_proba(data), columns=self.estimator.classes_, index=data.index)
