"""Random forests and extra-trees: the mean of the trees' outputs."""
from gtn.ml.convert.trees import (check_single_output, classifier_outputs, classifier_tree,
                                  regressor_outputs, sklearn_tree, tree_ensemble)
from gtn.ml.registry import register


@register("sklearn.ensemble.RandomForestClassifier", "sklearn.ensemble.ExtraTreesClassifier")
def forest_classifier(g, est, x):
    check_single_output(est)
    trees = [classifier_tree(t) for t in est.estimators_]
    proba = tree_ensemble(g, x, trees, len(est.classes_), "mean", float32_input=True)
    return classifier_outputs(g, est.classes_, proba)


@register("sklearn.ensemble.RandomForestRegressor", "sklearn.ensemble.ExtraTreesRegressor")
def forest_regressor(g, est, x):
    trees = [sklearn_tree(t.tree_, t.tree_.value[:, :, 0]) for t in est.estimators_]
    y = tree_ensemble(g, x, trees, est.n_outputs_, "mean", float32_input=True)
    return regressor_outputs(g, y, est.n_outputs_)
