"""Shared data sets and the parity check used by every converter test."""
import os

import numpy as np
import pytest
from sklearn import (decomposition, ensemble, linear_model, naive_bayes, neighbors,
                     neural_network, preprocessing, svm, tree)
from sklearn.datasets import make_classification, make_regression
from sklearn.pipeline import make_pipeline

import gtn.ml

METHODS = ("predict", "predict_proba", "decision_function", "transform", "score_samples")
# Tolerances sit near the largest errors seen over this suite: float64 ~2e-13 absolute
# (decision values up to ~500), float32 ~5e-5 absolute on values ~500 (relative ~1e-7 of
# the magnitudes summed). XGBoost computes its own predictions in float32, so a GTN float64
# model differs from it by XGBoost's rounding (~4e-7 seen): XGB_TOL.
RTOL = {"float64": 1e-12, "float32": 1e-4}
ATOL = {"float64": 1e-12, "float32": 1e-5}
XGB_TOL = {"rtol": 1e-6, "atol": 1e-6}

# One small model per family (and the data set it is fitted on), for cross-checks.
MODELS = {
    "logistic": (linear_model.LogisticRegression(max_iter=1000), "multiclass"),
    "sgd": (linear_model.SGDClassifier(loss="modified_huber", random_state=0), "multiclass"),
    "ridge": (linear_model.Ridge(), "regression"),
    "svc": (svm.SVC(), "multiclass"),
    "svr_poly": (svm.SVR(kernel="poly"), "regression"),
    "gaussian_nb": (naive_bayes.GaussianNB(), "multiclass"),
    "knn": (neighbors.KNeighborsClassifier(weights="distance"), "multiclass"),
    "knn_reg": (neighbors.KNeighborsRegressor(), "regression"),
    "mlp": (neural_network.MLPClassifier((8,), max_iter=30, random_state=0), "binary"),
    "tree": (tree.DecisionTreeRegressor(max_depth=5), "regression"),
    "forest": (ensemble.RandomForestClassifier(5, max_depth=4, random_state=0), "multiclass"),
    "gb": (ensemble.GradientBoostingClassifier(n_estimators=5, random_state=0), "multiclass"),
    "hgb": (ensemble.HistGradientBoostingClassifier(max_iter=5), "binary"),
    "iforest": (ensemble.IsolationForest(n_estimators=5, random_state=0), "binary"),
    "pipeline": (make_pipeline(preprocessing.StandardScaler(), decomposition.PCA(4, whiten=True),
                               preprocessing.Normalizer()), "regression"),
}


def _split(X, y):
    return X[:200], y[:200], X[200:], y[200:]


@pytest.fixture(scope="session")
def binary():
    X, y = make_classification(n_samples=300, n_features=10, n_informative=6, random_state=0)
    return _split(X, y)


@pytest.fixture(scope="session")
def multiclass():
    X, y = make_classification(n_samples=300, n_features=10, n_informative=6, n_classes=4,
                               random_state=1)
    return _split(X, y)


@pytest.fixture(scope="session")
def regression():
    X, y = make_regression(n_samples=300, n_features=10, n_informative=6, noise=5.0,
                           random_state=2)
    return _split(X, y / 100.0)


def with_nans(X, seed=3, fraction=0.1):
    """A copy of X with about `fraction` of its values replaced by NaN."""
    X = X.copy()
    X[np.random.default_rng(seed).random(X.shape) < fraction] = np.nan
    return X


def source_methods(est):
    return [m for m in METHODS if hasattr(est, m)]


def assert_parity(est, X, dtype="float64", backend="cpu", model=None, rtol=None, atol=None):
    """Converts `est` and checks every prediction method against scikit-learn's own.

    rtol / atol override the dtype's tolerance where a test states the error it sees."""
    m = model if model is not None else gtn.ml.convert(est, dtype=dtype, backend=backend)
    Xd = np.ascontiguousarray(X, dtype=dtype)
    methods = [meth for meth in source_methods(est) if meth in m.methods]
    assert methods, f"{type(est).__name__}: no prediction method converted"
    for meth in methods:
        expected = getattr(est, meth)(Xd)
        if hasattr(expected, "toarray"):
            expected = expected.toarray()
        got = getattr(m, meth)(Xd)
        assert got.shape == np.shape(expected), (meth, got.shape, np.shape(expected))
        is_label = meth == "predict" and hasattr(est, "classes_")
        if is_label or np.asarray(expected).dtype.kind in "iuUSOb":
            np.testing.assert_array_equal(got, expected, err_msg=meth)
            assert got.dtype == np.asarray(expected).dtype, (meth, got.dtype, expected.dtype)
        else:
            _log_error(est, meth, dtype, got, expected)
            tol = {"rtol": RTOL[dtype], "atol": ATOL[dtype]}
            if type(est).__module__.startswith("xgboost") and dtype == "float64":
                tol = XGB_TOL
            tol = {"rtol": tol["rtol"] if rtol is None else rtol,
                   "atol": tol["atol"] if atol is None else atol}
            np.testing.assert_allclose(got, expected, **tol,
                                       err_msg=f"{type(est).__name__}.{meth} ({dtype})")
    return m


def _log_error(est, meth, dtype, got, expected):
    """With GTN_PARITY_LOG=path, appends the errors seen (test, model, method, dtype, max abs,
    max rel, max |expected|): how the tolerances above were measured."""
    path = os.environ.get("GTN_PARITY_LOG")
    if not path:
        return
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    ok = np.isfinite(expected)
    diff = np.abs(got - expected)[ok]
    rel = (diff / np.maximum(np.abs(expected[ok]), 1e-300))
    test = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]
    with open(path, "a") as f:
        f.write(f"{test}\t{type(est).__name__}\t{meth}\t{dtype}\t{diff.max() if diff.size else 0:.3e}"
                f"\t{rel.max() if rel.size else 0:.3e}\t{np.abs(expected[ok]).max() if ok.any() else 0:.3e}\n")


def real_data(name):
    """(X, y) of one of scikit-learn's bundled data sets: iris, wine, breast_cancer, digits
    (classification) or diabetes (regression)."""
    from sklearn import datasets

    return getattr(datasets, f"load_{name}")(return_X_y=True)
