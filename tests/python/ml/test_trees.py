import numpy as np
import pytest
from sklearn import ensemble, tree

from conftest import assert_parity, with_nans

CLASSIFIERS = [tree.DecisionTreeClassifier(max_depth=6, random_state=0),
               ensemble.RandomForestClassifier(n_estimators=15, max_depth=6, random_state=0),
               ensemble.ExtraTreesClassifier(n_estimators=15, max_depth=6, random_state=0),
               tree.ExtraTreeClassifier(random_state=0)]
REGRESSORS = [tree.DecisionTreeRegressor(max_depth=6, random_state=0),
              ensemble.RandomForestRegressor(n_estimators=15, max_depth=6, random_state=0),
              ensemble.ExtraTreesRegressor(n_estimators=15, max_depth=6, random_state=0),
              tree.ExtraTreeRegressor(random_state=0)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("data", ["binary", "multiclass"])
@pytest.mark.parametrize("est", CLASSIFIERS, ids=lambda e: type(e).__name__)
def test_classifiers(est, data, dtype, request):
    X, y, Xt, _ = request.getfixturevalue(data)
    assert_parity(est.fit(X, y), Xt, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("est", REGRESSORS, ids=lambda e: type(e).__name__)
def test_regressors(est, dtype, regression):
    X, y, Xt, _ = regression
    assert_parity(est.fit(X, y), Xt, dtype)


def test_multi_output_regressor(regression):
    X, y, Xt, _ = regression
    est = ensemble.RandomForestRegressor(n_estimators=5, max_depth=4, random_state=0)
    assert_parity(est.fit(X, np.c_[y, y * y]), Xt)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("est", CLASSIFIERS[:2] + REGRESSORS[:2], ids=lambda e: type(e).__name__)
def test_missing_values(est, dtype, multiclass, regression):
    X, y, Xt, _ = regression if "Regressor" in type(est).__name__ else multiclass
    est.fit(with_nans(X), y)
    assert_parity(est, with_nans(Xt, seed=4), dtype)


def test_nan_at_predict_time_only(binary):
    X, y, Xt, _ = binary
    est = tree.DecisionTreeClassifier(max_depth=5, random_state=0).fit(X, y)
    assert_parity(est, with_nans(Xt, seed=5, fraction=0.3))


def test_inputs_at_the_thresholds():
    # Thresholds are float64 midpoints; float32 inputs right at (and next to) the split
    # values must go the same way as in scikit-learn, which casts X to float32.
    rng = np.random.default_rng(0)
    X = rng.random((400, 3)).astype(np.float32).astype(np.float64)
    y = (X[:, 0] + X[:, 1] > 1).astype(int)
    est = tree.DecisionTreeClassifier(random_state=0).fit(X, y)
    split = est.tree_.feature >= 0
    features, thresholds = est.tree_.feature[split], est.tree_.threshold[split]
    rows = []
    for f, t in zip(features, thresholds):
        for value in (np.float32(t), np.nextafter(np.float32(t), np.float32(2)), t):
            row = X[len(rows) % len(X)].copy()
            row[f] = value
            rows.append(row)
    for dtype in ("float64", "float32"):
        assert_parity(est, np.array(rows), dtype)


def test_multi_output_classifier_is_unsupported(binary):
    import gtn
    import gtn.ml

    X, y, _, _ = binary
    est = tree.DecisionTreeClassifier(max_depth=3).fit(X, np.c_[y, 1 - y])
    with pytest.raises(gtn.UnsupportedError, match="multi-output"):
        gtn.ml.convert(est)


def test_float32_exact_thresholds_match_the_float32_cast():
    from gtn.ml.convert.trees import float32_exact_thresholds

    rng = np.random.default_rng(1)
    for scale in (1e-30, 1e-3, 1.0, 1e5, 1e30):
        a = (rng.standard_normal(20000) * scale).astype(np.float32)
        lo = a.astype(np.float64)
        hi = np.nextafter(a, np.float32(np.inf)).astype(np.float64)
        t = (lo + hi) / 2 + rng.choice([-1, 0, 1], len(a)) * np.abs(lo) * 1e-12
        exact = float32_exact_thresholds(t)
        mids = (lo + hi) / 2
        for x in (t, np.nextafter(t, np.inf), np.nextafter(t, -np.inf), lo, hi, mids,
                  np.nextafter(mids, np.inf), np.nextafter(mids, -np.inf), exact,
                  np.nextafter(exact, np.inf)):
            np.testing.assert_array_equal(x <= exact, x.astype(np.float32) <= t)
