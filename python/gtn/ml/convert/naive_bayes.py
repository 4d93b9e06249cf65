"""Naive Bayes: joint log-likelihood per class, then softmax (predict_proba) / argmax."""
import numpy as np

from gtn import UnsupportedError
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


@register("sklearn.naive_bayes.CategoricalNB")
def categorical_nb(g, est, x):
    """Joint log-likelihood: class prior + per feature the log probability of x's category
    (a one-hot of x against 0..n_categories-1 times the feature's table)."""
    jll = g.op("Add", g.op("Mul", g.op("Slice", x, axis=1, start=0, end=1), g.scalar(0.0)),
               g.const(est.class_log_prior_, "class_log_prior"))
    for f, table in enumerate(est.feature_log_prob_):  # [C, n_cat]
        n_cat = table.shape[1]
        col = g.op("Slice", x, axis=1, start=f, end=f + 1)
        hot = g.op("Cast", g.op("Equal", col, g.const(np.arange(n_cat, dtype=np.float64),
                                                      "categories")), to=g.dtype)
        jll = g.op("Add", jll, g.op("MatMul", hot, g.const(table.T, "log_prob")))
    g.metadata.setdefault("input_checks", []).append(
        {"kind": "known_categories", "features": list(range(len(est.feature_log_prob_))),
         "categories": [list(range(t.shape[1])) for t in est.feature_log_prob_]})
    if x != g.input:
        raise UnsupportedError("CategoricalNB is supported only on the model's input")
    set_classes(g, est.classes_)
    log_norm = g.op("ReduceLogSumExp", jll, axis=1, keepdims=True)
    return {"predict": argmax(g, jll), "predict_proba": g.op("Exp", g.op("Sub", jll, log_norm))}
