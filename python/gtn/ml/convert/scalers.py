"""More elementwise transformers: RobustScaler, MaxAbsScaler, Binarizer, PowerTransformer,
KBinsDiscretizer, PolynomialFeatures, FunctionTransformer with numpy ufuncs."""
import numpy as np

from gtn import UnsupportedError
from gtn.ml.registry import register


@register("sklearn.preprocessing.RobustScaler")
def robust_scaler(g, est, x):
    if est.center_ is not None:
        x = g.op("Sub", x, g.const(est.center_, "center"))
    if est.scale_ is not None:
        x = g.op("Div", x, g.const(est.scale_, "scale"))
    return {"transform": g.op("Identity", x)}


@register("sklearn.preprocessing.MaxAbsScaler")
def max_abs_scaler(g, est, x):
    return {"transform": g.op("Div", x, g.const(est.scale_, "scale"))}


@register("sklearn.preprocessing.Binarizer")
def binarizer(g, est, x):
    return {"transform": g.op("Cast", g.op("Greater", x, g.scalar(float(est.threshold))),
                              to=g.dtype)}


def _yeo_johnson(g, x, lmbdas):
    """scikit-learn's _yeo_johnson_transform, per feature lambda (vectors)."""
    lm = np.asarray(lmbdas, dtype=np.float64)
    eps = np.finfo(np.float64).eps
    pos = g.op("GreaterEqual", x, g.scalar(0.0))
    # x >= 0: ((x+1)^l - 1) / l, or log1p(x) when |l| < eps
    l_pos = np.where(np.abs(lm) < eps, 1.0, lm)
    p_pow = g.op("Div", g.op("Sub", g.op("Pow", g.op("Add", x, g.scalar(1.0)),
                                         g.const(l_pos, "lambda")), g.scalar(1.0)),
                 g.const(l_pos, "lambda"))
    p_val = g.op("Where", g.const(np.abs(lm) < eps, "lambda_zero", np.bool_), g.op("Log1p", x), p_pow)
    # x < 0: -((1-x)^(2-l) - 1) / (2-l), or -log1p(-x) when |l - 2| < eps
    l_neg = np.where(np.abs(lm - 2) < eps, 1.0, 2.0 - lm)
    nx = g.op("Neg", x)
    n_pow = g.op("Neg", g.op("Div", g.op("Sub", g.op("Pow", g.op("Add", nx, g.scalar(1.0)),
                                                     g.const(l_neg, "two_minus_lambda")),
                                          g.scalar(1.0)), g.const(l_neg, "two_minus_lambda")))
    n_val = g.op("Where", g.const(np.abs(lm - 2) < eps, "lambda_two", np.bool_),
                 g.op("Neg", g.op("Log1p", nx)), n_pow)
    return g.op("Where", pos, p_val, n_val)


def _box_cox(g, x, lmbdas):
    """scipy.special.boxcox per feature: (x^l - 1) / l, or log(x) when l == 0."""
    lm = np.asarray(lmbdas, dtype=np.float64)
    l_safe = np.where(lm == 0, 1.0, lm)
    powed = g.op("Div", g.op("Sub", g.op("Pow", x, g.const(l_safe, "lambda")), g.scalar(1.0)),
                 g.const(l_safe, "lambda"))
    return g.op("Where", g.const(lm == 0, "lambda_zero", np.bool_), g.op("Log", x), powed)


@register("sklearn.preprocessing.PowerTransformer")
def power_transformer(g, est, x):
    if est.method == "yeo-johnson":
        y = _yeo_johnson(g, x, est.lambdas_)
    else:
        y = _box_cox(g, x, est.lambdas_)
    if est.standardize:
        s = est._scaler
        y = g.op("Div", g.op("Sub", y, g.const(s.mean_, "mean")), g.const(s.scale_, "scale"))
    return {"transform": y}


@register("sklearn.preprocessing.KBinsDiscretizer")
def kbins_discretizer(g, est, x):
    """Bin index = number of inner edges <= x (np.searchsorted side='right' on the inner
    edges, as scikit-learn's transform), then ordinal or dense one-hot output."""
    if est.encode == "onehot":
        raise UnsupportedError("KBinsDiscretizer(encode='onehot') returns a sparse matrix; "
                               "use encode='onehot-dense' or 'ordinal'")
    cols = []
    for f, edges in enumerate(est.bin_edges_):
        inner = np.asarray(edges[1:-1], dtype=np.float64)
        col = g.op("Slice", x, axis=1, start=f, end=f + 1)
        if len(inner) == 0:
            cols.append(g.op("Mul", col, g.scalar(0.0)))
            continue
        ge = g.op("Cast", g.op("GreaterEqual", col, g.const(inner[np.newaxis], "edges")),
                  to=g.dtype)
        cols.append(g.op("ReduceSum", ge, axis=1, keepdims=True))
    codes = g.op("Concat", *cols, axis=1) if len(cols) > 1 else cols[0]
    if est.encode == "ordinal":
        return {"transform": codes}
    # onehot-dense: one column per bin of each feature
    col_idx, values = [], []
    for f, n in enumerate(est.n_bins_):
        col_idx += [f] * int(n)
        values += list(range(int(n)))
    hot = g.op("Equal", g.op("Gather", codes, g.const(np.array(col_idx), "bin_columns"), axis=1),
               g.const(np.array(values, dtype=np.float64), "bin_values"))
    return {"transform": g.op("Cast", hot, to=g.dtype)}


@register("sklearn.preprocessing.PolynomialFeatures")
def polynomial_features(g, est, x):
    """Each output column is a product of input columns (powers_ [n_out, n_in])."""
    cols = []
    for powers in est.powers_:
        term = None
        for f, p in enumerate(powers):
            for _ in range(int(p)):
                c = g.op("Slice", x, axis=1, start=f, end=f + 1)
                term = c if term is None else g.op("Mul", term, c)
        if term is None:  # the bias column
            term = g.op("Add", g.op("Mul", g.op("Slice", x, axis=1, start=0, end=1),
                                    g.scalar(0.0)), g.scalar(1.0))
        cols.append(term)
    return {"transform": g.op("Concat", *cols, axis=1) if len(cols) > 1 else cols[0]}


UFUNCS = {"log": ["Log"], "log1p": ["Log1p"], "exp": ["Exp"], "sqrt": ["Sqrt"],
          "abs": ["Abs"], "absolute": ["Abs"], "square": ["Square"], "negative": ["Neg"],
          "reciprocal": ["Reciprocal"], "sign": ["Sign"], "floor": ["Floor"], "tanh": ["Tanh"],
          "expm1": ["Exp", "-1"]}


def ufunc_graph(g, func, x, owner="FunctionTransformer"):
    """A numpy ufunc (np.log, np.log1p, np.exp, ...) or None (identity) on x."""
    if func is None:
        return g.op("Identity", x)
    name = getattr(func, "__name__", None)
    if not isinstance(func, np.ufunc) or name not in UFUNCS:
        raise UnsupportedError(f"{owner} with func={func!r} is not supported; None or one of "
                               f"the numpy ufuncs {', '.join('np.' + u for u in UFUNCS)} are")
    for op in UFUNCS[name]:
        x = g.op("Sub", x, g.scalar(1.0)) if op == "-1" else g.op(op, x)
    return x


@register("sklearn.preprocessing.FunctionTransformer")
def function_transformer(g, est, x):
    if est.kw_args:
        raise UnsupportedError("FunctionTransformer with kw_args is not supported")
    return {"transform": ufunc_graph(g, est.func, x)}


def _quantile_column(g, col, quantiles, references):
    """scikit-learn's uniform QuantileTransformer on one column [N, 1]: the mean of a forward
    and a backward np.interp, which differ only on repeated quantiles: there the value is
    the mean of the group's first and last reference, between knots the line from the last
    reference of one group to the first of the next."""
    q = np.asarray(quantiles, dtype=np.float64)
    r = np.asarray(references, dtype=np.float64)
    xu, first = np.unique(q, return_index=True)
    # scikit-learn compares X with float64 quantiles; in a float32 graph, x >= t and x == t
    # must hold exactly when they do for float32 x against float64 t.
    ge, eq, le = (_float32_ceil, _float32_exact, _float32_floor) if g.dtype == "float32" \
        else (np.asarray,) * 3
    last = len(q) - 1 - np.unique(q[::-1], return_index=True)[1]
    y_first, y_last = r[first], r[last]
    v = g.op("Clip", col, min=float(xu[0]), max=float(xu[-1]))
    if len(xu) == 1:
        y = g.op("Add", g.op("Mul", v, g.scalar(0.0)), g.scalar(float(0.5 * (y_first[0] + y_last[0]))))
    else:
        count = g.op("ReduceSum", g.op("Cast", g.op("GreaterEqual", v, g.const(ge(xu[1:-1]),
                                                                                "knots")),
                                       to=g.dtype), axis=1, keepdims=True)
        j = g.op("Cast", g.op("Reshape", count, shape=[-1]), to="int64")
        slope = (y_first[1:] - y_last[:-1]) / np.diff(xu)
        x0 = g.op("Gather", g.const(xu[:-1], "knots_lo"), j, axis=0)
        y0 = g.op("Gather", g.const(y_last[:-1], "values_lo"), j, axis=0)
        sl = g.op("Gather", g.const(slope, "slopes"), j, axis=0)
        vr = g.op("Reshape", v, shape=[-1])
        y = g.op("Add", g.op("Mul", sl, g.op("Sub", vr, x0)), y0)
        hits = g.op("Cast", g.op("Equal", col, g.const(eq(xu), "knots_all")), to=g.dtype)
        at_knot = g.op("Reshape", g.op("MatMul", hits, g.const(
            (0.5 * (y_first + y_last)).reshape(-1, 1), "knot_values")), shape=[-1])
        on = g.op("Greater", g.op("Reshape", g.op("ReduceSum", hits, axis=1, keepdims=True),
                                  shape=[-1]), g.scalar(0.5))
        y = g.op("Reshape", g.op("Where", on, at_knot, y), shape=[-1, 1])
    y = g.op("Where", g.op("GreaterEqual", col, g.scalar(float(ge(q[-1:])[0]))), g.scalar(1.0), y)
    y = g.op("Where", g.op("LessEqual", col, g.scalar(float(le(q[:1])[0]))), g.scalar(0.0), y)
    y = g.op("Clip", y, min=0.0, max=1.0)
    return g.op("Where", g.op("IsNaN", col), col, y)


def _float32_ceil(t):
    """The smallest float32 >= t (as float64): float32 x >= t iff x >= this."""
    f = np.asarray(t, dtype=np.float64).astype(np.float32)
    f = np.where(f.astype(np.float64) < t, np.nextafter(f, np.float32(np.inf)), f)
    return f.astype(np.float64)


def _float32_floor(t):
    f = np.asarray(t, dtype=np.float64).astype(np.float32)
    f = np.where(f.astype(np.float64) > t, np.nextafter(f, np.float32(-np.inf)), f)
    return f.astype(np.float64)


def _float32_exact(t):
    """t where a float32 can equal it, NaN (never equal) elsewhere."""
    t = np.asarray(t, dtype=np.float64)
    return np.where(t.astype(np.float32).astype(np.float64) == t, t, np.nan)


# Wichura's AS241 (PPND16) coefficients, highest power first: the standard normal quantile
# function to about 1e-16 relative, the accuracy of scipy's ndtri.
_AS241 = {
    "a": (2.5090809287301226727e+3, 3.3430575583588128105e+4, 6.7265770927008700853e+4,
          4.5921953931549871457e+4, 1.3731693765509461125e+4, 1.9715909503065514427e+3,
          1.3314166789178437745e+2, 3.3871328727963666080e+0),
    "b": (5.2264952788528545610e+3, 2.8729085735721942674e+4, 3.9307895800092710610e+4,
          2.1213794301586595867e+4, 5.3941960214247511077e+3, 6.8718700749205790830e+2,
          4.2313330701600911252e+1, 1.0),
    "c": (7.74545014278341407640e-4, 2.27238449892691845833e-2, 2.41780725177450611770e-1,
          1.27045825245236838258e+0, 3.64784832476320460504e+0, 5.76949722146069140550e+0,
          4.63033784615654529590e+0, 1.42343711074968357734e+0),
    "d": (1.05075007164441684324e-9, 5.47593808499534494600e-4, 1.51986665636164571966e-2,
          1.48103976427480074590e-1, 6.89767334985100004550e-1, 1.67638483018380384940e+0,
          2.05319162663775882187e+0, 1.0),
    "e": (2.01033439929228813265e-7, 2.71155556874348757815e-5, 1.24266094738807843860e-3,
          2.65321895265761230930e-2, 2.96560571828504891230e-1, 1.78482653991729133580e+0,
          5.46378491116411436990e+0, 6.65790464350110377720e+0),
    "f": (2.04426310338993978564e-15, 1.42151175831644588870e-7, 1.84631831751005468180e-5,
          7.86869131145613259100e-4, 1.48753612908506148525e-2, 1.36929880922735805310e-1,
          5.99832206555887937690e-1, 1.0),
}


def _horner(g, r, coefs):
    y = g.scalar(coefs[0])
    for c in coefs[1:]:
        y = g.op("Add", g.op("Mul", y, r), g.scalar(c))
    return y


def normal_ppf(g, p):
    """The standard normal quantile function of p in [0, 1] (AS241); 0 and 1 give -inf and
    +inf, NaN stays NaN."""
    q = g.op("Sub", p, g.scalar(0.5))
    r = g.op("Sub", g.scalar(0.180625), g.op("Mul", q, q))
    central = g.op("Div", g.op("Mul", q, _horner(g, r, _AS241["a"])), _horner(g, r, _AS241["b"]))
    tail_p = g.op("Where", g.op("LessEqual", q, g.scalar(0.0)), p, g.op("Sub", g.scalar(1.0), p))
    # Keep log's argument in (0, 0.5]: the ends are set below.
    s = g.op("Sqrt", g.op("Neg", g.op("Log", g.op("Clip", tail_p, min=1e-300))))
    near = g.op("Sub", s, g.scalar(1.6))
    far = g.op("Sub", s, g.scalar(5.0))
    tail = g.op("Where", g.op("LessEqual", s, g.scalar(5.0)),
                g.op("Div", _horner(g, near, _AS241["c"]), _horner(g, near, _AS241["d"])),
                g.op("Div", _horner(g, far, _AS241["e"]), _horner(g, far, _AS241["f"])))
    tail = g.op("Where", g.op("Less", q, g.scalar(0.0)), g.op("Neg", tail), tail)
    y = g.op("Where", g.op("LessEqual", g.op("Abs", q), g.scalar(0.425)), central, tail)
    y = g.op("Where", g.op("LessEqual", p, g.scalar(0.0)), g.scalar(-np.inf), y)
    return g.op("Where", g.op("GreaterEqual", p, g.scalar(1.0)), g.scalar(np.inf), y)


# scikit-learn's QuantileTransformer: inputs within this of the fitted range map to its ends.
_BOUNDS_THRESHOLD = 1e-7


def _normal_column(g, col, quantiles, references):
    """output_distribution='normal': the uniform value, pushed to 0 (1) within 1e-7 of the
    lowest (highest) quantile, then the normal quantile function clipped as scikit-learn
    clips it."""
    from scipy import stats

    q = np.asarray(quantiles, dtype=np.float64)
    u = _quantile_column(g, col, quantiles, references)
    lt, gt = (_float32_ceil, _float32_floor) if g.dtype == "float32" else (np.asarray,) * 2
    upper = g.op("Greater", g.op("Add", col, g.scalar(_BOUNDS_THRESHOLD)), g.scalar(float(gt(q[-1:])[0])))
    lower = g.op("Less", g.op("Sub", col, g.scalar(_BOUNDS_THRESHOLD)), g.scalar(float(lt(q[:1])[0])))
    u = g.op("Where", upper, g.scalar(1.0), u)
    u = g.op("Where", lower, g.scalar(0.0), u)
    lo = float(stats.norm.ppf(_BOUNDS_THRESHOLD - np.spacing(1)))
    hi = float(stats.norm.ppf(1 - (_BOUNDS_THRESHOLD - np.spacing(1))))
    return g.op("Clip", normal_ppf(g, u), min=lo, max=hi)


@register("sklearn.preprocessing.QuantileTransformer")
def quantile_transformer(g, est, x):
    if est.output_distribution not in ("uniform", "normal"):
        raise UnsupportedError(f"QuantileTransformer(output_distribution={est.output_distribution!r}) "
                               "is not supported; 'uniform' and 'normal' are")
    column = _quantile_column if est.output_distribution == "uniform" else _normal_column
    cols = [column(g, g.op("Slice", x, axis=1, start=f, end=f + 1), est.quantiles_[:, f], est.references_)
            for f in range(est.quantiles_.shape[1])]
    return {"transform": g.op("Concat", *cols, axis=1) if len(cols) > 1 else cols[0]}


@register("sklearn.feature_extraction.text.TfidfTransformer")
def tfidf_transformer(g, est, x):
    """Dense counts -> tf (1 + log where sublinear) * idf, then the row norm."""
    if est.sublinear_tf:
        pos = g.op("Greater", x, g.scalar(0.0))
        x = g.op("Where", pos, g.op("Add", g.op("Log", g.op("Where", pos, x, g.scalar(1.0))),
                                    g.scalar(1.0)), x)
    if est.use_idf:
        x = g.op("Mul", x, g.const(est.idf_, "idf"))
    if est.norm:
        x = g.op("Normalize", x, norm=est.norm)
    return {"transform": g.op("Identity", x)}
