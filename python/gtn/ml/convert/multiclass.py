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
