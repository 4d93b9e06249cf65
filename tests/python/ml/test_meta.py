"""Meta-estimators and composition: voting, stacking, bagging, AdaBoost, calibration,
multi-output and chains, one-vs-one, column transformers, feature unions, target transforms,
search CVs, dummies, isotonic regression."""
import numpy as np
import pytest
from sklearn import (calibration, compose, dummy, ensemble, isotonic, linear_model,
                     model_selection, multiclass, multioutput, naive_bayes, neighbors, pipeline,
                     preprocessing, svm, tree)
from sklearn.experimental import enable_halving_search_cv  # noqa: F401

import gtn.ml
from conftest import assert_parity, real_data

DTYPES = ["float64", "float32"]


def _scaled(name):
    X, y = real_data(name)
    return (X - X.mean(0)) / X.std(0), y


def _lr():
    return linear_model.LogisticRegression(max_iter=2000)


def _tree(depth=3):
    return tree.DecisionTreeClassifier(max_depth=depth, random_state=0)


CLASSIFIERS = [
    ensemble.VotingClassifier([("lr", _lr()), ("nb", naive_bayes.GaussianNB()),
                               ("t", _tree())], voting="soft", weights=[2, 1, 1]),
    ensemble.VotingClassifier([("lr", _lr()), ("svc", svm.LinearSVC()), ("t", _tree())]),
    ensemble.StackingClassifier([("lr", _lr()), ("t", _tree()), ("svc", svm.LinearSVC())],
                                final_estimator=_lr(), cv=3),
    ensemble.StackingClassifier([("nb", naive_bayes.GaussianNB()), ("t", _tree())],
                                final_estimator=_lr(), passthrough=True, cv=3,
                                stack_method="predict"),
    ensemble.BaggingClassifier(_tree(4), n_estimators=8, max_features=0.6, random_state=0),
    ensemble.BaggingClassifier(linear_model.LogisticRegression(max_iter=500), n_estimators=5,
                               max_samples=0.3, random_state=0),
    ensemble.BaggingClassifier(svm.LinearSVC(), n_estimators=4, random_state=0),
    ensemble.AdaBoostClassifier(n_estimators=15, random_state=0),
    ensemble.AdaBoostClassifier(_tree(2), n_estimators=10, random_state=0),
    calibration.CalibratedClassifierCV(svm.LinearSVC(), cv=3),
    calibration.CalibratedClassifierCV(naive_bayes.GaussianNB(), cv=3),
    calibration.CalibratedClassifierCV(svm.LinearSVC(), cv=3, method="isotonic"),
    calibration.CalibratedClassifierCV(_tree(), cv=3, ensemble=False),
    multiclass.OneVsOneClassifier(svm.LinearSVC()),
    multiclass.OneVsOneClassifier(naive_bayes.GaussianNB()),
    model_selection.GridSearchCV(_lr(), {"C": [0.1, 1.0]}, cv=3),
    model_selection.RandomizedSearchCV(_tree(), {"max_depth": [2, 3, 4]}, n_iter=2, cv=3,
                                       random_state=0),
    model_selection.HalvingGridSearchCV(_tree(), {"max_depth": [2, 3]}, cv=3, random_state=0),
    dummy.DummyClassifier(), dummy.DummyClassifier(strategy="most_frequent"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("data", ["iris", "breast_cancer"])
@pytest.mark.parametrize("est", CLASSIFIERS, ids=lambda e: repr(e)[:60])
def test_classifiers(est, data, dtype):
    X, y = _scaled(data)
    est.fit(X, y)
    assert_parity(est, X, dtype)


REGRESSORS = [
    ensemble.VotingRegressor([("r", linear_model.Ridge()),
                              ("t", tree.DecisionTreeRegressor(max_depth=4, random_state=0))],
                             weights=[1, 3]),
    ensemble.StackingRegressor([("r", linear_model.Ridge()),
                                ("k", neighbors.KNeighborsRegressor())],
                               final_estimator=linear_model.LinearRegression(), cv=3),
    ensemble.BaggingRegressor(tree.DecisionTreeRegressor(max_depth=4), n_estimators=6,
                              max_features=0.7, random_state=0),
    compose.TransformedTargetRegressor(linear_model.Ridge(), func=np.log, inverse_func=np.exp),
    compose.TransformedTargetRegressor(linear_model.Ridge(),
                                       transformer=preprocessing.StandardScaler()),
    dummy.DummyRegressor(strategy="median"),
    ensemble.AdaBoostRegressor(tree.DecisionTreeRegressor(max_depth=3), n_estimators=12,
                               random_state=0),
    ensemble.AdaBoostRegressor(linear_model.Ridge(), n_estimators=5, loss="square",
                               random_state=0),
    model_selection.GridSearchCV(linear_model.Ridge(), {"alpha": [0.1, 10.0]}, cv=3),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("est", REGRESSORS, ids=lambda e: repr(e)[:60])
def test_regressors_diabetes(est, dtype):
    X, y = _scaled("diabetes")
    assert_parity(est.fit(X, y), X, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_multi_output_and_chains(dtype):
    X, y = _scaled("diabetes")
    Y = np.c_[y, y ** 0.5, X[:, 2] * 10]
    for est in (multioutput.MultiOutputRegressor(linear_model.Ridge()),
                multioutput.RegressorChain(linear_model.Ridge(), order=[2, 0, 1])):
        assert_parity(est.fit(X, Y), X, dtype)
    Yc = np.c_[y > 140, X[:, 2] > 0, (X[:, 3] > 0.5) * 2].astype(int)
    for est in (multioutput.MultiOutputClassifier(_lr()),
                multioutput.ClassifierChain(_lr(), order=[1, 2, 0])):
        m = gtn.ml.convert(est.fit(X, Yc), dtype=dtype)
        np.testing.assert_array_equal(m.predict(X.astype(dtype)), est.predict(X.astype(dtype)))
        assert m.predict(X[:2]).dtype == est.predict(X[:2]).dtype


@pytest.mark.parametrize("dtype", DTYPES)
def test_column_transformer_and_feature_union(dtype):
    X, y = real_data("wine")
    ct = compose.ColumnTransformer(
        [("scale", preprocessing.StandardScaler(), [0, 1, 2]),
         ("minmax", preprocessing.MinMaxScaler(), slice(3, 6)),
         ("drop", "drop", [6]), ("poly", preprocessing.PolynomialFeatures(2), [7, 8])],
        remainder="passthrough")
    assert_parity(ct.fit(X), X, dtype)
    union = pipeline.FeatureUnion([("a", preprocessing.StandardScaler()),
                                   ("b", preprocessing.FunctionTransformer(np.log1p))],
                                  transformer_weights={"b": 2.0})
    assert_parity(union.fit(X), X, dtype)
    pipe = pipeline.make_pipeline(ct, tree.DecisionTreeClassifier(max_depth=4, random_state=0)).fit(X, y)
    assert_parity(pipe, X, dtype)


def test_column_transformer_with_string_columns():
    import pandas as pd

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"color": rng.choice(["red", "green", "blue"], 200),
                       "size": rng.choice(["S", "M", "L"], 200),
                       "w": rng.normal(size=200)})
    y = (df["color"] == "red") ^ (df["w"] > 0)
    ct = compose.ColumnTransformer([("oh", preprocessing.OneHotEncoder(), ["color"]),
                                    ("ord", preprocessing.OrdinalEncoder(), ["size"]),
                                    ("num", preprocessing.StandardScaler(), ["w"])])
    pipe = pipeline.make_pipeline(ct, _lr()).fit(df, y)
    m = gtn.ml.convert(pipe)
    np.testing.assert_array_equal(m.predict(df), pipe.predict(df))
    np.testing.assert_allclose(m.predict_proba(df), pipe.predict_proba(df), rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_isotonic(dtype):
    X, y = real_data("diabetes")
    est = isotonic.IsotonicRegression(out_of_bounds="clip").fit(X[:, 2], y)
    assert_parity(est, np.linspace(-0.2, 0.2, 101).reshape(-1, 1), dtype)
