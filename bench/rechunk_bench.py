#!/usr/bin/env python
"""Rechunk: GTN's Dataset.rechunk against Deep Lake 3's ds.rechunk() and Zarr's rechunker
(not a test; the table is in docs/layout.md, "Rechunk").

Dataset: --samples N rows (default 50,000) of three tensors, the same bytes in every
system, no compression anywhere (so every system moves the same bytes):
  images      uint8 (64, 64, 3)  12,288 B a row (614 MB at 50,000)
  embeddings  float32 (128,)        512 B a row
  labels      int64 scalar            8 B a row
Every tensor starts in chunks of about 8 MB (GTN chunk target, Deep Lake max_chunk_size,
Zarr chunk rows) and is rewritten into chunks of about --target bytes (default 1 MB).

Each system at its best API:
  gtn        _core.Dataset.rechunk (the layouts of all three tensors, max_memory 256 MB):
             a new commit in the same dataset; fsync'ed
  deeplake3  ds.rechunk() after setting each tensor's max_chunk_size (Deep Lake 3 has no
             other way to choose the new size; its rechunk keeps the configured size)
  rechunker  rechunker.rechunk(zarr group, target_chunks, max_mem="256MB", target and
             temp stores) then plan.execute() on dask's threaded scheduler (Zarr 2; the
             rechunker has no Zarr 3 support)
Timed: open + rechunk (+ commit or close), on a fresh copy of the source for each repeat
(the copy is not timed; its pages are in the page cache: a warm run). Checked: every
value of every tensor read back through the system's own reader equals the generated
data, and the number of chunks follows the target. Also reported: the peak RSS of the
worker process up to the end of the rechunk (ru_maxrss, which includes the interpreter,
the libraries and mapped file pages) and, for GTN,
the rechunk's own peak_memory; and GTN's reorder of all rows (random permutation; no
peer has one) as an extra row.

Each system runs in its own process: Deep Lake 3 and the rechunker in their virtualenvs
(Deep Lake 3 needs numpy<2, the rechunker zarr<3):

    python3 -m venv bench/out/venv-dl3 && bench/out/venv-dl3/bin/pip install "deeplake<4" "numpy<2"
    python3 -m venv bench/out/venv-rechunk && bench/out/venv-rechunk/bin/pip install -r bench/requirements-rechunk.txt
    GTN_CORE_DIR=build/dev/python PYTHONPATH=python .venv/bin/python bench/rechunk_bench.py
    ... bench/rechunk_bench.py --samples 5000 --repeats 1     # a quick look
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "out")
IMG = (64, 64, 3)
EMB = 128
BLOCK = 1000  # rows generated (and checked) at a time
MB = 1 << 20


def block(start, stop):
    """Rows [start, stop) of every tensor, the same in every process."""
    rng = np.random.default_rng(start)
    n = stop - start
    return {
        "images": rng.integers(0, 256, size=(n,) + IMG, dtype=np.uint8),
        "embeddings": rng.standard_normal((n, EMB), dtype=np.float32),
        "labels": np.arange(start, stop, dtype=np.int64) % 1000,
    }


def row_bytes(name):
    return {"images": int(np.prod(IMG)), "embeddings": EMB * 4, "labels": 8}[name]


def rows_per_chunk(name, target):
    return max(1, target // row_bytes(name))


def max_rss():
    """Peak resident memory of this process so far (bytes): taken right after the rechunk,
    before the check reads everything back."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def fsync_tree(root, since):
    """fsync every file under `root` modified since `since` (time.time()): what a peer
    that does not fsync would still have to do to make its rechunk durable."""
    for folder, _, files in os.walk(root):
        for f in files:
            p = os.path.join(folder, f)
            if os.stat(p).st_mtime >= since - 1:
                fd = os.open(p, os.O_RDONLY)
                os.fsync(fd)
                os.close(fd)
        fd = os.open(folder, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)


def expected_chunks(name, n, target):
    r = rows_per_chunk(name, target)
    return -(-n // r)


# ----------------------------------------------------------------------------- workers


def gtn_build(path, n, source):
    import gtn
    ds = gtn.dataset(path, overwrite=True)
    ds.create_tensor("images", htype="image", chunk_size=source)
    ds.create_tensor("embeddings", htype="embedding", chunk_size=source)
    ds.create_tensor("labels", htype="generic", dtype="int64", chunk_size=source)
    for s in range(0, n, BLOCK):
        ds.extend(block(s, min(n, s + BLOCK)))
    ds.commit("source")
    ds.close()


def gtn_rechunk(path, n, target, order_seed=None):
    import gtn
    from gtn import _core
    t0 = time.perf_counter()
    ds = gtn.dataset(path)
    layouts = {name: {"chunk_bytes": target} for name in ("images", "embeddings", "labels")}
    order = None
    if order_seed is not None:
        order = np.random.default_rng(order_seed).permutation(n).astype(np.uint64)
    stats = _core.Dataset.rechunk(ds, layouts, order, "", 256 * MB, None, "")
    ds.close()
    seconds = time.perf_counter() - t0
    rss = max_rss()
    ds = gtn.dataset(path, read_only=True)
    chunks = {name: ds[name].info["num_chunks"] for name in ("images", "embeddings", "labels")}
    for s in range(0, n, BLOCK):
        e = min(n, s + BLOCK)
        want = block(s, e)
        for name in want:
            got = ds[name][s:e].numpy() if order is None else None
            if order is not None:
                continue
            assert np.array_equal(got, want[name]), f"gtn {name} rows {s}:{e} differ"
    if order is not None:  # row i is old row order[i]
        for name in ("images", "embeddings", "labels"):
            got = ds[name][:].numpy()
            for s in range(0, n, BLOCK):
                e = min(n, s + BLOCK)
                rows = np.nonzero((order >= s) & (order < e))[0]
                assert np.array_equal(got[rows], block(s, e)[name][order[rows].astype(np.int64) - s]), name
    return {"seconds": seconds, "durable_seconds": seconds, "max_rss": rss, "chunks": chunks,
            "peak_memory": stats["peak_memory"],
            "bytes_read": stats["bytes_read"], "bytes_written": stats["bytes_written"]}


def dl3_build(path, n, source):
    import deeplake
    ds = deeplake.empty(path, overwrite=True)
    with ds:
        ds.create_tensor("images", htype="image", dtype="uint8", sample_compression=None, max_chunk_size=source,
                         tiling_threshold=-1)
        ds.create_tensor("embeddings", htype="embedding", dtype="float32", max_chunk_size=source)
        ds.create_tensor("labels", htype="generic", dtype="int64", max_chunk_size=source)
        for s in range(0, n, BLOCK):
            b = block(s, min(n, s + BLOCK))
            ds.extend({"images": b["images"], "embeddings": b["embeddings"], "labels": b["labels"]})
    ds.commit("source")


def dl3_rechunk(path, n, target):
    import deeplake
    t0, wall = time.perf_counter(), time.time()
    ds = deeplake.load(path)
    for name in ("images", "embeddings", "labels"):
        meta = ds[name].meta
        meta.max_chunk_size = target
        meta.is_dirty = True
    ds.flush()
    ds.rechunk(progressbar=False)
    ds.flush()
    seconds = time.perf_counter() - t0
    rss = max_rss()
    fsync_tree(path, wall)
    durable = time.perf_counter() - t0
    ds = deeplake.load(path, read_only=True)
    chunks = {name: ds[name].chunk_engine.num_chunks for name in ("images", "embeddings", "labels")}
    for s in range(0, n, BLOCK):
        e = min(n, s + BLOCK)
        want = block(s, e)
        for name in want:
            got = ds[name][s:e].numpy()
            if name == "labels":
                got = got.reshape(-1)
            assert np.array_equal(got, want[name]), f"deeplake3 {name} rows {s}:{e} differ"
    return {"seconds": seconds, "durable_seconds": durable, "max_rss": rss, "chunks": chunks}


def zarr_build(path, n, source):
    import zarr
    g = zarr.open_group(path, mode="w")
    arrays = {}
    for name, shape, dtype in (("images", IMG, "uint8"), ("embeddings", (EMB,), "float32"), ("labels", (), "int64")):
        arrays[name] = g.create_dataset(name, shape=(n,) + shape, chunks=(min(n, rows_per_chunk(name, source)),) + shape,
                                        dtype=dtype, compressor=None)
    for s in range(0, n, BLOCK):
        e = min(n, s + BLOCK)
        for name, values in block(s, e).items():
            arrays[name][s:e] = values


def zarr_rechunk(path, n, target):
    import zarr
    from rechunker import rechunk
    work = os.path.dirname(path)
    out, tmp = os.path.join(work, "target.zarr"), os.path.join(work, "temp.zarr")
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)
    t0, wall = time.perf_counter(), time.time()
    source = zarr.open_group(path, mode="r")
    chunks = {name: (min(n, rows_per_chunk(name, target)),) + source[name].shape[1:] for name in source.array_keys()}
    plan = rechunk(source, chunks, "256MB", out, temp_store=tmp)
    plan.execute()
    seconds = time.perf_counter() - t0
    rss = max_rss()
    fsync_tree(out, wall)
    durable = time.perf_counter() - t0
    g = zarr.open_group(out, mode="r")
    nchunks = {name: g[name].nchunks for name in g.array_keys()}
    for s in range(0, n, BLOCK):
        e = min(n, s + BLOCK)
        for name, values in block(s, e).items():
            assert np.array_equal(g[name][s:e], values), f"rechunker {name} rows {s}:{e} differ"
    return {"seconds": seconds, "durable_seconds": durable, "max_rss": rss, "chunks": nchunks}


SYSTEMS = {
    "gtn": (gtn_build, gtn_rechunk),
    "deeplake3": (dl3_build, dl3_rechunk),
    "rechunker": (zarr_build, zarr_rechunk),
}


def versions(system):
    if system == "gtn":
        import gtn
        return {"gtn": getattr(gtn, "__version__", "dev"), "numpy": np.__version__}
    if system == "deeplake3":
        import deeplake
        return {"deeplake": deeplake.__version__, "numpy": np.__version__}
    import dask
    import rechunker
    import zarr
    return {"rechunker": rechunker.__version__, "zarr": zarr.__version__, "dask": dask.__version__,
            "numpy": np.__version__}


def worker(args):
    build, run = SYSTEMS[args.system]
    src = os.path.join(args.dir, "source")
    if args.phase == "build":
        t0 = time.perf_counter()
        build(src, args.samples, args.source)
        print(json.dumps({"build_seconds": time.perf_counter() - t0, "versions": versions(args.system)}))
        return
    run_dir = os.path.join(args.dir, "run")
    shutil.rmtree(run_dir, ignore_errors=True)
    os.makedirs(run_dir)
    dst = os.path.join(run_dir, "data")
    shutil.copytree(src, dst)
    subprocess.run(["sync"], check=False)
    if args.phase == "reorder":
        result = run(dst, args.samples, args.target, order_seed=7)
    else:
        result = run(dst, args.samples, args.target)
    print(json.dumps(result))


# ----------------------------------------------------------------------------- driver


def call(python, system, phase, args, work):
    cmd = [python, os.path.abspath(__file__), "--worker", "--system", system, "--phase", phase, "--dir", work,
           "--samples", str(args.samples), "--target", str(args.target), "--source", str(args.source)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{system} {phase} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def spread(xs):
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "runs": xs}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--samples", type=int, default=50_000)
    p.add_argument("--target", type=int, default=1 * MB, help="new chunk size in bytes")
    p.add_argument("--source", type=int, default=8 * MB, help="chunk size the data start in")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--systems", default="gtn,deeplake3,rechunker")
    p.add_argument("--dl3-python", default=os.path.join(OUT, "venv-dl3", "bin", "python"))
    p.add_argument("--rechunker-python", default=os.path.join(OUT, "venv-rechunk", "bin", "python"))
    p.add_argument("--dir", default=None, help="scratch folder (default: a temporary one)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--system", help=argparse.SUPPRESS)
    p.add_argument("--phase", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args)
    pythons = {"gtn": sys.executable, "deeplake3": args.dl3_python, "rechunker": args.rechunker_python}
    scratch = args.dir or tempfile.mkdtemp(prefix="gtn_rechunk_bench_")
    report = {"samples": args.samples, "target": args.target, "source": args.source, "repeats": args.repeats,
              "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                          "load_before": os.getloadavg()}, "systems": {}}
    try:
        for system in args.systems.split(","):
            work = os.path.join(scratch, system)
            os.makedirs(work, exist_ok=True)
            built = call(pythons[system], system, "build", args, work)
            print(f"{system}: built in {built['build_seconds']:.1f} s ({built['versions']})", flush=True)
            runs = []
            for r in range(args.repeats):
                runs.append(call(pythons[system], system, "rechunk", args, work))
                print(f"  rechunk {r + 1}: {runs[-1]['seconds']:.2f} s, chunks {runs[-1]['chunks']}, "
                      f"max RSS {runs[-1]['max_rss'] / MB:.0f} MB", flush=True)
            entry = {"versions": built["versions"], "build_seconds": built["build_seconds"],
                     "seconds": spread([x["seconds"] for x in runs]),
                     "durable_seconds": spread([x["durable_seconds"] for x in runs]),
                     "max_rss": max(x["max_rss"] for x in runs), "chunks": runs[-1]["chunks"], "runs": runs}
            if system == "gtn":
                reorders = []
                for r in range(args.repeats):
                    reorders.append(call(pythons[system], system, "reorder", args, work))
                    print(f"  reorder {r + 1}: {reorders[-1]['seconds']:.2f} s, peak "
                          f"{reorders[-1]['peak_memory'] / MB:.0f} MB", flush=True)
                entry["reorder_seconds"] = spread([x["seconds"] for x in reorders])
                entry["reorder_runs"] = reorders
            for name, n in entry["chunks"].items():
                want = expected_chunks(name, args.samples, args.target)
                entry.setdefault("chunks_expected", {})[name] = want
            report["systems"][system] = entry
            shutil.rmtree(work, ignore_errors=True)
    finally:
        if not args.dir:
            shutil.rmtree(scratch, ignore_errors=True)
    report["machine"]["load_after"] = os.getloadavg()
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "rechunk_bench.json"), "w") as f:
        json.dump(report, f, indent=1)
    print("\n| system | rechunk s, median (min-max) | + fsync of what it wrote | chunks after "
          "(images/emb/labels) | max RSS MB |")
    print("|---|---|---|---|---|")
    for system, e in report["systems"].items():
        s, d = e["seconds"], e["durable_seconds"]
        c = e["chunks"]
        print(f"| {system} | {s['median']:.2f} ({s['min']:.2f}-{s['max']:.2f}) | {d['median']:.2f} "
              f"({d['min']:.2f}-{d['max']:.2f}) | {c.get('images')}/{c.get('embeddings')}/{c.get('labels')} | "
              f"{e['max_rss'] / MB:.0f} |")
        if "reorder_seconds" in e:
            s = e["reorder_seconds"]
            print(f"| {system} reorder (random permutation) + rechunk | {s['median']:.2f} "
                  f"({s['min']:.2f}-{s['max']:.2f}) | same | | |")
    print(f"load average before {report['machine']['load_before']}, after {report['machine']['load_after']}")


if __name__ == "__main__":
    main()
