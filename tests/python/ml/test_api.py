"""gtn.ml's user-facing behaviour: save/load, supported(), input checks, errors."""
import numpy as np
import pytest
from sklearn import ensemble, linear_model, svm
from sklearn.cluster import SpectralClustering

import gtn
import gtn.ml
from conftest import assert_parity


@pytest.fixture(scope="module")
def forest(multiclass):
    X, y, _, _ = multiclass
    return ensemble.RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0).fit(X, y)


def test_supported_lists_the_required_families():
    names = gtn.ml.supported()
    for name in ["sklearn.ensemble.RandomForestClassifier", "sklearn.svm.SVC",
                 "sklearn.linear_model.LogisticRegression", "sklearn.pipeline.Pipeline",
                 "sklearn.neighbors.KNeighborsClassifier", "xgboost.XGBClassifier",
                 "sklearn.ensemble.HistGradientBoostingRegressor",
                 "sklearn.preprocessing.OneHotEncoder", "sklearn.decomposition.PCA"]:
        assert name in names
    assert names == sorted(names)


def test_methods_mirror_the_source(forest, regression):
    m = gtn.ml.convert(forest)
    assert set(m.methods) == {"predict", "predict_proba"}
    assert not hasattr(m, "decision_function")
    X, y, _, _ = regression
    r = gtn.ml.convert(linear_model.Ridge().fit(X, y))
    assert r.methods == ["predict"] and not hasattr(r, "predict_proba")
    np.testing.assert_array_equal(m.classes_, forest.classes_)
    assert m.n_features_in_ == 10


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_save_load_round_trip(dtype, forest, multiclass, tmp_path):
    _, _, Xt, _ = multiclass
    m = gtn.ml.convert(forest, dtype=dtype)
    path = tmp_path / "forest.gtnml"
    m.save(path)
    loaded = gtn.ml.load(path)
    assert loaded.methods == m.methods
    np.testing.assert_array_equal(loaded.predict(Xt), m.predict(Xt))
    np.testing.assert_array_equal(loaded.predict_proba(Xt), m.predict_proba(Xt))
    assert_parity(forest, Xt, dtype, model=loaded)


def test_save_load_keeps_string_labels(multiclass, tmp_path):
    X, y, Xt, _ = multiclass
    labels = np.array(["north", "east", "south", "west"], dtype=object)[y]
    est = linear_model.LogisticRegression(max_iter=1000).fit(X, labels)
    gtn.ml.convert(est).save(tmp_path / "lr.gtnml")
    loaded = gtn.ml.load(tmp_path / "lr.gtnml")
    got = loaded.predict(Xt)
    np.testing.assert_array_equal(got, est.predict(Xt))
    assert got.dtype == object


def test_unsupported_model_lists_supported_ones(binary):
    X, _, _, _ = binary
    with pytest.raises(gtn.UnsupportedError) as err:
        gtn.ml.convert(SpectralClustering(n_clusters=2, random_state=0).fit(X))
    assert "SpectralClustering" in str(err.value)
    assert "sklearn.ensemble.RandomForestClassifier" in str(err.value)
    with pytest.raises(NotImplementedError):
        gtn.ml.convert(object())


def test_unfitted_model_is_a_value_error():
    with pytest.raises(ValueError, match="unfitted|not fitted"):
        gtn.ml.convert(ensemble.RandomForestClassifier())
    with pytest.raises(ValueError, match="unfitted|not fitted"):
        gtn.ml.convert(svm.SVC())


def test_bad_arguments(forest):
    with pytest.raises(ValueError, match="float32"):
        gtn.ml.convert(forest, dtype="int8")
    with pytest.raises(ValueError, match="backend"):
        gtn.ml.convert(forest, backend="tpu")


def test_wrong_inputs(forest, multiclass):
    _, _, Xt, _ = multiclass
    m = gtn.ml.convert(forest)
    with pytest.raises(ValueError, match="10"):
        m.predict(Xt[:, :7])
    with pytest.raises(ValueError, match="2-D"):
        m.predict(Xt[0])
    with pytest.raises(ValueError, match="float32 or float64"):
        m.predict(Xt.astype(str))
    with pytest.raises(ValueError, match="float32 or float64"):
        m.predict(np.array([[object()] * 10]))


def test_other_numeric_inputs_and_dataframe_like(forest, multiclass):
    _, _, Xt, _ = multiclass
    m = gtn.ml.convert(forest)
    ints = np.round(Xt).astype(np.int32)
    np.testing.assert_array_equal(m.predict(ints), forest.predict(ints))

    class Frame:  # what gtn.ml needs of a pandas DataFrame
        def __init__(self, values):
            self.values_ = values

        def to_numpy(self):
            return self.values_

    np.testing.assert_array_equal(m.predict(Frame(Xt)), forest.predict(Xt))
    np.testing.assert_array_equal(m.predict(np.asfortranarray(Xt)), forest.predict(Xt))


def test_empty_batch(forest, multiclass):
    m = gtn.ml.convert(forest)
    assert m.predict_proba(np.zeros((0, 10))).shape == (0, 4)


def test_corrupt_file(forest, tmp_path):
    path = tmp_path / "m.gtnml"
    gtn.ml.convert(forest).save(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "bad.gtnml").write_bytes(bytes(data))
    with pytest.raises(gtn.GTNError):
        gtn.ml.load(tmp_path / "bad.gtnml")
    (tmp_path / "short.gtnml").write_bytes(bytes(data[:10]))
    with pytest.raises(gtn.GTNError):
        gtn.ml.load(tmp_path / "short.gtnml")
    with pytest.raises(FileNotFoundError):
        gtn.ml.load(tmp_path / "missing.gtnml")


def test_tree_strategies_agree(forest, multiclass):
    _, _, Xt, _ = multiclass
    m = gtn.ml.convert(forest)
    expected = forest.predict_proba(Xt)
    for strategy in ("gemm", "tree_traversal"):
        m.set_option("tree_strategy", strategy)
        np.testing.assert_allclose(m.predict_proba(Xt), expected, rtol=1e-12, atol=1e-12)


def test_converters_doc_lists_every_supported_class():
    """docs/ml/converters.md ends with the list of supported classes and states the count."""
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[3] / "docs/ml/converters.md").read_text()
    m = re.search(r"## Every supported class \((\d+)\)\n\n```text\n(.*?)```", doc, re.S)
    assert m, "converters.md has no '## Every supported class (N)' list"
    listed = m.group(2).split()
    names = gtn.ml.supported()
    assert listed == names
    assert int(m.group(1)) == len(names)
    assert f"{len(names)} classes (`gtn.ml.supported()`" in doc
