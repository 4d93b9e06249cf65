"""The BLAS GTN-ML runs on: the OpenBLAS from the scipy-openblas32 wheel, with kernels that
OpenBLAS chose for this CPU, reported the same way threadpoolctl (a scikit-learn
dependency) reads them from the loaded library."""
import os

import numpy as np
import scipy_openblas32
import threadpoolctl
from sklearn import linear_model

import gtn.ml


def test_blas_info_names_the_loaded_openblas_and_its_kernels():
    info = gtn.ml.blas_info()
    assert info.startswith("OpenBLAS "), info
    assert "DYNAMIC_ARCH" in info, info  # a build that dispatches on the CPU it runs on
    kernels = info.rsplit("/ kernels: ", 1)[1]
    ours = [lib for lib in threadpoolctl.threadpool_info()
            if os.path.dirname(os.path.realpath(lib["filepath"]))
            == os.path.realpath(scipy_openblas32.get_lib_dir())]
    assert len(ours) == 1, threadpoolctl.threadpool_info()
    assert ours[0]["architecture"] == kernels
    assert ours[0]["version"] in info
    # Prescott (SSE3) is OpenBLAS's fallback for CPUs it does not know.
    if "avx2" in open("/proc/cpuinfo").read():
        assert kernels != "Prescott"


def test_describe_states_the_blas(regression):
    X, y, _, _ = regression
    m = gtn.ml.convert(linear_model.Ridge().fit(X, y))
    assert "BLAS: " + gtn.ml.blas_info() in m._compiled.describe()
    np.testing.assert_allclose(m.predict(X[:3]), linear_model.Ridge().fit(X, y).predict(X[:3]),
                               rtol=1e-12)
