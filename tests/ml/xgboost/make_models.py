"""Writes the XGBoost test models and the predictions xgboost itself makes on them.

Run from the repository root with the project venv: .venv/bin/python tests/ml/xgboost/make_models.py
Files: <name>.json (Booster.save_model), X.npy (float32 inputs, some NaN),
<name>.predict.npy (Booster.predict), <name>.margin.npy (output_margin=True).
"""
import pathlib

import numpy as np
import xgboost as xgb

here = pathlib.Path(__file__).parent
rng = np.random.default_rng(42)
n, f = 400, 6
X = rng.normal(size=(n, f)).astype(np.float32)
X[rng.random(size=X.shape) < 0.08] = np.nan  # missing values exercise default_left
X_test = rng.normal(size=(64, f)).astype(np.float32)
X_test[rng.random(size=X_test.shape) < 0.1] = np.nan
np.save(here / "X.npy", X_test)

signal = np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1]) * np.nan_to_num(X[:, 2])
models = {
    "binary_logistic": ({"objective": "binary:logistic", "max_depth": 4}, (signal > 0).astype(int), 20),
    "multi_softprob": ({"objective": "multi:softprob", "num_class": 3, "max_depth": 3},
                       np.digitize(signal, [-0.5, 0.5]), 10),
    "reg_squarederror": ({"objective": "reg:squarederror", "max_depth": 5}, signal, 15),
    "reg_logistic": ({"objective": "reg:logistic", "max_depth": 3}, 1 / (1 + np.exp(-signal)), 10),
    "count_poisson": ({"objective": "count:poisson", "max_depth": 3}, np.round(np.exp(signal / 2)), 10),
}
for name, (params, y, rounds) in models.items():
    bst = xgb.train({**params, "seed": 0, "eta": 0.3}, xgb.DMatrix(X, label=y), rounds)
    bst.save_model(str(here / f"{name}.json"))
    d = xgb.DMatrix(X_test)
    np.save(here / f"{name}.predict.npy", bst.predict(d))
    np.save(here / f"{name}.margin.npy", bst.predict(d, output_margin=True))
print("xgboost", xgb.__version__, "models written to", here)
