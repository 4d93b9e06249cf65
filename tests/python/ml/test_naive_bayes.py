import numpy as np
import pytest
from sklearn import naive_bayes as nb

from conftest import assert_parity


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("data", ["binary", "multiclass"])
def test_gaussian(data, dtype, request):
    X, y, Xt, _ = request.getfixturevalue(data)
    assert_parity(nb.GaussianNB().fit(X, y), Xt, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("est", [nb.MultinomialNB(), nb.ComplementNB(), nb.BernoulliNB(),
                                 nb.BernoulliNB(binarize=None)], ids=repr)
@pytest.mark.parametrize("data", ["binary", "multiclass"])
def test_discrete(est, data, dtype, request):
    X, y, Xt, _ = request.getfixturevalue(data)
    counts, counts_t = np.floor(np.abs(X) * 3), np.floor(np.abs(Xt) * 3)
    if est.get_params().get("binarize", 1) is None:
        counts, counts_t = (X > 0).astype(float), (Xt > 0).astype(float)
    assert_parity(est.fit(counts, y), counts_t, dtype)
