"""libsvm's predict_proba for SVC(probability=True): one SvmProbability node.

The node does what libsvm's svm_predict_probability does after the decision values, in
double precision: Platt scaling of each one-vs-one decision value (probA, probB), clipped
to [1e-7, 1 - 1e-7], then libsvm's pairwise coupling (Wu, Lin &
Weng 2004, method 2) with libsvm's own stopping rule (docs/ml/graph.md).
"""
import numpy as np


def libsvm_probability(g, dec, est, n_classes):
    """dec: libsvm's one-vs-one decision values [N, n_pairs] -> probabilities [N, k]."""
    prob_a = g.const(np.asarray(est._probA, dtype=np.float64), "probA", np.float64)
    prob_b = g.const(np.asarray(est._probB, dtype=np.float64), "probB", np.float64)
    return g.op("SvmProbability", dec, prob_a, prob_b, hint="proba", n_classes=int(n_classes))
