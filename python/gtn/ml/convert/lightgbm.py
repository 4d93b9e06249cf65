"""LightGBM's scikit-learn API: the booster's text model goes to the C++ LightGBM loader."""
import json

import numpy as np

from gtn import UnsupportedError
from gtn.ml.model import Model
from gtn.ml.registry import register


@register("lightgbm.LGBMClassifier", "lightgbm.LGBMRegressor", "lightgbm.LGBMRanker")
def lightgbm_model(est, dtype, backend):
    from gtn import _core

    try:
        booster = est.booster_
    except Exception as e:  # lightgbm's NotFittedError
        raise ValueError(f"cannot convert an unfitted model: {e}") from None
    if getattr(est, "_objective", None) is not None and callable(est._objective):
        raise UnsupportedError("LightGBM models with a custom objective function are not "
                               "supported (their output transform is unknown)")
    # predict() stops at best_iteration_ when early stopping found one.
    n_iter = getattr(est, "best_iteration_", None) or -1
    text = booster.model_to_string(num_iteration=n_iter)
    meta = {"source": f"lightgbm.{type(est).__name__}"}
    if hasattr(est, "classes_"):
        classes = np.asarray(est.classes_)
        meta["classes"] = classes.tolist()
        meta["classes_dtype"] = "object" if classes.dtype == object else classes.dtype.str
        meta["label_methods"] = ["predict"]
    try:
        import lightgbm

        meta["lightgbm_version"] = lightgbm.__version__
    except ImportError:
        pass
    return Model(_core.ml_load_lightgbm(text, dtype, backend, json.dumps(meta)))


lightgbm_model.builds_model = True
