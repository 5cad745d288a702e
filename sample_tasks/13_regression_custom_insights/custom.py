"""Random-forest regression that publishes custom insights: feature importances as a CSV and as a PNG bar chart.

Every file fit writes into output_dir is kept with the model; only artifact.pkl is a native model file.
"""
import pickle
from pathlib import Path

import pandas as pd
from sklearn.ensemble import RandomForestRegressor

from png_chart import bar_chart


def fit(X, y, output_dir, row_weights=None, parameters=None, **kwargs):
    """Train the forest, pickle it, and write ``feature_importance.csv`` and ``feature_importance.png``."""
    p = parameters or {}
    estimator = RandomForestRegressor(n_estimators=200, min_samples_leaf=5, random_state=0)
    estimator.fit(X, y, sample_weight=row_weights)

    output_dir = Path(output_dir)
    with open(output_dir / "artifact.pkl", "wb") as f:
        pickle.dump(estimator, f)
    importance = pd.Series(estimator.feature_importances_, index=X.columns, name="importance")
    importance = importance.sort_values(ascending=False).rename_axis("feature")
    importance.to_csv(output_dir / "feature_importance.csv")
    top = importance.head(p.get("top_features", 15))
    bar_chart(output_dir / "feature_importance.png", top.tolist())
    print(f"custom_insights: top feature {top.index[0]!r} ({top.iloc[0]:.1%}); chart of {len(top)} bars "
          f"in the order of feature_importance.csv")


def predict(X, model, **kwargs):
    """Return the predicted target as a single ``Predictions`` column."""
    return pd.DataFrame({"Predictions": model.predict(X)}, index=X.index)
