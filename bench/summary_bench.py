#!/usr/bin/env python
"""ds.summary() against the same statistics computed with numpy and pandas (not a test).

One dataset of N rows: label int64 (class_label, 10 classes), score float32 (1 % NaN),
emb float32[128], caption text (10-80 characters). Measured, each repeated R times (median
and spread reported), the page cache warm:

  gtn summary        ds.summary() on the dataset opened read-only (reads every sample of
                     every tensor from the chunk files: two passes, every core)
  gtn read + numpy   the tensors read into numpy (ds[t].numpy(), captions as a list) and the
                     same statistics computed as below
  numpy/pandas       the same statistics on arrays already in memory (a lower bound that
                     reads nothing): per numeric tensor min, max, mean, std, NaN/inf counts
                     and np.histogram with 32 bins; value_counts of the labels; caption
                     lengths (pandas str.len) with min/max/mean/7 percentiles/histogram

Every run's results are checked against each other (counts exactly, means to 1e-9).

    GTN_CORE_DIR=build/<dir>/python PYTHONPATH=python .venv/bin/python bench/summary_bench.py --rows 200000
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import tempfile
import time

import numpy as np
import pandas as pd

import gtn

CLASSES = [f"class_{i}" for i in range(10)]
PCTS = [1, 5, 25, 50, 75, 95, 99]


def make_data(n, seed=0):
    rng = np.random.default_rng(seed)
    score = rng.normal(0.5, 0.2, n).astype(np.float32)
    score[rng.random(n) < 0.01] = np.nan
    words = np.array(["a", "dog", "cat", "on", "the", "grass", "running", "photo", "of", "red"])
    lengths = rng.integers(2, 14, n)
    flat = words[rng.integers(0, len(words), lengths.sum())]
    captions, k = [], 0
    for m in lengths:
        captions.append(" ".join(flat[k:k + m]))
        k += m
    return {"label": rng.integers(0, 10, n), "score": score,
            "emb": rng.standard_normal((n, 128), dtype=np.float32), "caption": captions}


def numpy_stats(arrays):
    out = {}
    for name in ("label", "score", "emb"):
        v = np.asarray(arrays[name], dtype=np.float64).ravel()
        finite = v[np.isfinite(v)]
        out[name] = {"count": finite.size, "nan": int(np.isnan(v).sum()), "min": finite.min(), "max": finite.max(),
                     "mean": finite.mean(), "std": finite.std(), "hist": np.histogram(finite, bins=32)[0]}
    out["classes"] = pd.Series(arrays["label"]).value_counts().to_dict()
    lengths = pd.Series(arrays["caption"]).str.len()
    out["caption"] = {"min": lengths.min(), "max": lengths.max(), "mean": lengths.mean(),
                      "pct": np.percentile(lengths, PCTS), "hist": np.histogram(lengths, bins=32)[0]}
    return out


def check(s, ref):
    for name in ("label", "score", "emb"):
        v = s["tensors"][name]["values"]
        assert v["count"] == ref[name]["count"] and v["nan_count"] == ref[name]["nan"], name
        assert v["min"] == ref[name]["min"] and v["max"] == ref[name]["max"], name
        assert abs(v["mean"] - ref[name]["mean"]) <= 1e-9 * max(1, abs(ref[name]["mean"])), name
        assert abs(v["std"] - ref[name]["std"]) <= 1e-9 * ref[name]["std"], name
        assert sum(v["histogram"]["counts"]) == ref[name]["hist"].sum()
    counts = s["tensors"]["label"]["class_counts"]
    assert counts == {CLASSES[k]: int(ref["classes"].get(k, 0)) for k in range(10)}
    t = s["tensors"]["caption"]["text_lengths"]
    assert t["min"] == ref["caption"]["min"] and t["max"] == ref["caption"]["max"]
    np.testing.assert_allclose([t["percentiles"][f"p{q}"] for q in PCTS], ref["caption"]["pct"], rtol=1e-12)


def timed(fn, repeats):
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return result, times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    work = args.dir or tempfile.mkdtemp(prefix="gtn_summary_bench_")
    path = os.path.join(work, "ds")
    shutil.rmtree(path, ignore_errors=True)
    data = make_data(args.rows)
    ds = gtn.dataset(path)
    ds.create_tensor("label", htype="class_label", class_names=CLASSES)
    ds.create_tensor("score", dtype="float32")
    ds.create_tensor("emb", htype="embedding")
    ds.create_tensor("caption", htype="text")
    ds.extend(data)
    ds.close()
    ro = gtn.dataset(path, read_only=True)

    ref = numpy_stats(data)
    s, t_gtn = timed(lambda: ro.summary(), args.repeats)
    check(s, ref)

    def read_then_numpy():
        arrays = {name: ro[name].numpy() for name in ("label", "score", "emb")}
        arrays["caption"] = ro["caption"].numpy()
        return numpy_stats(arrays)
    r, t_read = timed(read_then_numpy, args.repeats)
    assert r["emb"]["count"] == ref["emb"]["count"] and r["classes"] == ref["classes"]
    _, t_mem = timed(lambda: numpy_stats(data), args.repeats)

    print(f"{args.rows:,} rows; {os.cpu_count()} cores; Python {platform.python_version()}, numpy {np.__version__}, "
          f"pandas {pd.__version__}; {args.repeats} runs each (median, min-max)")
    print("| method | seconds | rows/s |")
    print("|---|---|---|")
    for label, times in (("gtn ds.summary()", t_gtn), ("gtn read into numpy + numpy/pandas stats", t_read),
                         ("numpy/pandas stats on in-memory arrays", t_mem)):
        med = statistics.median(times)
        print(f"| {label} | {med:.3f} ({min(times):.3f}-{max(times):.3f}) | {args.rows / med:,.0f} |")
    if not args.dir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
