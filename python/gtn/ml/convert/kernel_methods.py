"""Kernel methods on fitted rows: KernelRidge, KernelCenterer."""
import numpy as np

from gtn import UnsupportedError
from gtn.ml.convert.kernels import pairwise_kernel
from gtn.ml.registry import register


@register("sklearn.kernel_ridge.KernelRidge")
def kernel_ridge(g, est, x):
    params = dict(est.kernel_params or {})
    k = pairwise_kernel(g, x, est.X_fit_, est.kernel, est.gamma, est.degree, est.coef0,
                        "KernelRidge") if not params else None
    if k is None:
        raise UnsupportedError("KernelRidge with kernel_params is not supported")
    dual = np.asarray(est.dual_coef_, dtype=np.float64)
    if est.kernel == "linear":  # fold into one weight matrix, computed in float64
        w = np.asarray(est.X_fit_, dtype=np.float64).T @ dual.reshape(len(dual), -1)
        y = g.op("MatMul", x, g.const(w, "linear_weights"))
    else:
        y = g.op("MatMul", k, g.const(dual.reshape(len(dual), -1), "dual_coef"))
    return {"predict": g.op("Reshape", y, shape=[-1]) if dual.ndim == 1 else y}


@register("sklearn.preprocessing.KernelCenterer")
def kernel_centerer(g, est, x):
    row_mean = g.op("ReduceMean", x, axis=1, keepdims=True)
    k = g.op("Sub", g.op("Sub", x, g.const(est.K_fit_rows_, "fit_rows")), row_mean)
    return {"transform": g.op("Add", k, g.scalar(float(est.K_fit_all_)))}
