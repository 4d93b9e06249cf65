"""gtn._core's ML bindings (the C++ core), and the `gtn ml` CLI verb."""
import json
import os
import pathlib
import shutil
import subprocess

import numpy as np
import pytest

from gtn import _core

HERE = pathlib.Path(__file__).parent
GRAPH = {
    "format": "gtn-ml-graph", "version": 1, "dtype": "float64",
    "inputs": [{"name": "X", "shape": [-1, 3]}],
    "outputs": {"predict": "label", "predict_proba": "proba", "both": ["label", "proba"]},
    "nodes": [
        {"op": "MatMul", "inputs": ["X", "W"], "outputs": ["z"]},
        {"op": "Softmax", "inputs": ["z"], "outputs": ["proba"], "attrs": {"axis": 1}},
        {"op": "ArgMax", "inputs": ["proba"], "outputs": ["label"], "attrs": {"axis": 1}},
    ],
    "metadata": {"classes": [0, 1]},
}
W = np.array([[1.0, -1.0], [0.5, 2.0], [0.0, -2.0]])


def expected_proba(X):
    z = np.asarray(X, dtype=np.float64) @ W
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


@pytest.fixture(params=["cpu", "reference"])
def model(request):
    return _core.ml_compile(json.dumps(GRAPH), {"W": W}, request.param)


def test_compile_and_run(model):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 3))
    assert model.methods() == ["both", "predict", "predict_proba"]
    assert model.n_features == 3
    np.testing.assert_allclose(model.run("predict_proba", X), expected_proba(X), rtol=1e-12)
    label = model.run("predict", X, n_threads=2)
    assert label.dtype == np.int64
    np.testing.assert_array_equal(label, expected_proba(X).argmax(1))
    both = model.run("both", X)
    assert isinstance(both, tuple) and len(both) == 2
    np.testing.assert_array_equal(both[0], label)
    assert json.loads(model.metadata_json()) == {"classes": [0, 1]}


def test_inputs_in_any_layout_and_float_dtype(model):
    rng = np.random.default_rng(1)
    big = rng.normal(size=(200, 6))
    for X in (big[:, ::2], np.asfortranarray(big[:, :3]), big[::3, 1:4], big[:, :3].astype(np.float32)):
        np.testing.assert_allclose(model.run("predict_proba", X), expected_proba(X), rtol=1e-6)


def test_errors_are_python_exceptions(model):
    X = np.zeros((4, 3))
    with pytest.raises(ValueError, match="model expects 3 features, got 2"):
        model.run("predict", np.zeros((4, 2)))
    with pytest.raises(ValueError, match="float32 or float64"):
        model.run("predict", np.zeros((4, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="2-d"):
        model.run("predict", np.zeros(3))
    with pytest.raises(ValueError, match="model has no method 'decision_function'; it has: both, predict, predict_proba"):
        model.run("decision_function", X)
    with pytest.raises(ValueError, match="unknown option"):
        model.set_option("colour", "red")
    bad = json.loads(json.dumps(GRAPH))
    bad["nodes"][1]["op"] = "Softmux"
    with pytest.raises(ValueError, match=r"node 1 \(Softmux -> 'proba'\): unknown op 'Softmux'"):
        _core.ml_compile(json.dumps(bad), {"W": W})


def test_save_load_and_corruption(tmp_path, model):
    path = tmp_path / "m.gtnml"
    model.set_option("tile_rows", "16")
    model.save(str(path))
    loaded = _core.ml_load(str(path), model.backend)
    X = np.random.default_rng(2).normal(size=(100, 3))
    np.testing.assert_array_equal(loaded.run("predict_proba", X), model.run("predict_proba", X))
    data = path.read_bytes()
    (tmp_path / "cut.gtnml").write_bytes(data[: len(data) // 2])
    with pytest.raises(_core.CorruptionError):
        _core.ml_load(str(tmp_path / "cut.gtnml"))
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x40
    (tmp_path / "flip.gtnml").write_bytes(bytes(flipped))
    with pytest.raises(_core.CorruptionError, match="checksum"):
        _core.ml_load(str(tmp_path / "flip.gtnml"))
    with pytest.raises(FileNotFoundError):
        _core.ml_load(str(tmp_path / "missing.gtnml"))
    again = _core.ml_compile(model.graph_json(), {"W": W})
    np.testing.assert_array_equal(again.run("predict", X), model.run("predict", X))


def test_xgboost_json_from_path_and_text():
    X = np.load(HERE / "xgboost" / "X.npy")
    want = np.load(HERE / "xgboost" / "multi_softprob.predict.npy")
    text = (HERE / "xgboost" / "multi_softprob.json").read_text()
    for src in (str(HERE / "xgboost" / "multi_softprob.json"), text):
        for dtype in ("float32", "float64"):
            m = _core.ml_load_xgboost_json(src, dtype)
            np.testing.assert_allclose(m.run("predict_proba", X), want, rtol=1e-5, atol=1e-6)
    m = _core.ml_load_xgboost_json(text)
    for strategy in ("gemm", "tree_traversal", "perfect_tree_traversal", "interleaved", "perfect_interleaved",
                     "quickscorer"):
        m.set_option("tree_strategy", strategy)
        np.testing.assert_allclose(m.run("predict_proba", X), want, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError):
        m.set_option("tree_strategy", "fastest")


CLI = os.environ.get("GTN_CLI") or shutil.which("gtn")


def test_cli_predict_and_info(tmp_path):
    assert CLI, "set GTN_CLI to the gtn binary or put gtn on PATH"
    model = HERE / "xgboost" / "binary_logistic.json"
    out = tmp_path / "p.npy"
    r = subprocess.run([CLI, "ml", "predict", str(model), str(HERE / "xgboost" / "X.npy"), "-o", str(out),
                        "--method", "predict_proba", "--threads", "2"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    want = np.load(HERE / "xgboost" / "binary_logistic.predict.npy")
    np.testing.assert_allclose(np.load(out)[:, 1], want, rtol=1e-5, atol=1e-6)
    r = subprocess.run([CLI, "ml", "info", str(model)], capture_output=True, text=True)
    assert r.returncode == 0 and "tree strategy" in r.stdout and "predict_proba" in r.stdout
    r = subprocess.run([CLI, "ml", "predict", str(tmp_path / "nope.gtnml"), str(out), "-o", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "gtn: error: NotFound" in r.stderr


def test_results_never_alias_model_constants():
    graph = json.loads(json.dumps(GRAPH))
    graph["outputs"]["weights"] = "W"
    for backend in ("cpu", "reference"):
        m = _core.ml_compile(json.dumps(graph), {"W": W}, backend)
        got = m.run("weights", np.zeros((2, 3)))
        np.testing.assert_array_equal(got, W)
        got[:] = 7
        np.testing.assert_array_equal(m.run("weights", np.zeros((2, 3))), W)
