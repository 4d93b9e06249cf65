"""gtn.dataset: the Python API over GTN-F datasets."""
import io
import json

import numpy as np
import pytest

import gtn


def make_basic(path, n=10):
    ds = gtn.dataset(path)
    ds.create_tensor("image", htype="image", dtype="uint8")
    ds.create_tensor("embedding", htype="embedding")
    ds.create_tensor("label", htype="class_label", class_names=["cat", "dog", "fish"])
    ds.create_tensor("text", htype="text")
    rng = np.random.default_rng(0)
    data = {
        "image": rng.integers(0, 256, size=(n, 8, 8, 3), dtype=np.uint8),
        "embedding": rng.standard_normal((n, 16), dtype=np.float32),
        "label": np.arange(n, dtype=np.int64) % 3,
        "text": [f"sample number {i} " + "x" * i for i in range(n)],
    }
    ds.extend(data)
    ds.flush()
    return ds, data


def test_create_append_read_roundtrip(tmp_path):
    ds, data = make_basic(tmp_path / "ds")
    assert len(ds) == 10
    assert list(ds.tensors) == ["image", "embedding", "label", "text"]
    s = ds[3]
    assert set(s) == {"image", "embedding", "label", "text"}
    np.testing.assert_array_equal(s["image"], data["image"][3])
    np.testing.assert_array_equal(s["embedding"], data["embedding"][3])
    assert s["label"] == 0 and s["label"].dtype == np.int64
    assert s["text"] == data["text"][3]
    np.testing.assert_array_equal(ds[-1]["image"], data["image"][9])
    np.testing.assert_array_equal(ds[np.int64(2)]["embedding"], data["embedding"][2])


def test_append_python_values_and_reopen(tmp_path):
    path = tmp_path / "ds"
    with gtn.dataset(path) as ds:
        ds.create_tensor("x", dtype="float32")
        ds.create_tensor("n", dtype="uint8")
        ds.create_tensor("t", htype="text")
        ds.append({"x": [1.5, 2.5], "n": 7, "t": "héllo"})
        ds.append({"x": np.array([3, 4], dtype=np.int16), "n": 200, "t": "world"})
        with pytest.raises(ValueError, match="rank"):
            ds.append({"x": [1.0, 2.0], "n": [1], "t": "rank 1 is not rank 0"})
    ds = gtn.dataset(path, read_only=True)
    assert len(ds) == 2
    np.testing.assert_array_equal(ds[0]["x"], np.array([1.5, 2.5], np.float32))
    assert ds[0]["n"] == 7 and ds[0]["n"].dtype == np.uint8
    np.testing.assert_array_equal(ds[1]["x"], np.array([3, 4], np.float32))
    assert ds[0]["t"] == "héllo"


def test_batches_slices_and_lists(tmp_path):
    ds, data = make_basic(tmp_path / "ds")
    b = ds[[7, 1, 1]]
    np.testing.assert_array_equal(b["image"], data["image"][[7, 1, 1]])
    np.testing.assert_array_equal(b["label"], data["label"][[7, 1, 1]])
    assert b["text"] == [data["text"][i] for i in (7, 1, 1)]
    r = ds[2:5]
    np.testing.assert_array_equal(r["embedding"], data["embedding"][2:5])
    assert r["text"] == data["text"][2:5]
    stepped = ds[::4]
    np.testing.assert_array_equal(stepped["label"], data["label"][::4])
    np.testing.assert_array_equal(ds[np.array([0, 9])]["image"], data["image"][[0, 9]])
    assert ds[5:5]["image"].shape == (0,)


def test_tensor_views(tmp_path):
    ds, data = make_basic(tmp_path / "ds")
    t = ds["image"]
    assert t.htype == "image" and t.dtype == "uint8" and len(t) == 10
    np.testing.assert_array_equal(t[4].numpy(), data["image"][4])
    np.testing.assert_array_equal(t[2:6].numpy(), data["image"][2:6])
    np.testing.assert_array_equal(t[[3, 0]].numpy(), data["image"][[3, 0]])
    np.testing.assert_array_equal(t.numpy(), data["image"])
    assert ds["label"].class_names == ["cat", "dog", "fish"]
    assert ds["text"][1].numpy() == data["text"][1]
    assert ds["text"][0:2].numpy() == data["text"][0:2]


def test_ragged_samples_come_back_as_lists(tmp_path):
    ds = gtn.dataset(tmp_path / "ds")
    ds.create_tensor("boxes", htype="bbox")
    boxes = [np.zeros((k, 4), np.float32) + k for k in (1, 3, 2)]
    ds.extend({"boxes": boxes})
    out = ds["boxes"][0:3].numpy()
    assert isinstance(out, list) and [o.shape for o in out] == [(1, 4), (3, 4), (2, 4)]
    for o, b in zip(out, boxes):
        np.testing.assert_array_equal(o, b)
    bigger_first = ds["boxes"][[1, 0]].numpy()  # a later sample smaller than the first
    assert [o.shape for o in bigger_first] == [(3, 4), (1, 4)]
    np.testing.assert_array_equal(bigger_first[1], boxes[0])
    same = ds["boxes"][[0, 0]].numpy()
    assert isinstance(same, np.ndarray) and same.shape == (2, 1, 4)


def test_json_and_bytes(tmp_path):
    ds = gtn.dataset(tmp_path / "ds")
    ds.create_tensor("meta", htype="json")
    ds.create_tensor("blob", dtype="bytes")
    ds.append({"meta": {"a": [1, 2], "b": "x"}, "blob": b"\x00\x01\xff"})
    ds.append({"meta": [1, None], "blob": bytearray(b"zz")})
    assert ds[0]["meta"] == {"a": [1, 2], "b": "x"}
    assert ds[1]["meta"] == [1, None]
    assert ds[0]["blob"] == b"\x00\x01\xff"
    assert ds["meta"][0:2].numpy() == [{"a": [1, 2], "b": "x"}, [1, None]]


def test_images_with_jpeg_and_png(tmp_path):
    ds = gtn.dataset(tmp_path / "ds")
    ds.create_tensor("png", htype="image", sample_compression="png")
    ds.create_tensor("jpg", htype="image", sample_compression="jpeg")
    rng = np.random.default_rng(1)
    noisy = rng.integers(0, 256, size=(16, 20, 3), dtype=np.uint8)
    smooth = np.full((16, 20, 3), 120, np.uint8)
    ds.append({"png": noisy, "jpg": smooth})
    np.testing.assert_array_equal(ds[0]["png"], noisy)  # png is lossless
    assert ds[0]["jpg"].shape == (16, 20, 3)
    assert np.abs(ds[0]["jpg"].astype(int) - 120).max() <= 3  # jpeg is close
    assert ds["png"].info["sample_compression"] == "png"


def test_update_and_pop(tmp_path):
    ds, data = make_basic(tmp_path / "ds")
    ds["label"][2] = 1
    ds["text"][2] = "changed"
    new_img = np.full((8, 8, 3), 9, np.uint8)
    ds["image"][-1] = new_img
    assert ds[2]["label"] == 1 and ds[2]["text"] == "changed"
    np.testing.assert_array_equal(ds[9]["image"], new_img)
    ds.pop()
    assert len(ds) == 9
    ds.flush()
    ds.close()
    again = gtn.dataset(tmp_path / "ds", read_only=True)
    assert len(again) == 9 and again[2]["text"] == "changed"


def test_summary_returns_a_printable_summary(tmp_path, capsys):
    ds, _ = make_basic(tmp_path / "ds")
    s = ds.summary()
    assert capsys.readouterr().out == ""  # returned, not printed
    assert s["tensors"]["embedding"]["htype"] == "embedding"
    print(s)
    out = capsys.readouterr().out
    assert "embedding: htype embedding, dtype float32" in out and "htype class_label" in out
    assert "gtn.Dataset" in repr(ds)


def test_context_manager_flushes(tmp_path):
    with gtn.dataset(tmp_path / "ds") as ds:
        ds.create_tensor("v", dtype="int32")
        ds.extend({"v": np.arange(5, dtype=np.int32)})
    ds2 = gtn.dataset(tmp_path / "ds", read_only=True)
    np.testing.assert_array_equal(ds2["v"].numpy(), np.arange(5, dtype=np.int32))


def test_dtype_conversion_rules(tmp_path):
    ds = gtn.dataset(tmp_path / "ds")
    ds.create_tensor("i", dtype="int32")
    ds.create_tensor("f", dtype="float32")
    with pytest.raises(ValueError, match="same_kind"):
        ds.append({"i": np.array([1.5]), "f": [1.0]})
    with pytest.raises(ValueError, match="same_kind"):
        ds.append({"i": [1.5], "f": [1.0]})
    with pytest.raises(ValueError, match="range"):
        ds.append({"i": [2**40], "f": [1.0]})
    with pytest.raises(ValueError):
        ds.append({"i": ["a"], "f": [1.0]})
    ds.append({"i": np.array([3], np.int64), "f": np.array([2.0], np.float64)})  # same_kind narrowing
    assert ds[0]["i"].dtype == np.int32 and ds[0]["f"].dtype == np.float32


def test_errors_wrong_rank_and_missing_tensors(tmp_path):
    ds = gtn.dataset(tmp_path / "ds")
    ds.create_tensor("image", htype="image", dtype="uint8")
    ds.create_tensor("t", htype="text")
    with pytest.raises(ValueError):
        ds.append({"image": np.zeros((4,), np.uint8), "t": "x"})  # an image needs rank 2 or 3
    with pytest.raises(ValueError, match="missing"):
        ds.append({"image": np.zeros((2, 2, 3), np.uint8)})
    with pytest.raises(KeyError, match="unknown"):
        ds.append({"image": np.zeros((2, 2, 3), np.uint8), "t": "x", "nope": 1})
    with pytest.raises(ValueError, match="text"):
        ds.append({"image": np.zeros((2, 2, 3), np.uint8), "t": 5})
    with pytest.raises(ValueError, match="same number"):
        ds.extend({"image": np.zeros((2, 2, 2, 3), np.uint8), "t": ["a"]})
    with pytest.raises(KeyError):
        ds["nope"]
    assert len(ds) == 0


def test_out_of_range(tmp_path):
    ds, _ = make_basic(tmp_path / "ds")
    with pytest.raises(IndexError, match="out of range"):
        ds[10]
    with pytest.raises(IndexError):
        ds[-11]
    with pytest.raises(IndexError):
        ds[[0, 99]]
    with pytest.raises(IndexError):
        ds["image"][12].numpy()


def test_read_only_refuses_writes(tmp_path):
    make_basic(tmp_path / "ds")[0].close()
    ro = gtn.dataset(tmp_path / "ds", read_only=True)
    assert ro.read_only
    sample = {"image": np.zeros((8, 8, 3), np.uint8), "embedding": np.zeros(16, np.float32), "label": 0, "text": "x"}
    for write in (lambda: ro.append(sample), lambda: ro.create_tensor("new"), ro.pop, lambda: ro["label"].__setitem__(0, 1)):
        with pytest.raises(ValueError, match="read-only"):
            write()
    assert len(ro) == 10


def test_second_writer_is_locked(tmp_path):
    ds, _ = make_basic(tmp_path / "ds")
    with pytest.raises(gtn.LockedError, match="locked"):
        gtn.dataset(tmp_path / "ds")
    reader = gtn.dataset(tmp_path / "ds", read_only=True)  # readers are never locked out
    assert len(reader) == 10
    ds.close()
    gtn.dataset(tmp_path / "ds").close()  # the lock goes with the writer


def test_not_a_dataset(tmp_path):
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "file.txt").write_text("hello")
    with pytest.raises(FileNotFoundError, match="not a GTN dataset"):
        gtn.dataset(tmp_path / "plain", read_only=True)
    with pytest.raises(FileNotFoundError):
        gtn.dataset(tmp_path / "missing", read_only=True)


def test_corrupt_chunk_raises_corruption_error(tmp_path):
    ds, _ = make_basic(tmp_path / "ds")
    ds.close()
    chunks = sorted(p for p in (tmp_path / "ds").rglob("*") if p.is_file() and "chunk" in p.name)
    assert chunks, "expected chunk files in the dataset"
    broken = chunks[0]
    raw = bytearray(broken.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    broken.write_bytes(bytes(raw))
    with pytest.raises(gtn.CorruptionError, match=broken.name):
        ro = gtn.dataset(tmp_path / "ds", read_only=True)  # detected when opened or when read
        for i in range(len(ro)):
            ro[i]
    problems = gtn._core.fsck(str(tmp_path / "ds"))
    assert any(broken.name in obj for obj, _ in problems)


def test_closed_dataset_refuses_use(tmp_path):
    ds, _ = make_basic(tmp_path / "ds")
    ds.close()
    with pytest.raises(ValueError, match="closed"):
        len(ds)


def test_arrays_over_1k_are_read_only_views(tmp_path):
    ds2 = gtn.dataset(tmp_path / "ds2")
    ds2.create_tensor("big", dtype="float64")
    ds2.append({"big": np.arange(1000, dtype=np.float64)})
    ds2.flush()
    ds2.close()
    ro = gtn.dataset(tmp_path / "ds2", read_only=True)
    a = ro[0]["big"]
    assert not a.flags.writeable
    np.testing.assert_array_equal(a, np.arange(1000, dtype=np.float64))
    del ro
    np.testing.assert_array_equal(a, np.arange(1000, dtype=np.float64))  # the view keeps its bytes alive


def test_tensors_mapping_iteration_and_info(tmp_path):
    ds, data = make_basic(tmp_path / "ds", n=4)
    tensors = ds.tensors
    assert isinstance(tensors["label"], gtn.Tensor)
    info = tensors["image"].info
    assert info["length"] == 4 and info["min_shape"] == (8, 8, 3) and info["max_shape"] == (8, 8, 3)
    assert info["sample_compression"] == "none" and info["raw_bytes"] == 4 * 8 * 8 * 3
    rows = list(ds)
    assert len(rows) == 4 and [r["text"] for r in rows] == data["text"]
    with pytest.raises(TypeError):
        ds[1.5]
    with pytest.raises(TypeError):
        ds["image"]["x"]


def test_tensor_added_later_reads_empty_for_earlier_rows(tmp_path):
    ds = gtn.dataset(tmp_path / "ds")
    ds.create_tensor("a", dtype="int64")
    ds.extend({"a": [1, 2]})
    ds.create_tensor("note", htype="text")
    ds.create_tensor("meta", htype="json")
    ds.append({"a": 3, "note": "third", "meta": {"k": 3}})
    assert ds[0]["note"] == "" and ds[0]["meta"] is None
    assert ds[2]["note"] == "third" and ds[2]["meta"] == {"k": 3}
