"""Writes an XGBoost model with categorical splits and xgboost's own margins on rows with
negative, fractional, unseen and missing categories, for src/gtn/ml/tree_categorical_test.cc.

Run from the repository root: .venv/bin/python tests/ml/xgboost/make_categorical.py
Files: categorical.json, categorical_X.npy (float32), categorical.margin.npy."""
import pathlib

import numpy as np
import xgboost as xgb

here = pathlib.Path(__file__).parent
rng = np.random.default_rng(7)
n = 400
X = np.c_[rng.normal(size=n), rng.integers(0, 12, n), rng.random(n)].astype(np.float32)
y = X[:, 0] + (X[:, 1] % 3 == 0) * 1.5
X[rng.random(X.shape) < 0.05] = np.nan
Xt = np.c_[rng.normal(size=64), rng.integers(-2, 16, 64) + 0.5 * (rng.random(64) < 0.2),
           rng.random(64)].astype(np.float32)
Xt[rng.random(Xt.shape) < 0.08] = np.nan
est = xgb.XGBRegressor(n_estimators=6, max_depth=3, enable_categorical=True, n_jobs=1,
                       feature_types=["q", "c", "q"], max_cat_to_onehot=1).fit(X, y)
est.get_booster().save_model(here / "categorical.json")
np.save(here / "categorical_X.npy", Xt)
np.save(here / "categorical.margin.npy", est.predict(Xt, output_margin=True))
