"""Insights and artifacts (SPEC §8): feature impact, ROC/lift/confusion, residuals, custom insight files,
PNG previews in the terminal, `taskbench artifacts --to`, and a holdout that stays out until unlocked."""

from __future__ import annotations

import json
import struct
import zlib

import pytest

from tests.conftest import DATA, SAMPLES

JUNIORS = DATA / "juniors_3_year_stats_regression.csv"
DIABETES = DATA / "10k_diabetes.csv"
CUSTOM_INSIGHTS = SAMPLES / "13_regression_custom_insights"


def flat(result):
    return " ".join(result.output.split())


def ok(result):
    assert result.exit_code == 0, result.output
    return result


def insights_json(taskbench, model):
    return json.loads(ok(taskbench("insights", str(model), "--json")).stdout)


def board(taskbench, project):
    return json.loads(ok(taskbench("leaderboard", project, "--json")).stdout)


def train(taskbench, tmp_path, project, name, text):
    path = tmp_path / f"{name}.bp"
    path.write_text(text)
    ok(taskbench("train", project, path))
    (row,) = [r for r in board(taskbench, project) if r["blueprint"] == name]
    assert row["state"] == "trained", row
    return row["model"]


@pytest.fixture
def custom_model(taskbench, tmp_path):
    """The juniors regression project and a model of the sample task that writes custom insight files."""
    ok(taskbench("project", "create", JUNIORS, "--target", "Grade 2014", "--target-type", "regression", "--name", "juniors"))
    ok(taskbench("task", "add", CUSTOM_INSIGHTS))
    names = [t["name"] for t in json.loads(ok(taskbench("task", "list", "--json")).stdout)]
    assert names == ["regression_custom_insights"]
    return train(taskbench, tmp_path, "juniors", "forest", "model = regression_custom_insights(NUM, top_features=10)\n")


def test_custom_insight_files_listed_previewed_and_exported(custom_model, taskbench, home, tmp_path):
    node_dir = home / "models" / str(custom_model) / "nodes" / "model"
    written = {p.name for p in node_dir.iterdir()}
    assert written == {"artifact.pkl", "feature_importance.csv", "feature_importance.png"}

    text = ok(taskbench("insights", str(custom_model))).stdout
    assert "Custom insights" in text and "node model (regression_custom_insights@1)" in text
    lines = text.splitlines()
    listed = {line.split()[0]: line.split()[1] for line in lines if line.startswith("    ") and len(line.split()) >= 3
              and line.split()[0] in written}
    assert listed == {"artifact.pkl": "other", "feature_importance.csv": "csv", "feature_importance.png": "image"}
    # The CSV preview is an aligned table of its first rows, the PNG a text drawing of its bars.
    top_csv_feature = (node_dir / "feature_importance.csv").read_text().splitlines()[1].split(",")[0]
    assert any(line.split()[:2] == ["feature", "importance"] for line in lines)
    assert any(line.split() and line.split()[0] == top_csv_feature for line in lines)
    assert "PNG 480x" in text and "RGB, drawn at" in text
    drawing = [line for line in lines if line.strip().startswith(".") and "**********" in line]
    assert len(drawing) >= 3, text
    assert all(len(line) <= 80 for line in lines[lines.index("Custom insights"):])

    quiet = ok(taskbench("insights", str(custom_model), "--no-preview")).stdout
    assert "feature_importance.png" in quiet and "PNG 480x" not in quiet and "importance" in quiet

    data = insights_json(taskbench, custom_model)
    files = {(f["node"], f["name"]): f for f in data["custom_insights"]}
    assert files[("model", "feature_importance.png")]["kind"] == "image"
    assert files[("model", "feature_importance.csv")]["size"] == (node_dir / "feature_importance.csv").stat().st_size

    listing = ok(taskbench("artifacts", str(custom_model))).stdout
    assert "model/feature_importance.png" in listing and "model/artifact.pkl" in listing
    assert not (home / "models" / str(custom_model) / "exported").exists()

    out = tmp_path / "exported"
    result = ok(taskbench("artifacts", str(custom_model), "--to", out))
    assert "Exported 3 file(s)" in flat(result)
    for name in written:
        assert (out / "model" / name).read_bytes() == (node_dir / name).read_bytes()
    assert sorted(p.name for p in out.iterdir()) == ["README.txt", "model"]
    assert not (out / "model" / "custom.py").exists()  # the task's code is not an artifact
    readme = (out / "README.txt").read_text()
    assert "model/" in readme and "regression_custom_insights version 1" in readme

    again = taskbench("artifacts", str(custom_model), "--to", out)
    assert again.exit_code == 2 and "not empty" in flat(again)
    assert sorted(p.name for p in out.iterdir()) == ["README.txt", "model"]
    empty = tmp_path / "empty"
    empty.mkdir()
    ok(taskbench("artifacts", str(custom_model), "--to", empty))
    assert (empty / "model" / "feature_importance.png").read_bytes() == (node_dir / "feature_importance.png").read_bytes()


def test_regression_insights_and_holdout_only_after_unlock(custom_model, taskbench, home):
    before = insights_json(taskbench, custom_model)
    assert "holdout" not in before and "holdout" not in before["scores"]
    assert set(before) >= {"validation", "scores", "custom_insights", "metric"} and before["metric"] == "RMSE"
    impact = before["validation"]["feature_impact"]
    features = impact["features"]
    assert impact["columns_measured"] == impact["columns_used"] == 33 == len(features)
    assert features[0]["impact_percent"] == pytest.approx(100.0)
    assert all(a["impact_percent"] >= b["impact_percent"] for a, b in zip(features, features[1:]))
    residuals = before["validation"]["residuals"]
    assert residuals["min"] <= residuals["median"] <= residuals["max"] and residuals["std"] > 0
    bins = before["validation"]["predicted_vs_actual"]
    assert len(bins) == 10 and sum(b["rows"] for b in bins) == before["validation"]["rows"]
    cached = json.loads((home / "models" / f"{custom_model}.insights.json").read_text())
    assert "holdout" not in cached and cached["validation"]["feature_impact"] == impact

    text_before = ok(taskbench("insights", str(custom_model), "--no-preview")).stdout
    assert "Feature impact on validation" in text_before and "100.0%" in text_before
    assert "Residuals on validation" in text_before and "Predicted vs actual on validation" in text_before
    assert "holdout     locked" in text_before and "on holdout" not in text_before

    ok(taskbench("project", "unlock-holdout", "juniors", "--yes"))
    (row,) = board(taskbench, "juniors")
    holdout_rmse = row["holdout"]["RMSE"]
    assert f"{holdout_rmse:.4g}" not in text_before

    after = insights_json(taskbench, custom_model)
    assert "holdout" in after and "holdout" in after["scores"]
    assert after["scores"]["holdout"]["RMSE"] == pytest.approx(holdout_rmse)
    assert after["holdout"]["metrics"]["RMSE"] == pytest.approx(holdout_rmse)
    assert after["validation"]["feature_impact"] == impact  # the validation part came from the cache
    text_after = ok(taskbench("insights", str(custom_model), "--no-preview")).stdout
    assert f"RMSE {holdout_rmse:.4g}" in text_after and "Residuals on holdout" in text_after
    assert "holdout" in json.loads((home / "models" / f"{custom_model}.insights.json").read_text())


def test_binary_feature_impact_roc_lift_confusion(taskbench, tmp_path, home):
    ok(taskbench("project", "create", DIABETES, "--target", "readmitted"))
    model = train(taskbench, tmp_path, "10k_diabetes", "gbm",
                  "num = impute_median(NUM)\ncat = ordinal(CAT)\nmodel = gbm_classifier(num, cat)\n")
    data = insights_json(taskbench, model)
    assert "holdout" not in data and "holdout" not in data["scores"]
    val = data["validation"]
    impact = val["feature_impact"]
    assert impact["metric"] == "LogLoss" and impact["columns_measured"] == 40 and impact["columns_used"] > 40
    assert {f["channel"] for f in impact["features"]} == {"NUM", "CAT"}
    assert impact["features"][0]["impact_percent"] == pytest.approx(100.0)
    assert val["roc"]["auc"] == pytest.approx(data["scores"]["validation"]["AUC"])
    points = val["roc"]["points"]
    assert points[0]["fpr"] == 0 and points[-1]["tpr"] == 1 and len(points) <= 101
    lift = val["lift"]
    assert len(lift) == 10 and sum(b["rows"] for b in lift) == val["rows"] == 1600
    assert lift[0]["mean_predicted"] < lift[-1]["mean_predicted"] and lift[0]["actual_rate"] < lift[-1]["actual_rate"]
    cm = val["confusion_matrix"]
    assert cm["labels"] == ["False", "True"] and sum(map(sum, cm["matrix"])) == 1600
    correct = cm["matrix"][0][0] + cm["matrix"][1][1]
    assert correct / 1600 == pytest.approx(data["scores"]["validation"]["Accuracy"])

    text = ok(taskbench("insights", str(model))).stdout
    for phrase in ("Feature impact on validation", "40 of", "ROC on validation: AUC", "Lift chart on validation",
                   "Confusion matrix on validation", "node model (gbm_classifier)", "artifact.pkl"):
        assert phrase in text, phrase
    assert "on holdout" not in text

    ok(taskbench("project", "unlock-holdout", "10k_diabetes", "--yes"))
    after = insights_json(taskbench, model)
    assert sum(map(sum, after["holdout"]["confusion_matrix"]["matrix"])) == after["holdout"]["rows"] == 2000
    assert after["holdout"]["roc"]["auc"] == pytest.approx(after["scores"]["holdout"]["AUC"])
    assert "ROC on holdout" in ok(taskbench("insights", str(model), "--no-preview")).stdout


def test_unknown_model_is_one_sentence_and_exit_2(taskbench, tmp_path):
    for args in (("insights", "42"), ("insights", "nope"), ("artifacts", "42", "--to", tmp_path / "out")):
        result = taskbench(*args)
        assert result.exit_code == 2
        assert result.output.strip().startswith("error:") and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ previews without a model


def _png(width, height, color, pixel, filters=(0,)):
    """An 8-bit PNG of `pixel(x, y)` tuples; row y uses filter type filters[y % len(filters)]."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color]
    rows = [bytes(v for x in range(width) for v in pixel(x, y)) for y in range(height)]
    raw, prev = bytearray(), bytes(width * channels)
    for y, row in enumerate(rows):
        ftype = filters[y % len(filters)]
        out = bytearray()
        for i, value in enumerate(row):
            a = row[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if ftype == 0:
                pred = 0
            elif ftype == 1:
                pred = a
            elif ftype == 2:
                pred = b
            elif ftype == 3:
                pred = (a + b) >> 1
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            out.append((value - pred) & 0xFF)
        raw += bytes([ftype]) + out
        prev = row

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(raw))) + chunk(b"IEND", b"")


@pytest.mark.parametrize("color", [0, 2, 4, 6])
def test_png_decoder_handles_every_filter_and_colour_type(color):
    from core.insights import decode_png, render_png

    def pixel(x, y):
        dark = x < 20  # left half black, right half white, with some texture for the filters
        grey = 0 if dark else 255
        return {0: (grey,), 2: (grey, grey, grey), 4: (grey, 255), 6: (grey, grey, grey, 255)}[color]

    data = _png(40, 10, color, pixel, filters=(0, 1, 2, 3, 4))
    width, height, grey, _ = decode_png(data)
    assert (width, height) == (40, 10)
    assert all(row[:20] == bytes(20) and row[20:] == b"\xff" * 20 for row in grey)
    drawing = render_png(data, width=20).splitlines()[1:]
    assert drawing and all(line == "@" * 10 for line in drawing)

    def gradient(x, y):
        v = (x * 7 + y * 13) % 256
        return {0: (v,), 2: (v, 255 - v, v // 2), 4: (v, 200), 6: (v, 255 - v, v // 2, 128)}[color]

    plain = decode_png(_png(33, 9, color, gradient, filters=(0,)))
    mixed = decode_png(_png(33, 9, color, gradient, filters=(4, 3, 2, 1, 0)))
    assert plain == mixed


def test_transparent_pixels_render_as_blank_and_broken_pngs_are_reported(tmp_path):
    from core.insights import preview, render_png

    clear = _png(8, 4, 6, lambda x, y: (0, 0, 0, 0))
    assert render_png(clear, 8).split("\n")[1:] == [""] * 2
    broken = tmp_path / "chart.png"
    broken.write_bytes(clear[:40])
    assert "cannot preview" in preview(broken)
    deep = tmp_path / "deep.png"
    deep.write_bytes(clear.replace(struct.pack(">IIBBBBB", 8, 4, 8, 6, 0, 0, 0), struct.pack(">IIBBBBB", 8, 4, 16, 6, 0, 0, 0)))
    assert "8-bit" in preview(deep)


def test_text_csv_html_and_other_previews(tmp_path):
    from core.insights import file_kind, preview

    csv_file = tmp_path / "scores.csv"
    csv_file.write_text("name,value\n" + "".join(f"row{i},{i * 1.123456789}\n" for i in range(25)))
    table = preview(csv_file, width=40).splitlines()
    assert table[0].split() == ["name", "value"] and table[2].split() == ["row0", "0.0"]
    assert table[3].split() == ["row1", "1.12346"] and table[-1] == "… 15 more row(s)"
    assert all(len(line) <= 40 for line in table)

    text = tmp_path / "summary.txt"
    text.write_text("first line\n" + "x" * 200 + "\n")
    shown = preview(text, width=30).splitlines()
    assert shown[0] == "first line" and len(shown[1]) == 30 and shown[1].endswith("…")

    page = tmp_path / "report.html"
    page.write_text("<html><style>p {color: red}</style><body><h1>Report</h1><p>AUC is <b>0.7</b></p></body></html>")
    assert preview(page).splitlines() == ["Report", "AUC is 0.7"]

    blob = tmp_path / "weights.bin"
    blob.write_bytes(b"\x00\x01" * 600)
    assert preview(blob) == "(1.2 kB; no preview for this kind of file)"
    assert [file_kind(n) for n in ("a.PNG", "b.csv", "c.txt", "d.html", "e.pkl")] == ["image", "csv", "text", "html", "other"]


def test_artifacts_of_one_node(custom_model, taskbench, tmp_path):
    """--node lists or copies one blueprint node's files; a node the model lacks is one sentence naming its nodes."""
    listing = ok(taskbench("artifacts", str(custom_model), "--node", "model", "--json")).stdout
    assert {f["node"] for f in json.loads(listing)} == {"model"}
    out = tmp_path / "one"
    copied = ok(taskbench("artifacts", str(custom_model), "--node", "model", "--to", out))
    assert "Exported 3 file(s)" in flat(copied) and "Left out" not in copied.output
    assert sorted(p.name for p in out.iterdir()) == ["README.txt", "model"]
    refused = taskbench("artifacts", str(custom_model), "--node", "nope", "--to", tmp_path / "never")
    assert refused.exit_code == 2 and "has no node 'nope'" in flat(refused) and "its nodes are model" in flat(refused)
    assert not (tmp_path / "never").exists()
