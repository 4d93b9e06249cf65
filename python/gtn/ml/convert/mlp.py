"""Multi-layer perceptrons: dense layers with the fitted activations."""
from gtn import UnsupportedError
from gtn.ml.convert.common import argmax, binary_proba, index_of_positive, ravel, set_classes
from gtn.ml.registry import register

ACTIVATIONS = {"identity": None, "logistic": "Sigmoid", "tanh": "Tanh", "relu": "Relu",
               "exp": "Exp"}


def _forward(g, est, x):
    """The output layer's pre-activation and activation name."""
    n_layers = len(est.coefs_)
    for i, (w, b) in enumerate(zip(est.coefs_, est.intercepts_)):
        x = g.op("Add", g.op("MatMul", x, g.const(w, f"W{i}")), g.const(b, f"b{i}"))
        if i < n_layers - 1 and ACTIVATIONS[est.activation]:
            x = g.op(ACTIVATIONS[est.activation], x)
    return x


@register("sklearn.neural_network.MLPClassifier")
def mlp_classifier(g, est, x):
    z = _forward(g, est, x)
    set_classes(g, est.classes_)
    if est.out_activation_ == "logistic" and len(est.classes_) == 2:
        p = ravel(g, g.op("Sigmoid", z))
        return {"predict_proba": binary_proba(g, p),
                "predict": index_of_positive(g, g.op("Sub", p, g.scalar(0.5)))}
    if est.out_activation_ == "softmax":
        p = g.op("Softmax", z, axis=1)
        return {"predict_proba": p, "predict": argmax(g, p)}
    raise UnsupportedError("MLPClassifier for multi-label targets is not supported; "
                           "binary and multiclass classifiers are")


@register("sklearn.neural_network.MLPRegressor")
def mlp_regressor(g, est, x):
    y = _forward(g, est, x)
    if est.out_activation_ not in ACTIVATIONS:
        raise UnsupportedError(f"MLPRegressor output activation {est.out_activation_!r} is "
                               f"not supported; {', '.join(ACTIVATIONS)} are")
    if ACTIVATIONS[est.out_activation_]:
        y = g.op(ACTIVATIONS[est.out_activation_], y)
    return {"predict": ravel(g, y) if est.n_outputs_ == 1 else y}


@register("sklearn.neural_network.BernoulliRBM")
def bernoulli_rbm(g, est, x):
    z = g.op("Add", g.op("MatMul", x, g.const(est.components_.T, "components_T")),
             g.const(est.intercept_hidden_, "intercept_hidden"))
    return {"transform": g.op("Sigmoid", z)}
