"""Binary pipeline over numeric, categorical and free-text columns, built by the helper module create_pipeline.py."""
import pickle
from pathlib import Path

import pandas as pd

from create_pipeline import column_kinds, make_pipeline


def fit(X, y, output_dir, row_weights=None, parameters=None, **kwargs):
    """Build the pipeline for these columns, train it and pickle it (it refers to create_pipeline by name)."""
    numeric, categorical, text = column_kinds(X)
    pipeline = make_pipeline(X, C=(parameters or {}).get("C", 1.0))
    weights = None if row_weights is None else row_weights.to_numpy()
    pipeline.fit(X, y, model__sample_weight=weights)
    with open(Path(output_dir) / "artifact.pkl", "wb") as f:
        pickle.dump(pipeline, f)
    print(f"text_pipeline: {len(numeric)} numeric, {len(categorical)} categorical, {len(text)} text columns "
          f"-> {pipeline['model'].n_features_in_} features")


def predict_proba(X, model, **kwargs):
    """Return one probability column per class."""
    return pd.DataFrame(model.predict_proba(X), columns=model.classes_, index=X.index)
