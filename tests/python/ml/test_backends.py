"""The reference interpreter and the optimized CPU backend agree on every converter."""
import numpy as np
import pytest

import gtn.ml
from conftest import MODELS, source_methods, with_nans



@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_reference_equals_cpu(name, dtype, request):
    est, data = MODELS[name]
    X, y, Xt, _ = request.getfixturevalue(data)
    est.fit(X, y)
    if name == "hgb":
        est.fit(with_nans(X), y)
        Xt = with_nans(Xt)
    Xt = Xt[:40].astype(dtype)
    cpu = gtn.ml.convert(est, dtype=dtype, backend="cpu")
    ref = gtn.ml.convert(est, dtype=dtype, backend="reference")
    assert cpu.backend == "cpu" and ref.backend == "reference"
    for method in source_methods(est):
        a, b = getattr(cpu, method)(Xt), getattr(ref, method)(Xt)
        if np.asarray(a).dtype.kind in "iuUOb":
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-12 if dtype == "float64" else 1e-4,
                                       atol=1e-12 if dtype == "float64" else 1e-5)
