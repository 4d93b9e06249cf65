"""Linear models: X @ coef.T + intercept, then the model's link and decision rule."""
import numpy as np

from gtn import UnsupportedError
from gtn.ml.convert.common import (affine, binary_proba, classifier_from_decision,
                                   normalize_rows)
from gtn.ml.registry import convert_step, register


@register("sklearn.linear_model.LinearRegression", "sklearn.linear_model.Ridge",
          "sklearn.linear_model.RidgeCV", "sklearn.linear_model.Lasso",
          "sklearn.linear_model.LassoCV", "sklearn.linear_model.ElasticNet",
          "sklearn.linear_model.ElasticNetCV", "sklearn.linear_model.SGDRegressor",
          "sklearn.svm.LinearSVR", "sklearn.linear_model.HuberRegressor",
          "sklearn.linear_model.TheilSenRegressor", "sklearn.linear_model.Lars",
          "sklearn.linear_model.LarsCV", "sklearn.linear_model.LassoLars",
          "sklearn.linear_model.LassoLarsCV", "sklearn.linear_model.LassoLarsIC",
          "sklearn.linear_model.OrthogonalMatchingPursuit",
          "sklearn.linear_model.OrthogonalMatchingPursuitCV", "sklearn.linear_model.BayesianRidge",
          "sklearn.linear_model.ARDRegression", "sklearn.linear_model.MultiTaskLasso",
          "sklearn.linear_model.MultiTaskLassoCV", "sklearn.linear_model.MultiTaskElasticNet",
          "sklearn.linear_model.MultiTaskElasticNetCV", "sklearn.linear_model.QuantileRegressor",
          "sklearn.linear_model.PassiveAggressiveRegressor")
def linear_regressor(g, est, x):
    coef = np.asarray(est.coef_, dtype=np.float64)
    y = affine(g, x, coef, est.intercept_)
    if coef.ndim == 1:
        y = g.op("Reshape", y, shape=[-1])
    return {"predict": y}


@register("sklearn.svm.LinearSVC",
          "sklearn.linear_model.RidgeClassifier", "sklearn.linear_model.Perceptron",
          "sklearn.linear_model.RidgeClassifierCV",
          "sklearn.linear_model.PassiveAggressiveClassifier")
def linear_classifier(g, est, x):
    d = affine(g, x, est.coef_, est.intercept_)
    return classifier_from_decision(g, est.classes_, d)


@register("sklearn.linear_model.LogisticRegression",
          "sklearn.linear_model.LogisticRegressionCV")
def logistic_regression(g, est, x):
    out = linear_classifier(g, est, x)
    d = out["decision_function"]
    if len(est.classes_) == 2:
        out["predict_proba"] = binary_proba(g, g.op("Sigmoid", d))
    else:
        out["predict_proba"] = g.op("Softmax", d, axis=1)
    return out


@register("sklearn.linear_model.SGDClassifier")
def sgd_classifier(g, est, x):
    out = linear_classifier(g, est, x)
    d = out["decision_function"]
    binary = len(est.classes_) == 2
    if est.loss == "log_loss":
        p = g.op("Sigmoid", d)
        out["predict_proba"] = binary_proba(g, p) if binary else normalize_rows(g, p)
    elif est.loss == "modified_huber":
        # (clip(d, -1, 1) + 1) / 2; multiclass rows normalised, all-zero rows uniform.
        p = g.op("Mul", g.op("Add", g.op("Clip", d, min=-1.0, max=1.0), g.scalar(1.0)),
                 g.scalar(0.5))
        if binary:
            out["predict_proba"] = binary_proba(g, p)
        else:
            k = len(est.classes_)
            s = g.op("ReduceSum", p, axis=1, keepdims=True)
            zero = g.op("Equal", s, g.scalar(0.0))
            p = g.op("Where", zero, g.scalar(1.0), p)
            s = g.op("Where", zero, g.scalar(float(k)), s)
            out["predict_proba"] = g.op("Div", p, s)
    return out


@register("sklearn.linear_model.PoissonRegressor", "sklearn.linear_model.GammaRegressor",
          "sklearn.linear_model.TweedieRegressor")
def glm_regressor(g, est, x):
    """Generalized linear models: the inverse link of X @ coef + intercept."""
    y = g.op("Reshape", affine(g, x, est.coef_, est.intercept_), shape=[-1])
    link = type(est._base_loss.link).__name__
    if link == "LogLink":
        y = g.op("Exp", y)
    elif link == "LogitLink":
        y = g.op("Sigmoid", y)
    elif link != "IdentityLink":
        raise UnsupportedError(f"{type(est).__name__} link {link} is not supported; "
                               "identity, log and logit links are")
    return {"predict": y}


@register("sklearn.linear_model.RANSACRegressor")
def ransac(g, est, x):
    """RANSAC predicts with its final estimator fitted on the inliers."""
    return convert_step(g, est.estimator_, x)
