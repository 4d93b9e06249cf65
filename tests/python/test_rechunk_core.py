"""The rechunk binding (``_core.Dataset.rechunk``) on real data: scikit-learn's bundled
JPEGs (china.jpg, flower.jpg), its digits images and labels with a k-nearest-neighbour
graph over them, and the breast-cancer table; every value checked against numpy before
and after, the neighbour graph checked to be the same graph after a reorder."""
from pathlib import Path

import numpy as np
import pytest

import gtn
from gtn import _core


def sklearn_jpegs():
    import sklearn
    folder = Path(sklearn.__file__).parent / "datasets" / "images"
    return [folder / "china.jpg", folder / "flower.jpg"]


def rechunk(ds, layouts, order=None, order_tensor="", max_memory=256 << 20, progress=None, message=""):
    return _core.Dataset.rechunk(ds, layouts, order, order_tensor, max_memory, progress, message)


@pytest.fixture()
def digits_ds(tmp_path):
    from sklearn.datasets import load_digits
    from sklearn.neighbors import NearestNeighbors
    digits = load_digits()
    images = (digits.images * 16).clip(0, 255).astype(np.uint8)  # (1797, 8, 8)
    knn = NearestNeighbors(n_neighbors=6).fit(digits.data)
    neighbors = np.sort(knn.kneighbors(digits.data, return_distance=False)[:, 1:], axis=1).astype(np.int64)
    ds = gtn.dataset(tmp_path / "digits")
    ds.create_tensor("image", htype="image", chunk_size=4096)
    ds.create_tensor("label", htype="class_label", class_names=[str(i) for i in range(10)], chunk_size=512)
    ds.create_tensor("pixels", htype="embedding", chunk_size=8192)
    ds.create_tensor("nb", htype="neighbors", chunk_size=2048)
    ds.extend({"image": images, "label": digits.target.astype(np.int64),
               "pixels": digits.data.astype(np.float32), "nb": neighbors})
    ds.commit("digits")
    return ds, images, digits.target, digits.data.astype(np.float32), neighbors


def test_new_layouts_keep_every_value(digits_ds):
    ds, images, target, pixels, neighbors = digits_ds
    calls = []
    stats = rechunk(ds, {"image": {"chunk_bytes": 64 * 100, "sample_compression": "png"},
                         "pixels": {"chunk_bytes": 256 * 64, "chunk_compression": "zstd", "compression_level": 9},
                         "label": {"chunk_bytes": 8 * 300}},
                    progress=lambda done, total: calls.append((done, total)), message="new layout")
    assert stats["rows"] == len(target) and stats["commit"] == ds.head_commit
    assert sorted(stats["tensors"]) == ["image", "label", "pixels"]
    # Fixed-size samples: chunk counts follow the targets exactly (PNG sizes vary).
    assert ds["pixels"].info["num_chunks"] == -(-len(target) // 64)
    assert ds["label"].info["num_chunks"] == -(-len(target) // 300)
    assert ds["image"].info["num_chunks"] > -(-len(target) // 100)
    assert 0 < stats["peak_memory"] <= 256 << 20
    assert calls and calls[-1][0] == calls[-1][1] and all(a[0] <= b[0] for a, b in zip(calls, calls[1:]))
    assert ds.log()[0]["message"] == "new layout"
    np.testing.assert_array_equal(ds["image"][:].numpy(), images)
    np.testing.assert_array_equal(ds["pixels"][:].numpy(), pixels)
    np.testing.assert_array_equal(ds["label"][:].numpy(), target)
    np.testing.assert_array_equal(ds["nb"][:].numpy(), neighbors)
    assert ds["pixels"].info["chunk_compression"] == "zstd" and ds["pixels"].info["compression_level"] == 9
    assert ds["label"].info["compression_level"] == 0


def test_reorder_by_class_remaps_the_knn_graph(digits_ds):
    ds, images, target, pixels, neighbors = digits_ds
    order = np.argsort(target, kind="stable")  # rows of a class together
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    stats = rechunk(ds, {}, order=order, order_tensor="orig_index", max_memory=4 << 20)
    assert stats["peak_memory"] <= 4 << 20
    np.testing.assert_array_equal(ds["label"][:].numpy(), target[order])
    np.testing.assert_array_equal(ds["image"][:].numpy(), images[order])
    np.testing.assert_array_equal(ds["orig_index"][:].numpy(), order.astype(np.uint64))
    np.testing.assert_array_equal(ds["nb"][:].numpy(), inverse[neighbors[order]])
    # The same graph: every edge (u, v) is (inverse[u], inverse[v]) now.
    old_edges = {(u, v) for u in range(len(order)) for v in neighbors[u]}
    now = ds["nb"][:].numpy()
    new_edges = {(int(order[i]), int(order[j])) for i in range(len(order)) for j in now[i]}
    assert new_edges == old_edges


def test_errors_and_cancel(digits_ds, tmp_path):
    ds, images, target, pixels, neighbors = digits_ds
    head = ds.head_commit
    with pytest.raises(ValueError, match="jpeg sample compression needs dtype uint8"):
        rechunk(ds, {"pixels": {"sample_compression": "jpeg"}})
    with pytest.raises(ValueError, match="no tensor 'nope'"):
        rechunk(ds, {"nope": {"chunk_bytes": 10}})
    with pytest.raises(ValueError, match="unknown layout key 'chunk_size'"):
        rechunk(ds, {"image": {"chunk_size": 10}})
    with pytest.raises(ValueError, match="repeats an earlier position"):
        rechunk(ds, {}, order=np.zeros(len(target), np.int64))
    with pytest.raises(ValueError, match="negative"):
        rechunk(ds, {}, order=-np.arange(len(target)))
    with pytest.raises(TypeError, match="integers"):
        rechunk(ds, {}, order=np.arange(len(target), dtype=np.float64))

    def stop(done, total):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        rechunk(ds, {"image": {"chunk_bytes": 640}}, progress=stop)
    assert ds.head_commit == head and not ds.has_uncommitted_changes
    np.testing.assert_array_equal(ds["image"][:].numpy(), images)


def test_real_jpegs_and_breast_cancer_old_layout_stays_readable(tmp_path):
    from PIL import Image
    from sklearn.datasets import load_breast_cancer
    bunch = load_breast_cancer()
    ds = gtn.dataset(tmp_path / "mixed")
    ds.create_tensor("photo", htype="image", sample_compression="jpeg", chunk_size=1 << 20)
    ds.create_tensor("features", htype="embedding", dtype="float64", chunk_size=4096)
    jpegs = [np.asarray(Image.open(p).convert("RGB")) for p in sklearn_jpegs()]
    n = len(bunch.target)
    ds.extend({"photo": [jpegs[i % 2] for i in range(n)], "features": bunch.data})
    first = ds.commit("ingest")
    photos_before = [ds["photo"][i].numpy() for i in (0, 1)]
    stats = rechunk(ds, {"photo": {"chunk_bytes": 200_000}, "features": {"chunk_bytes": 30 * 8 * 50,
                                                                           "chunk_compression": "lz4"}},
                    max_memory=8 << 20)
    assert stats["peak_memory"] <= 8 << 20
    np.testing.assert_array_equal(ds["features"][:].numpy(), bunch.data)
    for i in (0, 1, n - 1):
        np.testing.assert_array_equal(ds["photo"][i].numpy(), photos_before[i % 2])  # JPEG bytes carried as stored
    old = gtn.dataset(tmp_path / "mixed", read_only=True, version=first)
    assert old["features"].info["num_chunks"] == -(-n // (4096 // 240))  # 17 rows of 240 bytes a chunk
    assert ds["features"].info["num_chunks"] == -(-n // 50)
    np.testing.assert_array_equal(old["features"][:].numpy(), bunch.data)
