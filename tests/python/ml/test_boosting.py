import numpy as np
import pytest
from sklearn import ensemble

import gtn
import gtn.ml
from conftest import assert_parity, with_nans


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("loss,data", [("log_loss", "binary"), ("log_loss", "multiclass"),
                                       ("exponential", "binary")])
def test_gradient_boosting_classifier(loss, data, dtype, request):
    X, y, Xt, _ = request.getfixturevalue(data)
    est = ensemble.GradientBoostingClassifier(n_estimators=20, max_depth=3, loss=loss,
                                              random_state=0)
    assert_parity(est.fit(X, y), Xt, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("loss", ["squared_error", "absolute_error", "huber", "quantile"])
def test_gradient_boosting_regressor(loss, dtype, regression):
    X, y, Xt, _ = regression
    est = ensemble.GradientBoostingRegressor(n_estimators=20, max_depth=3, loss=loss,
                                             random_state=0)
    assert_parity(est.fit(X, y), Xt, dtype)


def test_gradient_boosting_zero_init(binary):
    X, y, Xt, _ = binary
    est = ensemble.GradientBoostingClassifier(n_estimators=10, init="zero", random_state=0)
    assert_parity(est.fit(X, y), Xt)


def test_gradient_boosting_custom_init_is_unsupported(regression):
    from sklearn.linear_model import LinearRegression

    X, y, _, _ = regression
    est = ensemble.GradientBoostingRegressor(n_estimators=5, init=LinearRegression())
    with pytest.raises(gtn.UnsupportedError, match="init"):
        gtn.ml.convert(est.fit(X, y))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("nans", [False, True])
@pytest.mark.parametrize("data", ["binary", "multiclass"])
def test_hist_gradient_boosting_classifier(data, nans, dtype, request):
    X, y, Xt, _ = request.getfixturevalue(data)
    if nans:
        X, Xt = with_nans(X), with_nans(Xt, seed=4)
    est = ensemble.HistGradientBoostingClassifier(max_iter=20, random_state=0)
    assert_parity(est.fit(X, y), Xt, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("nans", [False, True])
@pytest.mark.parametrize("loss", ["squared_error", "poisson", "gamma"])
def test_hist_gradient_boosting_regressor(loss, nans, dtype, regression):
    X, y, Xt, _ = regression
    if nans:
        X, Xt = with_nans(X), with_nans(Xt, seed=4)
    target = np.abs(y) + 0.1 if loss in ("poisson", "gamma") else y
    est = ensemble.HistGradientBoostingRegressor(max_iter=20, loss=loss, random_state=0)
    assert_parity(est.fit(X, target), Xt, dtype)


def categorical_columns(X, seed):
    """X with column 1 made categorical (12 levels, step 1.5) and column 3 (30 levels)."""
    rng = np.random.default_rng(seed)
    X = X.copy()
    X[:, 1] = rng.integers(0, 12, len(X)) * 1.5
    X[:, 3] = rng.integers(0, 30, len(X))
    return X


def unseen_categories(X, seed):
    """Test rows whose categorical columns hold unseen, negative and fractional values."""
    rng = np.random.default_rng(seed)
    X = X.copy()
    X[:, 1] = rng.integers(-2, 16, len(X)) * 1.5 + np.where(rng.random(len(X)) < 0.1, 0.25, 0)
    X[:, 3] = rng.integers(-3, 35, len(X)) + np.where(rng.random(len(X)) < 0.1, 0.5, 0)
    return X


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("nans", [False, True])
@pytest.mark.parametrize("data", ["binary", "multiclass", "regression"])
def test_hist_gradient_boosting_categorical(data, nans, dtype, request):
    X, y, Xt, _ = request.getfixturevalue(data)
    X, Xt = categorical_columns(X, 0), unseen_categories(categorical_columns(Xt, 1), 2)
    if nans:
        X, Xt = with_nans(X), with_nans(Xt, seed=4)
    target = y + (X[:, 1] % 3 == 0) if data == "regression" else y
    cls = (ensemble.HistGradientBoostingRegressor if data == "regression"
           else ensemble.HistGradientBoostingClassifier)
    est = cls(max_iter=15, categorical_features=[1, 3], random_state=0).fit(X, target)
    assert any(p.nodes["is_categorical"].any() for it in est._predictors for p in it)
    m = assert_parity(est, Xt, dtype)
    assert "TreeEnsembleCategorical" in m.graph_json()
    assert_parity(est, Xt, dtype, backend="reference")


def test_hist_gradient_boosting_categorical_real_data():
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    X = X.copy()
    X[:, 0] = np.round(X[:, 0])  # alcohol (11-15 %) as a category
    est = ensemble.HistGradientBoostingClassifier(max_iter=10, categorical_features=[0],
                                                  random_state=0).fit(X, y)
    assert_parity(est, X)


@pytest.mark.parametrize("load", ["breast_cancer", "wine"])
def test_hist_gradient_boosting_float32_on_real_data(load):
    # Parity in float32: scikit-learn and GTN given the same float32 array (scikit-learn
    # casts it to float64 exactly and compares with float64 thresholds; GTN's float32
    # thresholds decide identically for every float32 x).
    from sklearn import datasets

    X, y = getattr(datasets, f"load_{load}")(return_X_y=True)
    est = ensemble.HistGradientBoostingClassifier(random_state=0).fit(X, y)
    X32 = X.astype(np.float32)
    assert_parity(est, X32, "float32")
    # A float32 model given the user's float64 array decides on the float64 values, as
    # scikit-learn does (rounding X to float32 first moved ~50 of 569 rows across splits,
    # up to 0.1 in probability).
    m = gtn.ml.convert(est, dtype="float32")
    got = m.predict_proba(X)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, est.predict_proba(X), rtol=0, atol=1e-7)
    np.testing.assert_array_equal(m.predict(X), est.predict(X))
    assert "float64 X runs the graph compiled in float64" in m._compiled.describe()


def _isas():
    """The tree_isa values this CPU runs, portable first."""
    m = gtn.ml.convert(ensemble.GradientBoostingRegressor(n_estimators=1).fit([[0.0], [1.0]], [0.0, 1.0]))
    isas = []
    for isa in ("scalar", "avx2", "avx512"):
        try:
            m.set_option("tree_isa", isa)
            isas.append(isa)
        except ValueError:
            pass
    return isas


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("load,make", [
    ("breast_cancer", lambda: ensemble.HistGradientBoostingClassifier(max_iter=60, random_state=0)),
    ("digits", lambda: ensemble.HistGradientBoostingClassifier(max_iter=10, random_state=0)),
    ("diabetes", lambda: ensemble.HistGradientBoostingRegressor(max_iter=60, random_state=0)),
    ("breast_cancer", lambda: ensemble.GradientBoostingClassifier(n_estimators=40, max_depth=5, random_state=0)),
    ("diabetes", lambda: ensemble.GradientBoostingRegressor(n_estimators=40, max_depth=6, random_state=0)),
])
def test_quickscorer_on_real_data(load, make, dtype):
    # The leaf-bitvector kernels (tree_quickscorer.cc): the portable row scan and, where the
    # CPU has it, the AVX-512 kernel (what "auto" picks there for trees of <= 64 leaves),
    # on scikit-learn's datasets with missing values in training and prediction (HistGB
    # learns where NaN goes: both directions occur), 31-leaf trees up to depth ~15, 10
    # classes (one tree per class and iteration) and depth-6 trees of up to 64 leaves.
    from sklearn import datasets

    X, y = getattr(datasets, f"load_{load}")(return_X_y=True)
    X = X.copy()
    if "Hist" in type(make()).__name__:
        rng = np.random.default_rng(0)
        X[rng.random(X.shape) < 0.05] = np.nan
    est = make().fit(X, y)
    ran = []
    for isa in _isas():
        m = gtn.ml.convert(est, dtype=dtype)
        m.set_option("tree_strategy", "quickscorer")
        m.set_option("tree_isa", isa)
        assert_parity(est, X, dtype, model=m)
        ran.append(isa)
    assert "scalar" in ran
    auto = gtn.ml.convert(est, dtype=dtype)
    if "avx512" in ran:
        assert "tree strategy quickscorer (auto)" in auto._compiled.describe()
    assert_parity(est, X, dtype, model=auto)


def test_quickscorer_refuses_trees_of_more_than_64_leaves():
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    est = ensemble.GradientBoostingRegressor(n_estimators=3, max_depth=8, random_state=0).fit(X, y)
    assert max(t[0].get_n_leaves() for t in est.estimators_) > 64
    m = gtn.ml.convert(est)
    with pytest.raises(ValueError, match="at most 64 leaves"):
        m.set_option("tree_strategy", "quickscorer")
