"""Writes that never lose or leak, opens that cost what is read, and the bad inputs a new
user hits in the first hour, from Python."""
import os
import resource
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import gtn


def test_pop_after_flush_then_extend_never_publishes_too_few_rows(tmp_path):
    # The reproducer: float32 tensor (chunk 4096), text tensor; extend 10; flush; pop;
    # extend 600; a reader opened in the same process sees every row the writer kept.
    ds = gtn.dataset(tmp_path / "d")
    ds.create_tensor("a", dtype="float32", chunk_size=4096)
    ds.create_tensor("b", htype="text")
    ds.extend({"a": np.arange(40, dtype=np.float32).reshape(10, 4), "b": [f"r{i}" for i in range(10)]})
    ds.flush()
    ds.pop()
    ds.extend({"a": np.arange(2400, dtype=np.float32).reshape(600, 4) + 1000,
               "b": [f"s{i}" for i in range(600)]})
    reader = gtn.dataset(tmp_path / "d", read_only=True)
    assert len(reader) >= 9
    np.testing.assert_array_equal(reader["a"][0:9].numpy(), np.arange(36, dtype=np.float32).reshape(9, 4))
    assert gtn.fsck(str(tmp_path / "d")) == []
    ds.close()
    again = gtn.dataset(tmp_path / "d", read_only=True)
    assert len(again) == 609
    assert again[608]["b"] == "s599"


@pytest.mark.parametrize("shape", [(0, 2**47), (0, 2**40), (2**41, 0)])
def test_writer_refuses_shapes_the_reader_refuses(tmp_path, shape):
    ds = gtn.dataset(tmp_path / "d")
    ds.create_tensor("x", dtype="uint8")
    ds.append({"x": np.arange(3, dtype=np.uint8)})
    ds.flush()
    with pytest.raises(ValueError, match="below 2\\^40"):
        ds.append({"x": np.zeros(shape, np.uint8)})
    ds.close()
    back = gtn.dataset(tmp_path / "d", read_only=True)
    assert len(back) == 1
    np.testing.assert_array_equal(back[0]["x"], np.arange(3, dtype=np.uint8))


def test_a_foreign_folder_is_never_turned_into_a_dataset(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "cat.jpg").write_bytes(b"x")
    with pytest.raises(ValueError, match="not a GTN dataset.*cat.jpg"):
        gtn.dataset(photos)
    assert sorted(os.listdir(photos)) == ["cat.jpg"]
    # overwrite=True replaces datasets only, never someone's folder.
    with pytest.raises(ValueError, match="replaces only a GTN dataset"):
        gtn.dataset(photos, overwrite=True)
    assert sorted(os.listdir(photos)) == ["cat.jpg"]


def test_overwrite_replaces_an_existing_dataset(tmp_path):
    ds = gtn.dataset(tmp_path / "d")
    ds.create_tensor("x", dtype="int32")
    ds.extend({"x": np.arange(5, dtype=np.int32)})
    ds.close()
    fresh = gtn.dataset(tmp_path / "d", overwrite=True)
    assert len(fresh) == 0 and list(fresh.tensors) == []
    fresh.close()
    with pytest.raises(ValueError, match="read_only"):
        gtn.dataset(tmp_path / "d", overwrite=True, read_only=True)


def test_batch_and_slice_updates_in_one_call(tmp_path):
    ds = gtn.dataset(tmp_path / "d")
    ds.create_tensor("x", dtype="float32", chunk_size=64)
    ds.create_tensor("t", htype="text")
    ds.extend({"x": np.zeros((20, 4), np.float32), "t": [str(i) for i in range(20)]})
    ds["x"][2:5] = np.ones((3, 4), np.float32)
    ds["x"][[7, 19, 0]] = [np.full(4, 7, np.float32), np.full(4, 19, np.float32), np.full(4, -1, np.float32)]
    ds["t"][np.array([1, 3])] = ["one", "three"]
    want = np.zeros((20, 4), np.float32)
    want[2:5] = 1
    want[7], want[19], want[0] = 7, 19, -1
    np.testing.assert_array_equal(ds["x"].numpy(), want)
    assert ds[3]["t"] == "three" and ds[1]["t"] == "one"
    # One bad value: nothing is written.
    with pytest.raises(ValueError):
        ds["x"][[5, 6]] = [np.full(4, 5, np.float32), np.zeros((2, 2), np.float32)]  # rank 2 in a rank-1 tensor
    np.testing.assert_array_equal(ds["x"][5].numpy(), np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="2 indices but 3 values"):
        ds["x"][[5, 6]] = [np.zeros(4, np.float32)] * 3
    with pytest.raises(IndexError):
        ds["x"][[5, 20]] = [np.zeros(4, np.float32)] * 2
    ds.close()
    assert gtn.fsck(str(tmp_path / "d")) == []


def test_delete_rename_truncate(tmp_path):
    ds = gtn.dataset(tmp_path / "d")
    ds.create_tensor("a", dtype="int64")
    ds.create_tensor("b", htype="text")
    ds.extend({"a": np.arange(10), "b": [str(i) for i in range(10)]})
    ds.rename_tensor("b", "caption")
    ds.delete_tensor("a")
    ds.truncate(4)
    ds.close()
    back = gtn.dataset(tmp_path / "d", read_only=True)
    assert list(back.tensors) == ["caption"]
    assert [back[i]["caption"] for i in range(len(back))] == ["0", "1", "2", "3"]
    with pytest.raises(KeyError):
        back["a"]


def test_class_labels_are_checked_and_names_mapped(tmp_path):
    ds = gtn.dataset(tmp_path / "d")
    ds.create_tensor("label", htype="class_label", class_names=["cat", "dog"])
    ds.create_tensor("tags", htype="class_label", class_names=["a", "b", "c"])
    ds.append({"label": "dog", "tags": ["a", "c"]})
    ds.extend({"label": ["cat", 1, "dog"], "tags": [["b"], [0, 2], []]})
    assert ds["label"].numpy().tolist() == [1, 0, 1, 1]
    assert ds[0]["tags"].tolist() == [0, 2]
    with pytest.raises(ValueError, match="'cow' is not one of its class_names"):
        ds.append({"label": "cow", "tags": []})
    with pytest.raises(ValueError, match="class label 2 is not an index of its 2 class_names"):
        ds.append({"label": 2, "tags": []})
    with pytest.raises(ValueError, match="class label -1"):
        ds.extend({"label": np.array([0, -1]), "tags": [[], []]})
    assert len(ds) == 4


def test_close_reports_a_failed_flush(tmp_path):
    ds = gtn.dataset(tmp_path / "d")
    ds.create_tensor("x", dtype="uint8")
    ds.append({"x": np.arange(5, dtype=np.uint8)})
    shutil.rmtree(tmp_path / "d")
    (tmp_path / "d").write_bytes(b"")  # a file where the folder was: the flush cannot write
    with pytest.raises(OSError, match="cannot create directory .*chunks"):
        ds.close()
    assert ds.closed
    assert "closed" in repr(ds)


@pytest.mark.parametrize("key, exc, match", [
    (None, TypeError, "got None of type NoneType"),
    (2**63, IndexError, "index 9223372036854775808 out of range for dataset of 2 samples"),
    (-3, IndexError, "out of range"),
    (1.5, TypeError, "of type float"),
    ("nope", KeyError, "no tensor named 'nope'"),
])
def test_bad_indices_say_what_is_wrong(tmp_path, key, exc, match):
    ds = gtn.dataset(tmp_path / "d")
    ds.create_tensor("x", dtype="int8")
    ds.extend({"x": np.arange(2, dtype=np.int8)})
    with pytest.raises(exc, match=match):
        ds[key]


def test_bad_arguments_say_what_is_wrong(tmp_path):
    ds = gtn.dataset(tmp_path / "d")
    for bad in (-5, 0, 1.5, True):
        with pytest.raises(ValueError, match="chunk_size is a positive number of bytes"):
            ds.create_tensor("y", dtype="int8", chunk_size=bad)
    ds.create_tensor("x", dtype="int8")
    with pytest.raises(TypeError, match="use append\\(\\) for one sample"):
        ds.extend({"x": 5})
    with pytest.raises(TypeError, match="use append\\(\\) for one sample"):
        ds.extend({"x": np.int8(5)})
    with pytest.raises(ValueError, match="NUL byte"):
        gtn.dataset(str(tmp_path / "a\x00b"))
    with pytest.raises(TypeError, match="os.PathLike"):
        gtn.dataset(42)


def _dataset_of(path, rows):
    ds = gtn.dataset(path)
    ds.create_tensor("img", htype="image", dtype="uint8", chunk_size=4 << 20)
    ds.create_tensor("label", htype="class_label", class_names=["a", "b"])
    block = np.random.default_rng(0).integers(0, 255, (500, 64, 64, 3), dtype=np.uint8)
    for start in range(0, rows, 500):
        ds.extend({"img": block, "label": np.zeros(500, np.int64)})
    ds.close()


OPEN_PROBE = textwrap.dedent("""
    import sys, time, resource
    import gtn
    def rss_mb():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    before = rss_mb()
    ds = gtn.dataset(sys.argv[1], read_only=True)
    grown = rss_mb() - before
    x = ds[len(ds) - 1]["img"]
    print(grown, len(ds))
""")


def test_open_reads_metadata_only(tmp_path):
    # 2,000 and 8,000 images of 12 KB: open grows RSS by the same small amount at both
    # sizes (it maps and checks no chunk), and a chunk of the bigger dataset that no read
    # touches may even be missing.
    small, big = tmp_path / "small", tmp_path / "big"
    _dataset_of(small, 2000)
    _dataset_of(big, 8000)
    grown = {}
    for path in (small, big):
        out = subprocess.run([sys.executable, "-c", OPEN_PROBE, str(path)], capture_output=True, text=True,
                             check=True, env=dict(os.environ))
        mb, n = out.stdout.split()
        grown[path.name] = float(mb)
    assert grown["big"] < 8, grown  # 96 MB of chunks; open itself adds a few MB at most
    assert grown["big"] < grown["small"] + 4, grown


def test_datasets_pickle_as_their_path(tmp_path):
    import pickle
    ds = gtn.dataset(tmp_path / "d")
    ds.create_tensor("x", dtype="int16")
    ds.extend({"x": np.arange(7, dtype=np.int16)})
    copy = pickle.loads(pickle.dumps(ds))  # flushes the writer first
    assert copy.read_only and len(copy) == 7
    np.testing.assert_array_equal(copy["x"].numpy(), np.arange(7, dtype=np.int16))
    ds.close()
    with pytest.raises(ValueError, match="closed"):
        pickle.dumps(ds)


def test_range_reads_match_sample_reads_across_chunks(tmp_path):
    # ds[a:b] copies back-to-back runs of a chunk at once; compare with per-sample reads on
    # real images (scikit-learn's digits), across chunk boundaries and the pending rows.
    from sklearn.datasets import load_digits
    images = load_digits().images.astype(np.float32)
    ds = gtn.dataset(tmp_path / "d")
    ds.create_tensor("img", dtype="float32", chunk_size=64 * 4 * 50)
    ds.extend({"img": images[:1500]})
    ds.flush()
    ds.extend({"img": images[1500:]})
    got = ds["img"][3:1790].numpy()
    np.testing.assert_array_equal(got, images[3:1790])
    np.testing.assert_array_equal(ds[100:1600]["img"], images[100:1600])
    for i in (0, 49, 50, 1499, 1500, len(images) - 1):
        np.testing.assert_array_equal(ds[i]["img"], images[i])


def test_large_scattered_batches_read_from_several_threads_match(tmp_path):
    # A read-only dataset reads a batch of over 1 MiB of samples from several threads,
    # each into its own slots; the result must equal one read per sample, in order, with
    # repeats and a sample of another shape (which sends the batch to the list path).
    rng = np.random.default_rng(3)
    imgs = rng.integers(0, 255, (600, 32, 32, 3), dtype=np.uint8)
    ds = gtn.dataset(tmp_path / "d")
    ds.create_tensor("img", htype="image", dtype="uint8", chunk_size=1 << 18)
    ds.extend({"img": imgs})
    ds.close()
    ro = gtn.dataset(tmp_path / "d", read_only=True)
    idx = rng.integers(0, 600, 700)
    np.testing.assert_array_equal(ro["img"][idx].numpy(), imgs[idx])
    np.testing.assert_array_equal(ro[idx.tolist()]["img"], imgs[idx])
    rw = gtn.dataset(tmp_path / "d")
    rw["img"][599] = np.zeros((8, 8, 3), np.uint8)
    rw.close()
    ro = gtn.dataset(tmp_path / "d", read_only=True)
    mixed = ro["img"][list(range(0, 600, 1)) * 2].numpy()
    assert isinstance(mixed, list) and len(mixed) == 1200
    assert mixed[599].shape == (8, 8, 3) and mixed[1199].shape == (8, 8, 3)
    np.testing.assert_array_equal(np.stack(mixed[:599]), imgs[:599])


def test_nul_bytes_in_any_path_are_refused_not_cut(tmp_path):
    # A path cut at its NUL byte would name another file: "a\0b" must never open "a".
    (tmp_path / "a").mkdir()
    (tmp_path / "m").write_bytes(b"x")
    with pytest.raises(ValueError, match="NUL byte"):
        gtn.ingest(str(tmp_path / "a") + "\0b", str(tmp_path / "out"))
    with pytest.raises(ValueError, match="NUL byte"):
        gtn.ingest(str(tmp_path / "a"), str(tmp_path / "out") + "\0x")
    with pytest.raises(ValueError, match="NUL byte"):
        gtn.ml.load(str(tmp_path / "m") + "\0.gtnm")
    assert not (tmp_path / "out").exists()
