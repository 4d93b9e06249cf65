"""scikit-learn's pairwise kernels (sklearn.metrics.pairwise_kernels) as graph pieces."""
import numpy as np

from gtn import UnsupportedError

KERNELS = ("linear", "rbf", "poly", "polynomial", "sigmoid", "cosine", "laplacian")


def pairwise_kernel(g, x, y, kernel, gamma=None, degree=3, coef0=1, owner="model"):
    """K(x, Y) [N, M] for the fitted rows Y [M, F] (a numpy array)."""
    if callable(kernel) or kernel not in KERNELS:
        raise UnsupportedError(f"{owner} kernel={kernel!r} is not supported; supported: "
                               f"{', '.join(KERNELS)}")
    y = np.asarray(y, dtype=np.float64)
    if gamma is None:
        gamma = 1.0 / y.shape[1]
    gamma = float(gamma)
    if kernel == "rbf":
        d2 = g.op("SquaredDistance", x, g.const(y, "kernel_rows"))
        return g.op("Exp", g.op("Mul", d2, g.scalar(-gamma)))
    if kernel == "laplacian":
        return g.op("Exp", g.op("Mul", manhattan(g, x, y), g.scalar(-gamma)))
    if kernel == "cosine":
        norms = np.linalg.norm(y, axis=1, keepdims=True)
        y_unit = y / np.where(norms == 0, 1.0, norms)
        return g.op("MatMul", g.op("Normalize", x, norm="l2"), g.const(y_unit, "kernel_rows"),
                    transpose_b=True)
    dot = g.op("MatMul", x, g.const(y, "kernel_rows"), transpose_b=True)
    if kernel == "linear":
        return dot
    z = g.op("Add", g.op("Mul", dot, g.scalar(gamma)), g.scalar(float(coef0)))
    if kernel in ("poly", "polynomial"):
        return g.op("Pow", z, g.scalar(float(degree)))
    return g.op("Tanh", z)


def broadcast_diff(g, x, y):
    """|x_i - y_j| per feature: [N, M, F] for the fitted rows y [M, F]."""
    y = np.asarray(y, dtype=np.float64)
    x3 = g.op("Reshape", x, shape=[0, 1, y.shape[1]])
    return g.op("Abs", g.op("Sub", x3, g.const(y[np.newaxis], "rows")))


def manhattan(g, x, y):
    return g.op("ReduceSum", broadcast_diff(g, x, y), axis=2, keepdims=False)
