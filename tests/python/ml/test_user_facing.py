"""GTN-ML as users meet it: the CLI writes labels, every bad path is a clear error, NaN is
refused where the source refuses it, models pickle, XGBoost .ubj files load. Real data:
scikit-learn's bundled data sets."""
import concurrent.futures
import json
import multiprocessing
import os
import pickle
import shutil
import subprocess
import warnings

import numpy as np
import pytest
from conftest import ATOL, RTOL
from sklearn import ensemble, linear_model, preprocessing, svm, tree
from sklearn.datasets import load_breast_cancer, load_iris, load_wine
from sklearn.pipeline import make_pipeline

import gtn
import gtn.ml

CLI = os.environ.get("GTN_CLI") or shutil.which("gtn")


def gtn_cli(*args):
    assert CLI, "set GTN_CLI to the gtn binary or put gtn on PATH"
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


@pytest.fixture(scope="module")
def cancer():
    return load_breast_cancer(return_X_y=True)


@pytest.fixture(scope="module")
def forest_file(iris, tmp_path_factory):
    X, y = iris
    est = ensemble.RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0).fit(X, y)
    path = tmp_path_factory.mktemp("models") / "forest.gtnml"
    gtn.ml.convert(est).save(path)
    np.save(path.parent / "X.npy", X)
    return path


# --- gtn ml predict writes class labels -----------------------------------------------

@pytest.mark.parametrize("labels", [[10, 20], [-1, 1], [1.0, 3.0], [True, False]],
                         ids=["int", "signed", "float", "bool"])
def test_cli_predict_writes_numeric_labels(labels, cancer, tmp_path):
    X, y = cancer
    target = np.asarray(labels)[y]
    est = linear_model.LogisticRegression(max_iter=5000).fit(X, target)
    gtn.ml.convert(est).save(tmp_path / "m.gtnml")
    np.save(tmp_path / "X.npy", X)
    r = gtn_cli("ml", "predict", tmp_path / "m.gtnml", tmp_path / "X.npy", "-o", tmp_path / "y.npy")
    assert r.returncode == 0, r.stderr
    got = np.load(tmp_path / "y.npy")
    want = est.predict(X)
    np.testing.assert_array_equal(got, want)
    assert got.dtype == want.dtype
    assert "class labels" in r.stdout


def test_cli_predict_writes_string_labels(tmp_path):
    data = load_wine()
    X, names = data.data, np.asarray(data.target_names)[data.target]
    est = make_pipeline(preprocessing.StandardScaler(),
                        svm.SVC(kernel="rbf", random_state=0)).fit(X, names)
    gtn.ml.convert(est).save(tmp_path / "m.gtnml")
    np.save(tmp_path / "X.npy", X)
    r = gtn_cli("ml", "predict", tmp_path / "m.gtnml", tmp_path / "X.npy", "-o", tmp_path / "y.npy")
    assert r.returncode == 0, r.stderr
    got = np.load(tmp_path / "y.npy")
    assert got.dtype.kind == "U"
    np.testing.assert_array_equal(got, est.predict(X))
    # Methods that are not labels are written as computed.
    r = gtn_cli("ml", "predict", tmp_path / "m.gtnml", tmp_path / "X.npy", "-o",
                tmp_path / "d.npy", "--method", "decision_function")
    assert r.returncode == 0, r.stderr
    np.testing.assert_allclose(np.load(tmp_path / "d.npy"), est.decision_function(X),
                               rtol=1e-9, atol=1e-12)


# --- every bad path is a clear error ---------------------------------------------------

def assert_cli_error(r, *words):
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert r.stderr.startswith("gtn: error: "), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    for w in words:
        assert w in r.stderr, (w, r.stderr)


def test_a_directory_is_not_a_model(forest_file, tmp_path):
    X = forest_file.parent / "X.npy"
    assert_cli_error(gtn_cli("ml", "info", tmp_path), "is a directory", "expected a model file")
    assert_cli_error(gtn_cli("ml", "predict", tmp_path, X, "-o", tmp_path / "y.npy"),
                     "is a directory", "expected a model file")
    with pytest.raises(ValueError, match="is a directory; expected a model file"):
        gtn.ml.load(tmp_path)
    from gtn import _core
    with pytest.raises(ValueError, match="is a directory"):
        _core.ml_load(str(tmp_path))


def test_files_that_are_not_models(forest_file, tmp_path):
    X = forest_file.parent / "X.npy"
    (tmp_path / "empty.gtnml").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("hello\n")
    cases = {"empty.gtnml": "is empty", "notes.txt": 'starts with "hello', "X.npy": ".npy file",
             "est.pkl": "gtn.ml.convert(model).save(path)"}
    shutil.copy(X, tmp_path / "X.npy")
    (tmp_path / "est.pkl").write_bytes(pickle.dumps(linear_model.Ridge()))
    for name, words in cases.items():
        for args in (("info", tmp_path / name), ("predict", tmp_path / name, X, "-o", tmp_path / "y.npy")):
            assert_cli_error(gtn_cli("ml", *args), words, "expected a GTN model file")
        with pytest.raises(ValueError, match="expected a GTN model file"):
            gtn.ml.load(tmp_path / name)
    (tmp_path / "bad.json").write_text('{"learner": 3}')
    assert_cli_error(gtn_cli("ml", "info", tmp_path / "bad.json"), "bad.json", "XGBoost JSON model")
    with pytest.raises(ValueError, match="XGBoost JSON model"):
        gtn.ml.load(tmp_path / "bad.json")


def test_bad_inputs_and_outputs_of_predict(forest_file, tmp_path):
    X = forest_file.parent / "X.npy"
    assert_cli_error(gtn_cli("ml", "predict", forest_file, tmp_path, "-o", tmp_path / "y.npy"),
                     "is a folder")
    assert_cli_error(gtn_cli("ml", "predict", forest_file, X, "-o", tmp_path), "is a directory")
    assert_cli_error(gtn_cli("ml", "predict", forest_file, X, "-o", tmp_path / "no" / "y.npy"),
                     "does not exist")
    assert_cli_error(gtn_cli("ml", "predict", forest_file, forest_file, "-o", tmp_path / "y.npy"))
    np.save(tmp_path / "X3.npy", np.zeros((2, 3)))
    assert_cli_error(gtn_cli("ml", "predict", forest_file, tmp_path / "X3.npy", "-o", tmp_path / "y.npy"),
                     "model expects 4 features, got 3")
    assert_cli_error(gtn_cli("ml", "predict", forest_file, X, "-o", tmp_path / "y.npy", "-m", "fly"),
                     "no method 'fly'")
    assert_cli_error(gtn_cli("ml", "predict", forest_file, X, "-o", tmp_path / "y.npy", "--strategy", "x"),
                     "tree_strategy")


def test_gpu_backend_is_a_clear_error(forest_file, tmp_path):
    X = forest_file.parent / "X.npy"
    for backend in ("gpu", "cuda"):
        r = gtn_cli("ml", "predict", forest_file, X, "-o", tmp_path / "y.npy", "--backend", backend)
        assert_cli_error(r, "no GPU backend yet", '"cpu"', '"reference"')
        assert not (tmp_path / "y.npy").exists()
        with pytest.raises(ValueError, match="no GPU backend yet"):
            gtn.ml.load(forest_file, backend=backend)
    assert_cli_error(gtn_cli("ml", "info", forest_file, "--backend", "tpu"), "unknown backend 'tpu'")


# --- NaN and infinity: refused exactly where the source refuses them ---------------------

def _poisoned(X, value, row=3, col=2):
    X = X.copy()
    X[row, col] = value
    return X


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("make", [
    lambda: linear_model.LogisticRegression(max_iter=5000),
    lambda: make_pipeline(preprocessing.StandardScaler(), linear_model.LogisticRegression()),
    lambda: svm.SVC(),
    lambda: ensemble.GradientBoostingClassifier(n_estimators=5, random_state=0),
], ids=["logistic", "scaler+logistic", "svc", "gradient_boosting"])
def test_nan_is_refused_like_the_source(make, dtype, cancer):
    X, y = cancer
    est = make().fit(X, y)
    m = gtn.ml.convert(est, dtype=dtype)
    for value, message in ((np.nan, "Input X contains NaN"), (np.inf, "Input X contains infinity"),
                           (-np.inf, "Input X contains infinity")):
        Xbad = _poisoned(X, value).astype(dtype)
        with pytest.raises(ValueError, match=message):
            est.predict(Xbad)
        for method in m.methods:
            with pytest.raises(ValueError, match=message) as err:
                getattr(m, method)(Xbad)
        assert "row 3, feature 2" in str(err.value)
    name = "LogisticRegression" if "LogisticRegression" in repr(est) else type(est).__name__
    with pytest.raises(ValueError, match=f"{name} does not accept missing values"):
        m.predict(_poisoned(X, np.nan))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_bad_values_in_later_tiles_name_their_row(dtype, cancer):
    # Batches are checked tile by tile as they run, on every thread: the error still names
    # the first bad element of the whole batch, and the caller's X is left as it was.
    X, y = cancer
    est = linear_model.LogisticRegression(max_iter=5000).fit(X, y)
    m = gtn.ml.convert(est, dtype=dtype)
    big = np.tile(X, (120, 1)).astype(dtype)  # 68,280 rows: many tiles
    np.testing.assert_allclose(m.predict_proba(big), est.predict_proba(big), rtol=RTOL[dtype], atol=ATOL[dtype])
    for cells, first in (([(61234, 7)], (61234, 7)), ([(60001, 3), (12345, 29), (68279, 0)], (12345, 29)),
                         ([(68279, 29)], (68279, 29))):
        bad = big.copy()
        for r, c in cells:
            bad[r, c] = np.inf
        before = bad.copy()
        for threads in (0, 1):
            with pytest.raises(ValueError, match="Input X contains infinity") as err:
                m.predict_proba(bad, n_threads=threads)
            assert f"row {first[0]}, feature {first[1]}" in str(err.value)
        np.testing.assert_array_equal(bad, before)


@pytest.mark.parametrize("make,refuses_inf", [
    (lambda: tree.DecisionTreeClassifier(max_depth=5, random_state=0), True),
    (lambda: ensemble.RandomForestClassifier(n_estimators=5, random_state=0), True),
    (lambda: ensemble.HistGradientBoostingClassifier(max_iter=10, random_state=0), False),
], ids=["tree", "forest", "hist_gradient_boosting"])
def test_models_that_take_nan(make, refuses_inf, cancer):
    X, y = cancer
    est = make().fit(X, y)
    m = gtn.ml.convert(est)
    Xnan = _poisoned(X, np.nan)
    np.testing.assert_array_equal(m.predict(Xnan), est.predict(Xnan))
    np.testing.assert_allclose(m.predict_proba(Xnan), est.predict_proba(Xnan), rtol=0, atol=1e-12)
    Xinf = _poisoned(X, np.inf)
    if refuses_inf:
        with pytest.raises(ValueError, match="Input X contains infinity"):
            est.predict(Xinf)
        with pytest.raises(ValueError, match="Input X contains infinity"):
            m.predict(Xinf)
    else:
        np.testing.assert_array_equal(m.predict(Xinf), est.predict(Xinf))


def test_cli_refuses_nan_like_the_source(cancer, tmp_path):
    X, y = cancer
    est = linear_model.LogisticRegression(max_iter=5000).fit(X, y)
    gtn.ml.convert(est).save(tmp_path / "lr.gtnml")
    np.save(tmp_path / "X.npy", _poisoned(X, np.nan, row=7, col=0))
    r = gtn_cli("ml", "predict", tmp_path / "lr.gtnml", tmp_path / "X.npy", "-o", tmp_path / "y.npy")
    assert_cli_error(r, "Input X contains NaN (row 7, feature 0)", "LogisticRegression")


def test_models_saved_without_the_nan_rule_still_load(cancer, tmp_path):
    # A graph without "input_finite" in its metadata (files written before the rule) runs
    # as before: no check.
    X, y = cancer
    est = linear_model.LogisticRegression(max_iter=5000).fit(X, y)
    graph_json, consts = gtn.ml.to_graph(est)
    graph = json.loads(graph_json)
    assert graph["metadata"]["input_finite"] == "all"
    del graph["metadata"]["input_finite"]
    from gtn import _core
    m = gtn.ml.Model(_core.ml_compile(json.dumps(graph), consts))
    assert np.isnan(m.predict_proba(_poisoned(X, np.nan))[3]).all()


# --- pickling -----------------------------------------------------------------------------

def _predict_in_worker(args):
    model, X = args
    return model.predict_proba(X), model.predict(X)


@pytest.mark.parametrize("backend", ["cpu", "reference"])
def test_models_pickle(backend, iris):
    X, y = iris
    labels = np.array(["setosa", "versicolor", "virginica"], dtype=object)[y]
    est = ensemble.HistGradientBoostingClassifier(max_iter=10, random_state=0).fit(X, labels)
    m = gtn.ml.convert(est, dtype="float32", backend=backend)
    m.set_option("tree_strategy", "gemm")
    m2 = pickle.loads(pickle.dumps(m))
    assert m2.backend == backend and m2.methods == m.methods and m2.dtype == "float32"
    assert m2._compiled.options() == {"tree_strategy": "gemm"}
    np.testing.assert_array_equal(m2.predict(X), est.predict(X))
    np.testing.assert_array_equal(m2.predict_proba(X), m.predict_proba(X))


def test_models_go_to_worker_processes(iris):
    X, y = iris
    est = linear_model.LogisticRegression(max_iter=1000).fit(X, y)
    m = gtn.ml.convert(est)
    ctx = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx) as pool:
        results = list(pool.map(_predict_in_worker, [(m, X[:75]), (m, X[75:])]))
    np.testing.assert_array_equal(np.concatenate([r[1] for r in results]), est.predict(X))
    np.testing.assert_allclose(np.concatenate([r[0] for r in results]), est.predict_proba(X),
                               rtol=1e-12, atol=1e-15)


# --- XGBoost .ubj ----------------------------------------------------------------------

def test_xgboost_ubj_loads(cancer, tmp_path):
    import xgboost

    X, y = cancer
    clf = xgboost.XGBClassifier(n_estimators=20, max_depth=3).fit(X, y)
    booster = clf.get_booster()
    booster.save_model(tmp_path / "m.ubj")
    booster.save_model(tmp_path / "m.json")
    assert (tmp_path / "m.ubj").read_bytes()[:1] == b"{"
    ubj = gtn.ml.load(tmp_path / "m.ubj")
    js = gtn.ml.load(tmp_path / "m.json")
    np.testing.assert_array_equal(ubj.predict_proba(X), js.predict_proba(X))
    want = clf.predict_proba(X)
    np.testing.assert_allclose(ubj.predict_proba(X), want, rtol=0, atol=1e-6)
    from gtn import _core
    m64 = _core.ml_load_xgboost_json(str(tmp_path / "m.ubj"), "float64")
    np.testing.assert_array_equal(m64.run("predict_proba", X),
                                  _core.ml_load_xgboost_json(str(tmp_path / "m.json"), "float64")
                                  .run("predict_proba", X))
    r = gtn_cli("ml", "info", tmp_path / "m.ubj")
    assert r.returncode == 0, r.stderr
    # A damaged .ubj says what it is and what to do.
    data = (tmp_path / "m.ubj").read_bytes()
    (tmp_path / "cut.ubj").write_bytes(data[: len(data) // 3])
    with pytest.raises(ValueError, match="XGBoost UBJSON model.*save_model"):
        gtn.ml.load(tmp_path / "cut.ubj")
    assert_cli_error(gtn_cli("ml", "info", tmp_path / "cut.ubj"), "XGBoost UBJSON model")
