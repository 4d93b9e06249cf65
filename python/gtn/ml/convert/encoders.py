"""OrdinalEncoder and TargetEncoder; string categories of these and of OneHotEncoder.

String (or other non-numeric) categories are mapped to their index in categories_ by the
Python wrapper before the graph runs (metadata "string_columns", see model.py); the graph
then encodes those indices like numeric categories. This needs the encoder to read columns
of the model's input (directly, or through a ColumnTransformer)."""
import numpy as np

from gtn import UnsupportedError
from gtn.ml.convert.categorical import ordinal_codes
from gtn.ml.registry import register


def input_columns(g, x):
    """The model-input columns value `x` holds, or None when it is computed."""
    if x == g.input:
        return list(range(g.n_features))
    return getattr(g, "input_columns", {}).get(x)


def numeric_categories(g, est, x, name, strict):
    """Categories of each feature as float64 arrays, registering string ones for mapping
    (their categories become 0..k-1); sets g.string_features to the indices of those."""
    cats, cols = [], None
    g.string_features = []
    for f, c in enumerate(est.categories_):
        c = np.asarray(c)
        if c.dtype.kind in "iufb":
            cats.append(c.astype(np.float64))
            continue
        if cols is None:
            cols = input_columns(g, x)
            if cols is None:
                raise UnsupportedError(f"{name} with string categories must read columns of the "
                                       "model's input (first step, or inside a ColumnTransformer)")
        values = [v for v in c.tolist() if not _is_missing(v)]
        if len(values) < len(c):
            raise UnsupportedError(f"{name} with missing values among string categories is not "
                                   "supported")
        entry = {"categories": values, "strict": bool(strict)}
        known = g.metadata.setdefault("string_columns", {})
        key = str(cols[f])
        if key in known and known[key]["categories"] != values:
            raise UnsupportedError(f"input column {cols[f]} is encoded with two different "
                                   "category lists")
        known[key] = entry
        g.string_features.append(f)
        cats.append(np.arange(len(values), dtype=np.float64))
    return cats


def _is_missing(v):
    return v is None or (isinstance(v, float) and np.isnan(v))


def _check_infrequent(est, name):
    if getattr(est, "_infrequent_enabled", False):
        raise UnsupportedError(f"{name} with infrequent categories (min_frequency / "
                               "max_categories) is not supported")


@register("sklearn.preprocessing.OrdinalEncoder")
def ordinal_encoder(g, est, x):
    _check_infrequent(est, "OrdinalEncoder")
    strict = est.handle_unknown == "error"
    cats = numeric_categories(g, est, x, "OrdinalEncoder", strict)
    if strict:
        _known_categories_check(g, x, cats, "OrdinalEncoder")
    has_nan = [np.isnan(c).any() for c in cats]
    codes = ordinal_codes(g, x, list(range(len(cats))), [c[~np.isnan(c)] for c in cats])
    unknown = est.unknown_value if est.handle_unknown == "use_encoded_value" else np.nan
    missing = est.encoded_missing_value
    codes = g.op("Where", g.op("IsNaN", codes), g.scalar(float(unknown)), codes)
    if any(has_nan):  # NaN is a category: NaN inputs become encoded_missing_value
        codes = g.op("Where", g.op("IsNaN", x), g.scalar(float(missing)), codes)
    return {"transform": codes}


def _known_categories_check(g, x, cats, name):
    """handle_unknown='error' on numeric features (string ones are checked when mapped)."""
    numeric = [f for f in range(len(cats)) if f not in g.string_features]
    if not numeric:
        return
    if x != g.input:
        raise UnsupportedError(f"{name}(handle_unknown='error') is supported only on the "
                               "model's input, not after another step")
    g.metadata.setdefault("input_checks", []).append(
        {"kind": "known_categories", "features": numeric,
         "categories": [cats[f][~np.isnan(cats[f])].tolist() for f in numeric],
         "allow_nan": [bool(np.isnan(cats[f]).any()) for f in numeric]})


@register("sklearn.preprocessing.TargetEncoder")
def target_encoder(g, est, x):
    """transform (not fit_transform, which cross-fits): each category's encoding; unknown
    categories and NaN get target_mean_."""
    cats = numeric_categories(g, est, x, "TargetEncoder", strict=False)
    n_features = len(cats)
    n_out = len(est.encodings_) // n_features
    cols, rows, w = [], [], []
    total = 0
    for f, c in enumerate(cats):
        for j in range(n_out):
            enc = np.asarray(est.encodings_[f * n_out + j], dtype=np.float64)
            for k in range(len(c)):
                if not np.isnan(c[k]):
                    rows.append(total + k)
                    cols.append(f * n_out + j)
                    w.append(enc[k])
        total += len(c)
    weights = np.zeros((total, n_features * n_out))
    weights[rows, cols] = w
    known_w = np.zeros((total, n_features * n_out))
    start = 0
    for f, c in enumerate(cats):
        known_w[start: start + len(c), f * n_out: (f + 1) * n_out] = (~np.isnan(c))[:, None]
        start += len(c)
    col_idx = np.concatenate([[f] * len(c) for f, c in enumerate(cats)]).astype(np.int64)
    hot = g.op("Cast", g.op("Equal", g.op("Gather", x, g.const(col_idx, "category_columns"),
                                          axis=1),
                            g.const(np.concatenate(cats), "categories")), to=g.dtype)
    enc = g.op("MatMul", hot, g.const(weights, "encodings"))
    known = g.op("MatMul", hot, g.const(known_w, "known"))
    mean = np.broadcast_to(np.asarray(est.target_mean_, dtype=np.float64).reshape(-1),
                           (n_out,))
    mean = np.tile(mean, n_features)
    return {"transform": g.op("Where", g.op("Greater", known, g.scalar(0.5)), enc,
                              g.const(mean, "target_mean"))}


@register("sklearn.preprocessing.LabelEncoder")
def label_encoder(g, est, x):
    """transform(y): the index of each label in classes_ (int64); unseen labels raise, as
    scikit-learn's. y may be 1-D (metadata "input_1d") or one column."""
    g.metadata["input_1d"] = True
    classes = np.asarray(est.classes_)
    if classes.dtype.kind in "iufb":
        cats = classes.astype(np.float64)
        if x != g.input:
            raise UnsupportedError("LabelEncoder is supported only on the model's input")
        g.metadata.setdefault("input_checks", []).append(
            {"kind": "known_categories", "features": [0], "categories": [cats.tolist()],
             "message": "y contains previously unseen labels"})
        hot = g.op("Cast", g.op("Equal", x, g.const(cats, "classes")), to=g.dtype)
        codes = g.op("MatMul", hot, g.const(np.arange(len(cats), dtype=np.float64)
                                            .reshape(-1, 1), "codes"))
    else:
        g.string_features = []
        if x != g.input:
            raise UnsupportedError("LabelEncoder is supported only on the model's input")
        g.metadata.setdefault("string_columns", {})["0"] = {
            "categories": classes.tolist(), "strict": True,
            "message": "y contains previously unseen labels"}
        codes = x
    return {"transform": g.op("Cast", g.op("Reshape", codes, shape=[-1]), to="int64")}


label_encoder.n_features = lambda est: 1
