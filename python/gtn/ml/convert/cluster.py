"""Clustering: KMeans-style centroids and Gaussian mixtures."""
import numpy as np

from gtn import UnsupportedError
from gtn.ml.convert.common import argmax, set_classes
from gtn.ml.registry import register


def _nearest(g, x, centers):
    d2 = g.op("SquaredDistance", x, g.const(centers, "centers"))
    return d2, g.op("ArgMin", d2, axis=1, keepdims=False)


@register("sklearn.cluster.KMeans", "sklearn.cluster.MiniBatchKMeans")
def kmeans(g, est, x):
    d2, label = _nearest(g, x, est.cluster_centers_)
    # KMeans labels are int32: cluster ids as int32 "classes" give predict that dtype.
    set_classes(g, np.arange(len(est.cluster_centers_), dtype=np.int32))
    # score is a scalar over X; transform gives the euclidean distances.
    return {"predict": label, "transform": g.op("Sqrt", d2)}


@register("sklearn.cluster.MeanShift", "sklearn.cluster.AffinityPropagation")
def nearest_center(g, est, x):
    if type(est).__name__ == "AffinityPropagation" and est.affinity != "euclidean":
        raise UnsupportedError("AffinityPropagation(affinity='precomputed') has no predict on "
                               "features; affinity='euclidean' is supported")
    centers = np.asarray(est.cluster_centers_, dtype=np.float64)
    return {"predict": _nearest(g, x, centers)[1]}


def _log_gaussian(g, est, x, log_const):
    """Per component log N(x | mean_k, cov_k) + log_const_k: [N, K] (scikit-learn's
    _estimate_log_gaussian_prob, from precisions_cholesky_)."""
    cov_type = est.covariance_type
    means, pc = est.means_, est.precisions_cholesky_
    n_features = means.shape[1]
    if cov_type == "full":
        log_det = np.sum(np.log(np.diagonal(pc, axis1=1, axis2=2)), axis=1)
        cols = []
        for k in range(len(means)):
            y = g.op("Sub", g.op("MatMul", x, g.const(pc[k], "prec_chol")),
                     g.const(means[k] @ pc[k], "mean_prec"))
            cols.append(g.op("ReduceSum", g.op("Square", y), axis=1, keepdims=True))
        quad = g.op("Concat", *cols, axis=1)
    elif cov_type == "tied":
        log_det = np.full(len(means), np.sum(np.log(np.diag(pc))))
        y = g.op("MatMul", x, g.const(pc, "prec_chol"))
        quad = g.op("SquaredDistance", y, g.const(means @ pc, "mean_prec"))
    elif cov_type == "diag":
        log_det = np.sum(np.log(pc), axis=1)
        prec = pc ** 2
        # sum (x - m)^2 p = x^2 @ p.T - 2 x @ (m p).T + sum m^2 p
        quad = g.op("Add", g.op("Sub", g.op("MatMul", g.op("Square", x), g.const(prec.T, "prec_T")),
                                g.op("MatMul", x, g.const(2.0 * (means * prec).T, "mean_prec_T"))),
                    g.const(np.sum(means ** 2 * prec, axis=1), "mean_sq"))
    elif cov_type == "spherical":
        log_det = n_features * np.log(pc)
        quad = g.op("Mul", g.op("SquaredDistance", x, g.const(means, "means")),
                    g.const(pc ** 2, "precisions"))
    else:
        raise UnsupportedError(f"covariance_type={cov_type!r} is not supported")
    const = -0.5 * n_features * np.log(2 * np.pi) + log_det + log_const
    return g.op("Add", g.op("Mul", quad, g.scalar(-0.5)), g.const(const, "log_norm"))


def _bayesian_constants(est):
    """BayesianGaussianMixture's per-component terms beyond the Gaussian density: the
    degrees-of-freedom correction (_estimate_log_prob) and E[log weight]
    (_estimate_log_weights)."""
    from scipy.special import digamma

    n_features = est.means_.shape[1]
    if est.weight_concentration_prior_type == "dirichlet_process":
        a, b = est.weight_concentration_
        d_sum = digamma(a + b)
        log_w = digamma(a) - d_sum + np.hstack((0, np.cumsum(digamma(b) - d_sum)[:-1]))
    else:
        log_w = digamma(est.weight_concentration_) - digamma(np.sum(est.weight_concentration_))
    dof = est.degrees_of_freedom_
    log_lambda = n_features * np.log(2.0) + np.sum(
        digamma(0.5 * (dof - np.arange(n_features)[:, np.newaxis])), 0)
    return (-0.5 * n_features * np.log(dof) + 0.5 * (log_lambda - n_features / est.mean_precision_)
            + log_w)


@register("sklearn.mixture.GaussianMixture", "sklearn.mixture.BayesianGaussianMixture")
def gaussian_mixture(g, est, x):
    if type(est).__name__ == "BayesianGaussianMixture":
        weighted = _log_gaussian(g, est, x, _bayesian_constants(est))
    else:
        weighted = _log_gaussian(g, est, x, np.log(est.weights_))
    score = g.op("ReduceLogSumExp", weighted, axis=1, keepdims=True)
    proba = g.op("Exp", g.op("Sub", weighted, score))
    return {"predict": argmax(g, weighted), "predict_proba": proba,
            "score_samples": g.op("Reshape", score, shape=[-1])}


@register("sklearn.cluster.Birch")
def birch(g, est, x):
    d2 = g.op("SquaredDistance", x, g.const(est.subcluster_centers_, "subcluster_centers"))
    idx = g.op("ArgMin", d2, axis=1, keepdims=False)
    labels = np.asarray(est.subcluster_labels_, dtype=np.int64)
    return {"predict": g.op("Gather", g.const(labels, "subcluster_labels", np.int64), idx,
                            axis=0),
            "transform": g.op("Sqrt", d2)}
