"""Partial least squares and CCA: centred (and scaled) X times fitted matrices."""
from gtn.ml.registry import register


def _scaled(g, est, x):
    return g.op("Div", g.op("Sub", x, g.const(est._x_mean, "x_mean")), g.const(est._x_std, "x_std"))


@register("sklearn.cross_decomposition.PLSRegression", "sklearn.cross_decomposition.PLSCanonical",
          "sklearn.cross_decomposition.CCA")
def pls(g, est, x):
    scores = g.op("MatMul", _scaled(g, est, x), g.const(est.x_rotations_, "x_rotations"))
    # predict centres X only: coef_ is already scaled.
    centred = g.op("Sub", x, g.const(est._x_mean, "x_mean"))
    y = g.op("Add", g.op("MatMul", centred, g.const(est.coef_.T, "coef_T")),
             g.const(est.intercept_, "intercept"))
    if est._predict_1d:
        y = g.op("Reshape", y, shape=[-1])
    return {"transform": scores, "predict": y}


@register("sklearn.cross_decomposition.PLSSVD")
def pls_svd(g, est, x):
    return {"transform": g.op("MatMul", _scaled(g, est, x), g.const(est.x_weights_, "x_weights"))}
