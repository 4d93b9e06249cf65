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
