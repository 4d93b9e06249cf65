"""Converters, one module per model family; importing this package registers them all."""
from gtn.ml.convert import (boosting, ensembles, iforest, lightgbm, linear, mlp, multiclass,  # noqa: F401
                            naive_bayes, neighbors, pipeline, preprocessing, svm, trees, xgboost)
