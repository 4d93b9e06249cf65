"""ds.summary() on real data (scikit-learn's bundled CSVs, its DESCR texts and shipped
JPEGs) checked against numpy and pandas; views, updates and deletions; the plot."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import gtn


def sklearn_file(*parts):
    import sklearn
    return Path(sklearn.__file__).parent / "datasets" / Path(*parts)


@pytest.fixture
def breast_cancer(tmp_path):
    gtn.ingest(sklearn_file("data", "breast_cancer.csv"), tmp_path / "bc")
    return gtn.dataset(tmp_path / "bc", read_only=True)


def check_values(stats, values):
    """stats (a summary's "values") against numpy on the same numbers."""
    values = np.asarray(values, dtype=np.float64).ravel()
    finite = values[np.isfinite(values)]
    assert stats["count"] == finite.size
    assert stats["nan_count"] == np.isnan(values).sum()
    assert stats["inf_count"] == np.isinf(values).sum()
    assert stats["min"] == finite.min() and stats["max"] == finite.max()
    assert stats["mean"] == pytest.approx(finite.mean(), rel=1e-13)
    assert stats["std"] == pytest.approx(finite.std(), rel=1e-12)
    edges = np.array(stats["histogram"]["edges"])
    counts, _ = np.histogram(finite, bins=edges)
    assert stats["histogram"]["counts"] == counts.tolist()


def test_breast_cancer_against_numpy_and_sklearn(breast_cancer):
    import sklearn.datasets
    bunch = sklearn.datasets.load_breast_cancer()
    s = breast_cancer.summary()
    assert isinstance(s, gtn.Summary)
    assert s["rows"] == 569 and s["dataset_rows"] == 569 and not s["view"]
    data = s["tensors"]["data"]
    assert data["dtype"] == "float64" and data["count"] == 569 and data["empty_count"] == 0
    assert data["min_shape"] == [30] and data["max_shape"] == [30]
    assert data["shapes"] == [{"shape": [30], "count": 569}]
    assert data["bytes"] == bunch.data.nbytes
    check_values(data["values"], bunch.data)
    assert len(data["values"]["histogram"]["counts"]) == 32
    target = s["tensors"]["target"]
    names, counts = np.unique(bunch.target_names[bunch.target], return_counts=True)
    assert target["class_counts"] == {"malignant": 212, "benign": 357} == dict(zip(names, counts.tolist()))
    assert list(target["class_counts"]) == list(bunch.target_names)  # class order
    assert target["labels"] == 569
    storage = data["storage"]
    info = breast_cancer.tensors["data"].info
    assert storage["num_chunks"] == info["num_chunks"] and storage["stored_bytes"] == info["stored_bytes"]
    assert data["compression_ratio"] == storage["raw_bytes"] / storage["stored_bytes"]
    text = str(s)
    assert "classes (569 labels): malignant 212, benign 357" in text
    assert repr(s) == text and "<pre>" in s._repr_html_()


def test_view_rows_in_any_order_with_repeats(tmp_path):
    import sklearn.datasets
    gtn.ingest(sklearn_file("data", "iris.csv"), tmp_path / "iris")
    ds = gtn.dataset(tmp_path / "iris", read_only=True)
    iris = sklearn.datasets.load_iris()
    rows = np.random.default_rng(0).integers(0, 150, size=400)
    s = ds.summary(rows=rows)
    assert s["view"] and s["rows"] == 400 and s["dataset_rows"] == 150
    check_values(s["tensors"]["data"]["values"], iris.data[rows])
    expected = pd.Series(iris.target_names[iris.target[rows]]).value_counts()
    assert s["tensors"]["target"]["class_counts"] == {n: int(expected.get(n, 0)) for n in iris.target_names}
    # A list works too, and only the tensors asked for are summarized.
    t = ds.summary(rows=[3, 3, 149], tensors="target")
    assert list(t["tensors"]) == ["target"]
    assert t["tensors"]["target"]["class_counts"] == {"setosa": 2, "versicolor": 0, "virginica": 1}
    empty = ds.summary(rows=[])["tensors"]["data"]
    assert empty["count"] == 0 and empty["values"]["count"] == 0
    assert empty["values"]["min"] is None and empty["values"]["mean"] is None
    assert empty["values"]["histogram"] == {"edges": [], "counts": []}


def test_text_lengths_against_pandas(tmp_path):
    import sklearn.datasets
    lines = []
    for loader in ("load_iris", "load_wine", "load_breast_cancer", "load_digits", "load_diabetes"):
        lines += getattr(sklearn.datasets, loader)().DESCR.splitlines()
    lines.append("naïve café 日本語")
    ds = gtn.dataset(tmp_path / "text")
    ds.create_tensor("line", htype="text", chunk_compression="zstd", chunk_size=4096)
    ds.extend({"line": lines})
    ds.flush()
    s = ds.summary()["tensors"]["line"]
    lengths = pd.Series(lines).str.len()
    t = s["text_lengths"]
    assert t["count"] == len(lines) and t["min"] == lengths.min() and t["max"] == lengths.max()
    assert t["mean"] == pytest.approx(lengths.mean(), rel=1e-12)
    for q in (1, 5, 25, 50, 75, 95, 99):
        assert t["percentiles"][f"p{q}"] == pytest.approx(lengths.quantile(q / 100), rel=1e-12), q
    counts, _ = np.histogram(lengths, bins=np.array(t["histogram"]["edges"]))
    assert t["histogram"]["counts"] == counts.tolist()
    assert s["empty_count"] == (lengths == 0).sum() > 0
    assert s["bytes"] == sum(len(x.encode()) for x in lines)
    assert s["storage"]["num_chunks"] == ds["line"].info["num_chunks"] > 1
    assert s["storage"]["chunk_bytes"]["counts"] == np.histogram(
        [f.stat().st_size for f in (tmp_path / "text" / "chunks").rglob("*.chunk")],
        bins=np.array(s["storage"]["chunk_bytes"]["edges"]))[0].tolist()
    assert "values" not in s


def test_shipped_jpegs_and_the_plot(tmp_path):
    src = tmp_path / "src" / "photos"
    src.mkdir(parents=True)
    jpegs = sorted(sklearn_file("images").glob("*.jpg"))
    assert len(jpegs) == 2
    for p in jpegs:
        (src / p.name).write_bytes(p.read_bytes())
    gtn.ingest(tmp_path / "src", tmp_path / "ds")
    ds = gtn.dataset(tmp_path / "ds", read_only=True)
    s = ds.summary()
    pixels = [ds[i]["images"] for i in range(len(ds))]
    images = s["tensors"]["images"]
    assert images["count"] == 2 and images["sample_compression"] == "jpeg"
    assert images["shapes"][0]["shape"] == list(pixels[0].shape)
    check_values(images["values"], np.concatenate([p.ravel() for p in pixels]))
    # uint8: 256 values in 32 bins of 8.
    assert images["values"]["histogram"]["edges"][1] - images["values"]["histogram"]["edges"][0] == 8
    assert images["compression_ratio"] > 2  # JPEG
    out = s.plot(tmp_path / "summary.png")
    img = np.asarray(Image.open(out).convert("RGB"))
    # Panels: images values, labels classes: 2 panels in one row of 420 x 280 under a 44-pixel header.
    assert img.shape == (44 + 280, 2 * 420, 3)
    non_white = (img < 250).any(axis=2).mean()
    assert 0.3 < non_white < 0.95
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 20


def test_updates_deletions_and_unflushed_rows(tmp_path):
    ds = gtn.dataset(tmp_path / "ds")
    ds.create_tensor("x", dtype="float32", chunk_size=1000)
    rng = np.random.default_rng(3)
    ds.extend({"x": rng.normal(size=(2000, 3)).astype(np.float32)})
    ds.flush()
    ds["x"][10] = np.array([np.nan, 1e6, -np.inf], np.float32)
    ds["x"][[5, 6]] = np.zeros((2, 3), np.float32)
    ds.delete_samples([0, 1999, 700])
    ds.append({"x": np.array([7, 8, 9], np.float32)})  # buffered, not in a chunk yet
    s = ds.summary()["tensors"]["x"]
    check_values(s["values"], ds["x"].numpy())
    assert s["count"] == len(ds)
    assert s["storage"]["buffered_samples"] == 1
    assert s["storage"]["num_slices"] >= s["storage"]["num_chunks"]


def test_bad_arguments_are_clear_errors(breast_cancer, tmp_path):
    with pytest.raises(IndexError, match="row 569 .* out of range for dataset of 569 rows"):
        breast_cancer.summary(rows=[0, 569])
    with pytest.raises(IndexError, match="row -1"):
        breast_cancer.summary(rows=[-1])
    with pytest.raises(TypeError, match="row positions"):
        breast_cancer.summary(rows=[0.5])
    with pytest.raises(FileNotFoundError, match="no tensor 'nope'.*tensors: data target"):
        breast_cancer.summary(tensors=["nope"])
    with pytest.raises(ValueError, match="bins"):
        breast_cancer.summary(bins=0)
    with pytest.raises(OSError, match="cannot write the summary plot"):
        breast_cancer.summary().plot(tmp_path / "missing" / "x.png")


def test_summary_is_a_plain_mapping(breast_cancer):
    s = breast_cancer.summary(tensors=["target"])
    d = s.to_dict()
    d["tensors"]["target"]["class_counts"]["benign"] = -1
    assert s["tensors"]["target"]["class_counts"]["benign"] == 357
    assert set(s) == {"version", "commit", "uncommitted", "dataset_rows", "view", "rows", "tensors"}
    assert dict(s)["rows"] == 569 and len(s) == 7


def test_views_from_queries_and_indices(tmp_path):
    import sklearn.datasets
    gtn.ingest(sklearn_file("data", "iris.csv"), tmp_path / "iris")
    ds = gtn.dataset(tmp_path / "iris")
    iris = sklearn.datasets.load_iris()
    v = ds.query("SELECT * WHERE target == 'virginica' ORDER BY data[0] DESC LIMIT 30")
    s = v.summary()
    assert s["view"] and s["rows"] == 30
    assert s["tensors"]["target"]["class_counts"] == {"setosa": 0, "versicolor": 0, "virginica": 30}
    top = np.sort(iris.data[iris.target == 2][:, 0])[::-1][:30]
    assert s["tensors"]["data"]["values"]["max"] == top[0]
    check_values(s["tensors"]["data"]["values"], iris.data[v.indices.astype(np.int64)])
    w = ds.view([149, 0, 0, 75])
    t = w.summary(tensors=["target"])
    assert t["tensors"]["target"]["class_counts"] == {"setosa": 2, "versicolor": 1, "virginica": 1}
