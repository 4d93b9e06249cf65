"""Each converter's graph, evaluated by a plain numpy reading of docs/ml/graph.md, matches
scikit-learn: checks the converters against the graph contract on their own."""
import json

import numpy as np
import pytest

import gtn.ml
import graph_numpy
from conftest import MODELS, source_methods, with_nans


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", sorted(MODELS))
def test_graph_semantics(name, request):
    est, data = MODELS[name]
    X, y, Xt, _ = request.getfixturevalue(data)
    if name == "hgb":
        X, Xt = with_nans(X), with_nans(Xt)
    est.fit(X, y)
    graph_json, constants = gtn.ml.to_graph(est)
    graph = json.loads(graph_json)
    assert graph["format"] == "gtn-ml-graph" and graph["inputs"][0]["shape"] == [-1, 10]
    for method in source_methods(est):
        got = graph_numpy.run(graph_json, constants, method, Xt)
        if method == "predict" and "classes" in graph["metadata"]:
            got = np.asarray(graph["metadata"]["classes"])[got]
        np.testing.assert_allclose(got, getattr(est, method)(Xt), rtol=1e-12, atol=1e-12)


def _more_models():
    from sklearn import cluster, discriminant_analysis, ensemble, linear_model, mixture
    from sklearn import preprocessing

    return {
        "hgb_categorical": ensemble.HistGradientBoostingClassifier(
            max_iter=5, categorical_features=[0]),
        "gmm": mixture.GaussianMixture(3, covariance_type="diag", random_state=0),
        "kmeans": cluster.KMeans(3, n_init=1, random_state=0),
        "qda": discriminant_analysis.QuadraticDiscriminantAnalysis(reg_param=0.1),
        "voting": ensemble.VotingClassifier([("lr", linear_model.LogisticRegression()),
                                             ("t", ensemble.RandomForestClassifier(3, random_state=0))],
                                            voting="soft"),
        "quantile": preprocessing.QuantileTransformer(n_quantiles=20),
        "quantile_normal": preprocessing.QuantileTransformer(n_quantiles=20, output_distribution="normal"),
        "spline": preprocessing.SplineTransformer(n_knots=4, extrapolation="linear"),
        "power": preprocessing.PowerTransformer(),
    }


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", sorted(_more_models()))
def test_graph_semantics_more(name, multiclass):
    est = _more_models()[name]
    X, y, Xt, _ = multiclass
    if name == "hgb_categorical":
        X, Xt = X.copy(), Xt.copy()
        X[:, 0] = np.floor(np.abs(X[:, 0]) * 3)
        Xt[:, 0] = np.floor(np.abs(Xt[:, 0]) * 3) - 1  # includes -1 and unseen codes
    est.fit(X, y)
    graph_json, constants = gtn.ml.to_graph(est)
    graph = json.loads(graph_json)
    if name == "hgb_categorical":
        assert any(n["op"] == "TreeEnsembleCategorical" for n in graph["nodes"])
    for method in source_methods(est):
        got = graph_numpy.run(graph_json, constants, method, Xt)
        if method == "predict" and "classes" in graph["metadata"]:
            got = np.asarray(graph["metadata"]["classes"])[got]
        np.testing.assert_allclose(got, getattr(est, method)(Xt), rtol=1e-12, atol=1e-12)
