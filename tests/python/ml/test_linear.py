import numpy as np
import pytest
from sklearn import linear_model as lm
from sklearn import svm

from conftest import assert_parity

REGRESSORS = [lm.LinearRegression(), lm.Ridge(alpha=0.5), lm.Lasso(alpha=0.01),
              lm.ElasticNet(alpha=0.01), lm.RidgeCV(), lm.LassoCV(cv=3),
              lm.ElasticNetCV(cv=3), lm.SGDRegressor(random_state=0), svm.LinearSVR(max_iter=20000)]
CLASSIFIERS = [lm.LogisticRegression(max_iter=1000), lm.LogisticRegression(C=0.1),
               lm.SGDClassifier(random_state=0),
               lm.SGDClassifier(loss="log_loss", random_state=0),
               lm.SGDClassifier(loss="modified_huber", random_state=0),
               svm.LinearSVC(max_iter=5000), lm.RidgeClassifier(), lm.Perceptron(random_state=0)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("est", REGRESSORS, ids=lambda e: type(e).__name__)
def test_regressors(est, dtype, regression):
    X, y, Xt, _ = regression
    assert_parity(est.fit(X, y), Xt, dtype)


def test_multi_target_regression(regression):
    X, y, Xt, _ = regression
    Y = np.c_[y, 2 * y + 1]
    m = assert_parity(lm.Ridge().fit(X, Y), Xt)
    assert m.predict(Xt).shape == (len(Xt), 2)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("data", ["binary", "multiclass"])
@pytest.mark.parametrize("est", CLASSIFIERS, ids=lambda e: f"{type(e).__name__}-{e.get_params().get('loss', '')}")
def test_classifiers(est, data, dtype, request):
    X, y, Xt, _ = request.getfixturevalue(data)
    assert_parity(est.fit(X, y), Xt, dtype)


def test_string_labels(multiclass):
    X, y, Xt, _ = multiclass
    labels = np.array(["ant", "bee", "cat", "dog"])[y]
    m = assert_parity(lm.LogisticRegression(max_iter=1000).fit(X, labels), Xt)
    assert m.predict(Xt).dtype.kind == "U"


def test_float_labels(binary):
    X, y, Xt, _ = binary
    assert_parity(lm.LogisticRegression().fit(X, y * 3.0 - 1.0), Xt)
