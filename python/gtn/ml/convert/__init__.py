"""Converters, one module per model family; importing this package registers them all."""
from gtn.ml.convert import boosting, ensembles, iforest, linear, trees  # noqa: F401
