import warnings

import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

from conftest import assert_parity


def fit_quietly(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
@pytest.mark.parametrize("data", ["binary", "multiclass"])
def test_classifier(activation, data, dtype, request):
    X, y, Xt, _ = request.getfixturevalue(data)
    est = MLPClassifier(hidden_layer_sizes=(16, 8), activation=activation, max_iter=60,
                        random_state=0)
    assert_parity(fit_quietly(est, X, y), Xt, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_regressor(loss, dtype, regression):
    X, y, Xt, _ = regression
    target = abs(y) if loss == "poisson" else y
    est = MLPRegressor(hidden_layer_sizes=(16,), loss=loss, max_iter=60, random_state=0)
    assert_parity(fit_quietly(est, X, target), Xt, dtype)
