"""Pickle-based save and load for task objects, as DRUM's `Serializable` does it."""

import os
import pickle
import sys

from datarobot_drum.drum.exceptions import DrumSerializationError


class Serializable(object):
    """Saves the whole object to `drum_artifact.pkl` and loads it back, checking its class."""

    default_artifact_filename = "drum_artifact.pkl"

    def save(self, artifact_directory):
        """Serialize into `artifact_directory`; returns self for chaining."""
        self.save_task(artifact_directory)
        return self

    def save_task(self, artifact_directory, exclude=None):
        """Pickle self, with the attributes named in `exclude` set to None while pickling."""
        restore = {}
        for name in exclude or ():
            try:
                restore[name] = getattr(self, name)
            except AttributeError:
                raise DrumSerializationError(f"The object named {name} passed in exclude= was not found")
            setattr(self, name, None)
        try:
            with open(os.path.join(artifact_directory, Serializable.default_artifact_filename), "wb") as fp:
                pickle.dump(self, fp)
        finally:
            for name, value in restore.items():
                setattr(self, name, value)

    @classmethod
    def load(cls, artifact_directory):
        """Deserialize the object stored in `artifact_directory`."""
        return cls.load_task(artifact_directory)

    @classmethod
    def load_task(cls, artifact_directory):
        """Unpickle `drum_artifact.pkl` and check it is an instance of this class."""
        with open(os.path.join(artifact_directory, Serializable.default_artifact_filename), "rb") as fp:
            obj = pickle.load(fp)
        if not isinstance(obj, cls):
            raise DrumSerializationError("load_task method must return a {} class".format(cls.__name__))
        return obj


class CustomTaskInterface(Serializable):
    """The base of every DRUM task class: `fit` to train, plus logging and secrets."""

    _secrets = None

    @property
    def secrets(self):
        return self._secrets or {}

    @secrets.setter
    def secrets(self, secrets):
        self._secrets = secrets

    def fit(self, X, y, parameters=None, row_weights=None, **kwargs):
        """Train the task on X (and y); must be implemented by the task."""
        raise NotImplementedError()

    @staticmethod
    def log_message(message):
        """Print the message to the logs and flush."""
        print(message)
        sys.stdout.flush()
