"""Decision trees, and the TreeEnsemble node every tree-based converter builds."""
import numpy as np

from gtn.ml.convert.common import argmax, ravel, set_classes
from gtn.ml.registry import register


class Tree:
    """One tree in flat arrays; `feature` -1 marks a leaf, `values` [n_nodes, width]."""

    def __init__(self, feature, threshold, left, right, missing_left, values):
        self.feature = np.asarray(feature, dtype=np.int64)
        self.threshold = np.asarray(threshold, dtype=np.float64)
        self.left = np.asarray(left, dtype=np.int64)
        self.right = np.asarray(right, dtype=np.int64)
        self.missing_left = np.asarray(missing_left, dtype=np.uint8)
        self.values = np.asarray(values, dtype=np.float64).reshape(len(self.feature), -1)


def sklearn_tree(tree_, values, feature_map=None):
    """A Tree from a fitted sklearn `tree_` with the given per-node values."""
    is_leaf = tree_.children_left < 0
    feature = np.where(is_leaf, -1, tree_.feature)
    if feature_map is not None:
        feature = np.where(is_leaf, -1, np.asarray(feature_map)[np.maximum(feature, 0)])
    missing = getattr(tree_, "missing_go_to_left", None)
    if missing is None:
        missing = np.ones(tree_.node_count, dtype=np.uint8)
    return Tree(feature, tree_.threshold, np.maximum(tree_.children_left, 0),
                np.maximum(tree_.children_right, 0), missing, values)


def float32_exact_thresholds(t):
    """Thresholds t' with (x <= t') == (float32(x) <= t) for every float64 x.

    scikit-learn's trees cast X to float32 and compare with float64 thresholds. With f the
    largest float32 <= t, float32(x) <= t exactly when x rounds to f or below: x is below
    the midpoint between f and the next float32, or on it when f's mantissa is even (ties
    round to even). The midpoint is exact in float64.
    """
    t = np.asarray(t, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        f = t.astype(np.float32)
        f = np.where(f.astype(np.float64) > t, np.nextafter(f, np.float32(-np.inf)), f)
        f = f.astype(np.float32)
        up = np.nextafter(f, np.float32(np.inf))
        mid = (f.astype(np.float64) + up.astype(np.float64)) / 2
    even = (f.view(np.uint32) & 1) == 0
    exact = np.where(even, mid, np.nextafter(mid, -np.inf))
    return np.where(np.isfinite(exact), exact, t)


def tree_ensemble(g, x, trees, n_outputs, aggregate="sum", base_values=None, targets=None,
                  comparison="le", float32_input=False):
    """Adds a TreeEnsemble node over `trees`; returns its [N, n_outputs] output.

    float32_input: decide as if x were cast to float32 first, as scikit-learn's trees do
    (the thresholds are moved so that float64 inputs need no cast).
    """
    offsets = np.cumsum([0] + [len(t.feature) for t in trees])
    width = trees[0].values.shape[1]
    cat = np.concatenate
    left = cat([np.where(t.feature >= 0, t.left + o, 0) for t, o in zip(trees, offsets)])
    right = cat([np.where(t.feature >= 0, t.right + o, 0) for t, o in zip(trees, offsets)])
    consts = {
        "nodes_feature": g.const(cat([t.feature for t in trees]), "nodes_feature", np.int32),
        "nodes_threshold": g.const(float32_exact_thresholds(cat([t.threshold for t in trees]))
                                   if float32_input else cat([t.threshold for t in trees]),
                                   "nodes_threshold", np.float64),
        "nodes_left": g.const(left, "nodes_left", np.int32),
        "nodes_right": g.const(right, "nodes_right", np.int32),
        "nodes_missing_left": g.const(cat([t.missing_left for t in trees]),
                                      "nodes_missing_left", np.uint8),
        "leaf_values": g.const(cat([t.values for t in trees]), "leaf_values", np.float64),
        "tree_roots": g.const(offsets[:-1], "tree_roots", np.int32),
        "tree_targets": g.const(np.zeros(len(trees)) if targets is None else targets,
                                "tree_targets", np.int32),
    }
    if width not in (1, n_outputs):
        raise ValueError(f"leaf width {width} is neither 1 nor n_outputs={n_outputs}")
    base = [0.0] * n_outputs if base_values is None else [float(b) for b in base_values]
    return g.op("TreeEnsemble", x, hint="trees", n_outputs=n_outputs, comparison=comparison,
                aggregate=aggregate, base_values=base, **consts)


def classifier_tree(est):
    """Leaf values of a single-output sklearn classification tree: class probabilities."""
    value = est.tree_.value[:, 0, :]
    total = value.sum(axis=1, keepdims=True)
    return sklearn_tree(est.tree_, value / np.where(total == 0, 1, total))


def check_single_output(est):
    from gtn import UnsupportedError

    if getattr(est, "n_outputs_", 1) != 1:
        raise UnsupportedError(
            f"{type(est).__name__} with {est.n_outputs_} outputs (multi-output "
            "classification) is not supported; single-output classifiers are")


def classifier_outputs(g, classes, proba):
    set_classes(g, classes)
    return {"predict_proba": proba, "predict": argmax(g, proba)}


def regressor_outputs(g, y, n_outputs):
    return {"predict": ravel(g, y) if n_outputs == 1 else y}


@register("sklearn.tree.DecisionTreeClassifier", "sklearn.tree.ExtraTreeClassifier")
def decision_tree_classifier(g, est, x):
    check_single_output(est)
    proba = tree_ensemble(g, x, [classifier_tree(est)], len(est.classes_), "mean",
                          float32_input=True)
    return classifier_outputs(g, est.classes_, proba)


@register("sklearn.tree.DecisionTreeRegressor", "sklearn.tree.ExtraTreeRegressor")
def decision_tree_regressor(g, est, x):
    tree = sklearn_tree(est.tree_, est.tree_.value[:, :, 0])
    y = tree_ensemble(g, x, [tree], est.n_outputs_, "mean", float32_input=True)
    return regressor_outputs(g, y, est.n_outputs_)
