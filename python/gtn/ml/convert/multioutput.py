"""One estimator per target: MultiOutputRegressor / Classifier, RegressorChain,
ClassifierChain."""
import numpy as np

from gtn import UnsupportedError
from gtn.ml.registry import convert_step, register


def _label_values(g, e, out):
    """A sub-estimator's prediction as numbers: regressors' values, classifiers' labels."""
    if hasattr(e, "classes_"):
        classes = np.asarray(e.classes_)
        if classes.dtype.kind not in "iufb":
            raise UnsupportedError("multi-output classifiers with non-numeric labels are not "
                                   "supported")
        dtype = np.int64 if classes.dtype.kind in "iub" else np.float64
        return g.op("Gather", g.const(classes.astype(dtype), "labels", dtype), out["predict"],
                    axis=0)
    return out["predict"]


def _columns(g, values):
    # the graph itself gathers the labels: no class-index mapping by the wrapper
    for key in ("classes", "classes_dtype", "label_methods"):
        g.metadata.pop(key, None)
    return g.op("Concat", *[g.op("Reshape", v, shape=[-1, 1]) for v in values], axis=1)


@register("sklearn.multioutput.MultiOutputRegressor", "sklearn.multioutput.MultiOutputClassifier")
def multi_output(g, est, x):
    preds = []
    for e in est.estimators_:
        preds.append(_label_values(g, e, convert_step(g, e, x)))
    if hasattr(est.estimators_[0], "classes_"):
        # labels of every target share one numeric dtype, as numpy stacks them
        preds = [g.op("Cast", p, to=g.dtype) for p in preds] if any(
            np.asarray(e.classes_).dtype.kind == "f" for e in est.estimators_) else preds
    return {"predict": _columns(g, preds)}


@register("sklearn.multioutput.RegressorChain", "sklearn.multioutput.ClassifierChain")
def chain(g, est, x):
    if getattr(est, "chain_method_", "predict") != "predict":
        raise UnsupportedError(f"ClassifierChain(chain_method={est.chain_method!r}) is not "
                               "supported; 'predict' is")
    chained = []
    for e in est.estimators_:
        xa = g.op("Concat", x, *[g.op("Cast", g.op("Reshape", c, shape=[-1, 1]), to=g.dtype)
                                 for c in chained], axis=1) if chained else x
        chained.append(_label_values(g, e, convert_step(g, e, xa)))
    inv = np.empty_like(est.order_)
    inv[est.order_] = np.arange(len(est.order_))
    # scikit-learn fills a float64 array whatever X's dtype
    cols = [g.op("Cast", chained[i], to="float64") for i in inv]
    return {"predict": _columns(g, cols)}
