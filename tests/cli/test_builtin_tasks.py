"""The built-in tasks (core/builtin_tasks): each is a normal task folder that passes `taskbench fit`.

Each task is checked on data that fits its input schema (small CSVs derived from the shared
data sets where needed), with --check-missing wherever its schema accepts missing values, and
its output facts (column counts, hook lines, the task's own log line) are asserted. Hook-level
tests then pin the behaviour blueprints rely on: column names, unseen categories, sparse text
features mixed with dense columns, class-label mapping.
"""

from __future__ import annotations

import importlib.util
import pickle
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import DATA, REPO, leftovers, tree_digest

BUILTINS = REPO / "core" / "builtin_tasks"

TRANSFORMS = [
    "impute_median",
    "impute_most_frequent",
    "missing_indicator",
    "standardize",
    "one_hot",
    "ordinal",
    "tfidf",
    "pca",
    "svd",
]
ESTIMATORS = {
    "logistic_regression": ("binary", "multiclass"),
    "ridge": ("regression",),
    "random_forest_classifier": ("binary", "multiclass"),
    "random_forest_regressor": ("regression",),
    "gbm_classifier": ("binary", "multiclass"),
    "gbm_regressor": ("regression",),
    "hgb_classifier": ("binary", "multiclass"),
    "hgb_regressor": ("regression",),
    "extra_trees_classifier": ("binary", "multiclass"),
    "extra_trees_regressor": ("regression",),
    "isolation_forest": ("anomaly",),
    "knn_classifier": ("binary", "multiclass"),
    "knn_regressor": ("regression",),
    "average_blend": ("binary", "multiclass", "regression"),
}
ALL = TRANSFORMS + list(ESTIMATORS)

IRIS = DATA / "iris_binary_training.csv"
SKY = DATA / "skyserver_sql2_27_2018_6_51_39_pm.csv"
JUNIORS = DATA / "juniors_3_year_stats_regression.csv"
JUNIORS_X = DATA / "juniors_3_year_stats_regression_inference.csv"
DIABETES_CAT = DATA / "diabetes_categorical.csv"
TEXT_COLUMNS = ["diag_1_desc", "diag_2_desc", "diag_3_desc"]


# ---------------------------------------------------------------- derived data


@pytest.fixture(scope="module")
def derived(tmp_path_factory):
    """Small CSVs (and one sparse .mtx) cut from the shared data to match each input schema."""
    folder = tmp_path_factory.mktemp("builtin-data")
    juniors = pd.read_csv(JUNIORS)
    rng = np.random.default_rng(0)
    holes = juniors.copy()
    for name in list(holes.columns[:10]):
        if name != "Grade 2014":
            holes.loc[rng.random(len(holes)) < 0.1, name] = np.nan
    holes.to_csv(folder / "juniors_missing.csv", index=False)

    diabetes = pd.read_csv(DATA / "10k_diabetes.csv", low_memory=False)
    numeric = [c for c in diabetes.columns if pd.api.types.is_numeric_dtype(diabetes[c]) and c != "readmitted"]
    diabetes[numeric + ["readmitted"]].to_csv(folder / "diabetes_num.csv", index=False)
    diabetes[TEXT_COLUMNS + ["readmitted"]].to_csv(folder / "diabetes_txt.csv", index=False)
    diabetes.drop(columns=TEXT_COLUMNS).head(2000).to_csv(folder / "diabetes_numcat.csv", index=False)

    from scipy.io import mmwrite
    from sklearn.feature_extraction.text import TfidfVectorizer

    head = diabetes.head(2000)
    vectorizer = TfidfVectorizer(min_df=2)
    mmwrite(str(folder / "text.mtx"), vectorizer.fit_transform(head["diag_1_desc"].fillna("")))
    (folder / "text_columns.txt").write_text("".join(f"w_{w}\n" for w in vectorizer.get_feature_names_out()))
    head[["readmitted"]].to_csv(folder / "text_target.csv", index=False)

    # Two estimators' predictions, as a blender's inputs (NODE__LABEL columns), for average_blend.
    p = rng.random((len(diabetes), 2))
    pd.DataFrame({"a__False": 1 - p[:, 0], "a__True": p[:, 0], "b__False": 1 - p[:, 1], "b__True": p[:, 1],
                  "readmitted": diabetes["readmitted"]}).to_csv(folder / "blend_binary.csv", index=False)
    sky = pd.read_csv(SKY)
    q = rng.dirichlet(np.ones(3), size=(len(sky), 2))
    blend = {f"{m}__{label}": q[:, i, j] for i, m in enumerate("ab") for j, label in enumerate(["GALAXY", "QSO", "STAR"])}
    pd.DataFrame({**blend, "class": sky["class"]}).to_csv(folder / "blend_multiclass.csv", index=False)
    return folder


# ---------------------------------------------------------------- metadata and folder contract


def test_every_builtin_task_exists_and_its_metadata_parses():
    from core.tasks.metadata import load_metadata, resolve_parameters

    folders = sorted(p.name for p in BUILTINS.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
    assert folders == sorted(ALL)
    assert len(ALL) == 23
    for name in ALL:
        folder = BUILTINS / name
        assert sorted(p.name for p in folder.rglob("custom.py")) == ["custom.py"], name
        raw = yaml.safe_load((folder / "model-metadata.yaml").read_text())
        assert raw["name"] == name and raw["type"] == "training", name
        meta = load_metadata(folder)
        assert meta.warnings == (), (name, meta.warnings)
        assert meta.name == name
        expected = ("transform",) if name in TRANSFORMS else ESTIMATORS[name]
        assert tuple(meta.target_types) == expected, name
        assert meta.type_schema.declared, name
        for hp in meta.hyperparameters:
            assert hp.default is not None, f"{name}: hyperparameter {hp.name} has no default"
        defaults = resolve_parameters(meta, {})
        assert set(defaults) == {hp.name for hp in meta.hyperparameters}, name
        inputs = {r.field: r for r in meta.type_schema.input_requirements}
        assert {"data_types", "sparse", "contains_missing"} <= set(inputs), name
        if name in ESTIMATORS:
            assert inputs["data_types"].value == ("NUM",), name


def test_every_hyperparameter_is_used_by_fit():
    """A declared hyperparameter that fit never reads would be a lie in the metadata."""
    from core.tasks.metadata import load_metadata

    for name in ALL:
        source = (BUILTINS / name / "custom.py").read_text()
        for hp in load_metadata(BUILTINS / name).hyperparameters:
            assert f'"{hp.name}"' in source, f"{name}: hyperparameter {hp.name} is not read in custom.py"


def test_every_task_links_the_one_shared_helper_and_readme_lists_every_task():
    shared = (BUILTINS / "_shared" / "builtin_helpers.py").resolve()
    for name in ALL:
        helper = BUILTINS / name / "builtin_helpers.py"
        assert helper.is_symlink() and helper.resolve() == shared, f"{name}/builtin_helpers.py must link to _shared"
    readme = (BUILTINS / "README.md").read_text()
    for name in ALL:
        assert f"`{name}`" in readme, name


# ---------------------------------------------------------------- the fit check, task by task

# (task, input, target type, extra flags, check missing?, phrases the output must contain)
CASES = [
    ("impute_median", "juniors_missing.csv", "transform", ["--target", "Grade 2014"], True,
     ["impute_median: learned medians for 33 columns", "transform on 1477 rows: 33 dense columns (NUM)", "33 columns blanked"]),
    ("impute_most_frequent", "diabetes_numcat.csv", "transform", ["--target", "readmitted"], True,
     ["(8 numeric, 39 categorical)", "transform on 2000 rows: 47 dense columns (CAT, NUM)", "47 columns blanked"]),
    ("missing_indicator", "juniors_missing.csv", "transform", ["--target", "Grade 2014"], True,
     ["10 of 33 columns had missing values; 10 indicator columns", "10 dense columns (NUM)"]),
    ("missing_indicator", JUNIORS, "transform", ["--target", "Grade 2014"], True,
     ["no column had missing values, so all are flagged", "33 dense columns (NUM)"]),
    ("standardize", JUNIORS, "transform", ["--target", "Grade 2014"], False,
     ["standardize: scaled 33 columns", "transform on 1477 rows: 33 dense columns (NUM)"]),
    ("one_hot", DIABETES_CAT, "transform", ["--target", "readmitted"], True,
     ["one_hot: 13 categorical columns -> 88 indicator columns", "transform on 3000 rows: 88 dense columns (NUM)", "13 columns blanked"]),
    ("ordinal", DIABETES_CAT, "transform", ["--target", "readmitted"], True,
     ["ordinal: 13 categorical columns", "transform on 3000 rows: 13 dense columns (NUM)"]),
    ("tfidf", "diabetes_txt.csv", "transform", ["--target", "readmitted"], True,
     ["tfidf: 3 text columns -> 2026 sparse term columns", "transform on 10000 rows: 2026 sparse columns (NUM)", "3 columns blanked"]),
    ("pca", SKY, "transform", ["--target", "class"], False,
     ["pca: 17 columns -> 10 components", "transform on 10000 rows: 10 dense columns (NUM)"]),
    ("svd", JUNIORS, "transform", ["--target", "Grade 2014"], False,
     ["svd: 33 dense columns -> 33 components", "33 dense columns (NUM)"]),
    ("svd", "text.mtx", "transform", ["--sparse-column-file", "text_columns.txt"], False,
     ["sparse columns -> 50 components", "transform on 2000 rows: 50 dense columns (NUM)"]),
    ("logistic_regression", IRIS, "binary", ["--target", "Species"], False,
     ["classes ['Iris-setosa', 'Iris-versicolor']", "predict_proba on 109 rows", "predicted Iris-setosa: 73, Iris-versicolor: 36"]),
    ("logistic_regression", SKY, "multiclass", ["--target", "class"], False,
     ["classes ['GALAXY', 'QSO', 'STAR']", "predict_proba on 10000 rows: probabilities per class valid"]),
    ("logistic_regression", "text.mtx", "binary",
     ["--sparse-column-file", "text_columns.txt", "--target-csv", "text_target.csv"], False,
     ["predict_proba on 2000 rows: probabilities per class valid"]),
    ("ridge", JUNIORS, "regression", ["--target", "Grade 2014"], False,
     ["ridge: alpha=1.0, 33 columns, 1477 rows", "predict on 1477 rows: Predictions mean 25.11"]),
    ("random_forest_classifier", IRIS, "binary", ["--target", "Species"], False,
     ["random_forest_classifier: 100 trees", "predict_proba on 109 rows"]),
    ("random_forest_classifier", SKY, "multiclass", ["--target", "class"], False,
     ["classes ['GALAXY', 'QSO', 'STAR']", "predict_proba on 10000 rows"]),
    ("random_forest_regressor", JUNIORS, "regression", ["--target", "Grade 2014"], False,
     ["random_forest_regressor: 100 trees, 33 columns, 1477 rows", "predict on 1477 rows"]),
    ("gbm_classifier", IRIS, "binary", ["--target", "Species"], True,
     ["gbm_classifier: 100 iterations", "predict_proba on 109 rows", "5 columns blanked"]),
    ("gbm_classifier", SKY, "multiclass", ["--target", "class"], True,
     ["classes ['GALAXY', 'QSO', 'STAR']", "predict_proba on 10000 rows", "17 columns blanked"]),
    ("gbm_classifier", "diabetes_num.csv", "binary", ["--target", "readmitted"], True,
     ["classes [False, True]", "predict_proba on 10000 rows", "8 columns blanked"]),
    ("gbm_regressor", "juniors_missing.csv", "regression", ["--target", "Grade 2014"], True,
     ["gbm_regressor: 100 iterations", "predict on 1477 rows", "33 columns blanked"]),
    ("hgb_classifier", IRIS, "binary", ["--target", "Species"], True,
     ["hgb_classifier: 1000 of 1000 iterations", "predict_proba on 109 rows", "5 columns blanked"]),
    ("hgb_classifier", SKY, "multiclass", ["--target", "class"], True,
     ["hgb_classifier: early stopping kept", "classes ['GALAXY', 'QSO', 'STAR']", "17 columns blanked"]),
    ("hgb_regressor", "juniors_missing.csv", "regression", ["--target", "Grade 2014"], True,
     ["hgb_regressor: early stopping kept", "predict on 1477 rows", "33 columns blanked"]),
    ("extra_trees_classifier", "diabetes_num.csv", "binary", ["--target", "readmitted"], True,
     ["extra_trees_classifier: 300 trees", "predict_proba on 10000 rows", "8 columns blanked"]),
    ("extra_trees_classifier", SKY, "multiclass", ["--target", "class"], True,
     ["classes ['GALAXY', 'QSO', 'STAR']", "predict_proba on 10000 rows", "17 columns blanked"]),
    ("extra_trees_regressor", "juniors_missing.csv", "regression", ["--target", "Grade 2014"], True,
     ["extra_trees_regressor: 300 trees", "predict on 1477 rows", "33 columns blanked"]),
    ("isolation_forest", JUNIORS_X, "anomaly", [], False,
     ["isolation_forest: 100 trees on 1477 rows x 33 columns", "predict on 1477 rows"]),
    ("knn_classifier", IRIS, "binary", ["--target", "Species"], False,
     ["knn_classifier: k=5 (uniform)", "predict_proba on 109 rows"]),
    ("knn_classifier", SKY, "multiclass", ["--target", "class"], False,
     ["classes ['GALAXY', 'QSO', 'STAR']", "predict_proba on 10000 rows"]),
    ("knn_regressor", JUNIORS, "regression", ["--target", "Grade 2014"], False,
     ["knn_regressor: k=5 (uniform), 33 columns, 1477 rows", "predict on 1477 rows"]),
    ("average_blend", "blend_binary.csv", "binary", ["--target", "readmitted"], False,
     ["average_blend: mean of 2 estimators' predictions, 10000 rows", "predict_proba on 10000 rows"]),
    ("average_blend", "blend_multiclass.csv", "multiclass", ["--target", "class"], False,
     ["average_blend: mean of 2 estimators' predictions", "probabilities per class valid"]),
    ("average_blend", JUNIORS, "regression", ["--target", "Grade 2014"], False,
     ["average_blend: mean of 33 estimators' predictions, 1477 rows", "predict on 1477 rows"]),
]


def _case_id(case):
    task, data, target_type = case[:3]
    return f"{task}-{target_type}-{Path(str(data)).stem}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_builtin_task_passes_the_fit_check(case, derived, taskbench, home, tmp_path):
    task, data, target_type, flags, allows_missing, phrases = case
    data = data if isinstance(data, Path) else derived / data
    flags = [str(derived / f) if f.endswith((".txt", ".csv")) else f for f in flags]
    before = tree_digest(BUILTINS / task)
    kept = tmp_path / "artifacts"
    result = taskbench(
        "fit", "--code-dir", BUILTINS / task, "--input", data, "--target-type", target_type,
        *flags, "--check-missing", "--output", kept,
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Fit check passed" in text and "scores the same as the full data" in text, result.output
    if allows_missing:
        assert "columns blanked" in text, result.output
    else:
        assert "not checked: the task's input schema forbids missing values" in text, result.output
    for phrase in phrases:
        assert phrase in text, f"{phrase!r} missing from:\n{result.output}"
    # drum fit --output: the artifact, and the task's code beside it (a fitted folder `score --code-dir` loads)
    code = sorted(str(p.relative_to(BUILTINS / task)) for p in (BUILTINS / task).rglob("*")
                  if p.is_file() and not any(part == "__pycache__" or part.startswith(".") for part in p.parts))
    assert sorted(str(p.relative_to(kept)) for p in kept.rglob("*") if p.is_file()) == sorted({"artifact.pkl", *code})
    assert tree_digest(BUILTINS / task) == before
    assert leftovers(home) == []


def test_every_builtin_task_has_a_fit_check_case_for_each_target_type():
    covered = {(c[0], c[2]) for c in CASES}
    for name in TRANSFORMS:
        assert (name, "transform") in covered, name
    for name, types in ESTIMATORS.items():
        for target_type in types:
            assert (name, target_type) in covered, (name, target_type)


def test_schema_violations_are_reported_for_builtin_tasks(derived, taskbench, home):
    """standardize forbids missing values; gbm needs dense input: both are schema errors (exit 3)."""
    result = taskbench(
        "fit", "--code-dir", BUILTINS / "standardize", "--input", derived / "juniors_missing.csv",
        "--target-type", "transform", "--target", "Grade 2014",
    )
    assert result.exit_code == 3, result.output
    assert "contains_missing FORBIDDEN" in " ".join(result.output.split())
    result = taskbench(
        "fit", "--code-dir", BUILTINS / "gbm_classifier", "--input", derived / "text.mtx",
        "--sparse-column-file", derived / "text_columns.txt", "--target-type", "binary",
        "--target-csv", derived / "text_target.csv",
    )
    assert result.exit_code == 3, result.output
    assert "sparse FORBIDDEN" in " ".join(result.output.split())


def test_hyperparameters_from_a_parameter_file_reach_fit(taskbench, home, tmp_path):
    params = tmp_path / "params.json"
    params.write_text('{"max_categories": 3}')
    result = taskbench(
        "fit", "--code-dir", BUILTINS / "one_hot", "--input", DIABETES_CAT, "--target-type", "transform",
        "--target", "readmitted", "--parameter-file", params,
    )
    assert result.exit_code == 0, result.output
    # 13 columns with at most 3 output columns each; gender and change have 2 or 3 levels.
    assert "(max_categories=3)" in result.output
    count = int(result.output.split("one_hot: 13 categorical columns -> ")[1].split()[0])
    assert 13 * 2 <= count <= 13 * 3


# ---------------------------------------------------------------- hook-level behaviour


def _load(name):
    """Import a built-in task's custom.py as its own module, its folder first on sys.path."""
    folder = str(BUILTINS / name)
    sys.path.insert(0, folder)
    try:
        sys.modules.pop("builtin_helpers", None)
        spec = importlib.util.spec_from_file_location(f"builtin_task_{name}", BUILTINS / name / "custom.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(folder)
        sys.modules.pop("builtin_helpers", None)
    return module


def _fit(name, X, y, tmp_path, **kwargs):
    """Run a task's fit and load its artifact back as scoring would (pickle, no task classes)."""
    module = _load(name)
    out = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=tmp_path))
    module.fit(X=X, y=y, output_dir=str(out), **kwargs)
    assert [p.name for p in out.iterdir()] == ["artifact.pkl"]
    with open(out / "artifact.pkl", "rb") as fh:
        return module, pickle.load(fh)


def test_one_hot_names_levels_and_handles_unseen_categories(tmp_path):
    colors = ["red"] * 4 + ["blue"] * 3 + [None] * 2 + ["green"]
    X = pd.DataFrame({"color": colors * 3, "size": ["S", "M"] * 15})
    module, model = _fit("one_hot", X, None, tmp_path, parameters={"max_categories": 3})
    out = module.transform(X, model)
    # Two most frequent levels of color keep a column; (missing) and green share the infrequent one.
    assert list(out.columns) == [
        "one_hot__color=blue",
        "one_hot__color=red",
        "one_hot__color=(infrequent)",
        "one_hot__size=M",
        "one_hot__size=S",
    ]
    assert (out.dtypes == "float64").all() and out.shape == (30, 5)
    assert out.sum(axis=1).eq(2).all()
    assert out["one_hot__color=(infrequent)"].sum() == 9
    scoring = pd.DataFrame({"color": ["purple", "red"], "size": ["XL", "S"]}, index=[7, 9])
    scored = module.transform(scoring, model)
    assert list(scored.index) == [0, 1]
    assert scored.loc[0].tolist() == [0.0, 0.0, 1.0, 0.0, 0.0]  # unseen color: infrequent; unseen size: zeros
    assert scored.loc[1].tolist() == [0.0, 1.0, 0.0, 0.0, 1.0]
    # With room for every level, missing is a level of its own.
    module, model = _fit("one_hot", X, None, tmp_path)
    assert "one_hot__color=(missing)" in module.transform(X, model).columns


def test_ordinal_codes_unseen_levels_as_minus_one(tmp_path):
    X = pd.DataFrame({"grade": ["b", "a", None, "c"]})
    module, model = _fit("ordinal", X, None, tmp_path)
    out = module.transform(pd.DataFrame({"grade": ["a", "zzz", None]}), model)
    assert list(out.columns) == ["ordinal__grade"]
    assert out["ordinal__grade"].tolist()[1] == -1.0
    assert out["ordinal__grade"].notna().all()


def test_tfidf_is_sparse_named_per_column_and_reads_missing_text_as_empty(tmp_path):
    X = pd.DataFrame({
        "notes": ["heart failure acute", "acute kidney failure", None, "heart disease"],
        "title": ["chronic pain", "acute pain", "pain", None],
    })
    module, model = _fit("tfidf", X, None, tmp_path, parameters={"min_df": 1})
    out = module.transform(X, model)
    assert all(isinstance(dtype, pd.SparseDtype) for dtype in out.dtypes)
    assert "tfidf__notes__heart" in out.columns and "tfidf__title__pain" in out.columns
    assert out.shape[0] == 4 and len(set(out.columns)) == out.shape[1]
    assert out.iloc[2][[c for c in out.columns if c.startswith("tfidf__notes__")]].sparse.to_dense().sum() == 0
    # No usable text at all: one all-zero column instead of an empty frame.
    empty = pd.DataFrame({"notes": [None, None, None]})
    module, model = _fit("tfidf", empty, None, tmp_path)
    assert list(module.transform(empty, model).columns) == ["tfidf__(empty)"]


def test_mixed_dense_and_sparse_inputs_feed_sparse_capable_estimators(tmp_path):
    """A blueprint may concatenate tfidf's sparse columns with dense ones; estimators build one CSR matrix."""
    diabetes = pd.read_csv(DATA / "10k_diabetes.csv", low_memory=False).head(1500)
    y = diabetes["readmitted"]
    tfidf, tf_model = _fit("tfidf", diabetes[TEXT_COLUMNS], None, tmp_path)
    text = tfidf.transform(diabetes[TEXT_COLUMNS], tf_model)
    numeric = diabetes[["time_in_hospital", "num_medications", "number_inpatient"]].astype("float64")
    X = pd.concat([numeric, text], axis=1)
    for name in ("logistic_regression", "random_forest_classifier", "knn_classifier"):
        module, model = _fit(name, X, y, tmp_path, class_order=[False, True])
        proba = module.predict_proba(X, model, class_labels=[False, True], target_type="binary")
        assert list(proba.columns) == [False, True]
        assert np.allclose(proba.sum(axis=1), 1.0)
        sample = module.predict_proba(X.iloc[100:130].reset_index(drop=True), model, class_labels=[False, True])
        assert np.allclose(sample.to_numpy(), proba.iloc[100:130].to_numpy())
    svd, svd_model = _fit("svd", X, None, tmp_path, parameters={"n_components": 5})
    reduced = svd.transform(X, svd_model)
    assert list(reduced.columns) == [f"svd__{i}" for i in range(1, 6)]
    # gbm takes the dense reduction (and would densify a mixed frame rather than fail).
    gbm, gbm_model = _fit("gbm_classifier", reduced, y, tmp_path, class_order=[False, True])
    assert gbm.predict_proba(reduced, gbm_model, class_labels=[False, True]).shape == (1500, 2)


def test_classifiers_name_columns_by_the_engine_labels_and_cover_absent_classes(tmp_path):
    sky = pd.read_csv(SKY)
    y = sky.pop("class")
    rows = y.isin(["GALAXY", "STAR"])  # QSO never appears in these training rows
    for name in ("logistic_regression", "random_forest_classifier", "gbm_classifier", "knn_classifier"):
        module, model = _fit(name, sky[rows].head(800), y[rows].head(800), tmp_path,
                             class_order=["GALAXY", "QSO", "STAR"], parameters=None)
        proba = module.predict_proba(sky.head(50), model, class_labels=["GALAXY", "QSO", "STAR"])
        assert list(proba.columns) == ["GALAXY", "QSO", "STAR"], name
        assert (proba["QSO"] == 0).all(), name
        assert np.abs(proba.sum(axis=1) - 1).max() < 1e-12, name
    # One class only: a constant model, not a crash.
    module, model = _fit("logistic_regression", sky.head(20), pd.Series(["STAR"] * 20), tmp_path,
                         class_order=["GALAXY", "STAR"])
    proba = module.predict_proba(sky.head(3), model, class_labels=["GALAXY", "STAR"])
    assert proba["STAR"].tolist() == [1.0, 1.0, 1.0]


def test_estimators_use_row_weights_and_explain_missing_values(tmp_path):
    juniors = pd.read_csv(JUNIORS)
    y = juniors.pop("Grade 2014")
    weights = pd.Series(np.where(np.arange(len(y)) % 2 == 0, 1.0, 5.0))
    module, plain = _fit("ridge", juniors, y, tmp_path)
    _, weighted = _fit("ridge", juniors, y, tmp_path, row_weights=weights)
    assert not np.allclose(plain["estimator"].coef_, weighted["estimator"].coef_)
    holes = juniors.copy()
    holes.iloc[3, 2] = np.nan
    with pytest.raises(ValueError, match="forbids missing values"):
        module.predict(holes, plain)
    _, ols = _fit("ridge", juniors, y, tmp_path, parameters={"alpha": 0.0})
    assert type(ols["estimator"]).__name__ == "LinearRegression"


def test_anomaly_scores_rise_for_unusual_rows(tmp_path):
    X = pd.read_csv(JUNIORS_X)
    module, model = _fit("isolation_forest", X, None, tmp_path)
    odd = X.head(1) * 50
    scores = module.predict(pd.concat([X.head(200), odd], ignore_index=True), model)
    assert list(scores.columns) == ["Predictions"]
    assert scores["Predictions"].iloc[-1] > scores["Predictions"].iloc[:200].max()


def test_imputers_keep_names_and_fill_every_value(tmp_path):
    X = pd.DataFrame({"age": [1.0, np.nan, 3.0, 5.0], "empty": [np.nan] * 4, "city": ["a", None, "a", "b"]})
    module, model = _fit("impute_median", X[["age", "empty"]], None, tmp_path)
    out = module.transform(X[["age", "empty"]], model)
    assert list(out.columns) == ["age", "empty"] and out["age"].tolist() == [1.0, 3.0, 3.0, 5.0]
    assert out["empty"].tolist() == [0.0] * 4
    module, model = _fit("impute_most_frequent", X, None, tmp_path)
    out = module.transform(X, model)
    assert list(out.columns) == ["age", "empty", "city"]
    assert out["city"].tolist() == ["a", "a", "a", "b"] and out.notna().all().all()
    module, model = _fit("missing_indicator", X[["age", "empty"]], None, tmp_path)
    out = module.transform(X[["age", "empty"]], model)
    assert list(out.columns) == ["missing_indicator__age", "missing_indicator__empty"]
    assert out["missing_indicator__age"].tolist() == [0.0, 1.0, 0.0, 0.0]
