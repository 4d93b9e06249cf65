"""gtn.Dataset.extend: every form of batch value writes the same samples, whether it
reaches C++ as one buffer per tensor or one value per sample."""
import json

import numpy as np
import pytest

import gtn


def make(path):
    ds = gtn.dataset(path)
    ds.create_tensor("image", htype="image", dtype="uint8")
    ds.create_tensor("embedding", htype="embedding")
    ds.create_tensor("label", htype="generic", dtype="int64")
    ds.create_tensor("text", htype="text")
    ds.create_tensor("blob", htype="generic", dtype="bytes")
    ds.create_tensor("meta", htype="json")
    return ds


def batch(seed, n):
    rng = np.random.default_rng(seed)
    return {
        "image": rng.integers(0, 256, size=(n, 6, 5, 3), dtype=np.uint8),
        "embedding": rng.standard_normal((n, 16), dtype=np.float32),
        "label": rng.integers(-1000, 1000, size=n, dtype=np.int64),
        "text": ["".join(rng.choice(list("abcdé€ "), size=int(k))) for k in rng.integers(0, 40, size=n)],
        "blob": [bytes(rng.integers(0, 256, size=int(k), dtype=np.uint8)) for k in rng.integers(0, 30, size=n)],
        "meta": [{"i": int(i)} for i in rng.integers(0, 99, size=n)],
    }


def as_lists(b):
    """The same batch with every numeric value as a list of per-sample values."""
    return {"image": list(b["image"]), "embedding": [e.tolist() for e in b["embedding"]],
            "label": [int(v) for v in b["label"]], "text": list(b["text"]), "blob": list(b["blob"]),
            "meta": list(b["meta"])}


def check(ds, batches):
    rows = [(k, j) for k, b in enumerate(batches) for j in range(len(b["label"]))]
    assert len(ds) == len(rows)
    for i, (k, j) in enumerate(rows):
        s, b = ds[i], batches[k]
        np.testing.assert_array_equal(s["image"], b["image"][j])
        np.testing.assert_array_equal(s["embedding"], b["embedding"][j])
        assert int(s["label"]) == int(b["label"][j])
        assert s["text"] == b["text"][j]
        assert s["blob"] == b["blob"][j]
        assert s["meta"] == b["meta"][j]


def test_arrays_lists_and_strings_write_the_same_samples(tmp_path):
    batches = [batch(k, 5 + 7 * k) for k in range(4)]
    a = make(tmp_path / "arrays")
    b = make(tmp_path / "lists")
    for x in batches:
        a.extend(x)  # numpy arrays and lists of str/bytes: one buffer per tensor
        b.extend(as_lists(x))  # lists of same-shape values: stacked, then one buffer
    for ds in (a, b):
        check(ds, batches)
        ds.close()
    for path in ("arrays", "lists"):
        with gtn.dataset(tmp_path / path, read_only=True) as ds:
            check(ds, batches)
        assert gtn._core.fsck(str(tmp_path / path)) == []


def test_ragged_and_converted_values_take_the_per_sample_path(tmp_path):
    ds = make(tmp_path / "ds")
    b = batch(1, 3)
    b["image"] = [np.zeros((2, 2, 3), np.uint8), np.ones((4, 1, 3), np.uint8), np.full((1, 1, 3), 7, np.uint8)]
    b["embedding"] = b["embedding"].astype(np.float16)  # cast to float32
    b["label"] = b["label"].astype(np.int32)  # cast to int64
    b["text"] = np.array(b["text"])  # numpy strings
    b["blob"] = [bytearray(x) for x in b["blob"]]
    ds.extend(b)
    assert len(ds) == 3
    for j in range(3):
        s = ds[j]
        np.testing.assert_array_equal(s["image"], b["image"][j])
        np.testing.assert_array_equal(s["embedding"], b["embedding"][j].astype(np.float32))
        assert s["text"] == str(b["text"][j])
        assert s["blob"] == bytes(b["blob"][j])
    # A non-contiguous array is copied first.
    more = batch(2, 4)
    more["image"] = np.swapaxes(more["image"], 1, 2)
    assert not more["image"].flags.c_contiguous
    more["embedding"] = np.asfortranarray(more["embedding"])
    ds.extend(more)
    np.testing.assert_array_equal(ds[3]["image"], more["image"][0])
    np.testing.assert_array_equal(ds[6]["embedding"], more["embedding"][3])


def test_bad_batches_are_refused_and_write_nothing(tmp_path):
    ds = make(tmp_path / "ds")
    ds.extend(batch(0, 4))
    bad_text = batch(1, 3)
    bad_text["text"] = ["a", 2, "c"]
    with pytest.raises(ValueError, match="holds text"):
        ds.extend(bad_text)
    short = batch(2, 3)
    short["label"] = short["label"][:2]
    with pytest.raises(ValueError, match="same number"):
        ds.extend(short)
    wrong_rank = batch(3, 3)
    wrong_rank["embedding"] = wrong_rank["embedding"].reshape(3, 4, 4)
    with pytest.raises(Exception, match="embedding"):
        ds.extend(wrong_rank)
    assert len(ds) == 4
    ds.extend(batch(4, 2))
    check(ds, [batch(0, 4), batch(4, 2)])
    assert json.loads(json.dumps(ds[5]["meta"])) == batch(4, 2)["meta"][1]


def test_every_numpy_spelling_of_a_dtype_is_accepted(tmp_path):
    # int64 is numpy type 'l' or 'q' ('long' / 'long long') depending on who made the array
    # (C extensions often make 'q'); both are int64 and both are stored.
    ds = gtn.Dataset(str(tmp_path / "ds"))
    ds.create_tensor("a", dtype="int64")
    batch = np.arange(6).astype(np.dtype("q")).reshape(3, 2)
    assert batch.dtype.char == "q"
    ds.extend({"a": batch})
    ds.append({"a": np.array([7, 8], dtype="q")})
    ds.extend({"a": [np.array([9, 10], dtype="q")]})
    np.testing.assert_array_equal(ds["a"].numpy(), [[0, 1], [2, 3], [4, 5], [7, 8], [9, 10]])
