"""Linear and quadratic discriminant analysis."""
import numpy as np

from gtn import UnsupportedError
from gtn.ml.convert.common import argmax, column, index_of_positive, set_classes
from gtn.ml.convert.linear import logistic_regression
from gtn.ml.registry import register


@register("sklearn.discriminant_analysis.LinearDiscriminantAnalysis")
def lda(g, est, x):
    out = logistic_regression(g, est, x)  # X @ coef.T + intercept; sigmoid / softmax
    if est.solver == "svd":
        t = g.op("MatMul", g.op("Sub", x, g.const(est.xbar_, "xbar")),
                 g.const(est.scalings_[:, : est._max_components], "scalings"))
        out["transform"] = t
    elif est.solver == "eigen":
        out["transform"] = g.op("MatMul", x, g.const(est.scalings_[:, : est._max_components],
                                                     "scalings"))
    return out


@register("sklearn.discriminant_analysis.QuadraticDiscriminantAnalysis")
def qda(g, est, x):
    """Per class: -0.5 (|(x - mean) R S^-1/2|² + Σ log S) + log prior."""
    scores = []
    for i in range(len(est.classes_)):
        r, s = est.rotations_[i], est.scalings_[i]
        if np.any(s <= 0):
            raise UnsupportedError("QuadraticDiscriminantAnalysis with a singular class "
                                   "covariance (zero scaling) is not supported")
        x2 = g.op("MatMul", g.op("Sub", x, g.const(est.means_[i], "mean")),
                  g.const(r * s ** -0.5, "rotation"))
        norm2 = g.op("ReduceSum", g.op("Square", x2), axis=1, keepdims=True)
        const = -0.5 * np.sum(np.log(s)) + np.log(est.priors_[i])
        scores.append(g.op("Add", g.op("Mul", norm2, g.scalar(-0.5)), g.scalar(const)))
    raw = g.op("Concat", *scores, axis=1)
    set_classes(g, est.classes_)
    proba = g.op("Softmax", raw, axis=1)
    if len(est.classes_) == 2:
        d = g.op("Sub", column(g, raw, 1), column(g, raw, 0))
        return {"decision_function": d, "predict": index_of_positive(g, d),
                "predict_proba": proba}
    return {"decision_function": raw, "predict": argmax(g, raw), "predict_proba": proba}
