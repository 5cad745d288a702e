"""One-hot encoding of categorical columns with scikit-learn's OneHotEncoder; rare levels share one column."""
import pickle
from pathlib import Path

import pandas as pd
from sklearn.preprocessing import OneHotEncoder


def _as_levels(X):
    """Treat every value as a string level and a missing value as a level of its own."""
    return X.astype("object").where(X.notna(), "(missing)").astype(str)


def fit(X, y, output_dir, parameters=None, **kwargs):
    """Fit the encoder, keeping at most ``max_categories`` columns per input column."""
    max_categories = (parameters or {}).get("max_categories", 20)
    encoder = OneHotEncoder(handle_unknown="ignore", max_categories=max_categories, sparse_output=False)
    encoder.fit(_as_levels(X))
    with open(Path(output_dir) / "artifact.pkl", "wb") as f:
        pickle.dump(encoder, f)
    print(f"one_hot: {X.shape[1]} categorical columns -> {len(encoder.get_feature_names_out())} indicator columns")


def transform(X, transformer):
    """Return a dense 0/1 DataFrame; levels never seen in training give all-zero rows."""
    encoded = transformer.transform(_as_levels(X))
    return pd.DataFrame(encoded, columns=transformer.get_feature_names_out(), index=X.index)
