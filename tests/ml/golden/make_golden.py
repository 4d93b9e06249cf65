"""Writes the golden GTN model files (format version 1) that every later reader must load.

Run once per format version from the repository root against a build of that version:
GTN_CORE_DIR=build/<dir>/python PYTHONPATH=python .venv/bin/python tests/ml/golden/make_golden.py
"""
import json
import pathlib

import numpy as np
from gtn import _core

here = pathlib.Path(__file__).parent
graph = {
    "format": "gtn-ml-graph", "version": 1, "dtype": "float64",
    "inputs": [{"name": "X", "shape": [-1, 3]}],
    "outputs": {"predict": "label", "predict_proba": "proba", "decision_function": "z"},
    "nodes": [
        {"op": "MatMul", "inputs": ["X", "W"], "outputs": ["xw"]},
        {"op": "Add", "inputs": ["xw", "b"], "outputs": ["z"]},
        {"op": "Softmax", "inputs": ["z"], "outputs": ["proba"], "attrs": {"axis": -1}},
        {"op": "ArgMax", "inputs": ["proba"], "outputs": ["label"], "attrs": {"axis": 1}},
    ],
    "metadata": {"source": "golden"},
}
W = np.array([[1, -1], [0.5, 2], [0, -2]], dtype=np.float64)
b = np.array([0.1, -0.1])
_core.ml_compile(json.dumps(graph), {"W": W, "b": b}).save(str(here / "linear_v1.gtnml"))
xgb = _core.ml_load(str(here.parent / "xgboost" / "binary_logistic.json"))
xgb.set_option("tree_strategy", "interleaved")
xgb.save(str(here / "xgboost_binary_v1.gtnml"))
print("wrote", sorted(p.name for p in here.glob("*.gtnml")))
