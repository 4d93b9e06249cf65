"""Model: a compiled GTN-ML model with the prediction methods of its source estimator."""
import functools
import json

import numpy as np

METHODS = ("predict", "predict_proba", "decision_function", "transform", "score_samples")


class Model:
    """Wraps gtn._core.CompiledModel: checks inputs, maps class indices to labels.

    Prediction methods (`predict`, `predict_proba`, ...) exist exactly when the source
    model had them; `methods` lists them.
    """

    def __init__(self, compiled):
        self._compiled = compiled
        self._meta = json.loads(compiled.metadata_json() or "{}")
        self.methods = [m for m in compiled.methods()]
        self.n_features_in_ = int(compiled.n_features)
        self.dtype = json.loads(compiled.graph_json()).get("dtype", "float64")
        self.classes_ = _classes_from_metadata(self._meta)
        self._label_methods = set(self._meta.get("label_methods", []))
        # XGBoost reads its input as float32; so does its graph, at any compute precision.
        self._float32_input = self._meta.get("source") == "xgboost"
        self.n_threads = 0  # default for every method (Hummingbird's extra_config n_threads)

    @property
    def backend(self):
        return self._compiled.backend

    @property
    def metadata(self):
        return dict(self._meta)

    def __getattr__(self, name):
        if name in METHODS and name in self.__dict__.get("methods", ()):
            return functools.partial(self._run, name)
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self.methods))

    def _run(self, method, X, n_threads=None):
        X = self._check_input(X)
        if n_threads is None:
            n_threads = self.n_threads
        for check in self._meta.get("input_checks", []):
            _run_input_check(check, X)
        out = self._compiled.run(method, X, n_threads)
        if method in self._label_methods and self.classes_ is not None:
            out = self.classes_[np.asarray(out).reshape(-1)]
        return out

    def _check_input(self, X):
        if hasattr(X, "to_numpy") and not isinstance(X, np.ndarray):
            X = X.to_numpy()
        X = np.asarray(X)
        if X.ndim == 1 and self._meta.get("input_1d"):
            X = X.reshape(-1, 1)  # LabelEncoder, IsotonicRegression take 1-D input
        if X.dtype.kind in "OUS" and "string_columns" in self._meta:
            X = _map_string_columns(X, self._meta["string_columns"], self.n_features_in_)
        if X.dtype.kind not in "fiub":
            raise ValueError(
                f"X must hold numbers (float32 or float64 expected), got dtype {X.dtype}")
        if self._float32_input:
            X = X.astype(np.float32, copy=False)
        elif X.dtype not in (np.float32, np.float64):
            X = X.astype(self.dtype)
        if X.ndim != 2:
            raise ValueError(
                f"X must be 2-D (n_samples, {self.n_features_in_}), got shape {X.shape}")
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but the model expects {self.n_features_in_}")
        return np.ascontiguousarray(X)

    def to(self, device):
        """Hummingbird's container.to(device): GTN-ML runs on the CPU; "cpu" returns the
        model, any other device warns and returns it unchanged."""
        if str(device) != "cpu":
            import warnings

            warnings.warn(f"gtn.ml.Model.to({device!r}) is ignored: GTN-ML runs on the CPU",
                          UserWarning, stacklevel=2)
        return self

    def set_option(self, name, value):
        """Compiler options, e.g. set_option("tree_strategy", "gemm")."""
        self._compiled.set_option(name, value)

    def graph_json(self):
        return self._compiled.graph_json()

    def save(self, path):
        """Writes the compiled model to `path`; gtn.ml.load(path) reads it back."""
        self._compiled.save(str(path))

    def __reduce__(self):
        # Pickles as the model file's bytes (e.g. to send a model to multiprocessing workers).
        return (_unpickle, (self._compiled.serialize(), self.backend))

    def __repr__(self):
        src = self._meta.get("source", "?")
        return f"<gtn.ml.Model of {src}: {', '.join(self.methods)} on {self.backend}>"


def _unpickle(data, backend):
    from gtn import _core

    return Model(_core.ml_load_bytes(data, backend))


def _classes_from_metadata(meta):
    classes = meta.get("classes")
    if classes is None:
        return None
    dtype = meta.get("classes_dtype")
    return np.array(classes, dtype=dtype if dtype else None)


def _run_input_check(check, X):
    """Input checks the graph cannot express (OneHotEncoder's handle_unknown='error')."""
    if check["kind"] == "known_categories":
        for i, (f, cats) in enumerate(zip(check["features"], check["categories"])):
            unknown = ~np.isin(X[:, f], np.asarray(cats, dtype=X.dtype))
            if check.get("allow_nan") and check["allow_nan"][i]:
                unknown &= ~np.isnan(X[:, f])
            if unknown.any():
                value = X[np.argmax(unknown), f]
                if "message" in check:
                    raise ValueError(f"{check['message']}: [{value!r}]")
                raise ValueError(
                    f"Found unknown category {value!r} in feature {f} during transform; "
                    f"known categories: {cats}")
    elif check["kind"] == "no_new_missing":
        new = [f for f in check["features"] if np.isnan(X[:, f]).any()]
        if new:
            raise ValueError(f"The features {new} have missing values in transform but have no "
                             "missing values in fit.")
    else:
        raise ValueError(f"unknown input check {check['kind']!r} in model metadata")


def _map_string_columns(X, string_columns, n_features):
    """Non-numeric input (object / str array): each column that an encoder reads as strings
    becomes the index of its value in the encoder's categories (NaN when unknown, or a
    ValueError when that encoder refuses unknown categories); other columns become floats."""
    if X.ndim != 2 or X.shape[1] != n_features:
        raise ValueError(f"X must be 2-D (n_samples, {n_features}), got shape {X.shape}")
    out = np.empty(X.shape, dtype=np.float64)
    for f in range(X.shape[1]):
        spec = string_columns.get(str(f))
        if spec is None:
            try:
                out[:, f] = X[:, f].astype(np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"column {f} holds non-numbers but no encoder of the model "
                                 "reads it as categories") from None
            continue
        index = {v: i for i, v in enumerate(spec["categories"])}
        col = X[:, f]
        codes = np.array([index.get(v, np.nan) if isinstance(v, str) or not _nan(v)
                          else np.nan for v in col.tolist()], dtype=np.float64)
        if spec["strict"] and np.isnan(codes).any():
            value = col[np.argmax(np.isnan(codes))]
            if "message" in spec:
                raise ValueError(f"{spec['message']}: [{value!r}]")
            raise ValueError(f"Found unknown category {value!r} in feature {f} during "
                             f"transform; known categories: {spec['categories']}")
        out[:, f] = codes
    return out


def _nan(v):
    return v is None or (isinstance(v, float) and np.isnan(v))
