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


@register("sklearn.preprocessing.QuantileTransformer")
def quantile_transformer(g, est, x):
    if est.output_distribution != "uniform":
        raise UnsupportedError("QuantileTransformer(output_distribution='normal') is not "
                               "supported (it needs the normal quantile function); 'uniform' is")
    cols = [_quantile_column(g, g.op("Slice", x, axis=1, start=f, end=f + 1),
                             est.quantiles_[:, f], est.references_)
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
