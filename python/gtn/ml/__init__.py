"""GTN-ML: trained classical ML models compiled into fast tensor programs.

    import gtn.ml
    m = gtn.ml.convert(fitted_sklearn_model, dtype="float64")   # or "float32"
    m = gtn.ml.convert(model, "torch", test_input, extra_config={})  # Hummingbird's call
    m.predict(X); m.predict_proba(X)        # the source model's methods
    m.save("model.gtnml"); m2 = gtn.ml.load("model.gtnml")   # also XGBoost .json / .ubj
    pickle.dumps(m)                          # models pickle (multiprocessing)
    gtn.ml.supported()                       # what converts
"""
import os
import re
import warnings

import numpy as np

from gtn import UnsupportedError
from gtn.ml import convert as _converters  # noqa: F401  (registers every converter)
from gtn.ml import registry as _registry
from gtn.ml.graph import GraphBuilder
from gtn.ml.model import Model

from gtn.ml.onnx_import import load_onnx

__all__ = ["blas_info", "convert", "load", "load_onnx", "supported", "to_graph", "Model", "UnsupportedError"]

BACKENDS = ("cpu", "reference")


def supported():
    """Public names of the estimator classes gtn.ml.convert accepts."""
    return _registry.supported()


def blas_info():
    """The BLAS GTN-ML's CPU backend runs on, e.g.
    ``'OpenBLAS 0.3.34... DYNAMIC_ARCH ... / kernels: Haswell'``: the linked OpenBLAS's build
    configuration and the kernel family it chose for this CPU (OPENBLAS_CORETYPE overrides)."""
    from gtn import _core

    return _core.ml_blas_info()


# Hummingbird's backends: GTN compiles every model for its own executor instead.
HUMMINGBIRD_BACKENDS = ("pytorch", "torch", "torch.jit", "torchscript", "script", "onnx", "tvm")
# Hummingbird's extra_config keys GTN honours (others are ignored with a warning).
_TREE_IMPLEMENTATIONS = {"gemm": "gemm", "tree_trav": "tree_traversal",
                         "perf_tree_trav": "perfect_tree_traversal"}


def convert(model, backend="cpu", test_input=None, device="cpu", extra_config=None, *,
            dtype=None):
    """Compiles a fitted scikit-learn / XGBoost / LightGBM model into a gtn.ml.Model.

    dtype: compute precision, "float64" (default) or "float32". backend: "cpu" (the
    optimized executor) or "reference" (the interpreter).

    Hummingbird's signature works too (`hummingbird.ml.convert(model, backend, test_input,
    device, extra_config)`): its backends ("pytorch", "torch", "torch.jit", "onnx", "tvm")
    and device "cpu" run on GTN's CPU executor; extra_config's "n_threads",
    "tree_implementation" ("gemm", "tree_trav", "perf_tree_trav") and
    "tree_op_precision_dtype" are honoured; test_input is run once and must have the
    model's feature count. Arguments without a GTN meaning (a GPU device, batch_size, ...)
    are ignored with a UserWarning naming them.

    Raises UnsupportedError for models or options that do not convert, ValueError for an
    unfitted model or a bad argument.
    """
    extra_config = dict(extra_config or {})
    if backend in ("float32", "float64") and dtype is None:
        dtype, backend = backend, "cpu"  # convert(model, "float32"): the dtype, positionally
    ignored = []
    if backend in HUMMINGBIRD_BACKENDS:
        ignored.append(f"backend={backend!r} (GTN runs its own compiled CPU executor)")
        backend = "cpu"
    if device not in ("cpu", None):
        ignored.append(f"device={device!r} (GTN-ML runs on the CPU)")
    precision = extra_config.pop("tree_op_precision_dtype", None)
    if dtype is None:
        dtype = precision or "float64"
    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    n_threads = extra_config.pop("n_threads", 0)
    tree_impl = extra_config.pop("tree_implementation", None)
    if tree_impl is not None and tree_impl not in _TREE_IMPLEMENTATIONS:
        raise ValueError(f"extra_config tree_implementation={tree_impl!r}: expected one of "
                         f"{', '.join(_TREE_IMPLEMENTATIONS)}")
    ignored += [f"extra_config[{k!r}]" for k in sorted(extra_config)]
    if ignored:
        warnings.warn("gtn.ml.convert ignores " + "; ".join(ignored), UserWarning, stacklevel=2)
    _check_backend(backend)
    public, fn = _registry.find(model)
    _registry.check_fitted(model)
    if getattr(fn, "builds_model", False):
        m = fn(model, dtype, backend)
    else:
        from gtn import _core

        graph_json, constants = to_graph(model, dtype)
        m = Model(_core.ml_compile(graph_json, constants, backend))
    if tree_impl is not None and '"TreeEnsemble"' in m.graph_json():
        m.set_option("tree_strategy", _TREE_IMPLEMENTATIONS[tree_impl])
    m.n_threads = int(n_threads)
    if test_input is not None:
        getattr(m, m.methods[0])(test_input)
    return m


def to_graph(model, dtype="float64"):
    """The graph (JSON text, {name: constant array}) of a fitted model (docs/ml/graph.md)."""
    public, fn = _registry.find(model)
    _registry.check_fitted(model)
    if getattr(fn, "builds_model", False):
        raise UnsupportedError(f"{public} is loaded by the C++ core, not built as a graph")
    n_features = getattr(model, "n_features_in_", None)
    if n_features is None and hasattr(fn, "n_features"):
        n_features = fn.n_features(model)
    if n_features is None:
        raise ValueError(f"{public} has no n_features_in_: is it fitted?")
    g = GraphBuilder(dtype, n_features)
    outputs = _registry.convert_step(g, model, g.input)
    g.metadata.update(_source_metadata(public, n_features, dtype))
    g.metadata.update(_input_finite(model, n_features))
    return g.to_json(outputs), g.constants


def load(path, backend="cpu"):
    """Reads a model written by Model.save, an XGBoost .json / .ubj model file, a LightGBM
    text model or (by its .onnx suffix, through load_onnx) an ONNX-ML file,
    compiled for `backend` ("cpu" or "reference").

    FileNotFoundError for a missing path; ValueError for a folder or a file that is not a
    model (the message says what was found and what is expected); gtn.CorruptionError
    for a damaged model file.
    """
    from gtn import _core

    _check_backend(backend)
    path = os.fsdecode(os.fspath(path))
    if "\0" in path:
        raise ValueError(f"the model path contains a NUL byte: {path!r}")
    if path.endswith(".onnx") and os.path.isfile(path):
        return load_onnx(path, backend=backend)
    return Model(_core.ml_load(path, backend))


def _check_backend(backend):
    if backend in BACKENDS:
        return
    if backend in HUMMINGBIRD_BACKENDS:
        raise ValueError(f"backend {backend!r} is a Hummingbird backend; gtn.ml.load compiles "
                         'for "cpu" or "reference"')
    if backend in ("gpu", "cuda"):
        raise ValueError(f"backend {backend!r}: GTN-ML has no GPU backend yet; expected "
                         '"cpu" (the optimized executor) or "reference" (the interpreter)')
    raise ValueError(f"unknown backend {backend!r}; expected \"cpu\" or \"reference\"")


def _input_finite(model, n_features):
    """Whether the source refuses NaN / infinite inputs, found by asking it.

    A one-row probe (zeros with one NaN, then one inf) goes through the source model's
    first prediction method; a ValueError naming NaN (infinity) means the source refuses
    it, and so will the compiled model ("input_finite": "all" or "allow-nan"). Asking the
    model itself gets pipelines right (a scaler passes NaN on to a model that refuses it).
    """
    method = next((getattr(model, m) for m in ("predict", "transform", "score_samples",
                                               "decision_function", "predict_proba")
                   if hasattr(model, m)), None)
    if method is None:
        return {}
    refused = {}
    for name, value, word in (("nan", np.nan, "NaN"), ("inf", np.inf, "infinity")):
        X = np.zeros((1, int(n_features)))
        X[0, 0] = value
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                method(X)
        except ValueError as e:
            if word in str(e):
                refused[name] = str(e)
        except Exception:  # noqa: BLE001  (any other failure says nothing about NaN)
            pass
    if "nan" in refused:
        meta = {"input_finite": "all"}
        who = re.search(r"(\w+) does not accept missing values", refused["nan"])
        if who:
            meta["input_finite_refused_by"] = who.group(1)
        return meta
    if "inf" in refused:
        return {"input_finite": "allow-nan"}
    return {}


def _source_metadata(public, n_features, dtype):
    meta = {"source": public, "n_features": int(n_features), "dtype": dtype}
    try:
        import sklearn

        meta["sklearn_version"] = sklearn.__version__
    except ImportError:
        pass
    return meta
