"""DRUM's estimator base classes, one per target type."""

from datarobot_drum.custom_task_interfaces.custom_task_interface import CustomTaskInterface


class EstimatorInterface(CustomTaskInterface):
    def predict(self, X, **kwargs):
        """Return a DataFrame of predictions (regression: one column named Predictions)."""
        raise NotImplementedError()


class BinaryEstimatorInterface(EstimatorInterface):
    def predict(self, X, **kwargs):
        pass

    def predict_proba(self, X, **kwargs):
        raise NotImplementedError()


class RegressionEstimatorInterface(EstimatorInterface):
    pass


class MulticlassEstimatorInterface(EstimatorInterface):
    def predict(self, X, **kwargs):
        pass

    def predict_proba(self, X, **kwargs):
        raise NotImplementedError()


class AnomalyEstimatorInterface(EstimatorInterface):
    pass
