"""DRUM's other route names reach the server's fast path, and /info/ carries DRUM's camelCase keys (trial findings)."""

from __future__ import annotations

import pytest

from core.deploy.protocol import fast_request
from core.deploy.server import ROUTES, drum_info


def post(path: bytes) -> bytes:
    return b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: 8\r\n\r\na,b\n1,2\n"


@pytest.mark.parametrize("path", [b"/predict/", b"/predict", b"/predictions/", b"/predictions", b"/invocations"])
def test_drum_names_for_predict_take_the_fast_path_and_count_as_predict(path):
    taken = fast_request(post(path))
    assert taken is not None and taken[0] == path.decode() and taken[2] == b"a,b\n1,2\n"
    assert ROUTES.get(taken[0], taken[0]) == "/predict/"  # /stats/ counts them with /predict/


@pytest.mark.parametrize("path", [b"/invocations/", b"/predictionsx", b"/transform/", b"/capabilities/"])
def test_other_paths_are_left_to_the_application(path):
    assert fast_request(post(path)) is None  # /invocations/: Starlette's redirect to /invocations (DRUM's: a 404)


def test_drum_info_keys_say_what_drum_says(tmp_path):
    from packaging.version import Version

    (tmp_path / "custom.py").write_text("")
    (tmp_path / "model-metadata.yaml").write_text("name: t\ntype: training\ntargetType: binary\n")
    binary = drum_info({"target_type": "binary", "class_labels": ["no", "yes"]}, tmp_path)
    assert {k: binary[k] for k in ("codeDir", "targetType", "positiveClassLabel", "negativeClassLabel", "language")} == {
        "codeDir": str(tmp_path), "targetType": "binary", "positiveClassLabel": "yes", "negativeClassLabel": "no",
        "language": "python"}
    assert binary["modelMetadata"] == {"name": "t", "type": "training", "targetType": "binary"}
    assert "classLabels" not in binary and binary["drumServer"]
    version = Version(binary["drumVersion"])  # a version DRUM clients parse, older than any DRUM release
    assert version < Version("1.0") and version.local.startswith("taskbench")
    many = drum_info({"target_type": "multiclass", "class_labels": ["a", "b", "c"]}, tmp_path)
    assert many["classLabels"] == ["a", "b", "c"] and "positiveClassLabel" not in many
    (tmp_path / "custom.py").unlink()
    (tmp_path / "model-metadata.yaml").unlink()
    (tmp_path / "custom.R").write_text("")
    r_task = drum_info({"target_type": "regression", "class_labels": None}, tmp_path)
    assert r_task["language"] == "r" and r_task["modelMetadata"] is None and "classLabels" not in r_task
