import numpy as np
import pytest
from sklearn import decomposition, linear_model, preprocessing, svm
from sklearn.ensemble import RandomForestClassifier
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline

import gtn
import gtn.ml
from conftest import assert_parity


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_scaler_pca_logistic(dtype, multiclass):
    X, y, Xt, _ = multiclass
    pipe = make_pipeline(preprocessing.StandardScaler(), decomposition.PCA(6),
                         linear_model.LogisticRegression(max_iter=1000))
    assert_parity(pipe.fit(X, y), Xt, dtype)


def test_minmax_svc(binary):
    X, y, Xt, _ = binary
    assert_parity(make_pipeline(preprocessing.MinMaxScaler(), svm.SVC()).fit(X, y), Xt)


def test_passthrough_and_transform_only(regression):
    X, y, Xt, _ = regression
    pipe = make_pipeline(preprocessing.StandardScaler(), "passthrough",
                         preprocessing.Normalizer()).fit(X)
    assert_parity(pipe, Xt)


def test_one_hot_then_forest():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 5, (300, 3)).astype(float)
    y = (X[:, 0] + X[:, 1] > 4).astype(int)
    pipe = make_pipeline(preprocessing.OneHotEncoder(sparse_output=False),
                         RandomForestClassifier(n_estimators=10, random_state=0)).fit(X, y)
    assert_parity(pipe, rng.integers(0, 5, (50, 3)).astype(float))


def test_predictor_in_the_middle_is_unsupported(binary):
    X, y, _, _ = binary
    pipe = make_pipeline(preprocessing.StandardScaler(), linear_model.LinearRegression())
    pipe.fit(X, y)
    pipe.steps.insert(1, ("lr", pipe.steps[1][1]))
    with pytest.raises(gtn.UnsupportedError, match="transform"):
        gtn.ml.convert(pipe)


@pytest.mark.parametrize("base", [linear_model.LogisticRegression(max_iter=1000), svm.LinearSVC(),
                                  make_pipeline(preprocessing.StandardScaler(), svm.SVC())],
                         ids=repr)
def test_one_vs_rest(base, multiclass):
    X, y, Xt, _ = multiclass
    assert_parity(OneVsRestClassifier(base).fit(X, y), Xt)
