#!/usr/bin/env python3
"""Graph benchmark on SYNTHETIC OGB-format data (bench/ogb_synth.py): docs/graph.md.

(a) load + transform: from storage to the in-memory tensors a GNN trains on (CSR indptr and
    indices, features, labels, train/valid/test masks as torch tensors), cold and warm page
    cache, for OGB's own raw-file path, .npy files, .pt files, and GTN-F layouts.
(b) parallel computation: GraphSAGE mini-batch sampling + feature gathering (batch 1024,
    fanouts [15, 10, 5]) with 1 and 2 DataLoader worker processes, per GTN-F layout.

Every measurement of (a) runs in a fresh interpreter; "cold" first drops every file of the
variant from the page cache with os.posix_fadvise(POSIX_FADV_DONTNEED) (no root needed;
works for clean pages of files no process maps). Every variant's tensors are compared with
the reference (OGB's raw path) by digest; (b) checks that every layout yields identical
batches (same row order) or, for a reordered layout, the same batches after mapping ids back.

    python bench/ogb_synth.py /work/graphbench/arxiv-synth --preset arxiv
    python bench/graph_bench.py /work/graphbench/arxiv-synth /work/graphbench/arxiv-work --repeat 3

A GTN-F layout is a function (source dataset path, output path) -> None that writes a
dataset; LAYOUTS lists them.
"""
import argparse
import glob
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


# --- GTN-F layouts: (ogb source, default dataset path, output path) -> writes the dataset ---

def layout_default(src, default_ds, out):
    """What gtn.graph.from_ogb writes with today's fixed defaults: 8 MiB chunks, no compression."""
    import gtn.graph as gg
    gg.ingest_ogb(src, out)


def chunk_layout(chunk_bytes, compression="none"):
    def make(src, default_ds, out):
        import gtn.graph as gg
        gg.ingest_ogb(src, out, chunk_bytes=chunk_bytes, chunk_compression=compression)
    make.__doc__ = f"every tensor in {chunk_bytes >> 20} MiB chunks, chunk compression {compression}"
    return make


def layout_rcm(src, default_ds, out):
    """Rows reordered by reverse Cuthill-McKee of the symmetrized graph (neighbourhoods in
    nearby rows), neighbour ids remapped, an `orig_index` tensor holding each row's old id."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    import gtn
    import gtn.graph as gg
    g = gg.load(default_ds)
    n = g.num_nodes
    a = sp.csr_matrix((np.ones(len(g.indices), dtype=np.int8), np.asarray(g.indices, dtype=np.int64),
                       np.asarray(g.indptr)), shape=(n, n))
    perm = np.asarray(reverse_cuthill_mckee((a + a.T).tocsr(), symmetric_mode=True), dtype=np.int64)
    inv = np.empty(n, dtype=np.int64)
    inv[perm] = np.arange(n)
    ds = gtn.dataset(out)
    src_ds = gtn.dataset(default_ds, read_only=True)
    for name in ("x", "y", "split"):
        t = src_ds[name]
        ds.create_tensor(name, htype=t.htype, dtype=t.dtype, class_names=t.class_names or None)
    ds.create_tensor("neighbors", htype="neighbors")
    ds.create_tensor("orig_index", dtype="int64")
    step = 50_000
    for s in range(0, n, step):
        rows = perm[s:s + step]
        ds.extend({"x": np.ascontiguousarray(g.x[rows]), "y": g.y[rows], "split": g.split[rows],
                   "neighbors": [np.sort(inv[g.indices[g.indptr[v]:g.indptr[v + 1]]]) for v in rows],
                   "orig_index": rows})
    ds.commit("reverse Cuthill-McKee row order")
    ds.close()
    np.save(out + ".perm.npy", perm)


def layout_data_driven(src, default_ds, out):
    """The default dataset rewritten by ds.rechunk(strategy="data") (docs/layout.md)."""
    import gtn
    shutil.copytree(default_ds, out)
    ds = gtn.dataset(out)
    print(ds.layout_plan(), flush=True)
    ds.rechunk(strategy="data")
    ds.close()


def layout_workload(src, default_ds, out):
    """The default dataset rewritten by ds.rechunk(strategy="workload") from a trace of 5
    batches of the sampling job itself (NeighborLoader, batch 1024, fanouts [15, 10, 5])."""
    import gtn
    import gtn.graph as gg
    import gc
    import tempfile
    shutil.copytree(default_ds, out)
    # The sampler reads through its own handle: $GTN_TRACE records it (docs/layout.md).
    prefix = os.path.join(tempfile.mkdtemp(), "sampling.gtntrace")
    os.environ["GTN_TRACE"] = prefix
    try:
        loader = gg.NeighborLoader(out, [15, 10, 5], batch_size=1024, seed=1, input_nodes="train")
        for _, _batch in zip(range(5), loader):
            pass
        del loader, _batch
        gc.collect()
    finally:
        del os.environ["GTN_TRACE"]
    t = gtn.load_trace(prefix)
    ds = gtn.dataset(out)
    print(t.summary(ds)["text"], flush=True)
    print(ds.layout_plan("workload", trace=t), flush=True)
    ds.rechunk(strategy="workload", trace=t)
    if "orig_index" in ds.tensors:
        np.save(out + ".perm.npy", np.asarray(ds["orig_index"].numpy(), dtype=np.int64).ravel())
    ds.close()


LAYOUTS = {
    "gtn-default": layout_default,
    "gtn-data-driven": layout_data_driven,
    "gtn-64MiB": chunk_layout(64 << 20),
    "gtn-lz4-8MiB": chunk_layout(8 << 20, "lz4"),
}
SAMPLING_LAYOUTS = {"gtn-default": None, "gtn-64MiB": None, "gtn-rcm-reordered": layout_rcm,
                    "gtn-workload-driven": layout_workload}


# --- (a) load + transform variants: each returns a dict of torch tensors ---

def masks_from_split(split):
    import torch
    split = torch.as_tensor(split)
    return {"train_mask": split == 0, "valid_mask": split == 1, "test_mask": split == 2}


def load_ogb_raw(src):
    """OGB's path: pandas.read_csv of the csv.gz files (as ogb.io.read_csv_graph_raw and
    NodePropPredDataset do), then the CSR built with numpy."""
    import pandas as pd
    import torch
    raw = os.path.join(src, "raw")
    edge = pd.read_csv(os.path.join(raw, "edge.csv.gz"), compression="gzip", header=None).values.T.astype(np.int64)
    n = int(pd.read_csv(os.path.join(raw, "num-node-list.csv.gz"), compression="gzip", header=None).values[0, 0])
    x = pd.read_csv(os.path.join(raw, "node-feat.csv.gz"), compression="gzip", header=None).values.astype(np.float32)
    y = pd.read_csv(os.path.join(raw, "node-label.csv.gz"), compression="gzip", header=None).values[:, 0]
    split_dir = glob.glob(os.path.join(src, "split", "*"))[0]
    split = np.full(n, 3, dtype=np.int64)
    for k, name in enumerate(("train", "valid", "test")):
        ids = pd.read_csv(os.path.join(split_dir, f"{name}.csv.gz"), compression="gzip", header=None).values.T[0]
        split[ids] = k
    order = np.lexsort((edge[1], edge[0]))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(edge[0], minlength=n), out=indptr[1:])
    out = {"indptr": torch.from_numpy(indptr), "indices": torch.from_numpy(edge[1][order]),
           "x": torch.from_numpy(x), "y": torch.from_numpy(y.astype(np.int64))}
    out.update(masks_from_split(split))
    return out


def load_npy(prefix, mmap=False):
    import torch
    out = {k: torch.from_numpy(np.load(os.path.join(prefix, f"{k}.npy"), mmap_mode="r" if mmap else None))
           for k in ("indptr", "indices", "x", "y")}
    out.update(masks_from_split(np.load(os.path.join(prefix, "split.npy"))))
    return out


def load_pt(path):
    import torch
    d = torch.load(path)
    out = {k: d[k] for k in ("indptr", "indices", "x", "y")}
    out.update(masks_from_split(d["split"]))
    return out


def load_gtn(path):
    import gtn.graph as gg
    g = gg.load(path, as_torch=True)
    return {"indptr": g.indptr, "indices": g.indices, "x": g.x, "y": g.y, "train_mask": g.train_mask,
            "valid_mask": g.valid_mask, "test_mask": g.test_mask}


def digest(tensors):
    out = {}
    for k in sorted(tensors):
        a = tensors[k].numpy() if hasattr(tensors[k], "numpy") else np.asarray(tensors[k])
        out[k] = hashlib.blake2b(np.ascontiguousarray(a).view(np.uint8).reshape(-1), digest_size=12).hexdigest() + \
            f"/{a.dtype}{list(a.shape)}"
    return out


def drop_cache(paths):
    n = 0
    for p in paths:
        files = [p] if os.path.isfile(p) else [os.path.join(r, f) for r, _, fs in os.walk(p) for f in fs]
        for f in files:
            fd = os.open(f, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                n += 1
            finally:
                os.close(fd)
    return n


def one_load(kind, path, cold):
    """Child process: time one load of `kind` from `path`; print JSON."""
    fn = {"ogb-raw": load_ogb_raw, "npy": load_npy, "npy-mmap": lambda p: load_npy(p, mmap=True), "pt": load_pt}
    loader = fn.get(kind, load_gtn)
    import torch  # noqa: F401  (imports outside the timed region for every variant)
    import pandas  # noqa: F401
    import gtn.graph  # noqa: F401
    if cold:
        drop_cache([path])
    t = time.perf_counter()
    tensors = loader(path)
    # Touch every byte once so that lazily mapped variants pay for their reads too.
    for v in tensors.values():
        v.sum()
    dt = time.perf_counter() - t
    print(json.dumps({"seconds": dt, "digest": digest(tensors)}))


def run_child(args):
    env = dict(os.environ)
    r = subprocess.run([sys.executable, os.path.abspath(__file__), "_one", *args], capture_output=True, text=True,
                       env=env)
    if r.returncode != 0:
        raise RuntimeError(f"{args}: {r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


# --- (b) sampling ---

def sample_run(path, workers, batches, seed=0):
    import gtn.graph as gg
    loader = gg.NeighborLoader(path, [15, 10, 5], batch_size=1024, shuffle=True, seed=seed, num_workers=workers,
                               input_nodes="train", persistent_workers=False)
    it = iter(loader)
    t = time.perf_counter()
    seeds = 0
    out = []
    for i, b in enumerate(it):
        seeds += b.batch_size
        out.append(b)
        if i + 1 == batches:
            break
    dt = time.perf_counter() - t
    del it
    return seeds / dt, out


def fmt_stats(xs, unit=""):
    med = statistics.median(xs)
    return f"{med:.3g}{unit} ({min(xs):.3g}–{max(xs):.3g})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src", help="an OGB-format folder (bench/ogb_synth.py)")
    ap.add_argument("work", help="folder for the prepared formats")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--batches", type=int, default=30, help="batches per sampling measurement")
    ap.add_argument("--skip-load", action="store_true")
    ap.add_argument("--skip-sampling", action="store_true")
    ap.add_argument("--sampling-layouts", default="", help="comma-separated subset of SAMPLING_LAYOUTS")
    ap.add_argument("--sampling-cache", default="warm",
                    help="warm, cold or warm,cold: cold drops the dataset's files from the page cache "
                         "(posix_fadvise DONTNEED) before each sampling run, as for a graph that is not in "
                         "memory (larger than RAM, or its first epoch)")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    import torch

    import gtn
    import gtn.graph as gg
    info = {"python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__,
            "gtn": gtn.__version__, "cpus": os.cpu_count(), "load": os.getloadavg()}
    import pandas
    info["pandas"] = pandas.__version__
    print(json.dumps(info))
    meta = json.load(open(os.path.join(a.src, "meta.json")))
    assert meta.get("SYNTHETIC"), "expected a SYNTHETIC dataset written by bench/ogb_synth.py"
    default_ds = os.path.join(a.work, "gtn-default")
    prepare = {}
    for name, make in LAYOUTS.items():
        out = os.path.join(a.work, name)
        if not os.path.exists(out):
            t = time.perf_counter()
            make(a.src, default_ds, out)
            prepare[name] = time.perf_counter() - t
    print("prepare (s):", json.dumps({k: round(v, 2) for k, v in prepare.items()}), flush=True)
    # npy / pt from the reference tensors.
    ref = load_ogb_raw(a.src)
    ref_split = np.full(len(ref["y"]), 3, dtype=np.int64)
    for k, m in enumerate(("train_mask", "valid_mask", "test_mask")):
        ref_split[ref[m].numpy()] = k
    npy_dir = os.path.join(a.work, "npy")
    if not os.path.exists(npy_dir):
        os.makedirs(npy_dir)
        for k in ("indptr", "indices", "x", "y"):
            np.save(os.path.join(npy_dir, f"{k}.npy"), ref[k].numpy())
        np.save(os.path.join(npy_dir, "split.npy"), ref_split)
    pt = os.path.join(a.work, "graph.pt")
    if not os.path.exists(pt):
        torch.save({"indptr": ref["indptr"], "indices": ref["indices"], "x": ref["x"], "y": ref["y"],
                    "split": torch.from_numpy(ref_split)}, pt)
    ref_digest = digest(ref)
    del ref

    if not a.skip_load:
        variants = [("ogb-raw", a.src), ("npy", npy_dir), ("npy-mmap", npy_dir), ("pt", pt)] + \
            [(name, os.path.join(a.work, name)) for name in LAYOUTS]
        rows = []
        for kind, path in variants:
            res = {}
            for cold in (True, False):
                times = []
                if not cold:
                    run_child([kind, path, "warm"])  # fill the page cache
                for _ in range(a.repeat):
                    r = run_child([kind, path, "cold" if cold else "warm"])
                    if r["digest"] != ref_digest:
                        bad = [k for k in ref_digest if r["digest"].get(k) != ref_digest[k]]
                        raise SystemExit(f"{kind}: tensors differ from OGB's raw path: {bad}")
                    times.append(r["seconds"])
                res["cold" if cold else "warm"] = times
            size = sum(os.path.getsize(os.path.join(r_, f)) for r_, _, fs in os.walk(path) for f in fs) \
                if os.path.isdir(path) else os.path.getsize(path)
            rows.append((kind, size, res))
            print(f"{kind:14s} {size / 2**20:8.1f} MiB  cold {fmt_stats(res['cold'], ' s')}  "
                  f"warm {fmt_stats(res['warm'], ' s')}  (output identical)", flush=True)
        print("\n| variant | on disk (MiB) | cold (s) | warm (s) |\n|---|---|---|---|")
        for kind, size, res in rows:
            print(f"| {kind} | {size / 2**20:.1f} | {fmt_stats(res['cold'])} | {fmt_stats(res['warm'])} |")

    if not a.skip_sampling:
        paths = {}
        chosen = [n for n in a.sampling_layouts.split(",") if n] or list(SAMPLING_LAYOUTS)
        for name, make in ((n, SAMPLING_LAYOUTS[n]) for n in chosen):
            out = os.path.join(a.work, name)
            if make is not None and not os.path.exists(out):
                t = time.perf_counter()
                make(a.src, default_ds, out)
                print(f"prepare {name}: {time.perf_counter() - t:.1f} s", flush=True)
            paths[name] = out
        ref_g = gg.load(default_ds)
        reference = None
        rows = []
        for name, path in paths.items():
            perm = np.load(path + ".perm.npy") if os.path.exists(path + ".perm.npy") else None
            for cache, workers in ((c, w) for c in a.sampling_cache.split(",") for w in (1, 2)):
                rates = []
                for rep in range(a.repeat):
                    if cache == "cold":
                        drop_cache([path])
                    else:
                        sample_run(path, workers, 2)  # fill the page cache
                    rate, batches = sample_run(path, workers, a.batches)
                    rates.append(rate)
                    # Check: identical batches on layouts with the same row order; on the
                    # reordered one, every edge exists and x/y are the rows of the mapped ids.
                    if perm is None:
                        sig = [hashlib.blake2b(b.n_id.numpy().tobytes() + b.x.numpy().tobytes()).hexdigest()
                               for b in batches]
                        if reference is None:
                            reference = sig
                        assert sig == reference[:len(sig)], f"{name}: batches differ from gtn-default"
                    else:
                        for b in batches[:3]:
                            ids = perm[b.n_id.numpy()]
                            assert np.array_equal(b.x.numpy(), ref_g.x[ids])
                            assert np.array_equal(b.y.numpy(), ref_g.y[ids[:b.batch_size]])
                            blk = b.blocks[0]
                            ip, ix = blk["indptr"].numpy(), blk["indices"].numpy()
                            for d in range(blk["num_dst"]):
                                v = ids[d]
                                nb = ref_g.indices[ref_g.indptr[v]:ref_g.indptr[v + 1]]
                                assert np.isin(ids[ix[ip[d]:ip[d + 1]]], nb).all()
                rows.append((name, cache, workers, rates))
                print(f"{name:20s} {cache} workers={workers}  {fmt_stats(rates, ' seeds/s')}", flush=True)
        print("\n| layout | page cache | workers | seed nodes/s |\n|---|---|---|---|")
        for name, cache, workers, rates in rows:
            print(f"| {name} | {cache} | {workers} | {fmt_stats(rates)} |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_one":
        one_load(sys.argv[2], sys.argv[3], sys.argv[4] == "cold")
    else:
        main()
