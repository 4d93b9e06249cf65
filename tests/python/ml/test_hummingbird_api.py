"""Code written for hummingbird.ml.convert runs against gtn.ml.convert; converted models never
modify the caller's arrays."""
import warnings

import lightgbm as lgb
import numpy as np
import pytest
import xgboost as xgb
from sklearn import (cluster, decomposition, ensemble, impute, linear_model, neighbors,
                     preprocessing, svm)
from sklearn.pipeline import make_pipeline

import gtn.ml
from conftest import real_data


@pytest.fixture(scope="module")
def cancer():
    X, y = real_data("breast_cancer")
    return X / X.max(0), y


def test_hummingbird_call_runs(cancer, tmp_path):
    X, y = cancer
    skl = ensemble.GradientBoostingClassifier(n_estimators=10, max_depth=3).fit(X, y)
    Xf = X.astype(np.float32)
    with pytest.warns(UserWarning, match=r"backend='torch'.*batch_size"):
        model = gtn.ml.convert(skl, "torch", Xf[:10],
                               extra_config={"tree_implementation": "gemm", "n_threads": 2,
                                             "batch_size": 100})
    assert "gemm" in model._compiled.describe()
    assert model.n_threads == 2
    np.testing.assert_array_equal(model.predict(Xf), skl.predict(Xf))
    np.testing.assert_allclose(model.predict_proba(Xf), skl.predict_proba(Xf), rtol=1e-12,
                               atol=1e-12)
    with pytest.warns(UserWarning, match="runs on the CPU"):
        assert model.to("cuda") is model
    model.save(tmp_path / "m.gtnml")
    np.testing.assert_array_equal(gtn.ml.load(tmp_path / "m.gtnml").predict(Xf), skl.predict(Xf))


def test_hummingbird_precision_and_bad_arguments(cancer):
    X, y = cancer
    skl = ensemble.RandomForestClassifier(5, max_depth=4, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing here is ignored
        m = gtn.ml.convert(skl, "cpu", extra_config={"tree_op_precision_dtype": "float32"})
    assert m.dtype == "float32"
    with pytest.raises(ValueError, match="tree_implementation"):
        gtn.ml.convert(skl, extra_config={"tree_implementation": "fast"})
    with pytest.raises(ValueError, match="features"):
        gtn.ml.convert(skl, "onnx", X[:5, :3])
    with pytest.warns(UserWarning, match="device='cuda'"):
        gtn.ml.convert(skl, "pytorch", device="cuda")


MODELS = [
    (linear_model.LogisticRegression(max_iter=1000), True),
    (svm.SVC(probability=True, random_state=0), True),
    (ensemble.HistGradientBoostingClassifier(max_iter=5), True),
    (neighbors.KNeighborsClassifier(), True),
    (make_pipeline(impute.SimpleImputer(), preprocessing.StandardScaler(),
                   decomposition.PCA(5)), False),
    (cluster.KMeans(3, n_init=1, random_state=0), False),
    (xgb.XGBClassifier(n_estimators=5, n_jobs=1), True),
    (lgb.LGBMClassifier(n_estimators=5, verbose=-1, n_jobs=1), True),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("est,supervised", MODELS, ids=lambda v: type(v).__name__)
def test_inputs_are_never_modified(est, supervised, dtype, cancer):
    X, y = cancer
    est.fit(X, y) if supervised else est.fit(X)
    m = gtn.ml.convert(est, dtype=dtype)
    for Xin in (X.astype(np.float64), X.astype(np.float32), np.asfortranarray(X),
                X.astype(np.int64)):
        Xin = Xin.copy()
        Xin[3, 2] = np.nan if Xin.dtype.kind == "f" and est.__class__.__name__ in (
            "HistGradientBoostingClassifier", "XGBClassifier", "LGBMClassifier") else Xin[3, 2]
        before = Xin.copy()
        for method in m.methods:
            getattr(m, method)(Xin)
        np.testing.assert_array_equal(Xin, before)
        assert Xin.dtype == before.dtype and Xin.flags.f_contiguous == before.flags.f_contiguous


def test_dtype_given_positionally(cancer):
    X, y = cancer
    est = linear_model.Ridge().fit(X, y)
    assert gtn.ml.convert(est, "float32").dtype == "float32"
    with pytest.raises(ValueError, match="unknown backend"):
        gtn.ml.convert(est, "gpu-fast")
