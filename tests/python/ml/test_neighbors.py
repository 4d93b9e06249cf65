import numpy as np
import pytest
from sklearn import neighbors

import gtn
import gtn.ml
from conftest import assert_parity


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("weights", ["uniform", "distance"])
@pytest.mark.parametrize("data", ["binary", "multiclass"])
def test_classifier(weights, data, dtype, request):
    X, y, Xt, _ = request.getfixturevalue(data)
    est = neighbors.KNeighborsClassifier(n_neighbors=7, weights=weights).fit(X, y)
    assert_parity(est, Xt, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("weights", ["uniform", "distance"])
def test_regressor(weights, dtype, regression):
    X, y, Xt, _ = regression
    est = neighbors.KNeighborsRegressor(n_neighbors=5, weights=weights, metric="euclidean")
    assert_parity(est.fit(X, y), Xt, dtype)


def test_multi_output_regressor(regression):
    X, y, Xt, _ = regression
    est = neighbors.KNeighborsRegressor(n_neighbors=4, weights="distance")
    assert_parity(est.fit(X, np.c_[y, -y]), Xt)


def test_exact_match_takes_all_weight(binary):
    X, y, _, _ = binary
    est = neighbors.KNeighborsClassifier(n_neighbors=5, weights="distance").fit(X, y)
    m = gtn.ml.convert(est)
    np.testing.assert_array_equal(m.predict(X[:20]), y[:20])


@pytest.mark.parametrize("options", [{"metric": "manhattan"}, {"p": 1}, {"p": 3}])
def test_other_metrics_are_unsupported(options, binary):
    X, y, _, _ = binary
    est = neighbors.KNeighborsClassifier(**options).fit(X, y)
    with pytest.raises(gtn.UnsupportedError, match="euclidean"):
        gtn.ml.convert(est)
