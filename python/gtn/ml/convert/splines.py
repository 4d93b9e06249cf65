"""SplineTransformer: each feature's B-spline basis, evaluated as scipy's BSpline does."""
import numpy as np

from gtn.ml.convert.scalers import _float32_ceil, _float32_floor
from gtn.ml.registry import UnsupportedError, register


def _interval(g, x, t, k):
    """The knot interval scipy evaluates x in: l with t[l] <= x < t[l+1], clamped to
    [k, n - 1] (n = len(t) - k - 1), so that x beyond the base interval takes the
    polynomial of the first or last interval (BSpline's extrapolation)."""
    n = len(t) - k - 1
    inner = t[k + 1:n]
    if len(inner) == 0:
        return None, k
    # scipy compares x with float64 knots; float32 x >= t exactly when x >= ceil32(t).
    knots = _float32_ceil(inner) if g.dtype == "float32" else inner
    ge = g.op("Cast", g.op("GreaterEqual", x, g.const(knots.reshape(1, -1), "knots")), to=g.dtype)
    return g.op("ReduceSum", ge, axis=1, keepdims=True), k


def _basis(g, x, t, k):
    """[N, len(t) - k - 1]: every B-spline basis function of degree k on knots t at x,
    from the polynomial pieces of x's interval (Cox-de Boor on a one-hot degree-0 basis)."""
    m = len(t) - 1  # degree-0 functions
    count, offset = _interval(g, x, t, k)
    ids = np.arange(m, dtype=np.float64).reshape(1, -1) - offset
    if count is None:
        b = g.op("Add", g.op("Mul", x, g.scalar(0.0)), g.const((ids == 0).astype(np.float64), "onehot"))
    else:
        b = g.op("Cast", g.op("Equal", count, g.const(ids, "interval_ids")), to=g.dtype)
    for d in range(1, k + 1):
        cols = m - d
        lo, hi = t[:cols], t[d:d + cols]            # t_j, t_{j+d}
        lo2, hi2 = t[1:cols + 1], t[d + 1:d + 1 + cols]  # t_{j+1}, t_{j+d+1}
        inv1 = np.divide(1.0, hi - lo, out=np.zeros(cols), where=hi != lo)
        inv2 = np.divide(1.0, hi2 - lo2, out=np.zeros(cols), where=hi2 != lo2)
        w1 = g.op("Mul", g.op("Sub", x, g.const(lo.reshape(1, -1), "t_lo")), g.const(inv1.reshape(1, -1), "inv"))
        w2 = g.op("Mul", g.op("Sub", g.const(hi2.reshape(1, -1), "t_hi"), x), g.const(inv2.reshape(1, -1), "inv"))
        left = g.op("Slice", b, axis=1, start=0, end=cols)
        right = g.op("Slice", b, axis=1, start=1, end=cols + 1)
        b = g.op("Add", g.op("Mul", w1, left), g.op("Mul", w2, right))
    return b


def _feature(g, est, x, f):
    spl = est.bsplines_[f]
    t, k, coef = np.asarray(spl.t, dtype=np.float64), int(spl.k), np.asarray(spl.c, dtype=np.float64)
    n_splines = coef.shape[1]
    col = g.op("Slice", x, axis=1, start=f, end=f + 1)
    nan = g.op("IsNaN", col)
    if est.extrapolation == "periodic":
        n = len(t) - k - 1
        period = t[n] - t[k]
        if period > 0:
            shifted = g.op("Sub", col, g.scalar(t[k]))
            wrapped = g.op("Sub", shifted, g.op("Mul", g.op("Floor", g.op("Div", shifted, g.scalar(period))),
                                                g.scalar(period)))
            xin = g.op("Add", g.scalar(t[k]), wrapped)
        else:
            xin = g.op("Mul", col, g.scalar(0.0))
    else:
        xin = col
    # NaN rows are evaluated at t[k] and set to zero at the end.
    xin = g.op("Where", nan, g.scalar(t[k]), xin)
    y = g.op("MatMul", _basis(g, xin, t, k), g.const(coef, "spline_coef"))
    zeros = g.op("Mul", y, g.scalar(0.0))
    if est.extrapolation in ("constant", "linear"):
        xmin, xmax = t[k], t[-k - 1]
        f_min, f_max = np.asarray(spl(xmin), dtype=np.float64), np.asarray(spl(xmax), dtype=np.float64)
        lt, gt = (_float32_ceil, _float32_floor) if g.dtype == "float32" else (np.asarray,) * 2
        below = g.op("Less", col, g.scalar(float(lt(xmin))))
        above = g.op("Greater", col, g.scalar(float(gt(xmax))))
        outside = g.op("Or", below, above)
        y = g.op("Where", outside, zeros, y)
        if est.extrapolation == "constant":
            low = np.zeros(n_splines)
            low[:k] = f_min[:k]
            high = np.zeros(n_splines)
            high[n_splines - k:] = f_max[n_splines - k:]
            y = g.op("Where", below, g.op("Add", zeros, g.const(low.reshape(1, -1), "f_min")), y)
            y = g.op("Where", above, g.op("Add", zeros, g.const(high.reshape(1, -1), "f_max")), y)
        else:
            fp_min, fp_max = np.asarray(spl(xmin, nu=1)), np.asarray(spl(xmax, nu=1))
            reach = k + 1 if k <= 1 else k
            low_v, low_s = np.zeros(n_splines), np.zeros(n_splines)
            high_v, high_s = np.zeros(n_splines), np.zeros(n_splines)
            for j in range(reach):
                low_v[j], low_s[j] = f_min[j], fp_min[j]
                i = n_splines - 1 - j
                high_v[i], high_s[i] = f_max[i], fp_max[i]
            lin_low = g.op("Add", g.const(low_v.reshape(1, -1), "f_min"),
                           g.op("Mul", g.op("Sub", col, g.scalar(xmin)), g.const(low_s.reshape(1, -1), "fp_min")))
            lin_high = g.op("Add", g.const(high_v.reshape(1, -1), "f_max"),
                            g.op("Mul", g.op("Sub", col, g.scalar(xmax)), g.const(high_s.reshape(1, -1), "fp_max")))
            y = g.op("Where", below, lin_low, y)
            y = g.op("Where", above, lin_high, y)
    y = g.op("Where", nan, zeros, y)
    if not est.include_bias:
        y = g.op("Slice", y, axis=1, start=0, end=n_splines - 1)
    return y


@register("sklearn.preprocessing.SplineTransformer")
def spline_transformer(g, est, x):
    if est.extrapolation == "error":
        raise UnsupportedError("SplineTransformer(extrapolation='error') is not supported (a compiled "
                               "model cannot raise per row); 'constant', 'linear', 'continue' and "
                               "'periodic' are")
    if est.degree <= 1 and est.extrapolation == "linear" and est.n_features_in_ > 1:
        # scikit-learn 1.9 raises `degree` by one inside its per-feature loop here, so every
        # feature after the first is extrapolated from other boundaries than it was fitted with.
        raise UnsupportedError("SplineTransformer(degree<=1, extrapolation='linear') with more than one "
                               "feature is not supported: scikit-learn extrapolates the features after "
                               "the first from shifted boundaries; use degree >= 2 or one feature")
    cols = [_feature(g, est, x, f) for f in range(est.n_features_in_)]
    return {"transform": g.op("Concat", *cols, axis=1) if len(cols) > 1 else cols[0]}
