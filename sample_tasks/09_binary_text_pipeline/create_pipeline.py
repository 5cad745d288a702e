"""Builds the preprocessing + model pipeline for 09_binary_text_pipeline; imported by name from custom.py."""
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler


def fill_missing_text(column):
    """Replace missing text with an empty string (a module-level function, so the pipeline pickles)."""
    return column.fillna("").astype(str)


def column_kinds(X):
    """Split columns into numeric, categorical and free text (many distinct values of several words)."""
    numeric = X.select_dtypes("number").columns.tolist()
    text = [
        c for c in X.columns
        if c not in numeric and X[c].nunique() > 100 and X[c].dropna().astype(str).str.split().str.len().mean() > 3
    ]
    categorical = [c for c in X.columns if c not in numeric and c not in text]
    return numeric, categorical, text


def make_pipeline(X, C=1.0):
    """Impute and scale numbers, one-hot categories, TF-IDF each text column, then a logistic regression."""
    numeric, categorical, text = column_kinds(X)
    columns = [
        ("num", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]), numeric),
        ("cat", Pipeline([
            ("impute", SimpleImputer(strategy="constant", fill_value="(missing)")),
            ("onehot", OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=10)),
        ]), categorical),
    ]
    columns += [
        (f"txt_{name}", Pipeline([
            ("fill", FunctionTransformer(fill_missing_text)),
            ("tfidf", TfidfVectorizer(max_features=2000, sublinear_tf=True)),
        ]), name)
        for name in text
    ]
    return Pipeline([
        ("preprocess", ColumnTransformer(columns)),
        ("model", LogisticRegression(C=C, max_iter=2000)),
    ])
