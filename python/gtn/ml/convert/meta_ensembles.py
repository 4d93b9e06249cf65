"""Ensembles of other estimators: Voting, Stacking, Bagging, AdaBoost (SAMME),
CalibratedClassifierCV (sigmoid, isotonic), IsotonicRegression."""
import numpy as np

from gtn import UnsupportedError
from gtn.ml.convert.common import (argmax, binary_proba, column, index_of_positive, ravel,
                                   set_classes)
from gtn.ml.registry import convert_step, register


def _to_classes(g, idx, sub_classes, classes):
    """One-hot [N, K] over `classes` of a sub-estimator's predicted index into sub_classes."""
    sel = (np.asarray(sub_classes)[:, None] == np.asarray(classes)[None, :]).astype(np.float64)
    hot = g.op("OneHot", idx, depth=len(sub_classes))
    return g.op("MatMul", hot, g.const(sel, "class_map"))


def _expand_proba(g, proba, sub_classes, classes):
    """A sub-estimator's predict_proba over its classes -> columns of `classes`."""
    if len(sub_classes) == len(classes) and np.array_equal(sub_classes, classes):
        return proba
    sel = (np.asarray(sub_classes)[:, None] == np.asarray(classes)[None, :]).astype(np.float64)
    return g.op("MatMul", proba, g.const(sel, "class_map"))


def _stack(g, values):
    return g.op("Concat", *[g.op("Reshape", v, shape=[0, -1]) for v in values], axis=1)


def _weighted_mean(g, values, weights):
    w = np.ones(len(values)) if weights is None else np.asarray(weights, dtype=np.float64)
    total = None
    for v, wi in zip(values, w):
        term = g.op("Mul", v, g.scalar(float(wi)))
        total = term if total is None else g.op("Add", total, term)
    return g.op("Div", total, g.scalar(float(w.sum())))


@register("sklearn.ensemble.VotingClassifier")
def voting_classifier(g, est, x):
    classes = np.asarray(est.classes_)
    k = len(classes)
    # sub-estimators are fitted on the encoded labels 0..K-1
    outs = [convert_step(g, e, x) for e in est.estimators_]
    weights = est._weights_not_none
    out = {}
    if est.voting == "soft":
        probas = [o["predict_proba"] for o in outs]
        proba = _weighted_mean(g, probas, weights)
        out["predict_proba"] = proba
        out["predict"] = argmax(g, proba)
        if est.flatten_transform:
            out["transform"] = g.op("Concat", *probas, axis=1)
    else:
        votes = [_to_classes(g, o["predict"], e.classes_, np.arange(k))
                 for o, e in zip(outs, est.estimators_)]
        w = np.ones(len(votes)) if weights is None else weights
        total = None
        for v, wi in zip(votes, w):
            term = g.op("Mul", v, g.scalar(float(wi)))
            total = term if total is None else g.op("Add", total, term)
        out["predict"] = argmax(g, total)
    set_classes(g, classes)
    return out


@register("sklearn.ensemble.VotingRegressor")
def voting_regressor(g, est, x):
    preds = [convert_step(g, e, x)["predict"] for e in est.estimators_]
    return {"predict": _weighted_mean(g, preds, est._weights_not_none),
            "transform": _stack(g, preds)}


def _stack_features(g, est, x, classes=None):
    """StackingClassifier / Regressor: the final estimator's input X_meta."""
    parts = []
    for e, method in zip(est.estimators_, est.stack_method_):
        if e == "drop":
            continue
        out = convert_step(g, e, x)
        if method not in out:
            raise UnsupportedError(f"Stacking over {type(e).__name__}.{method}, which did not "
                                   "convert")
        v = out[method]
        if method == "predict" and classes is not None:
            v = g.op("Cast", v, to=g.dtype)
        if method == "predict_proba" and classes is not None and len(classes) == 2:
            v = g.op("Slice", v, axis=1, start=1, end=2)
        parts.append(g.op("Reshape", v, shape=[0, -1]))
    if est.passthrough:
        parts.append(x)
    return g.op("Concat", *parts, axis=1) if len(parts) > 1 else parts[0]


@register("sklearn.ensemble.StackingClassifier")
def stacking_classifier(g, est, x):
    classes = np.asarray(est.classes_)
    if np.asarray(classes).ndim != 1:
        raise UnsupportedError("multi-label StackingClassifier is not supported")
    meta = _stack_features(g, est, x, classes)
    out = dict(convert_step(g, est.final_estimator_, meta))
    out["transform"] = meta
    set_classes(g, classes)
    return out


@register("sklearn.ensemble.StackingRegressor")
def stacking_regressor(g, est, x):
    meta = _stack_features(g, est, x)
    out = dict(convert_step(g, est.final_estimator_, meta))
    out["transform"] = meta
    return out


def _bagged(g, est, x):
    for e, features in zip(est.estimators_, est.estimators_features_):
        xs = x if len(features) == est.n_features_in_ and np.array_equal(
            features, np.arange(est.n_features_in_)) else g.op(
            "Gather", x, g.const(np.asarray(features), "bag_features"), axis=1)
        yield e, convert_step(g, e, xs)


@register("sklearn.ensemble.BaggingClassifier")
def bagging_classifier(g, est, x):
    classes = np.asarray(est.classes_)
    k = len(classes)
    probas, decisions = [], []
    for e, out in _bagged(g, est, x):
        sub = np.asarray(e.classes_)
        if "predict_proba" in out:
            probas.append(_expand_proba(g, out["predict_proba"], sub, np.arange(k)))
        else:
            probas.append(_to_classes(g, out["predict"], sub, np.arange(k)))
        decisions.append(out.get("decision_function"))
    proba = _weighted_mean(g, probas, None)
    result = {"predict_proba": proba, "predict": argmax(g, proba)}
    if hasattr(est.estimator_, "decision_function") and all(d is not None for d in decisions) \
            and all(len(e.classes_) == k for e in est.estimators_):
        result["decision_function"] = _weighted_mean(g, decisions, None)
    set_classes(g, classes)
    return result


@register("sklearn.ensemble.BaggingRegressor")
def bagging_regressor(g, est, x):
    preds = [out["predict"] for _, out in _bagged(g, est, x)]
    return {"predict": _weighted_mean(g, preds, None)}


@register("sklearn.ensemble.AdaBoostClassifier")
def adaboost_classifier(g, est, x):
    classes = np.asarray(est.classes_)
    k = len(classes)
    weights = np.asarray(est.estimator_weights_, dtype=np.float64)
    total = None
    for e, w in zip(est.estimators_, weights):
        # w for the predicted class, -w / (K - 1) for the others
        vote = _to_classes(g, convert_step(g, e, x)["predict"], e.classes_, classes)
        term = g.op("Sub", g.op("Mul", vote, g.scalar(float(w) * k / (k - 1))),
                    g.scalar(float(w) / (k - 1)))
        total = term if total is None else g.op("Add", total, term)
    dec = g.op("Div", total, g.scalar(float(weights.sum())))
    set_classes(g, classes)
    if k == 2:
        d = g.op("Sub", column(g, dec, 1), column(g, dec, 0))
        p = binary_proba(g, g.op("Sigmoid", d))  # softmax of [-d, d] / 2
        return {"decision_function": d, "predict": index_of_positive(g, d),
                "predict_proba": p}
    p = g.op("Softmax", g.op("Div", dec, g.scalar(float(k - 1))), axis=1)
    return {"decision_function": dec, "predict": argmax(g, dec), "predict_proba": p}


def piecewise_linear(g, v, xs, ys):
    """np.interp(v, xs, ys) for v [N]: v clipped to [xs[0], xs[-1]], then, in the segment j
    with xs[j] <= v < xs[j+1], ys[j] + slope_j (v - xs[j]) (np.interp's own formula)."""
    xs = np.asarray(xs, dtype=np.float64)
    ys = np.asarray(ys, dtype=np.float64)
    if len(xs) == 1:
        return g.op("Add", g.op("Mul", v, g.scalar(0.0)), g.scalar(float(ys[0])))
    if np.any(np.diff(xs) <= 0):
        raise UnsupportedError("piecewise-linear thresholds must be strictly increasing")
    slopes = np.diff(ys) / np.diff(xs)
    v = g.op("Clip", v, min=float(xs[0]), max=float(xs[-1]))
    col = g.op("Reshape", v, shape=[-1, 1])
    count = g.op("ReduceSum", g.op("Cast", g.op("GreaterEqual", col, g.const(xs[1:-1], "knots")),
                                   to=g.dtype), axis=1, keepdims=False)
    j = g.op("Cast", count, to="int64")
    x0 = g.op("Gather", g.const(xs[:-1], "knots_lo"), j, axis=0)
    y0 = g.op("Gather", g.const(ys[:-1], "values_lo"), j, axis=0)
    sl = g.op("Gather", g.const(slopes, "slopes"), j, axis=0)
    y = g.op("Add", g.op("Mul", sl, g.op("Sub", v, x0)), y0)
    return g.op("Where", g.op("GreaterEqual", v, g.scalar(float(xs[-1]))),
                g.scalar(float(ys[-1])), y)


def _isotonic(g, iso, v):
    if iso.out_of_bounds == "nan":
        raise UnsupportedError("IsotonicRegression(out_of_bounds='nan') is not supported")
    return piecewise_linear(g, v, iso.X_thresholds_, iso.y_thresholds_)


@register("sklearn.isotonic.IsotonicRegression")
def isotonic_regression(g, est, x):
    """One input feature (X of shape [N] or [N, 1], as scikit-learn accepts)."""
    g.metadata["input_1d"] = True
    return {"predict": _isotonic(g, est, ravel(g, x)),
            "transform": _isotonic(g, est, ravel(g, x))}


def _calibrated(g, cc, x, classes):
    """One _CalibratedClassifier's predict_proba [N, K]."""
    sub = cc.estimator
    out = convert_step(g, sub, x)
    k = len(classes)
    if "decision_function" in out:
        pred = out["decision_function"]
        cols = [pred] if k == 2 else [column(g, pred, j) for j in range(len(sub.classes_))]
    elif "predict_proba" in out:
        p = out["predict_proba"]
        cols = [column(g, p, 1)] if k == 2 else [column(g, p, j) for j in range(len(sub.classes_))]
    else:
        raise UnsupportedError(f"CalibratedClassifierCV over {type(sub).__name__}, which has "
                               "neither decision_function nor predict_proba")
    pos = np.searchsorted(classes, np.asarray(sub.classes_))
    probs = {}
    for class_idx, v, cal in zip(pos, cols, cc.calibrators):
        if k == 2:
            class_idx += 1
        name = type(cal).__name__
        if name == "_SigmoidCalibration":
            p = g.op("Sigmoid", g.op("Neg", g.op("Add", g.op("Mul", v, g.scalar(float(cal.a_))),
                                                  g.scalar(float(cal.b_)))))
        elif name == "IsotonicRegression":
            p = _isotonic(g, cal, v)
        else:
            raise UnsupportedError(f"CalibratedClassifierCV calibrator {name} is not supported; "
                                   "method='sigmoid' and 'isotonic' are")
        probs[int(class_idx)] = p
    if k == 2:
        proba = binary_proba(g, probs[1])
    else:
        zero = g.op("Mul", next(iter(probs.values())), g.scalar(0.0))
        proba = _stack(g, [probs.get(j, zero) for j in range(k)])
        den = g.op("ReduceSum", proba, axis=1, keepdims=True)
        zero_den = g.op("Equal", den, g.scalar(0.0))
        proba = g.op("Where", zero_den, g.scalar(1.0 / k),
                     g.op("Div", proba, g.op("Where", zero_den, g.scalar(1.0), den)))
    # scikit-learn rounds values in (1, 1 + 1e-5] down to 1
    over = g.op("And", g.op("Greater", proba, g.scalar(1.0)),
                g.op("LessEqual", proba, g.scalar(1.0 + 1e-5)))
    return g.op("Where", over, g.scalar(1.0), proba)


@register("sklearn.calibration.CalibratedClassifierCV")
def calibrated_classifier(g, est, x):
    classes = np.asarray(est.classes_)
    probas = [_calibrated(g, cc, x, classes) for cc in est.calibrated_classifiers_]
    proba = _weighted_mean(g, probas, None)
    set_classes(g, classes)
    return {"predict_proba": proba, "predict": argmax(g, proba)}


isotonic_regression.n_features = lambda est: 1


@register("sklearn.ensemble.AdaBoostRegressor")
def adaboost_regressor(g, est, x):
    """The weighted median of the estimators' predictions: the smallest prediction p_i whose
    weight below-or-equal, sum_j w_j [p_j <= p_i], reaches half the total (pairwise
    comparisons [N, M, M]: no sort needed; ties give the same value in any order)."""
    weights = np.asarray(est.estimator_weights_[: len(est.estimators_)], dtype=np.float64)
    preds = _stack(g, [convert_step(g, e, x)["predict"] for e in est.estimators_])  # [N, M]
    m = len(weights)
    rows = g.op("Reshape", preds, shape=[0, m, 1])
    cols = g.op("Reshape", preds, shape=[0, 1, m])
    below = g.op("Cast", g.op("LessEqual", cols, rows), to=g.dtype)  # [N, i, j]: p_j <= p_i
    cdf = g.op("ReduceSum", g.op("Mul", below, g.const(weights.reshape(1, 1, m), "weights")),
               axis=2, keepdims=False)  # [N, M]
    reached = g.op("GreaterEqual", cdf, g.scalar(0.5 * float(weights.sum())))
    candidates = g.op("Where", reached, preds, g.scalar(np.inf))
    return {"predict": g.op("ReduceMin", candidates, axis=1, keepdims=False)}
