"""Clustering, mixtures, decompositions, discriminant analysis and PLS on real and synthetic
data."""
import numpy as np
import pytest
from sklearn import (cluster, cross_decomposition, decomposition, discriminant_analysis,
                     kernel_approximation, mixture, random_projection)

import gtn.ml
from conftest import assert_parity, real_data

DTYPES = ["float64", "float32"]


def _scaled(name):
    X, y = real_data(name)
    sd = X.std(0)
    return (X - X.mean(0)) / np.where(sd == 0, 1, sd), y


CLUSTERS = [cluster.KMeans(4, n_init=2, random_state=0),
            cluster.MiniBatchKMeans(4, n_init=2, random_state=0),
            cluster.MeanShift(bandwidth=2.5), cluster.AffinityPropagation(random_state=0)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("data", ["iris", "wine"])
@pytest.mark.parametrize("est", CLUSTERS, ids=lambda e: type(e).__name__)
def test_clusters(est, data, dtype):
    X, _ = _scaled(data)
    X = X.astype(dtype)  # scikit-learn's KMeans predicts only the dtype it was fitted on
    assert_parity(est.fit(X), X + 0.01, dtype)


MIXTURES = [mixture.GaussianMixture(3, covariance_type=c, random_state=0)
            for c in ("full", "tied", "diag", "spherical")] + [
    mixture.BayesianGaussianMixture(n_components=4, covariance_type=c, random_state=0,
                                    weight_concentration_prior_type=w, max_iter=60)
    for c, w in (("full", "dirichlet_process"), ("diag", "dirichlet_distribution"),
                 ("tied", "dirichlet_process"), ("spherical", "dirichlet_distribution"))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("data", ["iris", "wine"])
@pytest.mark.parametrize("est", MIXTURES, ids=repr)
def test_mixtures(est, data, dtype):
    X, _ = _scaled(data)
    # float32: score_samples sums terms of magnitude ~10-100 to values near 0; the largest
    # absolute difference seen against scikit-learn's float32 run is 1.8e-5.
    tol = {"atol": 3e-5} if dtype == "float32" else {}
    assert_parity(est.fit(X), X, dtype, **tol)


TRANSFORMS = [decomposition.TruncatedSVD(5, random_state=0),
              decomposition.FastICA(4, random_state=0, max_iter=100, tol=1e-3),
              decomposition.FastICA(4, whiten=False, random_state=0, max_iter=10, tol=1e-2),
              decomposition.IncrementalPCA(5), decomposition.IncrementalPCA(4, whiten=True),
              decomposition.FactorAnalysis(3, random_state=0),
              random_projection.GaussianRandomProjection(5, random_state=0),
              random_projection.SparseRandomProjection(5, random_state=0)] + [
    decomposition.KernelPCA(4, kernel=k, gamma=0.05) for k in
    ("linear", "rbf", "poly", "sigmoid", "cosine")] + [
    kernel_approximation.Nystroem(kernel=k, n_components=30, random_state=0, gamma=0.05)
    for k in ("rbf", "poly", "sigmoid", "laplacian")]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("data", ["wine", "digits"])
@pytest.mark.parametrize("est", TRANSFORMS, ids=repr)
def test_transforms(est, data, dtype):
    X, _ = _scaled(data)
    X = X[:300]
    assert_parity(est.fit(X), X[::-1] * 0.9, dtype)


DISCRIMINANT = [discriminant_analysis.LinearDiscriminantAnalysis(),
                discriminant_analysis.LinearDiscriminantAnalysis(solver="eigen", shrinkage=0.1),
                discriminant_analysis.LinearDiscriminantAnalysis(solver="lsqr"),
                discriminant_analysis.QuadraticDiscriminantAnalysis(reg_param=0.1)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("data", ["iris", "wine", "breast_cancer"])
@pytest.mark.parametrize("est", DISCRIMINANT, ids=repr)
def test_discriminant(est, data, dtype):
    X, y = _scaled(data)
    assert_parity(est.fit(X, y), X, dtype)


PLS = [cross_decomposition.PLSRegression(2), cross_decomposition.PLSRegression(3, scale=False),
       cross_decomposition.PLSCanonical(2), cross_decomposition.CCA(2),
       cross_decomposition.PLSSVD(2)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("targets", [1, 2])
@pytest.mark.parametrize("est", PLS, ids=repr)
def test_pls(est, targets, dtype):
    X, y = real_data("diabetes")
    Y = y if targets == 1 else np.c_[y, X[:, 0] * 100 + y / 3]
    if targets == 1 and type(est).__name__ in ("PLSCanonical", "CCA", "PLSSVD"):
        Y = np.c_[y, X[:, 1] * 50]
    assert_parity(est.fit(X, Y), X, dtype)


def test_kernel_pca_precomputed_is_unsupported():
    X, _ = _scaled("iris")
    est = decomposition.KernelPCA(2, kernel="precomputed").fit(X @ X.T)
    with pytest.raises(gtn.UnsupportedError, match="precomputed"):
        gtn.ml.convert(est)
