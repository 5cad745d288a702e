"""Built-in transform: principal component analysis of numeric columns (dense input, no missing values)."""
from sklearn.decomposition import PCA

from builtin_helpers import column_names, dense_matrix, flag, forbid_missing, output_frame, param, save, select_columns

TASK = "pca"


def fit(X, y, output_dir, parameters=None, **kwargs):
    """Fit PCA with at most n_components components (fewer when the data has fewer rows or columns)."""
    columns = column_names(X)
    M = dense_matrix(X)
    forbid_missing(M, columns, TASK)
    wanted = int(param(parameters, "n_components", 10))
    k = max(1, min(wanted, M.shape[0], M.shape[1]))
    pca = PCA(
        n_components=k,
        whiten=flag(param(parameters, "whiten", False)),
        svd_solver="randomized" if k < min(M.shape) // 2 else "full",
        random_state=int(param(parameters, "seed", 0)),
    )
    pca.fit(M)
    names = [f"{TASK}__{i + 1}" for i in range(k)]
    save(output_dir, {"task": TASK, "columns": columns, "pca": pca, "names": names})
    explained = float(pca.explained_variance_ratio_.sum())
    print(f"{TASK}: {len(columns)} columns -> {k} components explaining {explained:.1%} of the variance")


def transform(X, transformer):
    """Return the component scores as float64 columns pca__1 … pca__k."""
    columns = transformer["columns"]
    M = dense_matrix(select_columns(X, columns, TASK))
    forbid_missing(M, columns, TASK)
    return output_frame(transformer["pca"].transform(M), transformer["names"])
