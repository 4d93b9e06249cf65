"""GTN-ML: trained classical ML models compiled into fast tensor programs.

    import gtn.ml
    m = gtn.ml.convert(fitted_sklearn_model, dtype="float64")   # or "float32"
    m.predict(X); m.predict_proba(X)        # the source model's methods
    m.save("model.gtnml"); m2 = gtn.ml.load("model.gtnml")
    gtn.ml.supported()                       # what converts
"""
from gtn import UnsupportedError
from gtn.ml import convert as _converters  # noqa: F401  (registers every converter)
from gtn.ml import registry as _registry
from gtn.ml.graph import GraphBuilder
from gtn.ml.model import Model

__all__ = ["convert", "load", "supported", "to_graph", "Model", "UnsupportedError"]

BACKENDS = ("cpu", "reference")


def supported():
    """Public names of the estimator classes gtn.ml.convert accepts."""
    return _registry.supported()


def convert(model, dtype="float64", backend="cpu"):
    """Compiles a fitted scikit-learn (or XGBoost sklearn-API) model into a gtn.ml.Model.

    dtype: compute precision, "float64" or "float32". backend: "cpu" or "reference".
    Raises UnsupportedError for models or options that do not convert, ValueError for an
    unfitted model or a bad argument.
    """
    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    public, fn = _registry.find(model)
    _registry.check_fitted(model)
    if getattr(fn, "builds_model", False):
        return fn(model, dtype, backend)
    from gtn import _core

    graph_json, constants = to_graph(model, dtype)
    return Model(_core.ml_compile(graph_json, constants, backend))


def to_graph(model, dtype="float64"):
    """The graph (JSON text, {name: constant array}) of a fitted model (docs/ml/graph.md)."""
    public, fn = _registry.find(model)
    _registry.check_fitted(model)
    if getattr(fn, "builds_model", False):
        raise UnsupportedError(f"{public} is loaded by the C++ core, not built as a graph")
    n_features = getattr(model, "n_features_in_", None)
    if n_features is None:
        raise ValueError(f"{public} has no n_features_in_: is it fitted?")
    g = GraphBuilder(dtype, n_features)
    outputs = _registry.convert_step(g, model, g.input)
    g.metadata.update(_source_metadata(public, n_features, dtype))
    return g.to_json(outputs), g.constants


def load(path, backend="cpu"):
    """Reads a model written by Model.save, compiled for `backend` ("cpu" or "reference")."""
    from gtn import _core

    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    return Model(_core.ml_load(str(path), backend))


def _source_metadata(public, n_features, dtype):
    meta = {"source": public, "n_features": int(n_features), "dtype": dtype}
    try:
        import sklearn

        meta["sklearn_version"] = sklearn.__version__
    except ImportError:
        pass
    return meta
