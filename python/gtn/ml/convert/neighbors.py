"""k-nearest neighbours (euclidean): SquaredDistance + TopK, then a (weighted) vote/mean."""
import numpy as np

from gtn import UnsupportedError
from gtn.ml.convert.common import argmax, set_classes
from gtn.ml.registry import register


def _neighbors(g, est, x):
    """(weights [N, k] or None, neighbour indices [N, k])."""
    metric_ok = est.effective_metric_ == "euclidean" or (
        est.effective_metric_ == "minkowski" and est.effective_metric_params_.get("p", 2) == 2)
    if not metric_ok:
        raise UnsupportedError(
            f"{type(est).__name__} metric={est.metric!r} (p={est.p}) is not supported; "
            "euclidean (minkowski with p=2) is")
    if est.weights not in ("uniform", "distance"):
        raise UnsupportedError(f"{type(est).__name__} weights={est.weights!r} is not "
                               "supported; 'uniform' and 'distance' are")
    # Blocked distances + running top-k: never the [N, n_fit] distance matrix.
    d2k, idx = g.op("KNearest", x, g.const(est._fit_X, "fit_X"), n_results=2, k=int(est.n_neighbors))
    if est.weights == "uniform":
        return None, idx
    # 1 / distance; rows with an exact match weigh only their zero-distance neighbours.
    dist = g.op("Sqrt", d2k)
    zero = g.op("Equal", dist, g.scalar(0.0))
    any_zero = g.op("ReduceMax", g.op("Cast", zero, to=g.dtype), axis=1, keepdims=True)
    inv = g.op("Div", g.scalar(1.0), g.op("Where", zero, g.scalar(1.0), dist))
    exact = g.op("Cast", zero, to=g.dtype)
    w = g.op("Where", g.op("Greater", any_zero, g.scalar(0.0)), exact, inv)
    return w, idx


@register("sklearn.neighbors.KNeighborsClassifier")
def knn_classifier(g, est, x):
    if np.asarray(est._y).ndim != 1:
        raise UnsupportedError("multi-output KNeighborsClassifier is not supported")
    w, idx = _neighbors(g, est, x)
    n_classes = len(est.classes_)
    labels = g.op("Gather", g.const(np.asarray(est._y, dtype=np.int64), "fit_y"), idx, axis=0)
    votes = g.op("OneHot", labels, depth=n_classes)  # [N, k, C]
    if w is None:
        proba = g.op("ReduceMean", votes, axis=1, keepdims=False)
    else:
        w3 = g.op("Reshape", w, shape=[0, -1, 1])
        total = g.op("ReduceSum", g.op("Mul", votes, w3), axis=1, keepdims=False)
        proba = g.op("Div", total, g.op("ReduceSum", total, axis=1, keepdims=True))
    set_classes(g, est.classes_)
    return {"predict_proba": proba, "predict": argmax(g, proba)}


@register("sklearn.neighbors.KNeighborsRegressor")
def knn_regressor(g, est, x):
    w, idx = _neighbors(g, est, x)
    y = np.asarray(est._y, dtype=np.float64)
    vals = g.op("Gather", g.const(y, "fit_y"), idx, axis=0)  # [N, k] or [N, k, T]
    if w is None:
        return {"predict": g.op("ReduceMean", vals, axis=1, keepdims=False)}
    if y.ndim == 2:
        w = g.op("Reshape", w, shape=[0, -1, 1])
    num = g.op("ReduceSum", g.op("Mul", vals, w), axis=1, keepdims=False)
    den = g.op("ReduceSum", w, axis=1, keepdims=False)
    return {"predict": g.op("Div", num, den)}
