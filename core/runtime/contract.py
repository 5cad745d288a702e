"""The custom-task contract in one place: hook names, target types, native artifact formats.

Everything that needs a hook name or a target type refers to this module, so the
contract is named once. Standard library only: it runs inside worker processes.
"""

CUSTOM_FILE = "custom.py"
R_CUSTOM_FILE = "custom.R"  # DRUM's R tasks, run by the R bridge (runtime/rtask.py)
CUSTOM_FILES = (CUSTOM_FILE, R_CUSTOM_FILE, "custom.r")  # DRUM also accepts a lower-case custom.r
METADATA_FILES = ("model-metadata.yaml", "model-metadata.yml")
REQUIREMENTS_FILE = "requirements.txt"


class Hooks:
    """Names of the module-level hooks a `custom.py` may define."""

    INIT = "init"
    FIT = "fit"
    LOAD_MODEL = "load_model"
    TRANSFORM = "transform"
    PREDICT = "predict"
    PREDICT_PROBA = "predict_proba"
    SCORE = "score"
    # DRUM's custom-model hooks around scoring: read_input_data(bytes) reads the rows in place of the CSV reader
    # (score/serve --code-dir, where the raw input exists); post_process(predictions, model) edits the checked
    # predictions. Like DRUM, both are module hooks only: a CustomTask class's module is not searched for them.
    READ_INPUT_DATA = "read_input_data"
    POST_PROCESS = "post_process"

    ALL = (INIT, FIT, LOAD_MODEL, TRANSFORM, PREDICT, PREDICT_PROBA, SCORE, READ_INPUT_DATA, POST_PROCESS)


CUSTOM_TASK_CLASS = "CustomTask"

TRANSFORM = "transform"
BINARY = "binary"
MULTICLASS = "multiclass"
REGRESSION = "regression"
ANOMALY = "anomaly"
TARGET_TYPES = (TRANSFORM, BINARY, MULTICLASS, REGRESSION, ANOMALY)
ESTIMATOR_TYPES = (BINARY, MULTICLASS, REGRESSION, ANOMALY)
CLASSIFICATION_TYPES = (BINARY, MULTICLASS)

PREDICTIONS_COLUMN = "Predictions"

# The environment of the Python taskbench itself runs on (no Docker); a node or task without one runs there.
LOCAL_ENV = "python-local"


def is_local(env):
    """True for python-local (any version) or no environment at all: the Python this process runs."""
    return env is None or env.split("@")[0] == LOCAL_ENV

# Artifacts loaded without `load_model` when exactly one is at the top of the folder.
NATIVE_EXTENSIONS = (".pkl", ".joblib", ".pth", ".h5")

# The file the engine pickles a `CustomTask` instance into when the class has no `save`.
CLASS_ARTIFACT = "artifact.pkl"

PROBABILITY_TOLERANCE = 1e-6

# Temp folders of the R bridge start with this and the pid that made them, so a killed step's are found.
R_TEMP_PREFIX = "taskbench-r-"
