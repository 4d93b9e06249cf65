"""Kernel ridge, RBM features, tf-idf, kernel centering, NCA, sparse PCA, output codes, Birch,
CategoricalNB, SGDOneClassSVM and LocalOutlierFactor on scikit-learn's bundled data sets."""
import numpy as np
import pytest
from sklearn import (cluster, decomposition, kernel_ridge, linear_model, multiclass,
                     naive_bayes, neighbors, neural_network, preprocessing, svm)
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.metrics.pairwise import rbf_kernel

import gtn.ml
from conftest import assert_parity, real_data

DTYPES = ["float64", "float32"]


def _scaled(name):
    X, y = real_data(name)
    sd = X.std(0)
    return (X - X.mean(0)) / np.where(sd == 0, 1, sd), y


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel", ["linear", "rbf", "poly", "laplacian"])
def test_kernel_ridge(kernel, dtype):
    X, y = _scaled("diabetes")
    est = kernel_ridge.KernelRidge(alpha=30.0, kernel=kernel, gamma=0.05).fit(X[:300], y[:300])
    assert_parity(est, X[300:], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_transformers(dtype):
    X, y = _scaled("wine")
    for est in (neural_network.BernoulliRBM(8, random_state=0, n_iter=5),
                neighbors.NeighborhoodComponentsAnalysis(3, random_state=0, max_iter=20),
                decomposition.SparsePCA(4, random_state=0, max_iter=20),
                decomposition.MiniBatchSparsePCA(4, random_state=0, max_iter=5)):
        Xf = (X - X.min(0)) / (X.max(0) - X.min(0)) if isinstance(
            est, neural_network.BernoulliRBM) else X
        est.fit(Xf, y) if isinstance(est, neighbors.NeighborhoodComponentsAnalysis) else est.fit(Xf)
        assert_parity(est, Xf[::-1], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", [{}, {"sublinear_tf": True, "norm": "l1"},
                                     {"use_idf": False}], ids=repr)
def test_tfidf_on_digit_pixel_counts(options, dtype):
    X, _ = real_data("digits")  # pixel intensities 0..16 as counts
    est = TfidfTransformer(**options).fit(X)
    assert_parity(est, X[::-1], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_kernel_centerer(dtype):
    X, _ = _scaled("iris")
    est = preprocessing.KernelCenterer().fit(rbf_kernel(X, X))
    assert_parity(est, rbf_kernel(X[::3], X), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_output_code_and_birch(dtype):
    X, y = _scaled("iris")
    occ = multiclass.OutputCodeClassifier(svm.LinearSVC(), code_size=2, random_state=0)
    assert_parity(occ.fit(X, y), X, dtype)
    occ_p = multiclass.OutputCodeClassifier(linear_model.LogisticRegression(), random_state=1)
    assert_parity(occ_p.fit(X, y), X, dtype)
    assert_parity(cluster.Birch(n_clusters=3).fit(X), X + 0.05, dtype)
    assert_parity(cluster.Birch(n_clusters=None, threshold=0.8).fit(X), X, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_categorical_nb(dtype):
    X, y = real_data("digits")  # 17 intensity levels per pixel as categories
    est = naive_bayes.CategoricalNB().fit(X, y)
    m = assert_parity(est, X, dtype)
    bad = X[:2].copy()
    bad[0, 5] = 40
    with pytest.raises(ValueError, match="unknown category"):
        m.predict(bad)


@pytest.mark.parametrize("dtype", DTYPES)
def test_novelty_detectors(dtype):
    X, _ = _scaled("breast_cancer")
    Xt = np.r_[X[::2], X[:20] * 3]
    assert_parity(linear_model.SGDOneClassSVM(nu=0.2, random_state=0).fit(X[1::2]), Xt, dtype)
    for options in ({}, {"metric": "manhattan"}):
        lof = neighbors.LocalOutlierFactor(n_neighbors=15, novelty=True, **options).fit(X[1::2])
        assert_parity(lof, Xt, dtype)
    with pytest.raises(gtn.UnsupportedError, match="novelty"):
        gtn.ml.convert(neighbors.LocalOutlierFactor().fit(X))
