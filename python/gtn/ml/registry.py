"""Registry: estimator class -> converter function (one file per family under convert/)."""
from gtn import UnsupportedError

_CONVERTERS = {}  # (top-level package, class name) -> (public dotted name, function)


def register(*public_names):
    """Decorator: `@register("sklearn.svm.SVC")` makes the function convert that class.

    A converter is `fn(g: GraphBuilder, estimator, x: str) -> {method: value name}`.
    """

    def wrap(fn):
        for public in public_names:
            key = (public.split(".")[0], public.rsplit(".", 1)[1])
            _CONVERTERS[key] = (public, fn)
        return fn

    return wrap


def supported():
    """Sorted public names of every estimator class that converts."""
    return sorted(public for public, _ in _CONVERTERS.values())


def _key(estimator):
    cls = type(estimator)
    return (cls.__module__.split(".")[0], cls.__name__)


def find(estimator):
    """The converter for `estimator`, or UnsupportedError listing what is supported."""
    entry = _CONVERTERS.get(_key(estimator))
    if entry is None:
        cls = type(estimator)
        raise UnsupportedError(
            f"gtn.ml cannot convert {cls.__module__}.{cls.__name__}; "
            f"supported: {', '.join(supported())}")
    return entry


def convert_step(g, estimator, x):
    """Converts one (possibly nested) estimator reading value `x`; returns {method: value}."""
    _, fn = find(estimator)
    check_fitted(estimator)
    return fn(g, estimator, x)


def check_fitted(estimator):
    """ValueError if `estimator` has not been fitted (scikit-learn's own check when present)."""
    if _key(estimator)[0] == "sklearn":
        from sklearn.exceptions import NotFittedError
        from sklearn.utils.validation import check_is_fitted
        try:
            check_is_fitted(estimator)
        except NotFittedError as e:
            raise ValueError(f"cannot convert an unfitted model: {e}") from None
