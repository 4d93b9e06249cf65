"""Version control on real data: scikit-learn's bundled CSVs and JPEGs, ingested with a
commit, relabelled and pruned on a branch, changed on main, merged back, diffed and
garbage-collected, every value checked against numpy."""
import shutil
from pathlib import Path

import numpy as np
import pytest

import gtn


def sklearn_file(*parts):
    import sklearn
    return Path(sklearn.__file__).parent / "datasets" / Path(*parts)


def test_relabel_prune_and_merge_breast_cancer(tmp_path):
    import sklearn.datasets
    bunch = sklearn.datasets.load_breast_cancer()
    path = tmp_path / "bc"
    report = gtn.ingest(sklearn_file("data", "breast_cancer.csv"), path, commit="ingest breast_cancer.csv")
    assert len(report["commit"]) == 16
    ds = gtn.dataset(path)
    assert [c["message"] for c in ds.log()] == ["ingest breast_cancer.csv"]
    n = len(bunch.target)
    data, target = bunch.data.copy(), bunch.target.copy()

    # A relabelling pass on a branch: flip the labels of the 25 samples a simple rule
    # doubts, and drop 5 rows as outliers.
    ds.checkout("relabel", create=True)
    score = (bunch.data[:, 0] - bunch.data[:, 0].mean()) / bunch.data[:, 0].std()
    doubtful = np.argsort(-np.abs(score))[:25]
    flipped = 1 - target[doubtful]
    ds["target"][sorted(doubtful.tolist())] = flipped[np.argsort(doubtful)]
    outliers = sorted(np.argsort(bunch.data[:, 3])[-5:].tolist())
    ds.delete_samples(outliers)
    relabel = ds.commit("flip 25 doubtful labels, drop 5 outliers")

    # Meanwhile on main: rescale the features of rows 100-109 and append 3 rows.
    ds.checkout("main")
    rows = list(range(100, 110))
    ds["data"][rows] = bunch.data[rows] * 2.0
    ds.extend({"data": bunch.data[:3], "target": bunch.target[:3]})
    main = ds.commit("rescale rows 100-109, add 3 rows")

    d = ds.diff(report["commit"], "relabel")
    assert sorted(d["rows_deleted"].tolist()) == outliers
    flipped_kept = sorted(set(doubtful.tolist()) - set(outliers))
    # Positions in the relabel branch, after the deletions moved rows up.
    keep = np.setdiff1d(np.arange(n), outliers)
    pos_in_b = {int(old): i for i, old in enumerate(keep)}
    assert sorted(d["tensors"]["target"]["updated"].tolist()) == sorted(pos_in_b[i] for i in flipped_kept)
    assert d["tensors"]["data"]["updated"].size == 0

    result = ds.merge("relabel")
    assert result["conflicts"] == [] and not result["fast_forward"]
    assert ds.log()[0]["parents"] == [main, relabel]

    # The expected merged state, by original row: main's order and values, the branch's
    # labels and deletions, main's 3 appended rows at the end.
    target[doubtful] = 1 - bunch.target[doubtful]
    data[rows] = bunch.data[rows] * 2.0
    expect_data = np.concatenate([data[keep], bunch.data[:3]])
    expect_target = np.concatenate([target[keep], bunch.target[:3]])
    assert len(ds) == n - 5 + 3
    np.testing.assert_array_equal(ds["data"].numpy(), expect_data)
    np.testing.assert_array_equal(ds["target"].numpy(), expect_target)

    # The ingested commit still reads as the CSV; gc after dropping the branch keeps it.
    ds.delete_branch("relabel")
    ds.gc()
    ds.close()
    past = gtn.dataset(path, read_only=True, version=report["commit"])
    np.testing.assert_array_equal(past["data"].numpy(), bunch.data)
    np.testing.assert_array_equal(past["target"].numpy(), bunch.target)
    past.close()
    assert gtn.fsck(str(path)) == []


def test_shipped_jpegs_across_branches_and_tags(tmp_path):
    from PIL import Image
    folder = tmp_path / "src" / "photos"
    folder.mkdir(parents=True)
    jpegs = sorted(sklearn_file("images").glob("*.jpg"))
    assert len(jpegs) >= 2
    for p in jpegs:
        shutil.copy(p, folder / p.name)
    path = tmp_path / "photos.gtn"
    report = gtn.ingest(tmp_path / "src", path, commit="shipped photos")
    ds = gtn.dataset(path)
    ds.tag("original")
    names = ds.tensors
    image_tensor = next(t for t in names if ds[t].htype == "image")
    before = [ds[image_tensor][i].numpy() for i in range(len(ds))]
    # Decoded pixels match Pillow's decoding of the same files (JPEG kept as is).
    for i, p in enumerate(jpegs):
        np.testing.assert_array_equal(before[i], np.asarray(Image.open(p)))

    ds.checkout("mirrored", create=True)
    ds[image_tensor][0] = before[0][:, ::-1].copy()
    ds.commit("mirror the first photo")
    d = ds.diff("original", "mirrored")
    assert d["tensors"][image_tensor]["updated"].tolist() == [0]
    assert all(t == image_tensor or v["updated"].size == 0 for t, v in d["tensors"].items())
    ds.checkout("main")
    np.testing.assert_array_equal(ds[image_tensor][0].numpy(), before[0])
    ds.close()

    mirrored = gtn.dataset(path, read_only=True, version="mirrored")
    got = mirrored[image_tensor][0].numpy()
    assert got.shape == before[0].shape
    # The branch holds the mirrored photo, re-encoded as JPEG: several times closer to the
    # mirrored pixels than to the original ones.
    err_mirror = np.abs(got.astype(int) - before[0][:, ::-1].astype(int)).mean()
    err_orig = np.abs(got.astype(int) - before[0].astype(int)).mean()
    assert 4 * err_mirror < err_orig, (err_mirror, err_orig)
    mirrored.close()
    original = gtn.dataset(path, read_only=True, version="original")
    for i in range(len(before)):
        np.testing.assert_array_equal(original[image_tensor][i].numpy(), before[i])
    original.close()
    assert report["commit"] and gtn.fsck(str(path)) == []
