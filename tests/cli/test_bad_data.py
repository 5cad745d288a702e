"""Bad data (issue 10): projects with nothing to learn from, blueprints fed channels the data lacks,
one encoding policy for every CSV reader (project create, fit, predict), repeated column names, and
concurrent `project create --name X`.

Every file is written in the test in the encoding it claims, and every case goes through the CLI.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO, SAMPLES, leftovers, make_task

MESSAGE = re.compile(r"^(?P<file>.+):(?P<line>\d+):(?P<column>\d+): (?P<severity>error|warning): (?P<text>.+)$")

TXT_ONLY = """\
# blueprint: words    target: binary
words = tfidf(TXT)
model = logistic_regression(words)
"""

NUM_AND_TXT = """\
num   = impute_median(NUM)
words = tfidf(TXT)
model = logistic_regression(num, words)
"""

# A fit-check task that reads nothing but what it is given.
TASK = """
import pickle
import pandas as pd


def fit(X, y, output_dir, class_order=None, **kwargs):
    print(f"columns={list(X.columns)}")
    pickle.dump(list(class_order), open(f"{output_dir}/labels.pkl", "wb"))


def predict_proba(X, model, **kwargs):
    return pd.DataFrame({model[0]: [0.5] * len(X), model[1]: [0.5] * len(X)})
"""


def flat(result):
    return " ".join(result.output.split())


def rows_text(n: int = 60, seed: int = 0) -> str:
    """CSV text with accented names and cities (not ASCII), a number and a binary target."""
    rng = np.random.default_rng(seed)
    lines = ["name,city,size,label"]
    for i in range(n):
        lines.append(f"{rng.choice(['José', 'Zoë', 'Ann', 'Björk'])},{rng.choice(['Zürich', 'Köln', 'Oslo'])},"
                     f"{rng.normal():.4f},{'yes' if i % 2 else 'no'}")
    return "\n".join(lines) + "\n"


def write(path, text: str, encoding: str, bom: bytes = b""):
    path.write_bytes(bom + text.encode(encoding))
    return path


def workspace_objects(home):
    folder = home / "objects" / "projects"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ---------------------------------------------------------------- nothing to learn from


def test_a_project_without_feature_columns_is_refused_and_nothing_is_created(taskbench, home, tmp_path):
    data = tmp_path / "one_col.csv"
    pd.DataFrame({"Species": ["a", "b"] * 30}).to_csv(data, index=False)
    result = taskbench("project", "create", data, "--target", "Species")
    assert result.exit_code == 2, result.output
    said = flat(result)
    assert "one_col.csv has no feature columns besides 'Species'" in said
    assert "Traceback" not in result.output and said.count(".") <= 2
    assert json.loads(taskbench("project", "list", "--json").output) == []
    assert workspace_objects(home) == []

    # the weights column is not a feature either
    two = tmp_path / "two_col.csv"
    pd.DataFrame({"Species": ["a", "b"] * 30, "w": [1.0] * 60}).to_csv(two, index=False)
    result = taskbench("project", "create", two, "--target", "Species", "--weights", "w")
    assert result.exit_code == 2
    assert "no feature columns besides 'Species' and 'w'" in flat(result)
    assert workspace_objects(home) == []


@pytest.fixture
def numeric_project(taskbench, tmp_path):
    """A binary project with NUM and CAT columns and no text."""
    rng = np.random.default_rng(0)
    data = tmp_path / "plain.csv"
    pd.DataFrame({"a": rng.normal(size=120), "b": rng.choice(list("xyz"), 120), "y": ["p", "q"] * 60}).to_csv(data, index=False)
    assert taskbench("project", "create", data, "--target", "y", "--name", "plain").exit_code == 0
    return "plain"


def test_a_blueprint_fed_only_a_channel_the_data_lacks_is_refused_at_check_and_train(taskbench, numeric_project, tmp_path):
    bp = tmp_path / "words.bp"
    bp.write_text(TXT_ONLY)
    checked = taskbench("blueprint", "check", bp, "--project", numeric_project)
    assert checked.exit_code == 1, checked.output
    (line,) = [MESSAGE.match(x) for x in checked.output.splitlines() if "error" in x]
    assert (line["file"], line["line"], line["column"], line["severity"]) == (str(bp), "2", "15", "error")
    assert "the data has no TXT columns, so the final node 'model' gets no input" in line["text"]
    assert "(NUM, CAT)" in line["text"]

    trained = taskbench("train", numeric_project, bp)  # was: IndexError at core/blueprints/model.py:86
    assert trained.exit_code == 1, trained.output
    assert f"{bp}:2:15: error: the data has no TXT columns" in flat(trained)
    assert json.loads(taskbench("leaderboard", numeric_project, "--json").output) == []


def test_a_channel_the_data_lacks_beside_one_it_has_still_only_warns_and_trains(taskbench, numeric_project, tmp_path):
    bp = tmp_path / "mixed.bp"
    bp.write_text(NUM_AND_TXT)
    checked = taskbench("blueprint", "check", bp, "--project", numeric_project)
    assert checked.exit_code == 0, checked.output
    assert f"{bp}:2:15: warning: the data has no TXT columns, so TXT feeds nothing here" in checked.output
    trained = taskbench("train", numeric_project, bp)
    assert trained.exit_code == 0, trained.output
    (row,) = json.loads(taskbench("leaderboard", numeric_project, "--json").output)
    assert (row["blueprint"], row["state"]) == ("mixed", "trained")


# ---------------------------------------------------------------- encodings

BOMS = {
    "utf-8-bom": ("utf-8", codecs.BOM_UTF8),
    "utf-16-le": ("utf-16-le", codecs.BOM_UTF16_LE),
    "utf-16-be": ("utf-16-be", codecs.BOM_UTF16_BE),
    "utf-32-le": ("utf-32-le", codecs.BOM_UTF32_LE),
    "utf-32-be": ("utf-32-be", codecs.BOM_UTF32_BE),
}


@pytest.mark.parametrize("kind", sorted(BOMS))
def test_files_with_a_byte_order_mark_are_read_in_their_encoding(kind, taskbench, home, tmp_path):
    encoding, bom = BOMS[kind]
    text = rows_text()
    data = write(tmp_path / f"{kind}.csv", text, encoding, bom)
    created = taskbench("project", "create", data, "--target", "label", "--name", "p", "--json")
    assert created.exit_code == 0, created.output
    shown = taskbench("project", "show", "p").output
    assert "\x00" not in shown and "ÿþ" not in shown
    assert "CAT: name, city" in shown and "NUM: size" in shown
    (parquet,) = [p for p in (home / "objects" / "projects").iterdir() if p.suffix == ".parquet"]
    stored = pd.read_parquet(parquet)
    assert list(stored.columns) == ["name", "city", "size", "label"]
    assert set(stored["city"]) <= {"Zürich", "Köln", "Oslo"} and "Zürich" in set(stored["city"])


def test_latin1_is_refused_alike_by_project_create_fit_and_predict_unless_the_encoding_is_given(taskbench, home, tmp_path):
    text = rows_text()
    latin = write(tmp_path / "latin.csv", text, "latin-1")
    first_bad = next(i for i, line in enumerate(text.splitlines(), 1) if not line.isascii())
    column = next(i for i, ch in enumerate(text.splitlines()[first_bad - 1], 1) if not ch.isascii())
    byte = next(ch for ch in text.splitlines()[first_bad - 1] if not ch.isascii()).encode("latin-1")[0]
    sentence = (f"input file {latin} is not valid UTF-8 text: byte 0x{byte:02X} at line {first_bad}, column {column} "
                "cannot be decoded; pass --encoding NAME")

    created = taskbench("project", "create", latin, "--target", "label", "--name", "latin")
    assert created.exit_code == 2, created.output
    assert sentence in flat(created) and "Traceback" not in created.output
    assert workspace_objects(home) == []

    task = make_task(tmp_path, {"custom.py": TASK}, "echo")
    fitted = taskbench("fit", "--code-dir", task, "--input", latin, "--target-type", "binary", "--target", "label")
    assert fitted.exit_code == 2, fitted.output
    assert sentence in flat(fitted)
    fitted = taskbench("fit", "--code-dir", task, "--input", latin, "--target-type", "binary", "--target", "label",
                       "--encoding", "latin-1")
    assert fitted.exit_code == 0, fitted.output

    # with the encoding given, project create reads the accents right
    created = taskbench("project", "create", latin, "--target", "label", "--name", "latin", "--encoding", "latin-1")
    assert created.exit_code == 0, created.output
    (parquet,) = [p for p in (home / "objects" / "projects").iterdir() if p.suffix == ".parquet"]
    assert "Zürich" in set(pd.read_parquet(parquet)["city"])

    bp = tmp_path / "lr.bp"
    bp.write_text("cat = one_hot(CAT)\nnum = impute_median(NUM)\nmodel = logistic_regression(num, cat)\n")
    assert taskbench("train", "latin", bp).exit_code == 0
    (row,) = json.loads(taskbench("leaderboard", "latin", "--json").output)
    predicted = taskbench("predict", row["model"], "--input", latin, "--output", tmp_path / "out.csv")
    assert predicted.exit_code == 2, predicted.output
    assert sentence in flat(predicted)
    assert not (tmp_path / "out.csv").exists()
    predicted = taskbench("predict", row["model"], "--input", latin, "--output", tmp_path / "out.csv",
                          "--encoding", "latin-1")
    assert predicted.exit_code == 0, predicted.output
    assert len(pd.read_csv(tmp_path / "out.csv")) == 60
    (tmp_path / "out.csv").unlink()

    # a UTF-16 file scores, as it is created
    utf16 = write(tmp_path / "utf16.csv", text, "utf-16-le", codecs.BOM_UTF16_LE)
    predicted = taskbench("predict", row["model"], "--input", utf16, "--output", tmp_path / "out16.csv")
    assert predicted.exit_code == 0, predicted.output
    assert len(pd.read_csv(tmp_path / "out16.csv")) == 60
    assert leftovers(home) == []

    # one stray NUL byte is not UTF-16: predict says where it is, as the server does (a trial finding)
    stray = tmp_path / "nul.csv"
    stray.write_bytes(text.encode().replace(b",", b"\x00,", 1))
    predicted = taskbench("predict", row["model"], "--input", stray, "--output", tmp_path / "out.csv")
    assert predicted.exit_code == 2, predicted.output
    at = stray.read_bytes().find(b"\x00")
    assert (f"input file {stray} is not plain text (it holds a NUL byte at offset {at}); remove the NUL byte and save "
            "it as UTF-8 text.") in flat(predicted)
    assert "UTF-16" not in flat(predicted) and not (tmp_path / "out.csv").exists()


def test_the_encoding_policy_is_one_function_for_every_reader(tmp_path):
    """The fit check and project create read with `read_table`, predict with `chunks`: both give the same
    sentence for the same bad file, and both honour an explicit encoding."""
    from core.deploy.score_process import chunks
    from core.runtime.data import read_table
    from core.runtime.errors import BadInput as UsageError, BadInput as UserFault

    latin = write(tmp_path / "latin.csv", rows_text(), "latin-1")
    with pytest.raises(UsageError) as by_table:
        read_table(str(latin))
    with pytest.raises(UserFault) as by_chunks:
        list(chunks(str(latin), 10))
    assert by_table.value.message == str(by_chunks.value)
    table = read_table(str(latin), encoding="latin-1")
    chunked = pd.concat([frame for frame, _, _ in chunks(str(latin), 7, "latin-1")], ignore_index=True)
    pd.testing.assert_frame_equal(table, chunked)
    assert "Björk" in set(table["name"]) or "José" in set(table["name"])


def test_utf16_without_a_byte_order_mark_names_the_encoding_to_pass(taskbench, home, tmp_path):
    for encoding in ("utf-16-le", "utf-16-be", "utf-32-le"):
        data = write(tmp_path / f"{encoding}.csv", rows_text(), encoding)
        result = taskbench("project", "create", data, "--target", "label")
        assert result.exit_code == 2, result.output
        said = flat(result)
        assert f"input file {data} holds NUL bytes" in said
        assert f"pass --encoding {encoding}" in said
        assert "\x00" not in result.output
        given = taskbench("project", "create", data, "--target", "label", "--encoding", encoding, "--name", encoding)
        assert given.exit_code == 0, given.output


def test_a_bad_byte_under_an_explicit_encoding_and_contradictory_or_unknown_names_are_refused(taskbench, home, tmp_path):
    cp = tmp_path / "cp.csv"
    cp.write_bytes(b"a,b,label\n1,ok,p\n2,bad\x81x,q\n")  # 0x81 is undefined in cp1252
    result = taskbench("project", "create", cp, "--target", "label", "--encoding", "cp1252")
    assert result.exit_code == 2
    assert "is not valid cp1252 text: byte 0x81 at line 3, column 6 cannot be decoded; pass --encoding NAME" in flat(result)

    marked = write(tmp_path / "marked.csv", rows_text(), "utf-16-le", codecs.BOM_UTF16_LE)
    result = taskbench("project", "create", marked, "--target", "label", "--encoding", "latin-1")
    assert result.exit_code == 2
    assert "starts with a UTF-16 byte-order mark but --encoding latin-1 was given" in flat(result)

    result = taskbench("project", "create", marked, "--target", "label", "--encoding", "klingon")
    assert result.exit_code == 2
    assert "--encoding 'klingon' is not an encoding Python knows" in flat(result)
    assert workspace_objects(home) == []


def test_repeated_column_names_are_refused_by_every_reader_with_the_names(taskbench, home, tmp_path):
    data = tmp_path / "dup.csv"
    data.write_text("size,city,size,label,city\n" + "\n".join(f"{i},x,{i * 2},{'p' if i % 2 else 'q'},y" for i in range(40)) + "\n")
    expected = f"input file {data} names the same column more than once: 'size' (columns 1 and 3) and 'city' (columns 2 and 5)"
    created = taskbench("project", "create", data, "--target", "label")
    assert created.exit_code == 2, created.output
    assert expected in flat(created)
    assert workspace_objects(home) == []

    task = make_task(tmp_path, {"custom.py": TASK}, "echo")
    fitted = taskbench("fit", "--code-dir", task, "--input", data, "--target-type", "binary", "--target", "label")
    assert fitted.exit_code == 2, fitted.output
    assert expected in flat(fitted)

    from core.deploy.score_process import chunks
    from core.runtime.errors import BadInput as UserFault

    with pytest.raises(UserFault, match="names the same column more than once: 'size'"):
        list(chunks(str(data), 10))


# ---------------------------------------------------------------- concurrent creates


def test_four_concurrent_creates_of_one_name_one_wins_three_are_told_it_exists(tmp_path):
    home = tmp_path / "ws"
    env = dict(os.environ, TASKBENCH_HOME=str(home), TMPDIR=str(tmp_path))
    subprocess.run([sys.executable, "-m", "tui.cli", "project", "list"], env=env, cwd=REPO, check=True, capture_output=True)
    files = []
    for i in range(4):  # different data each, so a loser's copied files would be visible
        rng = np.random.default_rng(i)
        path = tmp_path / f"data{i}.csv"
        pd.DataFrame({"a": rng.normal(size=20_000), "b": rng.choice(list("xyz"), 20_000),
                      "y": ["p", "q"] * 10_000}).to_csv(path, index=False)
        files.append(path)
    procs = [
        subprocess.Popen([sys.executable, "-m", "tui.cli", "project", "create", str(path), "--target", "y", "--name", "X"],
                         env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for path in files
    ]
    outcomes = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in outcomes)
    assert codes == [0, 2, 2, 2], outcomes
    for code, out, err in outcomes:
        if code == 2:
            assert "a project named 'X' already exists" in err
            assert "UNIQUE" not in err and "Traceback" not in err
    listed = subprocess.run([sys.executable, "-m", "tui.cli", "project", "list", "--json"], env=env, cwd=REPO,
                            capture_output=True, text=True, check=True)
    (project,) = json.loads(listed.stdout)
    winner = files[[code for code, _, _ in outcomes].index(0)]
    assert project["source"] == str(winner)
    # only the winner's data and partition remain: no loser's copy, no temporary file
    from core.store import open_store

    with open_store(home) as store:
        from core.training.projects import get_project

        kept = get_project(store, "X")
        assert sorted(p.name for p in (home / "objects" / "projects").iterdir()) == sorted(
            [kept.data_path.name, kept.partition_path.name]
        )
        assert store.integrity_check() == "ok"


def test_a_create_that_fails_after_copying_the_data_leaves_no_file_behind(home, tmp_path, monkeypatch):
    import errno

    import core.training.projects as projects
    from core.store import open_store

    data = tmp_path / "ok.csv"
    data.write_text(rows_text())
    real = projects.write_bytes_atomic

    def full_disk_on_the_partition(path, payload, **kwargs):
        if str(path).endswith(".npy"):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, payload, **kwargs)

    monkeypatch.setattr(projects, "write_bytes_atomic", full_disk_on_the_partition)
    with open_store(home) as store:
        with pytest.raises(OSError):
            projects.create_project(store, data, target="label", name="p")
        assert projects.list_projects(store) == []
    assert workspace_objects(home) == []


def test_a_header_without_rows_is_refused_before_the_task_fits(taskbench, tmp_path):
    """A CSV of column names only used to pass a transform's fit check on 0 rows (and to blame a regression
    target for holding text); it is one sentence now, exit 2, and the task never runs."""
    data = tmp_path / "header_only.csv"
    data.write_text("a,b\n")
    for task, extra in (("05_transform_clip_outliers", []), ("11_regression_ridge", ["--target", "a"])):
        result = taskbench("fit", "--code-dir", SAMPLES / task, "--input", data, *extra)
        assert result.exit_code == 2, result.output
        assert f"input file {data} has column names but no rows" in result.output
        assert "fitted" not in result.output and "holds text" not in result.output
