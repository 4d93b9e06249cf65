import pytest
from sklearn.ensemble import IsolationForest

from conftest import assert_parity, with_nans


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("options", [{}, {"max_features": 0.5}, {"contamination": 0.1},
                                     {"max_samples": 64, "bootstrap": True}], ids=repr)
def test_isolation_forest(options, dtype, binary):
    X, _, Xt, _ = binary
    est = IsolationForest(n_estimators=30, random_state=0, **options).fit(X)
    assert_parity(est, Xt * 1.3, dtype)


def test_isolation_forest_missing_values(binary):
    X, _, Xt, _ = binary
    est = IsolationForest(n_estimators=20, random_state=0).fit(with_nans(X))
    assert_parity(est, with_nans(Xt, seed=4))
