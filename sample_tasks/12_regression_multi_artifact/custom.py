"""Polynomial regression saved as three artifacts (feature list, preprocessing, model) and read back by load_model."""
import json
import pickle
from pathlib import Path

import joblib
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler


def fit(X, y, output_dir, row_weights=None, parameters=None, **kwargs):
    """Write ``features.json``, ``preprocess.pkl`` and ``model.joblib``; two native files need a load_model."""
    degree = (parameters or {}).get("degree", 3)
    features = X.select_dtypes("number").columns.tolist()
    preprocess = make_pipeline(SimpleImputer(strategy="median"), StandardScaler()).fit(X[features])
    regressor = make_pipeline(PolynomialFeatures(degree), Ridge(alpha=1e-3))
    weights = None if row_weights is None else row_weights.to_numpy()
    regressor.fit(preprocess.transform(X[features]), y, ridge__sample_weight=weights)

    output_dir = Path(output_dir)
    (output_dir / "features.json").write_text(json.dumps(features))
    with open(output_dir / "preprocess.pkl", "wb") as f:
        pickle.dump(preprocess, f)
    joblib.dump(regressor, output_dir / "model.joblib")
    print(f"multi_artifact: degree-{degree} polynomial on {features}, wrote 3 artifacts")


def load_model(code_dir):
    """Read the three artifacts back; ``code_dir`` holds the task's files and everything fit wrote."""
    code_dir = Path(code_dir)
    features = json.loads((code_dir / "features.json").read_text())
    with open(code_dir / "preprocess.pkl", "rb") as f:
        preprocess = pickle.load(f)
    return features, preprocess, joblib.load(code_dir / "model.joblib")


def predict(X, model, **kwargs):
    """Select the training features, impute and scale them, and predict; extra columns are ignored."""
    features, preprocess, regressor = model
    return pd.DataFrame({"Predictions": regressor.predict(preprocess.transform(X[features]))}, index=X.index)
