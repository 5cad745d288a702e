"""DRUM's base classes for `CustomTask` (the class interface of SPEC §2.1)."""

from datarobot_drum.custom_task_interfaces.estimator_interfaces import (
    AnomalyEstimatorInterface,
    BinaryEstimatorInterface,
    MulticlassEstimatorInterface,
    RegressionEstimatorInterface,
)
from datarobot_drum.custom_task_interfaces.transform_interface import TransformerInterface

__all__ = [
    "AnomalyEstimatorInterface",
    "BinaryEstimatorInterface",
    "MulticlassEstimatorInterface",
    "RegressionEstimatorInterface",
    "TransformerInterface",
]
