"""Writes the LightGBM text models and LightGBM's own predictions that
src/gtn/ml/lightgbm_loader_test.cc checks the C++ loader against.

Run from the repository root: python tests/ml/lightgbm/make_models.py (LightGBM 4.7)."""
from pathlib import Path

import lightgbm as lgb
import numpy as np

OUT = Path(__file__).resolve().parent


def data(seed, n):
    """Two numeric features, a categorical one (8 levels) and a feature with zeros; NaN."""
    rng = np.random.default_rng(seed)
    X = np.c_[rng.normal(size=n), rng.integers(0, 8, n), rng.random(n),
              np.where(rng.random(n) < 0.3, 0.0, rng.normal(size=n))]
    y = X[:, 0] + (X[:, 1] % 3 == 0) - X[:, 3]
    X[rng.random(X.shape) < 0.05] = np.nan
    return X, y


def main():
    X, y = data(0, 400)
    Xt, _ = data(1, 60)
    Xt[::7, 1] = -2.0      # negative category
    Xt[::11, 1] = 20.0     # unseen category
    Xt[::13, 1] = -0.5     # LightGBM reads it as category 0
    np.save(OUT / "X.npy", Xt)
    common = dict(n_estimators=8, num_leaves=6, min_data_per_group=5, verbose=-1, n_jobs=1)
    models = {
        "binary_categorical": lgb.LGBMClassifier(**common).fit(
            X, (y > 0.5).astype(int), categorical_feature=[1]),
        "multiclass": lgb.LGBMClassifier(**common).fit(X, np.digitize(y, [0, 1])),
        "regression_zero_as_missing": lgb.LGBMRegressor(zero_as_missing=True, **common).fit(
            X, y),
    }
    for name, est in models.items():
        booster = est.booster_
        booster.save_model(OUT / f"{name}.txt")
        np.save(OUT / f"{name}.raw.npy", booster.predict(Xt, raw_score=True))
        np.save(OUT / f"{name}.predict.npy", booster.predict(Xt))


if __name__ == "__main__":
    main()
