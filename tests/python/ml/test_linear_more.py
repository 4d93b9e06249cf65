"""More linear models: robust / sparse / Bayesian regressors, GLMs, CV variants, RANSAC."""
import numpy as np
import pytest
from sklearn import linear_model as lm

from conftest import assert_parity, real_data

REGRESSORS = [lm.HuberRegressor(max_iter=500), lm.TheilSenRegressor(random_state=0),
              lm.Lars(), lm.LarsCV(), lm.LassoLars(alpha=0.01), lm.LassoLarsCV(),
              lm.LassoLarsIC(), lm.OrthogonalMatchingPursuit(), lm.OrthogonalMatchingPursuitCV(),
              lm.BayesianRidge(), lm.ARDRegression(), lm.QuantileRegressor(alpha=0.0),
              lm.PassiveAggressiveRegressor(random_state=0),
              lm.RANSACRegressor(random_state=0)]
MULTI_TASK = [lm.MultiTaskLasso(alpha=0.1), lm.MultiTaskLassoCV(), lm.MultiTaskElasticNet(alpha=0.1),
              lm.MultiTaskElasticNetCV()]
CLASSIFIERS = [lm.RidgeClassifierCV(), lm.PassiveAggressiveClassifier(random_state=0),
               lm.LogisticRegressionCV(Cs=3, cv=3, max_iter=2000)]
GLMS = [lm.PoissonRegressor(), lm.GammaRegressor(), lm.TweedieRegressor(power=1.5),
        lm.TweedieRegressor(power=0), lm.TweedieRegressor(power=1.2, link="identity")]


def _diabetes():
    X, y = real_data("diabetes")
    return X * 10, y / 100


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("est", REGRESSORS, ids=lambda e: type(e).__name__)
def test_regressors(est, dtype, regression):
    X, y = _diabetes()
    assert_parity(est.fit(X, y), X, dtype)
    X, y, Xt, _ = regression
    assert_parity(est.fit(X, y), Xt, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("est", MULTI_TASK, ids=lambda e: type(e).__name__)
def test_multi_task(est, dtype):
    X, y = _diabetes()
    Y = np.c_[y, np.sqrt(y), X[:, 0] - y]
    assert_parity(est.fit(X, Y), X, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("data", ["breast_cancer", "wine"])
@pytest.mark.parametrize("est", CLASSIFIERS, ids=lambda e: type(e).__name__)
def test_classifiers(est, data, dtype):
    X, y = real_data(data)
    X = (X - X.mean(0)) / X.std(0)
    assert_parity(est.fit(X, y), X, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("est", GLMS, ids=repr)
def test_glms(est, dtype):
    X, y = _diabetes()
    assert_parity(est.fit(X, y), X, dtype)
