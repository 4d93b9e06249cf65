"""OneVsRestClassifier over binary estimators that convert on their own."""
import numpy as np

from gtn import UnsupportedError
from gtn.ml.convert.common import argmax, column, normalize_rows, set_classes
from gtn.ml.registry import convert_step, register


@register("sklearn.multiclass.OneVsRestClassifier")
def one_vs_rest(g, est, x):
    if len(est.classes_) < 3 or est.label_binarizer_.y_type_ != "multiclass":
        raise UnsupportedError("OneVsRestClassifier is supported for multiclass targets "
                               "(3 or more classes), not binary or multi-label ones")
    scores, probas, decisions = [], [], 0
    for sub in est.estimators_:
        out = convert_step(g, sub, x)
        if "decision_function" in out:
            decisions += 1
            scores.append(out["decision_function"])
        elif "predict_proba" in out:
            scores.append(column(g, out["predict_proba"], 1))
        else:
            raise UnsupportedError(f"OneVsRestClassifier over {type(sub).__name__}, which has "
                                   "neither decision_function nor predict_proba")
        if "predict_proba" in out:
            probas.append(column(g, out["predict_proba"], 1))

    def stack(values):
        return g.op("Concat", *[g.op("Reshape", v, shape=[-1, 1]) for v in values], axis=1)

    score = stack(scores)
    set_classes(g, np.asarray(est.classes_))
    out = {"predict": argmax(g, score)}
    if decisions == len(est.estimators_):
        out["decision_function"] = score
    if len(probas) == len(est.estimators_):
        out["predict_proba"] = normalize_rows(g, stack(probas))
    return out


@register("sklearn.multiclass.OneVsOneClassifier")
def one_vs_one(g, est, x):
    """Votes of the pairwise classifiers plus their summed confidences squashed into
    (-1/3, 1/3) (scikit-learn's _ovr_decision_function)."""
    classes = np.asarray(est.classes_)
    k = len(classes)
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    preds, confs = [], []
    for sub in est.estimators_:
        out = convert_step(g, sub, x)
        if "decision_function" in out:
            confs.append(out["decision_function"])
        elif "predict_proba" in out:
            confs.append(column(g, out["predict_proba"], 1))
        else:
            raise UnsupportedError(f"OneVsOneClassifier over {type(sub).__name__}, which has "
                                   "neither decision_function nor predict_proba")
        preds.append(out["predict"])

    def stack(values, dtype):
        return g.op("Concat", *[g.op("Cast", g.op("Reshape", v, shape=[-1, 1]), to=dtype)
                                for v in values], axis=1)

    first = np.zeros((len(pairs), k))
    second = np.zeros((len(pairs), k))
    for p, (i, j) in enumerate(pairs):
        first[p, i], second[p, j] = 1.0, 1.0
    won = stack(preds, g.dtype)  # 1: the pair's second class j won
    votes = g.op("Add", g.op("MatMul", won, g.const(second - first, "pair_votes")),
                 g.const(first.sum(axis=0), "first_wins"))
    conf = g.op("MatMul", stack(confs, g.dtype), g.const(second - first, "pair_diff"))
    scaled = g.op("Div", conf, g.op("Mul", g.op("Add", g.op("Abs", conf), g.scalar(1.0)),
                                     g.scalar(3.0)))
    dec = g.op("Add", votes, scaled)
    set_classes(g, classes)
    out = {"predict": argmax(g, dec)}
    out["decision_function"] = column(g, dec, 1) if k == 2 else dec
    return out


@register("sklearn.multiclass.OutputCodeClassifier")
def output_code(g, est, x):
    scores = []
    for e in est.estimators_:
        if type(e).__name__ == "_ConstantPredictor":  # a code column with one label
            zero = g.op("Mul", g.op("Slice", x, axis=1, start=0, end=1), g.scalar(0.0))
            scores.append(g.op("Add", zero, g.scalar(float(np.ravel(e.y_)[0]))))
            continue
        out = convert_step(g, e, x)
        v = out.get("decision_function")
        if v is None:
            if "predict_proba" not in out:
                raise UnsupportedError(f"OutputCodeClassifier over {type(e).__name__}, which "
                                       "has neither decision_function nor predict_proba")
            v = g.op("Slice", out["predict_proba"], axis=1, start=1, end=2)
        scores.append(g.op("Reshape", v, shape=[-1, 1]))
    y = g.op("Concat", *scores, axis=1) if len(scores) > 1 else scores[0]
    d2 = g.op("SquaredDistance", y, g.const(est.code_book_, "code_book"))
    set_classes(g, est.classes_)
    return {"predict": g.op("ArgMin", d2, axis=1, keepdims=False)}
