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


def test_hist_gradient_boosting_categorical_is_unsupported(binary):
    X, y, _, _ = binary
    X = X.copy()
    X[:, 0] = np.floor(np.abs(X[:, 0]) * 2)
    est = ensemble.HistGradientBoostingClassifier(max_iter=5, categorical_features=[0])
    with pytest.raises(gtn.UnsupportedError, match="categorical"):
        gtn.ml.convert(est.fit(X, y))
