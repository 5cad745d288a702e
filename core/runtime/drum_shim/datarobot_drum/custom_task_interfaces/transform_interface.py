"""DRUM's transform base class."""

from datarobot_drum.custom_task_interfaces.custom_task_interface import CustomTaskInterface


class TransformerInterface(CustomTaskInterface):
    def transform(self, X):
        """Return the transformed DataFrame, one row per input row."""
        raise NotImplementedError()
