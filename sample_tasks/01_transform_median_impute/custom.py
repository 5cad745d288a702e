"""Median imputation for numeric columns: fit learns one median per column, transform fills the gaps."""
import pickle
from pathlib import Path


def fit(X, y, output_dir, **kwargs):
    """Learn the median of every column and pickle them to ``artifact.pkl`` (read back without load_model)."""
    medians = X.median(numeric_only=True).fillna(0.0).to_dict()  # an all-missing column falls back to 0
    with open(Path(output_dir) / "artifact.pkl", "wb") as f:
        pickle.dump(medians, f)
    print(f"median_impute: learned medians for {len(medians)} columns")


def transform(X, transformer):
    """Fill missing values with the medians learned in fit; ``transformer`` is the unpickled dict."""
    return X.fillna(transformer).astype("float64")
