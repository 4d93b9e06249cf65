"""Scalers, power transforms, discretizers, polynomial features, ufuncs, imputers, encoders and
feature selectors on scikit-learn's bundled data sets and synthetic data."""
import numpy as np
import pytest
from sklearn import feature_selection as fs
from sklearn import impute, linear_model, preprocessing, svm, tree

import gtn
import gtn.ml
from conftest import assert_parity, real_data, with_nans

DTYPES = ["float64", "float32"]

TRANSFORMERS = [preprocessing.RobustScaler(), preprocessing.RobustScaler(with_centering=False),
                preprocessing.MaxAbsScaler(), preprocessing.Binarizer(threshold=0.5),
                preprocessing.PowerTransformer(), preprocessing.PowerTransformer(standardize=False),
                preprocessing.KBinsDiscretizer(4, encode="ordinal", quantile_method="averaged_inverted_cdf"),
                preprocessing.KBinsDiscretizer(3, encode="onehot-dense", strategy="uniform"),
                preprocessing.KBinsDiscretizer(5, encode="ordinal", strategy="kmeans"),
                preprocessing.PolynomialFeatures(2),
                preprocessing.PolynomialFeatures(3, interaction_only=True, include_bias=False),
                preprocessing.FunctionTransformer(np.log1p), preprocessing.FunctionTransformer(),
                preprocessing.FunctionTransformer(np.expm1),
                preprocessing.FunctionTransformer(np.sqrt),
                fs.VarianceThreshold(0.02)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("data", ["wine", "breast_cancer"])
@pytest.mark.parametrize("est", TRANSFORMERS, ids=repr)
def test_transformers_real_data(est, data, dtype):
    X, _ = real_data(data)
    X = X[:, :6] / X[:, :6].max(0)  # positive, <= 1 (log1p, sqrt, Box-Cox need it)
    assert_parity(est.fit(X), X[::-1] * 0.95, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_box_cox_and_yeo_johnson_negative(dtype, regression):
    X, _, Xt, _ = regression
    assert_parity(preprocessing.PowerTransformer().fit(X), Xt, dtype)
    Xp = np.abs(X) + 0.1
    assert_parity(preprocessing.PowerTransformer(method="box-cox").fit(Xp), np.abs(Xt) + 0.1,
                  dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("est", [impute.SimpleImputer(), impute.SimpleImputer(strategy="median"),
                                 impute.SimpleImputer(strategy="most_frequent"),
                                 impute.SimpleImputer(strategy="constant", fill_value=-1.0),
                                 impute.SimpleImputer(add_indicator=True),
                                 impute.MissingIndicator(), impute.MissingIndicator(features="all")],
                         ids=repr)
def test_imputers(est, dtype):
    X, _ = real_data("diabetes")
    X = with_nans(X)
    X[:, 3] = np.nan  # an empty feature: SimpleImputer drops it
    X[:, 5] = np.where(np.isnan(X[:, 5]), 0.0, X[:, 5])  # a feature with no NaN
    Xt = with_nans(real_data("diabetes")[0], seed=7)
    est.fit(X)
    if isinstance(est, impute.MissingIndicator) and est.features == "missing-only":
        # NaN in a feature that had none in fit: both refuse it
        with pytest.raises(ValueError, match=r"features \[5\] have missing values"):
            est.transform(Xt)
        with pytest.raises(ValueError, match=r"features \[5\] have missing values"):
            gtn.ml.convert(est, dtype=dtype).transform(Xt)
        Xt[:, 5] = 1.0
    assert_parity(est, Xt, dtype)


def _cats(seed, n=300):
    rng = np.random.default_rng(seed)
    return np.c_[rng.integers(0, 5, n), rng.integers(10, 13, n) * 0.5, rng.normal(size=n)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", [{}, {"handle_unknown": "use_encoded_value", "unknown_value": -1},
                                     {"handle_unknown": "use_encoded_value",
                                      "unknown_value": np.nan, "encoded_missing_value": -2}],
                         ids=repr)
def test_ordinal_encoder(options, dtype):
    X = _cats(0)[:, :2]
    if options:
        X = X.copy()
        X[::17, 0] = np.nan
    est = preprocessing.OrdinalEncoder(**options).fit(X)
    Xt = _cats(1)[:, :2]
    if options:
        Xt[::5, 0] = 9  # unseen
        Xt[::13, 0] = np.nan
    assert_parity(est, Xt, dtype)


def test_ordinal_encoder_strings_and_unknown():
    X = np.array([["lo", "a"], ["hi", "b"], ["mid", "a"]], dtype=object)
    est = preprocessing.OrdinalEncoder().fit(X)
    m = gtn.ml.convert(est)
    np.testing.assert_array_equal(m.transform(X[::-1]), est.transform(X[::-1]))
    with pytest.raises(ValueError, match="unknown category"):
        m.transform(np.array([["lo", "zz"]], dtype=object))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("target", ["continuous", "binary", "multiclass"])
def test_target_encoder(target, dtype):
    X = _cats(2)[:, :2]
    rng = np.random.default_rng(3)
    y = {"continuous": X[:, 0] + rng.normal(size=len(X)),
         "binary": (X[:, 0] > 2).astype(int),
         "multiclass": (X[:, 0] + rng.integers(0, 2, len(X))).astype(int) % 3}[target]
    est = preprocessing.TargetEncoder(random_state=0).fit(X, y)
    Xt = _cats(4)[:, :2]
    Xt[::7, 0] = 11  # unseen -> target mean
    assert_parity(est, Xt, dtype)


SELECTORS = [fs.SelectKBest(k=5), fs.SelectPercentile(percentile=30),
             fs.GenericUnivariateSelect(mode="k_best", param=4), fs.SelectFpr(alpha=0.01),
             fs.SelectFdr(alpha=0.01), fs.SelectFwe(alpha=0.01),
             fs.SelectFromModel(linear_model.LogisticRegression(C=0.1, max_iter=2000)),
             fs.SequentialFeatureSelector(tree.DecisionTreeClassifier(max_depth=2, random_state=0),
                                          n_features_to_select=3, cv=2)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("est", SELECTORS, ids=lambda e: type(e).__name__)
def test_selectors_breast_cancer(est, dtype):
    X, y = real_data("breast_cancer")
    X = X / X.max(0)
    assert_parity(est.fit(X, y), X, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cls", [fs.RFE, fs.RFECV])
def test_rfe(cls, dtype):
    X, y = real_data("wine")
    X = (X - X.mean(0)) / X.std(0)
    est = cls(svm.LinearSVC(), step=3).fit(X, y)
    assert_parity(est, X, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("data", ["diabetes", "wine"])
def test_quantile_transformer(data, dtype):
    # diabetes' discretized features repeat quantiles: the tie rule of scikit-learn's double
    # np.interp; test rows include the training rows (values on the knots), NaN and rows
    # beyond the fitted range.
    X, _ = real_data(data)
    est = preprocessing.QuantileTransformer(n_quantiles=50).fit(X)
    Xt = np.r_[X[:100], X[100:150] * 1.3, with_nans(X[150:200])]
    assert_parity(est, Xt, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("data", ["diabetes", "wine", "breast_cancer"])
def test_quantile_transformer_normal(data, dtype):
    # Rows on the knots, beyond the fitted range (clipped to ppf(1e-7)), within 1e-7 of its
    # ends, and NaN; every branch of the normal quantile function is reached.
    X, _ = real_data(data)
    est = preprocessing.QuantileTransformer(n_quantiles=100, output_distribution="normal").fit(X)
    lo, hi = est.quantiles_[0], est.quantiles_[-1]
    Xt = np.r_[X[:100], X[100:150] * 1.3, with_nans(X[150:200]), [lo + 5e-8], [hi - 5e-8], [lo - 1.0]]
    got = assert_parity(est, Xt, dtype).transform(np.ascontiguousarray(Xt, dtype=dtype))
    assert np.nanmax(np.abs(got)) == pytest.approx(5.199337582605575, rel=1e-6)  # ppf(1 - 1e-7)


def test_normal_ppf_matches_scipy_on_every_branch():
    from scipy import stats
    from gtn.ml.convert.scalers import normal_ppf
    from gtn import _core
    from gtn.ml.graph import GraphBuilder
    from gtn.ml.model import Model

    p = np.r_[0.0, 1e-300, 1e-100, 1e-20, 1e-12, 1e-7, 0.001, 0.0749, 0.075, 0.3, 0.5, 0.7, 0.925,
              0.93, 0.999, 1 - 1e-7, 1 - 1e-12, 1.0, np.nan]
    g = GraphBuilder("float64", 1)
    out = normal_ppf(g, g.input)
    model = Model(_core.ml_compile(g.to_json({"transform": out}), g.constants, "cpu"))
    got = model.transform(p.reshape(-1, 1)).ravel()
    want = stats.norm.ppf(p)
    np.testing.assert_allclose(got, want, rtol=2e-15, atol=0)


@pytest.mark.parametrize("labels", [np.array([3, 1, 7, 1, 3]), np.array([0.5, -2.0, 0.5]),
                                    np.array(["setosa", "virginica", "setosa", "versicolor"])],
                         ids=["int", "float", "str"])
def test_label_encoder(labels):
    est = preprocessing.LabelEncoder().fit(labels)
    m = gtn.ml.convert(est)
    y = labels[::-1]
    got = m.transform(y)
    np.testing.assert_array_equal(got, est.transform(y))
    assert got.dtype == est.transform(y).dtype
    unseen = np.array(["unknown"] if labels.dtype.kind == "U" else [42], dtype=labels.dtype)
    with pytest.raises(ValueError, match="previously unseen labels"):
        est.transform(unseen)
    with pytest.raises(ValueError, match="previously unseen labels"):
        m.transform(unseen)


def test_label_encoder_iris_targets():
    from sklearn.datasets import load_iris

    names = load_iris().target_names[load_iris().target]
    est = preprocessing.LabelEncoder().fit(names)
    np.testing.assert_array_equal(gtn.ml.convert(est).transform(names), est.transform(names))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("params", [
    {},
    {"degree": 2, "n_knots": 7, "extrapolation": "linear"},
    {"degree": 1, "extrapolation": "linear", "include_bias": False},
    {"degree": 0, "n_knots": 4, "extrapolation": "continue"},
    {"knots": "quantile", "extrapolation": "continue"},
    {"extrapolation": "periodic", "n_knots": 6},
    {"degree": 4, "handle_missing": "zeros", "extrapolation": "constant"},
], ids=["default", "linear-d2", "linear-d1-nobias", "degree0", "quantile-continue", "periodic",
        "d4-zeros"])
def test_spline_transformer(params, dtype):
    # Rows inside the fitted range, on the knots (the training minimum and maximum), beyond it
    # on both sides, and NaN where handle_missing allows it.
    X, _ = real_data("diabetes")
    # degree <= 1 with linear extrapolation: one feature (see the converter).
    X = X[:, 2:3] if params.get("degree", 3) <= 1 and params.get("extrapolation") == "linear" else X[:, :4]
    est = preprocessing.SplineTransformer(**params).fit(X)
    Xt = np.r_[X[:150], X.min(0, keepdims=True), X.max(0, keepdims=True), X[150:200] * 1.6 - 0.05]
    if params.get("handle_missing") == "zeros":
        Xt = np.r_[Xt, with_nans(X[200:230])]
    assert_parity(est, Xt, dtype)


def test_spline_transformer_refusals():
    X, _ = real_data("diabetes")
    est = preprocessing.SplineTransformer(extrapolation="error").fit(X)
    with pytest.raises(gtn.ml.UnsupportedError, match="extrapolation='error'"):
        gtn.ml.convert(est)
    est = preprocessing.SplineTransformer(degree=1, extrapolation="linear").fit(X[:, :2])
    with pytest.raises(gtn.ml.UnsupportedError, match="more than one feature"):
        gtn.ml.convert(est)
