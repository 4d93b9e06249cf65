#!/usr/bin/env python
"""Layouts on a multimodal dataset: the fixed default, the data-driven plan, a grid search,
and the workload-driven plan for a random-batch training job (not a test; docs/layout.md
shows the tables).

Dataset: N rows of images (64x64x3 uint8, smooth patterns with noise, stored as JPEG),
embeddings (256 float32, Gaussian), text (20-60 words drawn from the English descriptions
scikit-learn ships) and labels (class_label, 100 classes).

  full-scan load     every tensor read whole into memory (images decoded into one uint8
                     array, embeddings one float32 array, text a list of str, labels one
                     array); "+transform" also scales images to float32 [0, 1], L2-
                     normalizes embeddings and splits text into words. Warm: median of 5
                     runs after one; cold: each file dropped from the page cache first
                     (posix_fadvise DONTNEED), median of 3.
  grid               per tensor, every chunk size (1, 8, 64 MiB) x codec (none, chunk lz4,
                     chunk zstd:1, chunk zstd:3, sample lz4, sample zstd:3; images keep
                     JPEG and only the chunk size varies) rechunked and its warm full-scan
                     load timed; the grid's best layout is the best per tensor (the load of
                     a dataset is the sum of its tensors' loads).
  random batches     batches of 256 random rows of every tensor (ds[indices]), 1 and 2
                     worker processes each reading its share of the batches, samples/s
                     (median of 3); on the default layout and on the layout
                     strategy="workload" builds from a trace of the same job.

Every layout's loaded data are checked equal to the default layout's.

    GTN_CORE_DIR=build/dev/python PYTHONPATH=python .venv/bin/python bench/layout_bench.py --rows 20000
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import shutil
import statistics
import tempfile
import time

import numpy as np

import gtn

BATCH = 256


def words():
    from sklearn import datasets as skd
    text = " ".join(load().DESCR for load in (skd.load_iris, skd.load_wine, skd.load_breast_cancer,
                                              skd.load_diabetes, skd.load_digits, skd.load_linnerud))
    return [w for w in text.split() if w.isalpha()]


def make(path, n, seed=0):
    rng = np.random.default_rng(seed)
    vocab = words()
    ds = gtn.dataset(path)
    ds.create_tensor("images", htype="image", sample_compression="jpeg")
    ds.create_tensor("emb", htype="embedding")
    ds.create_tensor("text", htype="text")
    ds.create_tensor("label", htype="class_label", class_names=[f"c{i}" for i in range(100)])
    yy, xx = np.mgrid[0:64, 0:64]
    for start in range(0, n, 1000):
        k = min(1000, n - start)
        imgs = np.empty((k, 64, 64, 3), np.uint8)
        for j in range(k):
            f = rng.uniform(0.02, 0.2, 3)
            base = 127 + 100 * np.sin(xx[..., None] * f + yy[..., None] * f[::-1] + rng.uniform(0, 6, 3))
            imgs[j] = np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8)
        ds.extend({"images": imgs,
                   "emb": rng.standard_normal((k, 256)).astype(np.float32),
                   "text": [" ".join(rng.choice(vocab, int(rng.integers(20, 60)))) for _ in range(k)],
                   "label": rng.integers(0, 100, k)})
    ds.flush()
    ds.commit("data")
    return ds


def drop_cache(path):
    for root, _, files in os.walk(path):
        for f in files:
            fd = os.open(os.path.join(root, f), os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def load_tensor(ds, name):
    return ds[name].numpy()


def load_all(path, transform=False):
    ds = gtn.dataset(path, read_only=True)
    out = {t: load_tensor(ds, t) for t in ("images", "emb", "text", "label")}
    if transform:
        out["images"] = out["images"].astype(np.float32) / 255
        e = out["emb"]
        out["emb"] = e / np.linalg.norm(e, axis=1, keepdims=True)
        out["text"] = [s.split() for s in out["text"]]
    ds.close()
    return out


def timed(fn, repeat, cold_path=None):
    times = []
    for _ in range(repeat):
        if cold_path:
            drop_cache(cold_path)
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), (max(times) - min(times)) / statistics.median(times)


def same(a, b):
    for k in a:
        if isinstance(a[k], np.ndarray):
            if not np.array_equal(a[k], b[k]):
                return False
        elif list(a[k]) != list(b[k]):
            return False
    return True


def tensor_scan(path, name, repeat=7):
    """Warm full-scan load of one tensor: the fastest of `repeat` runs (the machine is
    shared; the minimum is the least disturbed run)."""
    def run():
        ds = gtn.dataset(path, read_only=True)
        load_tensor(ds, name)
        ds.close()
    run()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return min(times)


def grid(src, work, reference):
    shutil.copytree(src, work)
    ds = gtn.dataset(work)
    codecs = [("none", None, None), ("chunk lz4", None, "lz4"), ("chunk zstd:1", None, "zstd:1"),
              ("chunk zstd:3", None, "zstd:3"), ("sample lz4", "lz4", None), ("sample zstd:3", "zstd:3", None)]
    results = {}
    for name in ("images", "emb", "text", "label"):
        rows = []
        for chunk in ("1MiB", "8MiB", "64MiB"):
            for label, sc, cc in ([("jpeg", None, None)] if name == "images" else codecs):
                kw = {"chunk_bytes": chunk}
                if name != "images":
                    kw.update(sample_compression=sc or "none", chunk_compression=cc or "none")
                ds.rechunk([name], **kw)
                got = load_tensor(ds, name)
                ok = np.array_equal(got, reference[name]) if isinstance(got, np.ndarray) else list(got) == list(reference[name])
                assert ok, f"{name} {label} {chunk}: data differ"
                rows.append((tensor_scan(work, name), f"{label}, {chunk}"))
        rows.sort()
        results[name] = rows
    ds.close()
    return results


def reader(path, batches, q):
    ds = gtn.dataset(path, read_only=True)
    t0 = time.perf_counter()
    for b in batches:
        ds[b.tolist()]
    q.put(time.perf_counter() - t0)


def random_batches(path, batches, workers):
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    parts = [batches[i::workers] for i in range(workers)]
    t0 = time.perf_counter()
    procs = [ctx.Process(target=reader, args=(path, p, q)) for p in parts]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    wall = time.perf_counter() - t0
    return len(batches) * BATCH / wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--dir", default=None)
    ap.add_argument("--batches", type=int, default=60)
    args = ap.parse_args()
    root = args.dir or tempfile.mkdtemp(prefix="gtn-layout-bench-")
    default = os.path.join(root, "default")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    print(f"# gtn {gtn.__version__}, numpy {np.__version__}, Python {platform.python_version()}, "
          f"{platform.machine()}, {os.cpu_count()} cores, {args.rows} rows")
    t0 = time.perf_counter()
    make(default, args.rows).close()
    print(f"made the dataset in {time.perf_counter() - t0:.1f} s")
    reference = load_all(default)

    # Data-driven layout.
    data = os.path.join(root, "data")
    shutil.copytree(default, data)
    ds = gtn.dataset(data)
    plan = ds.layout_plan()
    print(plan)
    ds.rechunk(strategy="data")
    ds.close()
    assert same(load_all(data), reference), "data layout: data differ"

    print("\n## full-scan load (seconds, median; spread in parentheses)\n")
    print("| layout | load warm | load+transform warm | load cold | load+transform cold | stored MiB |")
    print("|---|---|---|---|---|---|")
    scan = {}
    for label, path in (("default (8 MiB, no byte compression)", default), ("data-driven plan", data)):
        load_all(path)
        w = timed(lambda: load_all(path), 5)
        wt = timed(lambda: load_all(path, True), 5)
        c = timed(lambda: load_all(path), 3, path)
        ct = timed(lambda: load_all(path, True), 3, path)
        ds = gtn.dataset(path, read_only=True)
        mib = sum(ds[t].info["stored_bytes"] for t in ("images", "emb", "text", "label")) / 2**20
        ds.close()
        scan[label] = w[0]
        print(f"| {label} | {w[0]:.3f} ({w[1]:.0%}) | {wt[0]:.3f} ({wt[1]:.0%}) | {c[0]:.3f} ({c[1]:.0%}) | "
              f"{ct[0]:.3f} ({ct[1]:.0%}) | {mib:.1f} |")

    print("\n## grid search per tensor (warm full-scan load, seconds, fastest of 7)\n")
    g = grid(default, os.path.join(root, "grid"), reference)
    planned = {}
    per_tensor_data = {}
    for name in g:
        per_tensor_data[name] = tensor_scan(data, name)
    best_total = sum(rows[0][0] for rows in g.values())
    data_total = sum(per_tensor_data.values())
    default_total = sum(tensor_scan(default, n) for n in g)
    print("| tensor | grid best | its time | data plan's time | grid worst |")
    print("|---|---|---|---|---|")
    for name, rows in g.items():
        print(f"| {name} | {rows[0][1]} | {rows[0][0]:.4f} | {per_tensor_data[name]:.4f} | {rows[-1][0]:.4f} ({rows[-1][1]}) |")
    print(f"\nsum over tensors: grid best {best_total:.4f} s, data plan {data_total:.4f} s "
          f"({best_total / data_total:.0%} of the best layout's speed), default {default_total:.4f} s")

    # Random-batch training workload: default vs workload-driven from a trace of the job.
    rng = np.random.default_rng(1)
    batches = [rng.choice(args.rows, BATCH, replace=False) for _ in range(args.batches)]
    ds = gtn.dataset(default, read_only=True)
    with ds.trace() as t:
        for b in batches[:20]:
            ds[b.tolist()]
    ds.close()
    work = os.path.join(root, "workload")
    shutil.copytree(default, work)
    ds = gtn.dataset(work)
    wplan = ds.layout_plan("workload", trace=t)
    print("\n", wplan, sep="")
    ds.rechunk(strategy="workload", trace=t)
    ds.close()
    assert same(load_all(work), reference), "workload layout: data differ"
    print("\n## random batches of 256 rows, every tensor (samples/s, median of 3)\n")
    print("| layout | 1 worker | 2 workers |")
    print("|---|---|---|")
    for label, path in (("default", default), ("data-driven", data), ("workload-driven", work)):
        cells = []
        for w in (1, 2):
            random_batches(path, batches[:8], w)
            runs = [random_batches(path, batches, w) for _ in range(3)]
            cells.append(f"{statistics.median(runs):,.0f} ({(max(runs) - min(runs)) / statistics.median(runs):.0%})")
        print(f"| {label} | {cells[0]} | {cells[1]} |")

    # Cost of recording: random 256-row gathers of the embeddings (one read_into per row
    # in C++, each recorded) with and without a trace attached, alternated.
    ds = gtn.dataset(default, read_only=True)
    emb = ds["emb"]
    idx = [b.tolist() for b in batches]
    off, on = [], []
    for _ in range(7):
        t0 = time.perf_counter()
        for b in idx:
            emb[b].numpy()
        off.append(time.perf_counter() - t0)
        with ds.trace():
            t0 = time.perf_counter()
            for b in idx:
                emb[b].numpy()
            on.append(time.perf_counter() - t0)
    ds.close()
    rows = len(idx) * BATCH
    print(f"\n## trace overhead: random gathers of 256 embedding rows\n\n"
          f"no trace {min(off) / rows * 1e9:.0f} ns/row (median {statistics.median(off) / rows * 1e9:.0f}), "
          f"tracing {min(on) / rows * 1e9:.0f} ns/row (median {statistics.median(on) / rows * 1e9:.0f}): "
          f"{(min(on) / min(off) - 1):+.1%} (fastest runs)")
    if not args.dir:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
