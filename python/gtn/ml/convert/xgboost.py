"""XGBoost's scikit-learn API: the booster's JSON goes to the C++ XGBoost loader."""
from gtn.ml.model import Model
from gtn.ml.registry import register


@register("xgboost.XGBClassifier", "xgboost.XGBRegressor", "xgboost.XGBRFClassifier",
          "xgboost.XGBRFRegressor", "xgboost.XGBRanker")
def xgboost_model(est, dtype, backend):
    from gtn import _core

    try:
        booster = est.get_booster()
    except Exception as e:  # xgboost's NotFittedError
        raise ValueError(f"cannot convert an unfitted model: {e}") from None
    if getattr(booster, "best_iteration", None) is not None and est.get_params().get(
            "early_stopping_rounds"):
        # xgboost's predict stops at best_iteration; the JSON holds every tree.
        booster = booster[: booster.best_iteration + 1]
    text = bytes(booster.save_raw("json")).decode("utf-8")
    return Model(_core.ml_load_xgboost_json(text, dtype, backend))


xgboost_model.builds_model = True
