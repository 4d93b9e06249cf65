"""GradientBoosting and HistGradientBoosting: base score + sum of trees, then the link."""
import numpy as np

from gtn import UnsupportedError
from gtn.ml.convert.common import argmax, binary_proba, index_of_positive, ravel, set_classes
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


def _hgb_tree(predictor):
    n = predictor.nodes
    if n["is_categorical"].any():
        _unsupported_categorical()
    feature = np.where(n["is_leaf"] == 1, -1, n["feature_idx"])
    return Tree(feature, n["num_threshold"], n["left"], n["right"], n["missing_go_to_left"],
                n["value"])


def _hgb_raw(g, est, x):
    if est.is_categorical_ is not None and np.any(est.is_categorical_):
        _unsupported_categorical()
    trees, targets = [], []
    for iteration in est._predictors:
        for k, predictor in enumerate(iteration):
            trees.append(_hgb_tree(predictor))
            targets.append(k)
    base = np.asarray(est._baseline_prediction, dtype=np.float64).reshape(-1)
    # scikit-learn compares X's float64 values with the float64 thresholds (it casts X to
    # float64, not float32): a float32 model given float64 X must decide on those values.
    g.metadata["float64_input_exact"] = True
    return tree_ensemble(g, x, trees, est.n_trees_per_iteration_, "sum", base,
                         np.asarray(targets))


def _unsupported_categorical():
    raise UnsupportedError(
        "HistGradientBoosting with categorical features is not supported; "
        "encode them as numbers (e.g. OrdinalEncoder) and use categorical_features=None")


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
