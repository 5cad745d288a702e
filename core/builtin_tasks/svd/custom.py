"""Built-in transform: truncated SVD (latent semantic analysis) of numeric columns, dense or sparse."""
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD

from builtin_helpers import column_names, forbid_missing, matrix, output_frame, param, save, select_columns

TASK = "svd"


def fit(X, y, output_dir, parameters=None, **kwargs):
    """Fit TruncatedSVD (randomized, seeded) with at most n_components components.

    Sparse input (for example tfidf's output) stays sparse: the data is not centred, so no dense
    copy is ever made.
    """
    columns = column_names(X)
    M = matrix(X)
    forbid_missing(M, columns, TASK)
    wanted = int(param(parameters, "n_components", 50))
    k = max(1, min(wanted, M.shape[0], M.shape[1]))
    svd = TruncatedSVD(
        n_components=k,
        algorithm="randomized",
        n_iter=int(param(parameters, "n_iter", 5)),
        random_state=int(param(parameters, "seed", 0)),
    )
    svd.fit(M)
    names = [f"{TASK}__{i + 1}" for i in range(k)]
    save(output_dir, {"task": TASK, "columns": columns, "svd": svd, "names": names})
    kind = "sparse" if sp.issparse(M) else "dense"
    explained = float(svd.explained_variance_ratio_.sum())
    print(f"{TASK}: {len(columns)} {kind} columns -> {k} components explaining {explained:.1%} of the variance")


def transform(X, transformer):
    """Return the component scores as dense float64 columns svd__1 … svd__k."""
    columns = transformer["columns"]
    M = matrix(select_columns(X, columns, TASK))
    forbid_missing(M, columns, TASK)
    return output_frame(transformer["svd"].transform(M), transformer["names"])
