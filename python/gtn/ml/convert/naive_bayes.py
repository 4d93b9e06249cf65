"""Naive Bayes: joint log-likelihood per class, then softmax (predict_proba) / argmax."""
import numpy as np

from gtn.ml.convert.common import argmax, set_classes
from gtn.ml.registry import register


def _outputs(g, classes, jll):
    set_classes(g, classes)
    return {"predict": argmax(g, jll), "predict_proba": g.op("Softmax", jll, axis=1)}


@register("sklearn.naive_bayes.GaussianNB")
def gaussian_nb(g, est, x):
    # jll[n, k] = log prior_k - 0.5 sum_f log(2 pi var_kf) - 0.5 sum_f (x_f - theta_kf)^2 / var_kf
    # expanded into two GEMMs: x^2 @ (-0.5 / var).T + x @ (theta / var).T + const_k.
    inv_var = 1.0 / est.var_
    const = (np.log(est.class_prior_) - 0.5 * np.sum(np.log(2.0 * np.pi * est.var_), axis=1)
             - 0.5 * np.sum(est.theta_ ** 2 * inv_var, axis=1))
    quad = g.op("MatMul", g.op("Square", x), g.const((-0.5 * inv_var).T, "neg_half_inv_var_T"))
    lin = g.op("MatMul", x, g.const((est.theta_ * inv_var).T, "theta_over_var_T"))
    jll = g.op("Add", g.op("Add", quad, lin), g.const(const, "log_prior"))
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
