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


def test_unsupported_metric(binary):
    X, y, _, _ = binary
    est = neighbors.KNeighborsClassifier(metric="hamming").fit(X, y)
    with pytest.raises(gtn.UnsupportedError, match="euclidean, manhattan"):
        gtn.ml.convert(est)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("weights", ["uniform", "distance"])
@pytest.mark.parametrize("metric", [{"metric": "manhattan"}, {"metric": "chebyshev"},
                                    {"metric": "minkowski", "p": 3}, {"metric": "minkowski", "p": 1},
                                    {"metric": "cosine", "algorithm": "brute"}], ids=repr)
def test_metrics_real_data(metric, weights, dtype, regression):
    from sklearn.datasets import load_diabetes, load_wine

    X, y = load_wine(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    est = neighbors.KNeighborsClassifier(7, weights=weights, **metric).fit(X[::2], y[::2])
    assert_parity(est, X[1::2], dtype)
    Xr, yr = load_diabetes(return_X_y=True)
    if metric["metric"] == "chebyshev":
        # diabetes' discretized features tie under the max norm; ties break by index in GTN
        # and by tree order in scikit-learn: continuous data instead.
        Xr, yr, _, _ = regression
    reg = neighbors.KNeighborsRegressor(5, weights=weights, **metric).fit(Xr[::2], yr[::2])
    assert_parity(reg, Xr[1::2], dtype)


@pytest.mark.parametrize("dtype,options", [
    ("float64", {}), ("float32", {}), ("float64", {"metric": "manhattan"}),
    ("float64", {"shrink_threshold": 0.2}), ("float32", {"shrink_threshold": 0.2}),
    ("float64", {"priors": "empirical"}), ("float32", {"priors": "empirical"})], ids=repr)
@pytest.mark.parametrize("data", ["iris", "breast_cancer"])
def test_nearest_centroid(data, options, dtype):
    # (manhattan in float32: iris' repeated values put rows within float32 rounding of a
    # tie between centroids, where labels may differ.)
    from sklearn import datasets

    X, y = getattr(datasets, f"load_{data}")(return_X_y=True)
    if data == "breast_cancer":
        if "priors" not in options:
            X, y = X[:400], y[:400]
    est = neighbors.NearestCentroid(**options).fit(X, y)
    assert_parity(est, X, dtype)


@pytest.mark.filterwarnings("ignore:One or more samples have no neighbors:UserWarning")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("weights", ["uniform", "distance"])
@pytest.mark.parametrize("metric", [{}, {"metric": "manhattan"}, {"metric": "chebyshev"},
                                    {"metric": "minkowski", "p": 3}, {"metric": "cosine"}], ids=repr)
def test_radius_neighbors_real_data(metric, weights, dtype):
    # wine, standardized; the radius leaves some test rows without any training row within it
    # (outliers: the outlier label for the classifier, NaN for the regressor, as scikit-learn).
    from sklearn.datasets import load_diabetes, load_wine

    X, y = load_wine(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    radius = {"manhattan": 9.0, "chebyshev": 1.6, "cosine": 0.35}.get(metric.get("metric"), 3.2)
    est = neighbors.RadiusNeighborsClassifier(radius, weights=weights, outlier_label="most_frequent",
                                              **metric).fit(X[::2], y[::2])
    Xt = np.r_[X[1::2], X[:5], X[1::2][:10] * 3.0]  # exact matches (distance 0) and outliers
    assert 0 < (np.isnan(neighbors.RadiusNeighborsRegressor(radius, **metric).fit(X[::2], y[::2] * 1.0)
                         .predict(Xt))).sum() < len(Xt)
    assert_parity(est, Xt, dtype)
    Xr, yr = load_diabetes(return_X_y=True)
    Xr = (Xr - Xr.mean(0)) / Xr.std(0)
    reg = neighbors.RadiusNeighborsRegressor(radius * 1.2, weights=weights, **metric).fit(Xr[::2], yr[::2])
    assert_parity(reg, np.r_[Xr[1::2], Xr[:5] * 3.0], dtype)


def test_radius_classifier_without_outlier_label_is_refused():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    est = neighbors.RadiusNeighborsClassifier(1.0).fit(X, y)
    with pytest.raises(gtn.UnsupportedError, match="outlier_label"):
        gtn.ml.convert(est)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_heavy_rows_split_over_threads_give_the_one_thread_answer(dtype):
    # k-NN and SVC rows each meet thousands of fitted rows, so a batch that fits one tile is
    # still split over the threads: the answer must not depend on it.
    from sklearn import svm
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    models = [neighbors.KNeighborsClassifier(5).fit(X[:1200], y[:1200]),
              svm.SVC(gamma=0.001, probability=False).fit(X[:1200], y[:1200])]
    for est in models:
        m = gtn.ml.convert(est, dtype=dtype)
        Xt = np.ascontiguousarray(X[1200:], dtype=dtype)  # 597 rows: one tile
        m.n_threads = 1
        one = {meth: getattr(m, meth)(Xt) for meth in m.methods}
        m.n_threads = 2
        for meth, want in one.items():
            got = getattr(m, meth)(Xt)
            if dtype == "float32" and meth == "decision_function":
                # BLAS sums float32 products in an order that depends on the block's row
                # count: a few ulps (seen: 1 ulp, 1.2e-7 relative).
                np.testing.assert_allclose(got, want, rtol=5e-7, atol=0, err_msg=meth)
            else:
                np.testing.assert_array_equal(got, want, err_msg=meth)
        np.testing.assert_array_equal(m.predict(Xt), est.predict(Xt))
