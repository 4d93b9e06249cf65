"""IsolationForest: leaf depths summed by a TreeEnsemble, then sklearn's score formula."""
import numpy as np

from gtn.ml.convert.common import ravel, set_classes
from gtn.ml.convert.trees import sklearn_tree, tree_ensemble
from gtn.ml.registry import register


@register("sklearn.ensemble.IsolationForest")
def isolation_forest(g, est, x):
    from sklearn.ensemble._iforest import _average_path_length

    trees = []
    for i, (tree, features) in enumerate(zip(est.estimators_, est.estimators_features_)):
        depth = est._decision_path_lengths[i] + est._average_path_length_per_tree[i] - 1.0
        trees.append(sklearn_tree(tree.tree_, depth, feature_map=features))
    depths = ravel(g, tree_ensemble(g, x, trees, 1, "sum", float32_input=True))
    denominator = len(est.estimators_) * _average_path_length([est._max_samples])[0]
    if denominator == 0:
        exponent = g.op("Mul", depths, g.scalar(0.0))
        exponent = g.op("Sub", exponent, g.scalar(1.0))
    else:
        exponent = g.op("Mul", depths, g.scalar(-1.0 / denominator))
    score = g.op("Neg", g.op("Pow", g.scalar(2.0), exponent))
    decision = g.op("Sub", score, g.scalar(est.offset_))
    set_classes(g, np.array([-1, 1]))
    inlier = g.op("Cast", g.op("GreaterEqual", decision, g.scalar(0.0)), to="int64")
    return {"score_samples": score, "decision_function": decision, "predict": inlier}
