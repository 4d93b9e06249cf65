"""Novelty detectors: SGDOneClassSVM, LocalOutlierFactor (novelty=True)."""
import numpy as np

from gtn import UnsupportedError
from gtn.ml.convert.common import set_classes
from gtn.ml.convert.neighbors import _metric, distances
from gtn.ml.registry import register


@register("sklearn.linear_model.SGDOneClassSVM")
def sgd_one_class_svm(g, est, x):
    d = g.op("Reshape", g.op("MatMul", x, g.const(np.asarray(est.coef_).reshape(-1, 1),
                                                  "coef")), shape=[-1])
    dec = g.op("Sub", d, g.const(np.asarray(est.offset_).reshape(-1), "offset"))
    set_classes(g, np.array([-1, 1], dtype=np.int32))  # scikit-learn's labels are int32
    return {"decision_function": dec, "score_samples": d,
            "predict": g.op("Cast", g.op("GreaterEqual", dec, g.scalar(0.0)), to="int64")}


@register("sklearn.neighbors.LocalOutlierFactor")
def local_outlier_factor(g, est, x):
    """novelty=True: -mean over the k neighbours of lrd(neighbour) / lrd(x), with
    lrd(x) = 1 / (mean(max(d(x, n), k-distance(n))) + 1e-10)."""
    if not est.novelty:
        raise UnsupportedError("LocalOutlierFactor(novelty=False) has no predict on new data; "
                               "fit it with novelty=True")
    metric, p = _metric(est)
    k = int(est.n_neighbors_)
    rank, to_distance = distances(g, x, np.asarray(est._fit_X, dtype=np.float64), metric, p)
    rk, idx = g.op("TopK", rank, n_results=2, k=k, axis=1, largest=False)
    dist = to_distance(rk)
    k_dist = g.op("Gather", g.const(est._distances_fit_X_[:, k - 1], "k_distance"), idx, axis=0)
    reach = g.op("Max", dist, k_dist)
    lrd = g.op("Div", g.scalar(1.0), g.op("Add", g.op("ReduceMean", reach, axis=1,
                                                      keepdims=True), g.scalar(1e-10)))
    ratios = g.op("Div", g.op("Gather", g.const(est._lrd, "fit_lrd"), idx, axis=0), lrd)
    score = g.op("Neg", g.op("ReduceMean", ratios, axis=1, keepdims=False))
    dec = g.op("Sub", score, g.scalar(float(est.offset_)))
    set_classes(g, np.array([-1, 1]))
    return {"score_samples": score, "decision_function": dec,
            "predict": g.op("Cast", g.op("GreaterEqual", dec, g.scalar(0.0)), to="int64")}
