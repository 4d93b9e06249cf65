"""SimpleImputer and MissingIndicator (missing_values=NaN)."""
import numpy as np

from gtn import UnsupportedError
from gtn.ml.registry import register


def _check_nan(est):
    mv = est.missing_values
    if not (isinstance(mv, float) and np.isnan(mv)):
        raise UnsupportedError(f"{type(est).__name__}(missing_values={mv!r}) is not supported; "
                               "missing_values=np.nan is")


def missing_indicator_graph(g, est, x):
    _check_nan(est)
    cols = g.op("Gather", x, g.const(np.asarray(est.features_), "indicator_features"), axis=1)
    return g.op("IsNaN", cols)


@register("sklearn.impute.MissingIndicator")
def missing_indicator(g, est, x):
    if est.sparse is True:
        raise UnsupportedError("MissingIndicator(sparse=True) is not supported")
    if est.features == "missing-only" and est.error_on_new:
        others = sorted(set(range(est._n_features)) - set(int(f) for f in est.features_))
        if others:
            if x != g.input:
                raise UnsupportedError("MissingIndicator(error_on_new=True) is supported only on "
                                       "the model's input, not after another step")
            g.metadata.setdefault("input_checks", []).append(
                {"kind": "no_new_missing", "features": others})
    # transform returns booleans, as scikit-learn's
    return {"transform": missing_indicator_graph(g, est, x)}


@register("sklearn.impute.SimpleImputer")
def simple_imputer(g, est, x):
    _check_nan(est)
    try:
        stats = np.asarray(est.statistics_, dtype=np.float64)
    except (TypeError, ValueError):
        raise UnsupportedError("SimpleImputer with non-numeric statistics is not "
                               "supported") from None
    filled = g.op("Where", g.op("IsNaN", x), g.const(stats, "statistics"), x)
    keep = np.flatnonzero(~np.isnan(stats)) if not getattr(est, "keep_empty_features", False) \
        else np.arange(len(stats))
    if len(keep) < len(stats):
        filled = g.op("Gather", filled, g.const(keep, "kept_features"), axis=1)
    if est.add_indicator:
        ind = g.op("Cast", missing_indicator_graph(g, est.indicator_, x), to=g.dtype)
        filled = g.op("Concat", filled, ind, axis=1)
    return {"transform": filled}
