"""A fitted scikit-learn transformer (median imputation, then standard scaling) pickled to artifact.pkl.

There is no load_model: the single .pkl file in output_dir is unpickled and handed to transform().
"""
import pickle
from pathlib import Path

from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def fit(X, y, output_dir, **kwargs):
    """Fit the pipeline on the training columns and pickle it."""
    transformer = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler())
    transformer.set_output(transform="pandas")
    transformer.fit(X)
    with open(Path(output_dir) / "artifact.pkl", "wb") as f:
        pickle.dump(transformer, f)
    print(f"pickled_sklearn: fitted {' -> '.join(transformer.named_steps)} on {X.shape[1]} columns")


def transform(X, transformer):
    """Apply the fitted pipeline; ``set_output`` makes it return a DataFrame with the input's index."""
    return transformer.transform(X)
