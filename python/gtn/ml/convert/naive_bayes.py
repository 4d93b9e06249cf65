"""Naive Bayes: joint log-likelihood per class, then softmax (predict_proba) / argmax."""
import numpy as np

from gtn.ml.convert.common import argmax, set_classes
from gtn.ml.registry import register


def _outputs(g, classes, jll):
    set_classes(g, classes)
    return {"predict": argmax(g, jll), "predict_proba": g.op("Softmax", jll, axis=1)}


@register("sklearn.naive_bayes.GaussianNB")
def gaussian_nb(g, est, x):
    # jll[n, k] = log prior_k - 0.5 sum log(2 pi var_k) - 0.5 sum (x - theta_k)^2 / var_k,
    # evaluated as sklearn does (differences, not an expanded quadratic).
    n_classes, n_features = est.theta_.shape
    const = np.log(est.class_prior_) - 0.5 * np.sum(np.log(2.0 * np.pi * est.var_), axis=1)
    x3 = g.op("Reshape", x, shape=[-1, 1, n_features])
    sq = g.op("Square", g.op("Sub", x3, g.const(est.theta_, "theta")))
    dist = g.op("ReduceSum", g.op("Div", sq, g.const(est.var_, "var")), axis=2, keepdims=False)
    jll = g.op("Sub", g.const(const, "log_prior"), g.op("Mul", dist, g.scalar(0.5)))
    return _outputs(g, est.classes_, jll)


@register("sklearn.naive_bayes.MultinomialNB", "sklearn.naive_bayes.ComplementNB")
def multinomial_nb(g, est, x):
    jll = g.op("MatMul", x, g.const(est.feature_log_prob_.T, "feature_log_prob_T"))
    if type(est).__name__ == "MultinomialNB" or len(est.classes_) == 1:
        jll = g.op("Add", jll, g.const(est.class_log_prior_, "class_log_prior"))
    return _outputs(g, est.classes_, jll)


@register("sklearn.naive_bayes.BernoulliNB")
def bernoulli_nb(g, est, x):
    if est.binarize is not None:
        x = g.op("Cast", g.op("Greater", x, g.scalar(float(est.binarize))), to=g.dtype)
    neg = np.log(1 - np.exp(est.feature_log_prob_))
    jll = g.op("MatMul", x, g.const((est.feature_log_prob_ - neg).T, "log_prob_ratio_T"))
    jll = g.op("Add", jll, g.const(est.class_log_prior_ + neg.sum(axis=1), "log_prior"))
    return _outputs(g, est.classes_, jll)
