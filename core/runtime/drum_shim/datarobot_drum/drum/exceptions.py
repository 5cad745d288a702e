"""DRUM's exception names that task code may catch."""


class DrumException(Exception):
    """Base class of DRUM's errors."""


class DrumCommonException(DrumException):
    """A general DRUM error."""


class DrumSerializationError(DrumException):
    """A task object could not be saved or loaded."""
