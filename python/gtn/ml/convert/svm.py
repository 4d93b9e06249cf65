"""Kernel SVMs (SVC, SVR, NuSVC, NuSVR): kernel matrix against the support vectors."""
import numpy as np

from gtn import UnsupportedError
from gtn.ml.convert.common import ravel, set_classes
from gtn.ml.convert.svm_probability import libsvm_probability
from gtn.ml.registry import register

KERNELS = ("linear", "poly", "rbf", "sigmoid")


def _kernel(g, est, x):
    """K(x, support vectors) [N, n_SV]."""
    if est.kernel not in KERNELS:
        raise UnsupportedError(f"{type(est).__name__} kernel={est.kernel!r} is not supported; "
                               f"supported kernels: {', '.join(KERNELS)}")
    sv = g.const(est.support_vectors_, "support_vectors")
    gamma = float(est._gamma)
    if est.kernel == "rbf":
        d2 = g.op("SquaredDistance", x, sv)
        return g.op("Exp", g.op("Mul", d2, g.scalar(-gamma)))
    dot = g.op("MatMul", x, sv, transpose_b=True)
    if est.kernel == "linear":
        return dot
    z = g.op("Add", g.op("Mul", dot, g.scalar(gamma)), g.scalar(float(est.coef0)))
    if est.kernel == "poly":
        return g.op("Pow", z, g.scalar(float(est.degree)))
    return g.op("Tanh", z)


def _decisions(g, est, x, coef):
    """K(x, SV) @ coef + intercept_, coef [n_SV, m] -> [N, m].

    A linear kernel folds into one weight matrix, SV.T @ coef, computed in float64.
    """
    if est.kernel == "linear":
        w = np.asarray(est.support_vectors_, dtype=np.float64).T @ coef
        z = g.op("MatMul", x, g.const(w, "linear_weights"))
        return g.op("Add", z, g.const(est.intercept_, "intercept"))
    if est.kernel not in KERNELS:
        raise UnsupportedError(f"{type(est).__name__} kernel={est.kernel!r} is not supported; "
                               f"supported kernels: {', '.join(KERNELS)}")
    # One fused op: kernel, dual coefficients and intercept without the [N, n_SV] matrix.
    return g.op("SvmKernel", x, g.const(est.support_vectors_, "support_vectors"),
                g.const(np.asarray(coef, dtype=np.float64), "dual_coef"),
                g.const(np.asarray(est.intercept_, dtype=np.float64).ravel(), "intercept"),
                kernel=est.kernel, gamma=float(est._gamma), coef0=float(est.coef0),
                degree=float(est.degree))


@register("sklearn.svm.SVR", "sklearn.svm.NuSVR", "sklearn.svm.OneClassSVM")
def svr(g, est, x):
    y = ravel(g, _decisions(g, est, x, est.dual_coef_.T))
    if type(est).__name__ != "OneClassSVM":
        return {"predict": y}
    score = g.op("Add", y, g.scalar(float(est.offset_[0])))
    set_classes(g, np.array([-1, 1]))
    inlier = g.op("Cast", g.op("Greater", y, g.scalar(0.0)), to="int64")
    return {"decision_function": y, "score_samples": score, "predict": inlier}


def _pairs(n_classes):
    return [(i, j) for i in range(n_classes) for j in range(i + 1, n_classes)]


def _ovo_weights(est):
    """W [n_SV, n_pairs] so that K @ W + intercept_ is libsvm's one-vs-one decision."""
    n_classes = len(est.classes_)
    starts = np.concatenate([[0], np.cumsum(est.n_support_)])
    pairs = _pairs(n_classes)
    w = np.zeros((est.support_vectors_.shape[0], len(pairs)))
    for p, (i, j) in enumerate(pairs):
        si, sj = slice(starts[i], starts[i + 1]), slice(starts[j], starts[j + 1])
        w[si, p] = est.dual_coef_[j - 1, si]
        w[sj, p] = est.dual_coef_[i, sj]
    return w


@register("sklearn.svm.SVC", "sklearn.svm.NuSVC")
def svc(g, est, x):
    classes = est.classes_
    n_classes = len(classes)
    set_classes(g, classes)
    if n_classes == 2:
        d2 = _decisions(g, est, x, est.dual_coef_.T)
        d = ravel(g, d2)
        out = {"decision_function": d,
               "predict": g.op("Cast", g.op("GreaterEqual", d, g.scalar(0.0)), to="int64")}
        if _has_probability(est):  # libsvm's own decision value is -d for two classes
            out["predict_proba"] = libsvm_probability(g, g.op("Neg", d2), est, 2)
        return out
    dec = _decisions(g, est, x, _ovo_weights(est))
    pairs = _pairs(n_classes)
    first = np.zeros((len(pairs), n_classes))
    second = np.zeros((len(pairs), n_classes))
    for p, (i, j) in enumerate(pairs):
        first[p, i], second[p, j] = 1.0, 1.0
    diff = g.const(first - second, "pair_diff")
    second_wins = g.const(second.sum(axis=0), "pair_second_wins")

    def votes(cond_op):
        # votes[c] = #pairs won: cond -> first class of the pair, else the second.
        won = g.op("Cast", g.op(cond_op, dec, g.scalar(0.0)), to=g.dtype)
        return g.op("Add", g.op("MatMul", won, diff), second_wins)

    predict = g.op("ArgMax", votes("Greater"), axis=1, keepdims=False)
    if est.decision_function_shape == "ovo":
        decision = dec
    else:
        conf = g.op("MatMul", dec, diff)
        scaled = g.op("Div", conf, g.op("Mul", g.op("Add", g.op("Abs", conf), g.scalar(1.0)),
                                         g.scalar(3.0)))
        decision = g.op("Add", votes("GreaterEqual"), scaled)
        if est.break_ties:
            predict = g.op("ArgMax", decision, axis=1, keepdims=False)
    out = {"decision_function": decision, "predict": predict}
    if _has_probability(est):
        out["predict_proba"] = libsvm_probability(g, dec, est, n_classes)
    return out


def _has_probability(est):
    """Whether libsvm fitted Platt scaling (probability=True)."""
    return np.size(getattr(est, "_probA", ())) > 0
