"""Converters, one module per model family; importing this package registers them all."""
from gtn.ml.convert import (boosting, cluster, cross_decomposition, decomposition,  # noqa: F401
                            discriminant, encoders, ensembles, feature_selection, iforest, impute,
                            lightgbm, linear, mlp, multiclass, naive_bayes, neighbors, pipeline,
                            preprocessing, scalers, svm, trees, xgboost)
