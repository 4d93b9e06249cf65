"""Graph pieces shared by several converters."""
import numpy as np


def affine(g, x, coef, intercept, hint="z"):
    """x @ coef.T + intercept, coef [K, F] (or [F]) -> [N, K]."""
    coef = np.atleast_2d(np.asarray(coef, dtype=np.float64))
    z = g.op("MatMul", x, g.const(coef.T, "coef_T"), hint=hint)
    intercept = np.broadcast_to(np.asarray(intercept, dtype=np.float64), (coef.shape[0],))
    return g.op("Add", z, g.const(intercept, "intercept"), hint=hint)


def ravel(g, v):
    """[N, 1] -> [N]."""
    return g.op("Reshape", v, shape=[-1])


def column(g, v, j):
    """[N, K] -> [N] (column j)."""
    return ravel(g, g.op("Slice", v, axis=1, start=j, end=j + 1))


def set_classes(g, classes):
    """Records the class labels; `predict` outputs are class indices mapped by the wrapper."""
    classes = np.asarray(classes)
    g.metadata["classes"] = classes.tolist()
    g.metadata["classes_dtype"] = "object" if classes.dtype == object else classes.dtype.str
    g.metadata["label_methods"] = ["predict"]


def binary_proba(g, p1):
    """p1 [N] (probability of class 1) -> [N, 2] = [1 - p1, p1]."""
    p1 = g.op("Reshape", p1, shape=[-1, 1])
    p0 = g.op("Sub", g.scalar(1.0), p1)
    return g.op("Concat", p0, p1, axis=1)


def index_of_positive(g, d, strict=True):
    """Binary decision [N] -> class index int64: 1 where d > 0 (or d >= 0)."""
    cond = g.op("Greater" if strict else "GreaterEqual", d, g.scalar(0.0))
    return g.op("Cast", cond, to="int64")


def argmax(g, v):
    return g.op("ArgMax", v, axis=1, keepdims=False)


def normalize_rows(g, p):
    """p / p.sum(axis=1, keepdims=True)."""
    return g.op("Div", p, g.op("ReduceSum", p, axis=1, keepdims=True))


def classifier_from_decision(g, classes, d):
    """Linear-model style: binary decision [N,1] or multiclass [N,K] -> outputs."""
    set_classes(g, classes)
    if len(classes) == 2:
        d = ravel(g, d)
        return {"decision_function": d, "predict": index_of_positive(g, d)}
    return {"decision_function": d, "predict": argmax(g, d)}
