"""Pipeline: each step's `transform` feeds the next; the last step gives the methods."""
from gtn import UnsupportedError
from gtn.ml.registry import convert_step, register


@register("sklearn.pipeline.Pipeline")
def pipeline(g, est, x):
    steps = [s for _, s in est.steps if s is not None and s != "passthrough"]
    if not steps:
        raise UnsupportedError("a Pipeline with no estimator steps cannot be converted")
    for step in steps[:-1]:
        out = convert_step(g, step, x)
        if "transform" not in out:
            raise UnsupportedError(
                f"Pipeline step {type(step).__name__} has no transform; only the last step "
                "may be a predictor")
        x = out["transform"]
    return convert_step(g, steps[-1], x)
