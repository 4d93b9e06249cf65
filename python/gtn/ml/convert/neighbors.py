"""k-nearest neighbours (euclidean, manhattan, chebyshev, minkowski, cosine): distances + TopK,
then a (weighted) vote / mean; NearestCentroid."""
import numpy as np

from gtn import UnsupportedError
from gtn.ml.convert.common import argmax, column, index_of_positive, set_classes
from gtn.ml.convert.kernels import broadcast_diff
from gtn.ml.registry import register


def _metric(est):
    """(name, p) of the fitted metric: euclidean, manhattan, chebyshev, minkowski p, cosine."""
    metric = est.effective_metric_
    p = est.effective_metric_params_.get("p", 2)
    aliases = {"l2": "euclidean", "l1": "manhattan", "cityblock": "manhattan",
               "infinity": "chebyshev"}
    metric = aliases.get(metric, metric)
    if metric == "minkowski":
        metric = {1: "manhattan", 2: "euclidean", np.inf: "chebyshev"}.get(p, "minkowski")
    if metric not in ("euclidean", "manhattan", "chebyshev", "minkowski", "cosine"):
        raise UnsupportedError(
            f"{type(est).__name__} metric={est.metric!r} is not supported; euclidean, "
            "manhattan, chebyshev, minkowski (any p >= 1) and cosine are")
    if est.effective_metric_params_.get("w") is not None:
        raise UnsupportedError("weighted minkowski distances are not supported")
    return metric, float(p)


def distances(g, x, rows, metric, p=2.0):
    """(ranking [N, M], to_distance): a value whose order is the distance's, and a function
    turning selected ranking values into distances."""
    if metric == "euclidean":
        return g.op("SquaredDistance", x, g.const(rows, "fit_X")), lambda v: g.op("Sqrt", v)
    if metric == "cosine":
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        unit = rows / np.where(norms == 0, 1.0, norms)
        sim = g.op("MatMul", g.op("Normalize", x, norm="l2"), g.const(unit, "fit_X_unit"),
                   transpose_b=True)
        return g.op("Sub", g.scalar(1.0), sim), lambda v: v
    diff = broadcast_diff(g, x, rows)
    if metric == "manhattan":
        return g.op("ReduceSum", diff, axis=2, keepdims=False), lambda v: v
    if metric == "chebyshev":
        return g.op("ReduceMax", diff, axis=2, keepdims=False), lambda v: v
    powered = g.op("ReduceSum", g.op("Pow", diff, g.scalar(p)), axis=2, keepdims=False)
    return powered, lambda v: g.op("Pow", v, g.scalar(1.0 / p))


def _neighbors(g, est, x):
    """(weights [N, k] or None, neighbour indices [N, k])."""
    metric, p = _metric(est)
    if est.weights not in ("uniform", "distance"):
        raise UnsupportedError(f"{type(est).__name__} weights={est.weights!r} is not "
                               "supported; 'uniform' and 'distance' are")
    if metric == "euclidean":
        # Blocked distances + running top-k: never the [N, n_fit] distance matrix.
        rk, idx = g.op("KNearest", x, g.const(np.asarray(est._fit_X, dtype=np.float64), "fit_X"), n_results=2,
                       k=int(est.n_neighbors))

        def to_distance(v):
            return g.op("Sqrt", v)
    else:
        rank, to_distance = distances(g, x, np.asarray(est._fit_X, dtype=np.float64), metric, p)
        rk, idx = g.op("TopK", rank, n_results=2, k=int(est.n_neighbors), axis=1, largest=False)
    if est.weights == "uniform":
        return None, idx
    # 1 / distance; rows with an exact match weigh only their zero-distance neighbours.
    dist = to_distance(rk)
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


@register("sklearn.neighbors.NearestCentroid")
def nearest_centroid(g, est, x):
    if est.metric not in ("euclidean", "manhattan"):
        raise UnsupportedError(f"NearestCentroid metric={est.metric!r} is not supported")
    classes = np.asarray(est.classes_)
    set_classes(g, classes)
    centroids = np.asarray(est.centroids_, dtype=np.float64)
    out = {}
    if est.metric == "euclidean":
        # discriminant scores: -|x/s - c/s|^2 + 2 log prior (s: within-class std, 0 -> 1)
        s = np.where(est.within_class_std_dev_ != 0, est.within_class_std_dev_, 1.0)
        # few centroids: explicit differences, exact to rounding (a GEMM-based distance
        # cancels |x|^2 against 2 x.c, losing float32 digits)
        diff = broadcast_diff(g, g.op("Div", x, g.const(s, "std")), centroids / s)
        d2 = g.op("ReduceSum", g.op("Square", diff), axis=2, keepdims=False)
        score = g.op("Add", g.op("Neg", d2), g.const(2.0 * np.log(est.class_prior_), "log_prior"))
        out["predict_proba"] = g.op("Softmax", score, axis=1)
        if len(classes) == 2:
            d = g.op("Sub", column(g, score, 1), column(g, score, 0))
            out["decision_function"] = d
            out["predict"] = index_of_positive(g, d)
        else:
            out["decision_function"] = score
            out["predict"] = argmax(g, score)
    if np.isclose(est.class_prior_, 1 / len(classes)).all() or est.metric != "euclidean":
        rank, _ = distances(g, x, centroids, est.metric)
        out["predict"] = g.op("ArgMin", rank, axis=1, keepdims=False)
    return out


def _radius_weights(g, est, x):
    """[N, n_fit] weights of the training rows within est.radius of each row: 1 (uniform) or
    1 / distance, where rows with an exact match weigh only their zero-distance neighbours;
    0 outside the radius."""
    metric, p = _metric(est)
    if est.weights not in ("uniform", "distance"):
        raise UnsupportedError(f"{type(est).__name__} weights={est.weights!r} is not "
                               "supported; 'uniform' and 'distance' are")
    rows = np.asarray(est._fit_X, dtype=np.float64)
    if metric == "euclidean":
        # Differences, not the GEMM expansion: a training row's own distance must come out
        # exactly 0 (it then takes all the weight) and rows near the radius must fall on the
        # side scikit-learn's trees put them. Holds an [N, n_fit, F] tensor per batch.
        rank = g.op("ReduceSum", g.op("Square", broadcast_diff(g, x, rows)), axis=2, keepdims=False)

        def to_distance(v):
            return g.op("Sqrt", v)
    else:
        rank, to_distance = distances(g, x, rows, metric, p)
        if metric == "cosine":
            rank = g.op("Clip", rank, min=0.0, max=2.0)  # as scikit-learn's cosine_distances
    r = float(est.radius)
    # The ranking value at the radius: squared for euclidean, the p-th power for minkowski.
    bound = {"euclidean": r * r, "minkowski": r ** p}.get(metric, r)
    within = g.op("LessEqual", rank, g.scalar(bound))
    inside = g.op("Cast", within, to=g.dtype)
    if est.weights == "uniform":
        return inside
    dist = to_distance(g.op("Where", within, rank, g.scalar(1.0)))
    zero = g.op("And", within, g.op("Equal", dist, g.scalar(0.0)))
    exact = g.op("Cast", zero, to=g.dtype)
    any_zero = g.op("ReduceMax", exact, axis=1, keepdims=True)
    inv = g.op("Mul", inside, g.op("Div", g.scalar(1.0), g.op("Where", zero, g.scalar(1.0), dist)))
    return g.op("Where", g.op("Greater", any_zero, g.scalar(0.0)), exact, inv)


@register("sklearn.neighbors.RadiusNeighborsClassifier")
def radius_classifier(g, est, x):
    if np.asarray(est._y).ndim != 1:
        raise UnsupportedError("multi-output RadiusNeighborsClassifier is not supported")
    classes = np.asarray(est.classes_)
    outlier = None if est.outlier_label_ is None else est.outlier_label_[0]
    if outlier is None:
        raise UnsupportedError(
            "RadiusNeighborsClassifier without outlier_label is not supported: scikit-learn raises "
            "for a row with no training row within the radius, which a compiled model cannot do "
            "per row; set outlier_label (a class or 'most_frequent')")
    hits = np.flatnonzero(classes == outlier)
    if hits.size != 1:
        raise UnsupportedError(f"RadiusNeighborsClassifier outlier_label {outlier!r} is not one of "
                               "the training classes; only a training class is supported")
    w = _radius_weights(g, est, x)
    onehot = np.eye(len(classes))[np.asarray(est._y, dtype=np.int64)]
    votes = g.op("MatMul", w, g.const(onehot, "fit_y_onehot"))  # [N, C]
    total = g.op("ReduceSum", votes, axis=1, keepdims=True)
    empty = g.op("LessEqual", total, g.scalar(0.0))
    fallback = np.zeros((1, len(classes)))
    fallback[0, hits[0]] = 1.0
    proba = g.op("Where", empty, g.op("Add", g.op("Mul", votes, g.scalar(0.0)), g.const(fallback, "outlier")),
                 g.op("Div", votes, g.op("Where", empty, g.scalar(1.0), total)))
    set_classes(g, classes)
    return {"predict_proba": proba, "predict": argmax(g, proba)}


@register("sklearn.neighbors.RadiusNeighborsRegressor")
def radius_regressor(g, est, x):
    w = _radius_weights(g, est, x)
    y = np.asarray(est._y, dtype=np.float64)
    num = g.op("MatMul", w, g.const(y.reshape(len(y), -1), "fit_y"))
    den = g.op("ReduceSum", w, axis=1, keepdims=True)
    # No training row within the radius: 0 / 0, NaN, as scikit-learn predicts.
    pred = g.op("Div", num, den)
    return {"predict": g.op("Reshape", pred, shape=[-1]) if y.ndim == 1 else pred}
