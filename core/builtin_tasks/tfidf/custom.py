"""Built-in transform: TF-IDF features of free-text columns, as a pandas sparse DataFrame.

Each text column gets its own vocabulary (columns tfidf__<column>__<term>), so the same word in
two columns stays two features. Output is sparse: a few thousand term columns over 10,000 rows
hold well under 1% non-zeros, so a dense float64 frame would waste hundreds of megabytes.
"""
import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from builtin_helpers import (
    MISSING_LEVEL,
    column_names,
    flag,
    levels,
    param,
    save,
    select_columns,
    sparse_output_frame,
    unique_names,
)

TASK = "tfidf"
EMPTY = f"{TASK}__(empty)"


def _texts(X):
    """Each column as a list of strings; missing text is the empty string."""
    frame = levels(X)
    return [np.where(frame.iloc[:, i].to_numpy() == MISSING_LEVEL, "", frame.iloc[:, i].to_numpy()) for i in range(X.shape[1])]


def fit(X, y, output_dir, parameters=None, **kwargs):
    """Fit one TfidfVectorizer per text column (a column with no usable terms contributes none)."""
    p = {
        "max_features": int(param(parameters, "max_features", 2000)),
        "min_df": int(param(parameters, "min_df", 2)),
        "max_ngram": int(param(parameters, "max_ngram", 1)),
        "sublinear_tf": flag(param(parameters, "sublinear_tf", True)),
    }
    columns = column_names(X)
    vectorizers, names = [], []
    for column, texts in zip(columns, _texts(X)):
        vectorizer = TfidfVectorizer(
            max_features=p["max_features"],
            min_df=p["min_df"],
            ngram_range=(1, p["max_ngram"]),
            sublinear_tf=p["sublinear_tf"],
            dtype=np.float64,
        )
        try:
            vectorizer.fit(texts)
        except ValueError:  # empty vocabulary: no text, or every term pruned by min_df
            vectorizers.append(None)
            continue
        vectorizers.append(vectorizer)
        names += [f"{TASK}__{column}__{term}" for term in vectorizer.get_feature_names_out()]
    names = unique_names(names) if names else [EMPTY]
    save(output_dir, {"task": TASK, "columns": columns, "vectorizers": vectorizers, "names": names, "parameters": p})
    per_column = ", ".join(f"{c}: {len(v.vocabulary_) if v else 0}" for c, v in zip(columns, vectorizers))
    print(f"{TASK}: {len(columns)} text columns -> {len(names)} sparse term columns ({per_column})")


def transform(X, transformer):
    """Return the TF-IDF weights as a float64 pandas sparse DataFrame (fill value 0), one row per input row."""
    X = select_columns(X, transformer["columns"], TASK)
    blocks = [v.transform(texts) for v, texts in zip(transformer["vectorizers"], _texts(X)) if v is not None]
    M = sp.hstack(blocks, format="csc") if blocks else sp.csc_matrix((len(X), 1))
    return sparse_output_frame(M, transformer["names"])
