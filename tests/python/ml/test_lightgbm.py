"""LightGBM: the sklearn API (LGBMClassifier / Regressor / Ranker) and text model files, read
by the C++ loader (src/gtn/ml/lightgbm_loader.cc), checked against LightGBM's own predict."""
import os
import shutil
import subprocess

import lightgbm as lgb
import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, load_wine

import gtn
import gtn.ml
from conftest import assert_parity, with_nans

CLI = os.environ.get("GTN_CLI") or shutil.which("gtn")
DTYPES = ["float64", "float32"]


def fit(est, X, y, **kw):
    return est.fit(X, y, **kw)


def categorical_data(seed, n=600):
    """Two numeric features and two categorical ones (10 and 40 levels), some NaN."""
    rng = np.random.default_rng(seed)
    X = np.c_[rng.normal(size=n), rng.integers(0, 10, n), rng.random(n), rng.integers(0, 40, n)]
    y = X[:, 0] + (X[:, 1] % 3 == 0) * 1.5 - (X[:, 3] % 7 == 2) + 0.1 * rng.normal(size=n)
    X[rng.random(X.shape) < 0.05] = np.nan
    return X, y


def odd_categories(X, seed):
    """Test rows whose categorical columns hold negative, fractional, unseen and NaN values."""
    X = X.copy()
    rng = np.random.default_rng(seed)
    for c in (1, 3):
        X[:, c] = rng.integers(-3, 50, len(X)) + np.where(rng.random(len(X)) < 0.2, 0.5, 0.0)
        X[rng.random(len(X)) < 0.05, c] = np.nan
    return X


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("data", ["breast_cancer", "iris", "wine"])
def test_classifier_real_data(data, dtype):
    X, y = {"breast_cancer": load_breast_cancer, "iris": load_iris, "wine": load_wine}[data](
        return_X_y=True)
    est = fit(lgb.LGBMClassifier(n_estimators=40, num_leaves=15, verbose=-1, n_jobs=1), X, y)
    m = assert_parity(est, X, dtype)
    np.testing.assert_allclose(m.decision_function(X.astype(dtype)),
                               est.predict(X.astype(dtype), raw_score=True), rtol=1e-12,
                               atol=1e-12 if dtype == "float64" else 1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("data", ["binary", "multiclass"])
def test_classifier_nan_and_string_labels(data, dtype, request):
    X, y, Xt, _ = request.getfixturevalue(data)
    labels = np.array(["ant", "bee", "cat", "dog"])[y]
    est = fit(lgb.LGBMClassifier(n_estimators=30, verbose=-1, n_jobs=1), with_nans(X), labels)
    m = assert_parity(est, with_nans(Xt, seed=5), dtype)
    assert m.predict(Xt[:3]).dtype == est.predict(Xt[:3]).dtype


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("params", [{"objective": "regression"}, {"objective": "regression_l1"},
                                    {"objective": "huber"}, {"objective": "quantile", "alpha": 0.8},
                                    {"objective": "poisson"}, {"objective": "gamma"},
                                    {"objective": "tweedie"}, {"objective": "regression", "reg_sqrt": True},
                                    {"boosting_type": "rf", "subsample": 0.7, "subsample_freq": 1},
                                    {"boosting_type": "dart"}, {"zero_as_missing": True}],
                         ids=repr)
def test_regressor_diabetes(params, dtype):
    X, y = load_diabetes(return_X_y=True)
    X = X.copy()
    X[::7, 2] = 0.0  # zeros for zero_as_missing
    est = fit(lgb.LGBMRegressor(n_estimators=25, verbose=-1, n_jobs=1, **params), X, y)
    assert_parity(est, X, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_multiclass_ova_and_early_stopping(dtype, multiclass):
    X, y, Xt, yt = multiclass
    ova = fit(lgb.LGBMClassifier(n_estimators=20, objective="multiclassova", verbose=-1, n_jobs=1), X, y)
    assert_parity(ova, Xt, dtype)
    est = lgb.LGBMClassifier(n_estimators=300, learning_rate=0.3, verbose=-1, n_jobs=1)
    est.fit(X, y, eval_X=Xt, eval_y=yt, callbacks=[lgb.early_stopping(3, verbose=False)])
    assert 0 < est.best_iteration_ < 300
    assert_parity(est, Xt, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_ranker(dtype):
    X, y = load_diabetes(return_X_y=True)
    relevance = np.digitize(y, np.quantile(y, [0.25, 0.5, 0.75]))
    est = fit(lgb.LGBMRanker(n_estimators=20, verbose=-1, n_jobs=1), X, relevance, group=[50] * 8 + [42])
    assert_parity(est, X, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_categorical_splits(dtype):
    X, y = categorical_data(0)
    Xt = odd_categories(categorical_data(1)[0], seed=2)
    reg = fit(lgb.LGBMRegressor(n_estimators=30, verbose=-1, n_jobs=1, min_data_per_group=5,
                                cat_smooth=1), X, y, categorical_feature=[1, 3])
    assert "num_cat=0" not in reg.booster_.model_to_string().split("Tree=1")[0]
    m = assert_parity(reg, Xt, dtype)
    assert "TreeEnsembleCategorical" in m.graph_json()
    clf = fit(lgb.LGBMClassifier(n_estimators=30, verbose=-1, n_jobs=1, min_data_per_group=5),
              X, (y > 0).astype(int), categorical_feature=[1, 3])
    assert_parity(clf, Xt, dtype)
    m3 = fit(lgb.LGBMClassifier(n_estimators=10, verbose=-1, n_jobs=1), X, np.digitize(y, [-1, 1]),
             categorical_feature=[1, 3])
    assert_parity(m3, Xt, dtype, backend="reference")


def test_text_file_load_save_and_cli(tmp_path):
    X, y = categorical_data(3)
    Xt = odd_categories(X[:200], seed=4)
    est = fit(lgb.LGBMClassifier(n_estimators=15, verbose=-1, n_jobs=1), X, (y > 0).astype(int),
              categorical_feature=[1])
    est.booster_.save_model(tmp_path / "m.txt")
    m = gtn.ml.load(tmp_path / "m.txt")
    np.testing.assert_allclose(m.predict_proba(Xt), est.predict_proba(Xt), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(m.predict(Xt), est.predict(Xt))
    m.save(tmp_path / "m.gtnml")
    np.testing.assert_array_equal(gtn.ml.load(tmp_path / "m.gtnml").predict_proba(Xt),
                                  m.predict_proba(Xt))
    assert CLI, "set GTN_CLI to the gtn binary"
    np.save(tmp_path / "X.npy", Xt)
    r = subprocess.run([CLI, "ml", "convert", tmp_path / "m.txt", "-o", tmp_path / "c.gtnml"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([CLI, "ml", "predict", tmp_path / "c.gtnml", tmp_path / "X.npy", "-m",
                        "predict_proba", "-o", tmp_path / "p.npy"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), est.predict_proba(Xt), rtol=1e-12,
                               atol=1e-15)
    r = subprocess.run([CLI, "ml", "predict", tmp_path / "m.txt", tmp_path / "X.npy", "-o",
                        tmp_path / "y.npy"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), est.predict(Xt))


def test_bad_text_models(tmp_path):
    X, y = load_diabetes(return_X_y=True)
    text = fit(lgb.LGBMRegressor(n_estimators=3, verbose=-1, n_jobs=1), X, y).booster_.model_to_string()
    (tmp_path / "cut.txt").write_text(text[: len(text) // 2])
    with pytest.raises(ValueError, match="end of trees"):
        gtn.ml.load(tmp_path / "cut.txt")
    (tmp_path / "bad.txt").write_text(text.replace("leaf_value=", "leaf_value=x", 1))
    with pytest.raises(ValueError, match="non-number"):
        gtn.ml.load(tmp_path / "bad.txt")
    linear = fit(lgb.LGBMRegressor(n_estimators=3, linear_tree=True, verbose=-1, n_jobs=1), X, y)
    with pytest.raises(gtn.UnsupportedError, match="linear tree"):
        gtn.ml.convert(linear)


def test_unfitted():
    with pytest.raises(ValueError, match="unfitted"):
        gtn.ml.convert(lgb.LGBMClassifier())


def test_cli_convert_dtype_and_errors(tmp_path):
    X, y = load_diabetes(return_X_y=True)
    est = fit(lgb.LGBMRegressor(n_estimators=5, verbose=-1, n_jobs=1), X, y)
    est.booster_.save_model(tmp_path / "r.txt")

    def cli(*args):
        return subprocess.run([CLI, "ml", *map(str, args)], capture_output=True, text=True)

    r = cli("convert", tmp_path / "r.txt", "-o", tmp_path / "r32.gtnml", "--dtype", "float32")
    assert r.returncode == 0, r.stderr
    m = gtn.ml.load(tmp_path / "r32.gtnml")
    assert m.dtype == "float32"
    np.testing.assert_allclose(m.predict(X.astype(np.float32)), est.predict(X.astype(np.float32)),
                               rtol=1e-5)
    r = cli("convert", tmp_path / "r32.gtnml", "-o", tmp_path / "again.gtnml", "--dtype", "float64")
    assert r.returncode == 1 and "compiled at the dtype it was saved with" in r.stderr
    r = cli("convert", tmp_path / "r.txt", "-o", tmp_path / "x.gtnml", "--dtype", "float16")
    assert r.returncode == 1 and "--dtype must be float32 or float64" in r.stderr
    (tmp_path / "m.onnx").write_bytes(b"\x08\x07")
    r = cli("convert", tmp_path / "m.onnx", "-o", tmp_path / "o.gtnml")
    assert r.returncode == 1 and "gtn.ml.load_onnx" in r.stderr
