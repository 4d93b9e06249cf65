"""Access traces, layout plans, rechunk by strategy, and their CLI verbs."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from sklearn import datasets as skd

import gtn

CLI = os.environ.get("GTN_CLI", "gtn")


def _texts():
    # Real English text: the descriptions scikit-learn ships with its bundled datasets.
    out = []
    for load in (skd.load_iris, skd.load_wine, skd.load_breast_cancer, skd.load_diabetes, skd.load_digits,
                 skd.load_linnerud):
        out += [p.strip() for p in load().DESCR.split("\n\n") if len(p.strip()) > 40]
    return out


def _make(path, n=1500):
    digits = skd.load_digits()
    texts = _texts()
    rng = np.random.default_rng(0)
    ds = gtn.dataset(path)
    ds.create_tensor("emb", htype="embedding")
    ds.create_tensor("pixels", dtype="uint8")
    ds.create_tensor("text", htype="text")
    ds.create_tensor("label", htype="class_label", class_names=[str(i) for i in range(10)])
    idx = np.arange(n) % len(digits.target)
    order = np.argsort(digits.target[idx], kind="stable")  # rows sorted by class: class runs
    idx = idx[order]
    ds.extend({"emb": rng.standard_normal((n, 64)).astype(np.float32),
               "pixels": digits.images[idx].astype(np.uint8),
               "text": [texts[i % len(texts)] for i in range(n)],
               "label": digits.target[idx]})
    ds.flush()
    return ds


def test_trace_records_batches_and_summarizes(tmp_path):
    ds = _make(str(tmp_path / "d"))
    with ds.trace() as t:
        ds[[5, 6, 7, 100]]
        ds["emb"][10:20].numpy()
        ds[3]
    assert isinstance(t, gtn.Trace)
    s = t.summary()
    assert s["calls"] == 3
    assert s["batch_max"] == 10
    assert s["tensor_rows"]["emb"] == 4 + 10 + 1
    assert s["tensor_rows"]["text"] == 4 + 1
    assert s["read_together"][0][0] == ["emb", "label", "pixels", "text"]
    assert s["readers"] == 1
    assert "batch rows" in s["text"]
    # Detached after the block: nothing more is recorded.
    n = len(t)
    ds[0]
    assert len(t) == n
    # Round trip through a file.
    path = str(tmp_path / "job.gtntrace")
    t.save(path)
    back = gtn.load_trace(path)
    assert len(back) == len(t)
    assert back.events()["begin"] == t.events()["begin"]
    assert back.summary()["calls"] == 3
    with open(path, "r+b") as f:
        f.seek(20)
        b = f.read(1)
        f.seek(20)
        f.write(bytes([b[0] ^ 0xFF]))
    with pytest.raises(gtn.CorruptionError, match="checksum mismatch"):
        gtn.load_trace(path)
    with pytest.raises(FileNotFoundError):
        gtn.load_trace(str(tmp_path / "none"))


def test_data_plan_on_real_data_prints_and_chooses(tmp_path):
    ds = _make(str(tmp_path / "d"))
    plan = ds.layout_plan()
    text = str(plan)
    assert "layout plan (strategy data)" in text
    for name in ("emb", "pixels", "text", "label"):
        assert name in text
    assert "predicted full scan" in text
    assert repr(plan) == text
    by = {t["name"]: t for t in plan.tensors}
    # Gaussian embeddings do not compress: stored plain. English text is compressed.
    assert by["emb"]["planned"]["sample_compression"] == "none"
    assert by["emb"]["planned"]["chunk_compression"] == "none"
    codecs = (by["text"]["planned"]["sample_compression"], by["text"]["planned"]["chunk_compression"])
    assert set(codecs) & {"lz4", "zstd"}, codecs
    assert by["text"]["planned_cost"]["stored_bytes"] < 0.6 * by["text"]["current_cost"]["stored_bytes"]
    assert plan.predicted["planned"]["total_s"] <= plan.predicted["current"]["total_s"]
    with pytest.raises(ValueError, match="expected 'data' or 'workload'"):
        ds.layout_plan("fast")
    with pytest.raises(ValueError, match="needs a trace"):
        ds.layout_plan("workload")
    with pytest.raises(FileNotFoundError):
        ds.layout_plan(tensors=["nope"])


def test_workload_plan_orders_by_class_for_class_batches(tmp_path):
    ds = _make(str(tmp_path / "d"))
    labels = ds["label"].numpy().ravel()
    rng = np.random.default_rng(1)
    # Shuffle the rows so classes are scattered, then read one-class batches.
    perm = rng.permutation(len(ds))
    ds2 = gtn.dataset(str(tmp_path / "scattered"))
    ds2.create_tensor("emb", htype="embedding")
    ds2.create_tensor("label", htype="class_label", class_names=[str(i) for i in range(10)])
    ds2.extend({"emb": ds["emb"].numpy()[perm], "label": labels[perm]})
    ds2.flush()
    lab2 = labels[perm]
    with ds2.trace() as t:
        for c in range(10):
            rows = np.flatnonzero(lab2 == c)
            ds2[rng.choice(rows, 16, replace=False).tolist()]
    s = t.summary(ds2)
    share, expected = s["class_locality"]["label"]
    assert share == 1.0 and expected < 0.5
    plan = ds2.layout_plan("workload", trace=t)
    assert plan.order is not None
    assert plan.rechunk_args()["order_tensor"] == "orig_index"
    ordered = lab2[np.asarray(plan.order)]
    assert (np.diff(ordered) >= 0).all()
    assert "by class of 'label'" in str(plan)


def test_ingest_plans_layout_from_data_unless_fixed(tmp_path):
    texts = _texts()
    src = tmp_path / "t.jsonl"
    with open(src, "w") as f:
        for i in range(400):
            f.write(json.dumps({"text": texts[i % len(texts)], "value": i}) + "\n")
    gtn.ingest(str(src), str(tmp_path / "planned"))
    gtn.ingest(str(src), str(tmp_path / "fixed"), layout="fixed")
    planned, fixed = gtn.dataset(str(tmp_path / "planned")), gtn.dataset(str(tmp_path / "fixed"))
    pt, ft = planned["text"].info, fixed["text"].info
    assert ft["chunk_compression"] == "none" and ft["sample_compression"] == "none"
    assert {pt["chunk_compression"], pt["sample_compression"]} & {"lz4", "zstd"}
    assert pt["stored_bytes"] < 0.6 * ft["stored_bytes"]
    # The plan's zstd level is the tensor's level (later appends compress the same way).
    assert (pt["compression_level"] > 0) == ("zstd" in (pt["chunk_compression"], pt["sample_compression"]))
    assert ft["compression_level"] == 0
    assert planned["text"][7].numpy() == fixed["text"][7].numpy() == texts[7]
    with pytest.raises(ValueError, match="expected data or fixed"):
        gtn.ingest(str(src), str(tmp_path / "bad"), layout="best")


def test_rechunk_arguments_are_checked(tmp_path):
    ds = _make(str(tmp_path / "d"), n=50)
    with pytest.raises(KeyError, match="no tensor 'nope'"):
        ds.rechunk(["nope"], chunk_bytes="1MiB")
    with pytest.raises(ValueError, match="not a byte size|cannot read"):
        ds.rechunk(chunk_bytes="lots")
    with pytest.raises(ValueError, match="unknown chunk_compression"):
        ds.rechunk(chunk_compression="brotli")
    with pytest.raises(ValueError, match="strategy='workload'"):
        ds.rechunk(trace=gtn.Trace())


def test_rechunk_by_strategy_end_to_end(tmp_path):
    ds = _make(str(tmp_path / "d"), n=600)
    ds.commit("data")
    before = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in ds[list(range(600))].items()}
    stats = ds.rechunk(strategy="data", message="data layout")
    assert stats["commit"]
    assert ds.log()[0]["message"] == "data layout"
    after = ds[list(range(600))]
    for k in ("emb", "pixels", "label"):
        np.testing.assert_array_equal(after[k], before[k])
    assert after["text"] == before["text"]
    info = ds["text"].info
    assert {info["chunk_compression"], info["sample_compression"]} & {"lz4", "zstd"}
    # A workload reorder by class keeps the data and the old positions.
    with ds.trace() as t:
        lab = ds["label"].numpy().ravel()
        for c in range(10):
            ds[np.flatnonzero(lab == c)[:8].tolist()]
    stats = ds.rechunk(strategy="workload", trace=t, chunk_bytes="64KiB")
    assert stats["rows"] == 600


def test_cli_layout_plan_trace_and_rechunk(tmp_path):
    path = str(tmp_path / "d")
    _make(path, n=300).close()
    out = subprocess.run([CLI, "layout", "plan", path, "--json"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    plan = json.loads(out.stdout)
    assert plan["strategy"] == "data"
    assert {t["name"] for t in plan["tensors"]} == {"emb", "pixels", "text", "label"}
    text = subprocess.run([CLI, "layout", "plan", path], capture_output=True, text=True)
    assert text.returncode == 0 and "predicted full scan" in text.stdout
    # gtn trace runs a command with $GTN_TRACE and merges what it read.
    trace = str(tmp_path / "job.gtntrace")
    script = (f"import gtn; ds = gtn.dataset({path!r}, read_only=True)\n"
              "for b in range(0, 300, 50): ds[b:b + 50]\n"
              "ds.close()")
    env = dict(os.environ)
    run = subprocess.run([CLI, "trace", path, "-o", trace, "--", sys.executable, "-c", script],
                         capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    assert "trace written to" in run.stdout
    s = gtn.load_trace(trace).summary()
    assert s["calls"] == 6 and s["batch_max"] == 50 and s["sequential_fraction"] == 1.0
    wl = subprocess.run([CLI, "layout", "plan", path, "--strategy", "workload", "--trace", trace],
                        capture_output=True, text=True)
    assert wl.returncode == 0, wl.stderr
    assert "sequential reads, batches of 50 rows" in wl.stdout
    dry = subprocess.run([CLI, "rechunk", path, "--strategy", "data", "--dry-run"], capture_output=True, text=True)
    assert dry.returncode == 0, dry.stderr
    bad = subprocess.run([CLI, "rechunk", path, "--chunk-bytes", "huge"], capture_output=True, text=True)
    assert bad.returncode == 1 and "not a byte size" in bad.stderr
    failed = subprocess.run([CLI, "trace", path, "-o", trace, "--", sys.executable, "-c", "import sys; sys.exit(3)"],
                            capture_output=True, text=True)
    assert failed.returncode == 1 and "recorded no reads" in failed.stderr
