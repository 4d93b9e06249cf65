"""Converters, one module per model family; importing this package registers them all."""
from gtn.ml.convert import (boosting, cluster, composition, cross_decomposition,  # noqa: F401
                            decomposition, discriminant, encoders, ensembles, feature_selection,
                            iforest, impute, kernel_methods, lightgbm, linear, meta_ensembles,
                            mlp, multiclass, multioutput, naive_bayes, neighbors, outliers,
                            pipeline, preprocessing, scalers, splines, svm, trees, xgboost)
