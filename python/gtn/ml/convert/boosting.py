"""GradientBoosting and HistGradientBoosting: base score + sum of trees, then the link."""
import numpy as np

from gtn import UnsupportedError
from gtn.ml.convert.common import argmax, binary_proba, index_of_positive, ravel, set_classes
from gtn.ml.convert.categorical import CategoricalSplits, categorical_tree_ensemble, ordinal_codes
from gtn.ml.convert.trees import Tree, sklearn_tree, tree_ensemble
from gtn.ml.registry import register


def _classifier(g, classes, raw, loss_name, strict):
    """Raw scores [N, K'] -> decision_function / predict_proba / predict."""
    set_classes(g, classes)
    if len(classes) == 2:
        d = ravel(g, raw)
        z = g.op("Mul", d, g.scalar(2.0)) if loss_name == "ExponentialLoss" else d
        return {"decision_function": d, "predict": index_of_positive(g, d, strict),
                "predict_proba": binary_proba(g, g.op("Sigmoid", z))}
    return {"decision_function": raw, "predict": argmax(g, raw),
            "predict_proba": g.op("Softmax", raw, axis=1)}


def _gb_trees(est):
    n_rounds, k = est.estimators_.shape
    trees, targets = [], []
    for i in range(n_rounds):
        for j in range(k):
            t = est.estimators_[i, j].tree_
            trees.append(sklearn_tree(t, t.value[:, 0, 0] * est.learning_rate))
            targets.append(j)
    return trees, np.asarray(targets)


def _gb_base(est):
    from sklearn.dummy import DummyClassifier, DummyRegressor

    if not (est.init_ == "zero" or isinstance(est.init_, (DummyClassifier, DummyRegressor))):
        raise UnsupportedError(
            f"{type(est).__name__} with init={type(est.init_).__name__} is not supported; "
            "init=None (the default), 'zero' or a Dummy estimator are")
    return est._raw_predict_init(np.zeros((1, est.n_features_in_)))[0]


@register("sklearn.ensemble.GradientBoostingClassifier")
def gradient_boosting_classifier(g, est, x):
    trees, targets = _gb_trees(est)
    raw = tree_ensemble(g, x, trees, est.n_trees_per_iteration_, "sum", _gb_base(est), targets,
                        float32_input=True)
    return _classifier(g, est.classes_, raw, type(est._loss).__name__, strict=False)


@register("sklearn.ensemble.GradientBoostingRegressor")
def gradient_boosting_regressor(g, est, x):
    trees, targets = _gb_trees(est)
    raw = tree_ensemble(g, x, trees, 1, "sum", _gb_base(est), targets, float32_input=True)
    return {"predict": ravel(g, raw)}


def _hgb_tree(predictor, known):
    """(Tree, CategoricalSplits) of one predictor; `known` [n_features, 256] bool: which
    ordinal codes each categorical feature knows."""
    n = predictor.nodes
    feature = np.where(n["is_leaf"] == 1, -1, n["feature_idx"])
    tree = Tree(feature, n["num_threshold"], n["left"], n["right"], n["missing_go_to_left"],
                n["value"])
    splits = CategoricalSplits()
    bits = np.arange(256)
    for i in np.flatnonzero((n["is_categorical"] == 1) & (n["is_leaf"] == 0)):
        words = predictor.raw_left_cat_bitsets[n["bitset_idx"][i]]
        left = ((words[bits // 32] >> (bits % 32)) & 1).astype(bool)
        # In the left set -> left; a known code -> right; unknown -> the missing way.
        table = np.where(left, 1, np.where(known[n["feature_idx"][i]], 2, 0))
        splits.add(i, table, n["missing_go_to_left"][i])
    return tree, splits


def _hgb_categorical_input(g, est, x):
    """scikit-learn maps categorical columns to ordinal codes (unknown -> NaN) and puts them
    first (its _preprocessor); the same in the graph. Returns (x', known codes)."""
    pre = est._preprocessor
    encoder = pre.named_transformers_["encoder"]
    cat_cols = np.flatnonzero(est.is_categorical_)
    num_cols = np.flatnonzero(~np.asarray(est.is_categorical_))
    cats = []
    for c in encoder.categories_:
        c = np.asarray(c)
        if c.dtype.kind not in "iufb":
            raise UnsupportedError("HistGradientBoosting with non-numeric categories is not "
                                   "supported; numeric category values are")
        c = c.astype(np.float64)
        cats.append(c[~np.isnan(c)])
    codes = ordinal_codes(g, x, cat_cols, cats)
    parts = [codes]
    if len(num_cols):
        parts.append(g.op("Gather", x, g.const(num_cols, "numeric_columns"), axis=1))
    xr = g.op("Concat", *parts, axis=1) if len(parts) > 1 else codes
    known = np.zeros((pre.n_features_in_, 256), dtype=bool)
    for j, c in enumerate(cats):
        known[j, : len(c)] = True
    return xr, known


def _hgb_raw(g, est, x):
    categorical = getattr(est, "_preprocessor", None) is not None
    known = np.zeros((est.n_features_in_, 256), dtype=bool)
    if categorical:
        x, known = _hgb_categorical_input(g, est, x)
    trees, splits, targets = [], [], []
    for iteration in est._predictors:
        for k, predictor in enumerate(iteration):
            tree, split = _hgb_tree(predictor, known)
            trees.append(tree)
            splits.append(split)
            targets.append(k)
    base = np.asarray(est._baseline_prediction, dtype=np.float64).reshape(-1)
    # scikit-learn compares X's float64 values with the float64 thresholds (it casts X to
    # float64, not float32): a float32 model given float64 X must decide on those values.
    g.metadata["float64_input_exact"] = True
    if any(s.tables for s in splits):
        return categorical_tree_ensemble(g, x, trees, splits, est.n_trees_per_iteration_, "sum",
                                         base, np.asarray(targets))
    return tree_ensemble(g, x, trees, est.n_trees_per_iteration_, "sum", base,
                         np.asarray(targets))


@register("sklearn.ensemble.HistGradientBoostingClassifier")
def hist_gradient_boosting_classifier(g, est, x):
    raw = _hgb_raw(g, est, x)
    return _classifier(g, est.classes_, raw, type(est._loss).__name__, strict=True)


@register("sklearn.ensemble.HistGradientBoostingRegressor")
def hist_gradient_boosting_regressor(g, est, x):
    y = ravel(g, _hgb_raw(g, est, x))
    link = type(est._loss.link).__name__
    if link == "LogLink":
        y = g.op("Exp", y)
    elif link != "IdentityLink":
        raise UnsupportedError(f"HistGradientBoostingRegressor link {link} is not supported; "
                               "IdentityLink and LogLink are")
    return {"predict": y}
