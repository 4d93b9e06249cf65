"""Composition: ColumnTransformer, FeatureUnion, TransformedTargetRegressor, the search CVs'
best estimator, Dummy estimators."""
import numpy as np

from gtn import UnsupportedError
from gtn.ml.convert.common import set_classes
from gtn.ml.convert.scalers import ufunc_graph
from gtn.ml.registry import convert_step, register


def _transform(g, step, x, owner):
    if isinstance(step, str):
        if step == "passthrough":
            return x
        raise UnsupportedError(f"{owner} step {step!r} is not supported")
    out = convert_step(g, step, x)
    if "transform" not in out:
        raise UnsupportedError(f"{owner} step {type(step).__name__} has no transform")
    return out["transform"]


@register("sklearn.compose.ColumnTransformer")
def column_transformer(g, est, x):
    parts = []
    for name, trans, _ in est.transformers_:
        if isinstance(trans, str) and trans == "drop":
            continue
        cols = np.asarray(est._transformer_to_input_indices[name], dtype=np.int64)
        if len(cols) == 0:
            continue
        sub = g.op("Gather", x, g.const(cols, "columns"), axis=1)
        if x == g.input:  # encoders of string categories need to know which input columns
            g.input_columns = getattr(g, "input_columns", {})
            g.input_columns[sub] = cols.tolist()
        parts.append(_transform(g, trans, sub, "ColumnTransformer"))
    if not parts:
        raise UnsupportedError("a ColumnTransformer that outputs nothing cannot be converted")
    return {"transform": g.op("Concat", *parts, axis=1) if len(parts) > 1 else
            g.op("Identity", parts[0])}


@register("sklearn.pipeline.FeatureUnion")
def feature_union(g, est, x):
    weights = est.transformer_weights or {}
    parts = []
    for name, trans in est.transformer_list:
        if isinstance(trans, str) and trans == "drop":
            continue
        y = _transform(g, trans, x, "FeatureUnion")
        if name in weights:
            y = g.op("Mul", y, g.scalar(float(weights[name])))
        parts.append(y)
    return {"transform": g.op("Concat", *parts, axis=1) if len(parts) > 1 else
            g.op("Identity", parts[0])}


def _inverse_target(g, est, y):
    """TransformedTargetRegressor's inverse transform of predictions y [N, T]."""
    t = est.transformer_
    name = type(t).__name__
    if name == "FunctionTransformer":
        if t.inverse_func is None:
            return y
        return ufunc_graph(g, t.inverse_func, y, "TransformedTargetRegressor inverse_func")
    if name == "StandardScaler":
        if t.with_std:
            y = g.op("Mul", y, g.const(t.scale_, "target_scale"))
        if t.with_mean:
            y = g.op("Add", y, g.const(t.mean_, "target_mean"))
        return y
    if name == "MinMaxScaler":
        return g.op("Div", g.op("Sub", y, g.const(t.min_, "target_min")),
                    g.const(t.scale_, "target_scale"))
    if name == "MaxAbsScaler":
        return g.op("Mul", y, g.const(t.scale_, "target_scale"))
    raise UnsupportedError(f"TransformedTargetRegressor with transformer {name} is not "
                           "supported; FunctionTransformer (numpy ufuncs), StandardScaler, "
                           "MinMaxScaler and MaxAbsScaler are")


@register("sklearn.compose.TransformedTargetRegressor")
def transformed_target_regressor(g, est, x):
    pred = convert_step(g, est.regressor_, x)["predict"]
    two_d = g.op("Reshape", pred, shape=[0, -1])
    y = _inverse_target(g, est, two_d)
    if est._training_dim == 1:
        y = g.op("Reshape", y, shape=[-1])
    return {"predict": y}


@register("sklearn.model_selection.GridSearchCV", "sklearn.model_selection.RandomizedSearchCV",
          "sklearn.model_selection.HalvingGridSearchCV",
          "sklearn.model_selection.HalvingRandomSearchCV")
def search_cv(g, est, x):
    if not hasattr(est, "best_estimator_"):
        raise UnsupportedError(f"{type(est).__name__} fitted with refit=False has no "
                               "best_estimator_ to convert")
    return convert_step(g, est.best_estimator_, x)


def zeros_column(g, x):
    """[N, 1] zeros (finite whatever x holds)."""
    nan = g.op("IsNaN", g.op("Slice", x, axis=1, start=0, end=1))
    return g.op("Mul", g.op("Cast", nan, to=g.dtype), g.scalar(0.0))


@register("sklearn.dummy.DummyRegressor")
def dummy_regressor(g, est, x):
    const = np.asarray(est.constant_, dtype=np.float64).reshape(-1)
    zeros = zeros_column(g, x)
    y = g.op("Add", zeros, g.const(const, "constant"))
    if est.n_outputs_ == 1:
        y = g.op("Reshape", y, shape=[-1])
    return {"predict": y}


@register("sklearn.dummy.DummyClassifier")
def dummy_classifier(g, est, x):
    if est._strategy not in ("prior", "most_frequent", "constant"):
        raise UnsupportedError(f"DummyClassifier(strategy={est.strategy!r}) is random; "
                               "prior, most_frequent and constant are supported")
    if est.n_outputs_ != 1:
        raise UnsupportedError("multi-output DummyClassifier is not supported")
    classes = np.asarray(est.classes_)
    k = len(classes)
    if est._strategy == "constant":
        idx = int(np.flatnonzero(classes == est.constant)[0])
        proba = np.eye(k)[idx]
    elif est._strategy == "most_frequent":
        idx = int(np.argmax(est.class_prior_))
        proba = np.eye(k)[idx]
    else:
        idx = int(np.argmax(est.class_prior_))
        proba = np.asarray(est.class_prior_, dtype=np.float64)
    zeros = zeros_column(g, x)
    p = g.op("Add", zeros, g.const(proba, "proba"))
    label = g.op("Cast", g.op("Reshape", g.op("Add", zeros, g.scalar(float(idx))), shape=[-1]),
                 to="int64")
    set_classes(g, classes)
    return {"predict": label, "predict_proba": p}
