"""gtn.curate.dedup and `gtn dedup`: real texts (Debian's license files) against an
independent all-pairs reference, the file sources, the CLI, incremental runs, images from
real photos, semantic dedup against an exact search, and bad input."""
import io
import itertools
import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

import gtn

LICENSES = "/usr/share/common-licenses"
GTN_CLI = os.environ.get("GTN_CLI") or shutil.which("gtn")


def license_texts():
    names = sorted(os.listdir(LICENSES))
    return names, [open(os.path.join(LICENSES, n), encoding="utf-8").read() for n in names]


def reference_clusters(texts, threshold):
    """Union-find over every pair whose word 5-gram Jaccard (pure Python) >= threshold;
    a row's label is the smallest row of its component."""
    def grams(t):
        w = re.sub(r"[^a-z0-9\s]", " ", t.lower()).split()
        return {tuple(w[i:i + 5]) for i in range(len(w) - 4)} if len(w) > 5 else {tuple(w)}
    sets = [grams(t) for t in texts]
    parent = list(range(len(texts)))

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x
    for a, b in itertools.combinations(range(len(texts)), 2):
        if len(sets[a] & sets[b]) / len(sets[a] | sets[b]) >= threshold:
            ra, rb = find(a), find(b)
            parent[max(ra, rb)] = min(ra, rb)
    return [find(i) for i in range(len(texts))]


def text_dataset(path, texts, **extra):
    ds = gtn.dataset(path)
    ds.create_tensor("text", htype="text")
    for name, (htype, dtype, _) in extra.items():
        ds.create_tensor(name, htype=htype, dtype=dtype)
    ds.extend({"text": list(texts), **{k: v[2] for k, v in extra.items()}})
    ds.commit("texts")
    return ds


@pytest.mark.skipif(not os.path.isdir(LICENSES), reason="needs Debian's /usr/share/common-licenses")
@pytest.mark.parametrize("threshold", [0.8, 0.7, 0.45])
def test_license_texts_match_the_all_pairs_reference(tmp_path, threshold):
    names, texts = license_texts()
    ds = text_dataset(tmp_path / "ds", texts)
    r = gtn.curate.dedup(ds, threshold=threshold)
    assert r.cluster_id.tolist() == reference_clusters(texts, threshold)
    clusters = {}
    for name, c in zip(names, r.cluster_id.tolist()):
        clusters.setdefault(c, []).append(name)
    groups = sorted(g for g in clusters.values() if len(g) > 1)
    if threshold == 0.8:
        assert groups == [["GFDL", "GFDL-1.2", "GFDL-1.3"], ["GPL", "GPL-3"], ["LGPL", "LGPL-3"]]
    # Outputs: tensors in the dataset, committed; keep rows = rows with duplicate_of -1.
    assert ds.log()[0]["message"] == "dedup"
    assert np.array_equal(ds.tensors["cluster_id"].numpy().ravel(), r.cluster_id)
    assert np.array_equal(ds.tensors["duplicate_of"].numpy().ravel(), r.duplicate_of)
    assert r.keep_rows.tolist() == np.flatnonzero(r.duplicate_of == -1).tolist()
    # The kept rows are a saved view of the dedup commit.
    view = ds.load_view("dedup-keep")
    assert r.view == "dedup-keep" and view.commit == r.commit == ds.head_commit
    assert list(view.indices) == r.keep_rows.tolist()
    # Examples carry the texts; every minhash example is a verified pair above the threshold.
    for e in r.examples:
        assert e["text"] and e["matched_text"]
        if e["stage"] == "minhash":
            assert threshold <= e["similarity"] < 1
    stages = {s["stage"]: s for s in r.stages}
    assert stages["exact"]["rows_removed"] + stages["minhash"]["rows_removed"] == r.rows_removed
    assert r.lsh["bands"] * r.lsh["rows"] <= 128 and "J=0.80" in r.s_curve
    svg = r.plot(tmp_path / "report.svg")
    assert open(svg).read().startswith("<svg")


def test_keep_policies_and_determinism(tmp_path):
    base = "data curation removes copies of the same page crawled twice from the web " * 3
    texts = [base, base + "with a tail", "an unrelated sentence about something else entirely here", base.upper()]
    ds = text_dataset(tmp_path / "ds", texts, score=("generic", "float32", [0.5, 0.1, 0.3, 0.9]))
    first = gtn.curate.find_duplicates(ds, threshold=0.7)
    assert first.duplicate_of.tolist() == [-1, 0, -1, 0]
    assert gtn.curate.find_duplicates(ds, threshold=0.7, keep="longest").duplicate_of.tolist() == [1, -1, -1, 1]
    assert gtn.curate.find_duplicates(ds, threshold=0.7, keep="score", score="score").duplicate_of.tolist() == [3, 3, -1, -1]
    # Same seed, same result; threads do not change it.
    again = gtn.curate.find_duplicates(ds, threshold=0.7, threads=1)
    assert again.cluster_id.tolist() == first.cluster_id.tolist()
    assert not ds.has_uncommitted_changes  # find_duplicates writes nothing


def test_incremental_index_equals_a_full_run(tmp_path):
    names, texts = license_texts()
    texts = texts * 2 + [t.replace("the", "a") for t in texts]
    ds = text_dataset(tmp_path / "ds", texts[:30])
    index = tmp_path / "dedup.idx"
    gtn.curate.dedup(ds, index=index, threshold=0.8)
    ds.extend({"text": texts[30:], "cluster_id": [0] * (len(texts) - 30), "duplicate_of": [0] * (len(texts) - 30)})
    inc = gtn.curate.dedup(ds, index=index, threshold=0.8)
    assert inc.report["rows_indexed_before"] == 30 and inc.report["rows_hashed"] == len(texts) - 30
    full = gtn.curate.find_duplicates(ds, threshold=0.8)
    assert inc.cluster_id.tolist() == full.cluster_id.tolist()
    assert inc.duplicate_of.tolist() == full.duplicate_of.tolist()
    assert ds.tensors["cluster_id"].numpy().ravel().tolist() == full.cluster_id.tolist()


def test_jsonl_and_parquet_sources_are_ingested_on_the_way(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    names, texts = license_texts()
    src = tmp_path / "docs.jsonl"
    src.write_text("".join(json.dumps({"name": n, "text": t}) + "\n" for n, t in zip(names, texts)))
    r = gtn.curate.dedup(src, threshold=0.8)
    ds = gtn.dataset(tmp_path / "docs.gtn", read_only=True)
    assert [c["message"] for c in ds.log()] == ["dedup", "ingest docs.jsonl"]
    assert r.rows == len(texts) and r.rows_removed == 4
    pq.write_table(pa.table({"text": texts}), tmp_path / "docs.parquet")
    with pytest.raises(FileExistsError, match="docs.gtn exists"):
        gtn.curate.dedup(tmp_path / "docs.parquet")
    r2 = gtn.curate.dedup(tmp_path / "docs.parquet", into=tmp_path / "pq.gtn", threshold=0.8)
    assert r2.cluster_id.tolist() == r.cluster_id.tolist()


@pytest.mark.skipif(not GTN_CLI, reason="set GTN_CLI to the gtn binary")
def test_cli_dedup_from_jsonl(tmp_path):
    names, texts = license_texts()
    src = tmp_path / "docs.jsonl"
    src.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    p = subprocess.run([GTN_CLI, "dedup", src, "--into", tmp_path / "ds", "--threshold", "0.8", "--report-json",
                        tmp_path / "r.json", "--keep-rows", tmp_path / "keep.txt"], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    assert "13 kept, 4 duplicates" in p.stdout and "LSH 21 bands x 6 rows" in p.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["rows_removed"] == 4 and report["cluster_sizes"] == {"2": 2, "3": 1}
    keep = [int(x) for x in (tmp_path / "keep.txt").read_text().split()]
    ds = gtn.dataset(tmp_path / "ds", read_only=True)
    assert keep == np.flatnonzero(ds.tensors["duplicate_of"].numpy().ravel() == -1).tolist()
    bad = subprocess.run([GTN_CLI, "dedup", tmp_path / "ds", "--threshold", "1.5"], capture_output=True, text=True)
    assert bad.returncode == 1 and "threshold must be in (0, 1]" in bad.stderr


def _photo_variants():
    """sklearn's two bundled photos, each with planted copies: resized, re-encoded as
    JPEG quality 40, cropped by 4 %, brightened by 15 %."""
    from PIL import Image, ImageEnhance
    import sklearn.datasets
    root = os.path.join(os.path.dirname(sklearn.datasets.__file__), "images")
    images, groups = [], []
    for g, name in enumerate(["china.jpg", "flower.jpg"]):
        im = Image.open(os.path.join(root, name)).convert("RGB")
        w, h = im.size
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=40)
        variants = [im, im.resize((w // 2, h // 2)), Image.open(io.BytesIO(buf.getvalue())).convert("RGB"),
                    im.crop((w // 50, h // 50, w - w // 50, h - h // 50)), ImageEnhance.Brightness(im).enhance(1.15)]
        images += [np.asarray(v) for v in variants]
        groups += [g] * len(variants)
    return images, groups


@pytest.mark.parametrize("kind", ["phash", "dhash"])
def test_image_near_duplicates_on_real_photos(tmp_path, kind):
    pytest.importorskip("PIL")
    images, groups = _photo_variants()
    ds = gtn.dataset(tmp_path / "ds")
    ds.create_tensor("images", htype="image")
    ds.extend({"images": images})
    r = gtn.curate.dedup(ds, tensor="images", method="image", image_hash=kind, hamming=10)
    assert r.cluster_id.tolist() == [0] * 5 + [5] * 5
    hashes = [gtn.curate.image_hash(im, kind) for im in images]
    assert bin(hashes[0] ^ hashes[5]).count("1") > 20


def test_semantic_dedup_against_an_exact_search(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 48)).astype(np.float32)
    x[1::7] = x[0::7][: len(x[1::7])] + 0.1 * rng.normal(size=x[1::7].shape).astype(np.float32)
    ds = gtn.dataset(tmp_path / "ds")
    ds.create_tensor("emb", htype="embedding")
    ds.extend({"emb": x})
    r = gtn.curate.dedup(ds, tensor="emb", method="semantic", threshold=0.95)
    n = x / np.linalg.norm(x, axis=1, keepdims=True)
    sim = n @ n.T
    a, b = np.nonzero(np.triu(sim >= 0.95, 1))
    assert len(a) > 200
    found = (r.cluster_id[a] == r.cluster_id[b]).mean()
    assert found >= 0.95
    dup = np.flatnonzero(r.duplicate_of >= 0)
    assert (sim[dup, r.duplicate_of[dup]] >= 0.95 - 1e-6).all()


def test_bad_input_is_a_clear_error_and_nothing_is_lost(tmp_path):
    ds = text_dataset(tmp_path / "ds", ["one two three four five six", ""], values=("generic", "float32", [1.0, 2.0]))
    head = ds.head_commit
    with pytest.raises(ValueError, match=r"tensor 'text', row 1: the text is empty"):
        gtn.curate.dedup(ds)
    with pytest.raises(ValueError, match=r"threshold must be in \(0, 1\]"):
        gtn.curate.dedup(ds, threshold=0, allow_empty=True)
    with pytest.raises(ValueError, match=r"threshold must be in \(0, 1\]"):
        gtn.curate.dedup(ds, threshold=float("nan"), allow_empty=True)
    with pytest.raises(ValueError, match="need a text tensor"):
        gtn.curate.dedup(ds, tensor="values")
    with pytest.raises(ValueError, match=r"tensor 'nope' does not exist \(the dataset has: text, values\)"):
        gtn.curate.dedup(ds, tensor="nope")
    with pytest.raises(ValueError, match="unknown dedup method 'fuzzy'"):
        gtn.curate.dedup(ds, method="exact+fuzzy")
    with pytest.raises(ValueError, match="the image stage needs an image tensor"):
        gtn.curate.dedup(ds, tensor="text", method="image")
    with pytest.raises(ValueError, match="semantic stage needs an embedding tensor"):
        gtn.curate.dedup(ds, tensor="text", method="semantic")
    assert ds.head_commit == head and ds.tensors.keys() == {"text", "values"}
    assert not ds.has_uncommitted_changes
    emb = gtn.dataset(tmp_path / "emb")
    emb.create_tensor("emb", htype="embedding")
    v = np.ones((3, 4), np.float32)
    v[2, 1] = np.nan
    emb.extend({"emb": v})
    with pytest.raises(ValueError, match="tensor 'emb', row 2 holds NaN at position 1"):
        gtn.curate.dedup(emb, tensor="emb", method="semantic", threshold=0.9)
    # Non-UTF-8 bytes in a JSONL source: the ingest on the way refuses them, naming the
    # line, and leaves no dataset behind.
    src = tmp_path / "bad.jsonl"
    src.write_bytes(b'{"text": "fine"}\n{"text": "caf\xe9"}\n')
    with pytest.raises(ValueError, match="line 2"):
        gtn.curate.dedup(src)
    assert not (tmp_path / "bad.gtn").exists()
