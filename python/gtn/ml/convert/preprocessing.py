"""Scalers, Normalizer, OneHotEncoder and PCA: transform-only steps."""
import warnings

import numpy as np
from scipy.linalg import LinAlgWarning

from gtn import UnsupportedError
from gtn.ml.registry import register


@register("sklearn.preprocessing.StandardScaler")
def standard_scaler(g, est, x):
    if est.with_mean:
        x = g.op("Sub", x, g.const(est.mean_, "mean"))
    if est.with_std:
        x = g.op("Div", x, g.const(est.scale_, "scale"))
    return {"transform": g.op("Identity", x)}


@register("sklearn.preprocessing.MinMaxScaler")
def min_max_scaler(g, est, x):
    y = g.op("Add", g.op("Mul", x, g.const(est.scale_, "scale")), g.const(est.min_, "min"))
    if est.clip:
        lo, hi = est.feature_range
        y = g.op("Clip", y, min=float(lo), max=float(hi))
    return {"transform": y}


@register("sklearn.preprocessing.Normalizer")
def normalizer(g, est, x):
    return {"transform": g.op("Normalize", x, norm=est.norm)}


@register("sklearn.decomposition.PCA")
def pca(g, est, x):
    comp_t = est.components_.T
    y = g.op("MatMul", x, g.const(comp_t, "components_T"))
    y = g.op("Sub", y, g.const(est.mean_.reshape(1, -1) @ comp_t, "mean_projected"))
    if est.whiten:
        # scikit-learn clips the scale at machine epsilon (rank-deficient data).
        scale = np.sqrt(est.explained_variance_)
        scale = np.where(scale < np.finfo(scale.dtype).eps, np.finfo(scale.dtype).eps, scale)
        y = g.op("Div", y, g.const(scale, "scale"))
    out = {"transform": y}
    # score_samples: the probabilistic PCA log-likelihood of each sample. Its covariance is
    # singular when the data has constant features and every component is kept; then
    # scikit-learn's score_samples raises LinAlgError and the model has no score_samples.
    from sklearn.utils.extmath import fast_logdet

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", LinAlgWarning)
            precision = est.get_precision()
    except (np.linalg.LinAlgError, LinAlgWarning):
        return out
    if not np.all(np.isfinite(precision)):
        return out
    xr = g.op("Sub", x, g.const(est.mean_, "mean"))
    quad = g.op("ReduceSum", g.op("Mul", g.op("MatMul", xr, g.const(precision, "precision")),
                                  xr), axis=1, keepdims=False)
    const = -0.5 * (est.n_features_in_ * np.log(2.0 * np.pi) - fast_logdet(precision))
    out["score_samples"] = g.op("Add", g.op("Mul", quad, g.scalar(-0.5)), g.scalar(const))
    return out


@register("sklearn.preprocessing.OneHotEncoder")
def one_hot_encoder(g, est, x):
    if est.handle_unknown not in ("ignore", "error"):
        raise UnsupportedError(f"OneHotEncoder handle_unknown={est.handle_unknown!r} is not "
                               "supported; 'ignore' and 'error' are")
    if getattr(est, "_infrequent_enabled", False):
        raise UnsupportedError("OneHotEncoder with infrequent categories (min_frequency / "
                               "max_categories) is not supported")
    from gtn.ml.convert.encoders import numeric_categories

    cats = numeric_categories(g, est, x, "OneHotEncoder", est.handle_unknown == "error")
    for f, c in enumerate(cats):
        if np.isnan(c).any():
            raise UnsupportedError(f"OneHotEncoder feature {f} has NaN as a category; "
                                   "not supported")
    cols, values = [], []
    drop = getattr(est, "drop_idx_", None)
    for f, c in enumerate(cats):
        keep = np.ones(len(c), dtype=bool)
        if drop is not None and drop[f] is not None:
            keep[int(drop[f])] = False
        cols += [f] * int(keep.sum())
        values.append(c[keep])
    repeated = g.op("Gather", x, g.const(np.array(cols), "columns"), axis=1)
    hot = g.op("Equal", repeated, g.const(np.concatenate(values), "categories"))
    if est.handle_unknown == "error":
        from gtn.ml.convert.encoders import _known_categories_check

        _known_categories_check(g, x, cats, "OneHotEncoder")
    return {"transform": g.op("Cast", hot, to=g.dtype)}
