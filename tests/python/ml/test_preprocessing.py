import numpy as np
import pytest
from sklearn import decomposition, preprocessing

import gtn
import gtn.ml
from conftest import assert_parity

TRANSFORMERS = [preprocessing.StandardScaler(), preprocessing.StandardScaler(with_mean=False),
                preprocessing.MinMaxScaler(), preprocessing.MinMaxScaler((-1, 2), clip=True),
                preprocessing.Normalizer(), preprocessing.Normalizer("l1"),
                preprocessing.Normalizer("max"), decomposition.PCA(4),
                decomposition.PCA(5, whiten=True)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("est", TRANSFORMERS, ids=repr)
def test_transformers(est, dtype, regression):
    X, _, Xt, _ = regression
    assert_parity(est.fit(X), Xt * 1.5, dtype)


def categorical(seed, n=200):
    rng = np.random.default_rng(seed)
    return np.c_[rng.integers(0, 4, n), rng.integers(10, 13, n) * 0.5, rng.integers(-2, 1, n)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("options", [{}, {"drop": "first"}, {"drop": "if_binary"},
                                     {"handle_unknown": "ignore"}], ids=repr)
def test_one_hot(options, dtype):
    est = preprocessing.OneHotEncoder(**options).fit(categorical(0))
    assert_parity(est, categorical(1), dtype)


def test_one_hot_unknown_category():
    X = categorical(0)
    Xt = categorical(1)[:10].copy()
    Xt[3, 0] = 7
    ignore = preprocessing.OneHotEncoder(handle_unknown="ignore").fit(X)
    m = assert_parity(ignore, Xt)
    assert m.transform(Xt)[3, :4].sum() == 0
    strict = gtn.ml.convert(preprocessing.OneHotEncoder().fit(X))
    with pytest.raises(ValueError, match="unknown category"):
        strict.transform(Xt)


def test_one_hot_string_categories():
    X = np.array([["a", "x"], ["b", "y"], ["c", "x"], ["a", "z"]], dtype=object)
    est = preprocessing.OneHotEncoder(sparse_output=False).fit(X)
    m = gtn.ml.convert(est)
    Xt = np.array([["c", "z"], ["a", "y"], ["b", "x"]], dtype=object)
    np.testing.assert_array_equal(m.transform(Xt), est.transform(Xt))
    with pytest.raises(ValueError, match="unknown category 'q'"):
        m.transform(np.array([["q", "x"]], dtype=object))
    ignore = preprocessing.OneHotEncoder(handle_unknown="ignore").fit(X)
    Xu = np.array([["q", "x"], ["a", "w"]], dtype=object)
    np.testing.assert_array_equal(gtn.ml.convert(ignore).transform(Xu),
                                  ignore.transform(Xu).toarray())


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("whiten", [False, True])
def test_pca_all_components_with_constant_features(whiten, dtype):
    # load_digits has constant (all-zero) pixels: with every component kept the probabilistic
    # PCA covariance is singular; scikit-learn's score_samples raises, transform still works.
    from sklearn.datasets import load_digits

    X = load_digits().data
    est = decomposition.PCA(whiten=whiten).fit(X)
    with pytest.raises(np.linalg.LinAlgError):
        est.score_samples(X[:2])
    m = assert_parity(est, X, dtype)
    assert "score_samples" not in m.methods
