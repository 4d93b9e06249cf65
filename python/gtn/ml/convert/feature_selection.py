"""Feature selectors: the selected columns (get_support), and RFE's fitted estimator."""
import numpy as np

from gtn.ml.registry import convert_step, register


def _select(g, est, x):
    return g.op("Gather", x, g.const(np.flatnonzero(est.get_support()), "selected"), axis=1)


@register("sklearn.feature_selection.SelectKBest", "sklearn.feature_selection.SelectPercentile",
          "sklearn.feature_selection.VarianceThreshold",
          "sklearn.feature_selection.GenericUnivariateSelect",
          "sklearn.feature_selection.SelectFpr", "sklearn.feature_selection.SelectFdr",
          "sklearn.feature_selection.SelectFwe", "sklearn.feature_selection.SelectFromModel",
          "sklearn.feature_selection.SequentialFeatureSelector")
def selector(g, est, x):
    return {"transform": _select(g, est, x)}


@register("sklearn.feature_selection.RFE", "sklearn.feature_selection.RFECV")
def rfe(g, est, x):
    selected = _select(g, est, x)
    out = dict(convert_step(g, est.estimator_, selected))
    out["transform"] = selected
    return out
