"""Outlier clipping (winsorizing) written with DRUM's class interface.

fit learns a low and a high quantile per column and keeps them on the instance; the engine pickles the instance.
"""
from datarobot_drum.custom_task_interfaces import TransformerInterface


class CustomTask(TransformerInterface):
    def fit(self, X, y, parameters=None, **kwargs):
        """Learn the ``quantile`` and ``1 - quantile`` bounds of every column."""
        quantile = (parameters or {}).get("quantile", 0.01)
        self.lower = X.quantile(quantile)
        self.upper = X.quantile(1 - quantile)
        print(f"clip_outliers: learned {quantile:.0%}/{1 - quantile:.0%} bounds for {X.shape[1]} columns")

    def transform(self, X):
        """Clip each column into its learned bounds; missing values stay missing."""
        return X.clip(lower=self.lower, upper=self.upper, axis=1)
