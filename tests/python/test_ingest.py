"""gtn.ingest: image folders, JSONL, CSV and .npy files into datasets."""
import json

import numpy as np
import pytest
from PIL import Image

import gtn


def write_png(path, seed, size=(7, 9)):
    rng = np.random.default_rng(seed)
    px = rng.integers(0, 256, size=(*size, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(px).save(path)
    return px


def test_image_folder_with_a_non_image_file(tmp_path):
    src = tmp_path / "src"
    a = write_png(src / "ant" / "1.png", 1)
    b = write_png(src / "bee" / "2.png", 2)
    rng = np.random.default_rng(3)
    jpg = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    Image.fromarray(jpg).save(src / "bee" / "3.jpg", quality=95)
    (src / "bee" / "labels.txt").write_text("not an image")
    seen = []
    with pytest.warns(UserWarning, match="skipped 1 file"):
        report = gtn.ingest(src, tmp_path / "ds", progress=lambda done, total: seen.append((done, total)))
    assert report["format"] == "folder"
    assert report["samples"] == 3 and report["skipped_files"] == 1
    assert "labels.txt" in report["warnings"][0]
    assert seen[-1] == (3, 3)
    ds = gtn.dataset(tmp_path / "ds", read_only=True)
    assert ds["labels"].class_names == ["ant", "bee"]
    np.testing.assert_array_equal(ds["labels"].numpy(), [0, 1, 1])
    np.testing.assert_array_equal(ds[0]["images"], a)  # PNG stays lossless
    np.testing.assert_array_equal(ds[1]["images"], b)
    assert ds[2]["images"].shape == (8, 8, 3)


def test_jsonl(tmp_path):
    px = write_png(tmp_path / "pics" / "p.png", 5)
    rows = [{"text": "first", "label": 3, "emb": [0.5, 1.5], "image": "pics/p.png", "meta": {"a": 1}},
            {"text": "second", "label": 4, "emb": [2.5, 3.5], "image": "pics/p.png", "meta": None}]
    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    report = gtn.ingest(tmp_path / "d.jsonl", tmp_path / "ds")
    assert report["tensors"] == ["text", "label", "emb", "image", "meta"]
    ds = gtn.dataset(tmp_path / "ds", read_only=True)
    assert ds[1]["text"] == "second"
    assert ds[1]["label"] == 4 and ds["label"].dtype == "int64"
    np.testing.assert_array_equal(ds["emb"].numpy(), np.array([[0.5, 1.5], [2.5, 3.5]], np.float32))
    np.testing.assert_array_equal(ds[0]["image"], px)
    assert ds[0]["meta"] == {"a": 1} and ds[1]["meta"] is None


def test_csv(tmp_path):
    (tmp_path / "t.csv").write_text('id,name,score\n1,"a, b",0.25\n2,c,1e3\n')
    gtn.ingest(tmp_path / "t.csv", tmp_path / "ds")
    ds = gtn.dataset(tmp_path / "ds", read_only=True)
    np.testing.assert_array_equal(ds["id"].numpy(), [1, 2])
    assert ds["name"][0:2].numpy() == ["a, b", "c"]
    np.testing.assert_array_equal(ds["score"].numpy(), [0.25, 1000.0])


def test_npy_file_and_folder(tmp_path):
    x = np.arange(24, dtype=np.float32).reshape(6, 2, 2)
    y = np.arange(6, dtype=np.int16)
    (tmp_path / "arrays").mkdir()
    np.save(tmp_path / "arrays" / "x.npy", x)
    np.save(tmp_path / "arrays" / "y.npy", y)
    report = gtn.ingest(tmp_path / "arrays", tmp_path / "ds")
    assert report["format"] == "npy" and report["tensors"] == ["x", "y"]
    ds = gtn.dataset(tmp_path / "ds", read_only=True)
    np.testing.assert_array_equal(ds["x"].numpy(), x)
    np.testing.assert_array_equal(ds["y"].numpy(), y)
    gtn.ingest(tmp_path / "arrays" / "x.npy", tmp_path / "one")
    np.testing.assert_array_equal(gtn.dataset(tmp_path / "one")["x"][5].numpy(), x[5])


@pytest.mark.parametrize("array, message", [
    (np.array([{"a": 1}, None], dtype=object), "object arrays"),
    (np.asfortranarray(np.ones((3, 2))), "Fortran order"),
    (np.ones(3, dtype=">f4"), "big-endian"),
])
def test_bad_npy(tmp_path, array, message):
    np.save(tmp_path / "bad.npy", array, allow_pickle=True)
    with pytest.raises(ValueError, match=message):
        gtn.ingest(tmp_path / "bad.npy", tmp_path / "ds")


def test_truncated_npy_and_unknown_format(tmp_path):
    np.save(tmp_path / "a.npy", np.ones(100))
    raw = (tmp_path / "a.npy").read_bytes()
    (tmp_path / "a.npy").write_bytes(raw[:-8])
    with pytest.raises(ValueError, match="bytes, expected"):
        gtn.ingest(tmp_path / "a.npy", tmp_path / "ds")
    (tmp_path / "x.xml").write_text("<x/>")
    with pytest.raises(ValueError, match="cannot tell the format"):
        gtn.ingest(tmp_path / "x.xml", tmp_path / "ds2")
    with pytest.raises(ValueError, match="unknown source format"):
        gtn.ingest(tmp_path / "x.xml", tmp_path / "ds3", format="xml")
    with pytest.raises(FileNotFoundError):
        gtn.ingest(tmp_path / "missing.csv", tmp_path / "ds4")
