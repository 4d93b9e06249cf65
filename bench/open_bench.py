#!/usr/bin/env python
"""Open time, memory after open, and cold-cache reads of GTN-F against LMDB, by dataset size
(not a test).

For each size (GB of samples: image uint8[64, 64, 3], embedding float32[128], label int64,
text 50-500 bytes, as in bench/storage_bench.py), the script writes one GTN dataset and one
LMDB database (one packed value per sample), makes both durable, then measures, each in a
fresh Python process so that nothing is mapped or cached in the process beforehand:

  warm   (page cache holds the files)  GTN open time, VmRSS before and after open, the
         first 1,000 random whole-sample reads right after open and VmRSS after them; then
         every sample read once in order, and 20,000 random reads as the steady state (as
         returned, then copied out), and VmRSS after all; LMDB likewise
  cold   the dataset's own files evicted from the page cache with
         posix_fadvise(POSIX_FADV_DONTNEED) (after fsync, so every page is clean), then
         open + 1,000 random whole-sample reads with the bytes copied out (a view that is
         never touched reads nothing from disk), for GTN and LMDB (with its default
         readahead, and with readahead=False), repeated; /proc/self/io gives the bytes
         each process read from disk

    GTN_CORE_DIR=build/<dir>/python PYTHONPATH=python .venv/bin/python bench/open_bench.py --sizes 0.65,2,4
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import storage_bench as sb  # noqa: E402  (the same samples and the same LMDB layout)

DISTINCT = 16  # distinct write batches of 1,000; sample i is row i % 1000 of batch (i // 1000) % DISTINCT
_KEY = struct.Struct(">Q")


def sample_bytes():
    return sb.IMAGE_BYTES + sb.EMB_BYTES + 8 + 275


_BATCHES = {}


def batch(k):
    k %= DISTINCT
    if k not in _BATCHES:
        _BATCHES[k] = sb.make_batch(k * sb.WRITE_BATCH, sb.WRITE_BATCH, True)
    return _BATCHES[k]


def expected(i):
    images, embeddings, labels, texts = batch(i // sb.WRITE_BATCH)
    j = i % sb.WRITE_BATCH
    return images[j], embeddings[j], labels[j], texts[j]


def build_gtn(path, n):
    import gtn
    ds = gtn.dataset(path)
    ds.create_tensor("image", htype="image", dtype="uint8")
    ds.create_tensor("embedding", htype="embedding", dtype="float32")
    ds.create_tensor("label", htype="generic", dtype="int64")
    ds.create_tensor("text", htype="text")
    for start in range(0, n, sb.WRITE_BATCH):
        images, embeddings, labels, texts = batch(start // sb.WRITE_BATCH)
        ds.extend({"image": images, "embedding": embeddings, "label": labels, "text": texts})
    ds.close()  # durable: fdatasync of every chunk, then the manifest


def build_lmdb(path, n):
    import lmdb
    env = lmdb.open(path, map_size=n * 16 * 1024 * 2, subdir=True, sync=False, metasync=False)
    for start in range(0, n, sb.WRITE_BATCH):
        images, embeddings, labels, texts = batch(start // sb.WRITE_BATCH)
        items = [(_KEY.pack(start + j), b"".join((labels[j].tobytes(), embeddings[j].tobytes(), images[j].tobytes(),
                                                  texts[j].encode())))
                 for j in range(len(labels))]
        with env.begin(write=True) as txn:
            txn.cursor().putmulti(items, append=True)
    env.sync(True)
    env.close()


def files_of(path):
    return sb.files_of(path)


def evict(path):
    """Drops the files' pages from the page cache (they are clean: written and fsynced)."""
    for p in files_of(path):
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def cached_fraction(path):
    """Fraction of the files' pages in the page cache (mincore over a fresh mapping)."""
    import ctypes
    import mmap
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    page = mmap.PAGESIZE
    resident = total = 0
    for p in files_of(path):
        size = os.path.getsize(p)
        if size == 0:
            continue
        fd = os.open(p, os.O_RDONLY)
        try:
            addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
            if addr in (None, ctypes.c_void_p(-1).value):
                continue
            pages = (size + page - 1) // page
            vec = (ctypes.c_ubyte * pages)()
            if libc.mincore(addr, size, vec) == 0:
                resident += sum(b & 1 for b in bytes(vec))
                total += pages
            libc.munmap(addr, size)
        finally:
            os.close(fd)
    return resident / total if total else 0.0


def warm(path):
    buf = bytearray(16 << 20)
    for p in files_of(path):
        with open(p, "rb", buffering=0) as f:
            while f.readinto(buf):
                pass


# --- the child process: one measurement, printed as JSON ---

def vm_rss():
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "RssAnon:", "RssFile:")):
                key, value = line.split(":", 1)
                out[key] = int(value.split()[0]) * 1024
    return out


class GtnReader:
    def __init__(self, path):
        import gtn
        self.ds = gtn.dataset(path, read_only=True)

    def get(self, i):
        s = self.ds[i]
        return s["image"], s["embedding"], s["label"], s["text"]

    def get_copy(self, i):
        s = self.ds[i]
        return np.array(s["image"]), s["embedding"], s["label"], s["text"]

    def __len__(self):
        return len(self.ds)


class LmdbReader:
    readahead = True

    def __init__(self, path):
        import lmdb
        self.env = lmdb.open(path, readonly=True, lock=False, subdir=True, readahead=self.readahead)
        self.txn = self.env.begin(buffers=True)
        self.txn_bytes = self.env.begin()
        self.n = self.env.stat()["entries"]

    def _unpack(self, v):
        e = 8 + sb.EMB_BYTES
        return (np.frombuffer(v, np.uint8, sb.IMAGE_BYTES, e).reshape(sb.IMAGE_SHAPE), np.frombuffer(v, np.float32, sb.EMB_DIM, 8),
                int.from_bytes(v[:8], "little", signed=True), str(v[e + sb.IMAGE_BYTES:], "utf-8"))

    def get(self, i):
        return self._unpack(self.txn.get(_KEY.pack(i)))

    def get_copy(self, i):
        return self._unpack(self.txn_bytes.get(_KEY.pack(i)))

    def __len__(self):
        return self.n


class LmdbNoReadahead(LmdbReader):
    readahead = False  # MADV_RANDOM on the map: py-lmdb's advice for random reads of a large database


READERS = {"gtn": GtnReader, "lmdb": LmdbReader, "lmdb-noreadahead": LmdbNoReadahead}


def io_read_bytes():
    """Bytes this process caused to be read from storage (page faults included)."""
    try:
        with open("/proc/self/io") as f:
            for line in f:
                if line.startswith("read_bytes:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def child(args):
    """Runs in a fresh process; prints one JSON object."""
    import gtn  # noqa: F401  (imports are not part of the measurement)
    import lmdb  # noqa: F401
    cls = READERS[args.system]
    rss0 = vm_rss()
    io0 = io_read_bytes()
    t0 = time.perf_counter()
    r = cls(args.path)
    n = len(r)
    t_open = time.perf_counter() - t0
    rss_open = vm_rss()
    rng = np.random.default_rng(args.seed)
    first = rng.integers(0, n, size=1000).tolist()
    get = r.get_copy if args.mode == "cold" else r.get
    t0 = time.perf_counter()
    for i in first:
        get(i)
    t_first = time.perf_counter() - t0
    out = {"open_s": t_open, "n": n, "rss_before_open": rss0, "rss_after_open": rss_open, "first_1000_s": t_first,
           "io_read_bytes": io_read_bytes() - io0}
    if args.mode == "warm":
        out["rss_after_first"] = vm_rss()
        # Steady state: every sample read once (copied out, so every page and block is
        # touched and verified), then random reads.
        t0 = time.perf_counter()
        for i in range(n):
            r.get_copy(i)
        out["touch_all_s"] = time.perf_counter() - t0
        steady = rng.integers(0, n, size=20000).tolist()
        for name, g in (("steady_s", r.get), ("steady_copy_s", r.get_copy)):
            t0 = time.perf_counter()
            for i in steady:
                g(i)
            out[name] = (time.perf_counter() - t0) / len(steady)
        out["rss_after_reads"] = vm_rss()
        for i in rng.integers(0, n, size=2000).tolist() + [0, n - 1]:  # the values are right (after the RSS)
            got, want = r.get_copy(i), expected(i)
            if not (np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1]) and int(got[2]) == int(want[2])
                    and got[3] == want[3]):
                raise AssertionError(f"{args.system}: sample {i} differs from what was written")
    print(json.dumps(out))


def run_child(system, path, mode, seed):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", system, "--path", path, "--mode", mode,
           "--seed", str(seed)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def mb(x):
    return f"{x / 1e6:.1f}"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="0.65,2,4", help="dataset sizes in GB (10^9 bytes of samples)")
    p.add_argument("--cold-repeats", type=int, default=3)
    p.add_argument("--dir", default="/tmp/gtn-bench/open", help="scratch folder (removed afterwards)")
    p.add_argument("--json", default="bench/out/open_bench.json")
    p.add_argument("--child", choices=sorted(READERS))
    p.add_argument("--path")
    p.add_argument("--mode", choices=("warm", "cold"), default="warm")
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    if args.child:
        args.system = args.child
        child(args)
        return
    sizes = [float(s) for s in args.sizes.split(",") if s.strip()]
    free = shutil.disk_usage(os.path.dirname(os.path.abspath(args.dir)) or "/").free
    need = 2 * max(sizes) * 1e9 * 1.3
    if need > free:
        sys.exit(f"needs about {need / 1e9:.1f} GB free under {args.dir}, has {free / 1e9:.1f}")
    print(f"machine: {sb.machine()}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in sb.versions().items() if k in ("numpy", "gtn", "lmdb", "liblmdb")))
    results = []
    os.makedirs(args.dir, exist_ok=True)
    try:
        for gb in sizes:
            n = int(gb * 1e9 / sample_bytes()) // sb.WRITE_BATCH * sb.WRITE_BATCH
            row = {"gb": gb, "samples": n, "load_before": os.getloadavg()}
            paths = {"gtn": os.path.join(args.dir, f"gtn-{n}"), "lmdb": os.path.join(args.dir, f"lmdb-{n}")}
            for system, build in (("gtn", build_gtn), ("lmdb", build_lmdb)):
                shutil.rmtree(paths[system], ignore_errors=True)
                print(f"== {gb} GB ({n:,} samples): writing {system} ... (load {os.getloadavg()[0]:.2f})",
                      file=sys.stderr, flush=True)
                t0 = time.perf_counter()
                build(paths[system], n)
                row[f"{system}_build_s"] = time.perf_counter() - t0
                row[f"{system}_bytes"] = sum(os.path.getsize(f) for f in files_of(paths[system]))
                row[f"{system}_files"] = len(files_of(paths[system]))
            for system in ("gtn", "lmdb"):
                warm(paths[system])
                row[f"{system}_warm"] = [run_child(system, paths[system], "warm", 7 + k) for k in range(3)]
            for system in ("gtn", "lmdb", "lmdb-noreadahead"):
                row[f"{system}_cold"] = []
                for k in range(args.cold_repeats):
                    path = paths[system.split("-")[0]]
                    evict(path)
                    row[f"{system}_cold_cached_before"] = cached_fraction(path)
                    row[f"{system}_cold"].append(run_child(system, path, "cold", 100 + k))
            row["load_after"] = os.getloadavg()
            results.append(row)
            for path in paths.values():
                shutil.rmtree(path, ignore_errors=True)
            print(json.dumps({k: v for k, v in row.items() if not k.endswith(("_warm", "_cold"))}), file=sys.stderr,
                  flush=True)
    finally:
        shutil.rmtree(args.dir, ignore_errors=True)
    report(results)
    if args.json:
        os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"machine": sb.machine(), "results": results}, f, indent=1)


def report(results):
    med = statistics.median

    def spread(xs, f=lambda x: x, unit=1e3, fmt="{:.1f}"):
        v = [f(x) * unit for x in xs]
        return f"{fmt.format(med(v))} [{fmt.format(min(v))}–{fmt.format(max(v))}]"

    print("\n### warm page cache, fresh process (median [min–max] of 3 processes)\n")
    print("| dataset | files (GTN) | GTN open (ms) | LMDB open (ms) | GTN VmRSS before → after open → after "
          "1,000 reads (MB) | GTN first 1,000 reads (µs/read) | LMDB first 1,000 reads (µs/read) | "
          "GTN steady (µs/read, as returned / copied out) | LMDB steady (µs/read, as returned / copied out) | "
          "GTN VmRSS after every sample (MB) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        g, l = r["gtn_warm"], r["lmdb_warm"]
        print(f"| {r['gb']} GB, {r['samples']:,} samples ({r['gtn_bytes'] / 1e9:.2f} GB on disk) | {r['gtn_files']} | "
              f"{spread(g, lambda x: x['open_s'], 1e3, '{:.2f}')} | {spread(l, lambda x: x['open_s'], 1e3, '{:.2f}')} | "
              f"{mb(med(x['rss_before_open']['VmRSS'] for x in g))} → {mb(med(x['rss_after_open']['VmRSS'] for x in g))}"
              f" → {mb(med(x['rss_after_first']['VmRSS'] for x in g))} | "
              f"{spread(g, lambda x: x['first_1000_s'] / 1000, 1e6)} | {spread(l, lambda x: x['first_1000_s'] / 1000, 1e6)} | "
              f"{spread(g, lambda x: x['steady_s'], 1e6, '{:.2f}')} / {spread(g, lambda x: x['steady_copy_s'], 1e6, '{:.2f}')} | "
              f"{spread(l, lambda x: x['steady_s'], 1e6, '{:.2f}')} / {spread(l, lambda x: x['steady_copy_s'], 1e6, '{:.2f}')} | "
              f"{mb(med(x['rss_after_reads']['VmRSS'] for x in g))} (file-backed "
              f"{mb(med(x['rss_after_reads']['RssFile'] for x in g))}) |")
    print("\n### cold page cache: open + 1,000 random reads, bytes copied out (s; median [min–max] of "
          f"{len(results[0]['gtn_cold']) if results else 0} processes)\n")
    print("| dataset | GTN | LMDB (readahead on, the default) | LMDB (readahead=False) | GTN / best LMDB | "
          "read from disk per sample: GTN / LMDB / LMDB no readahead (KB) | GTN open alone (ms) | LMDB open alone (ms) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        t = {s: [x["open_s"] + x["first_1000_s"] for x in r[f"{s}_cold"]] for s in ("gtn", "lmdb", "lmdb-noreadahead")}
        io = {s: med(x["io_read_bytes"] for x in r[f"{s}_cold"]) / 1000 / 1e3 for s in t}
        best = min(med(t["lmdb"]), med(t["lmdb-noreadahead"]))
        cells = [f"{med(v):.3f} [{min(v):.3f}–{max(v):.3f}]" for v in t.values()]
        print(f"| {r['gb']} GB, {r['samples']:,} samples | " + " | ".join(cells) + f" | {med(t['gtn']) / best:.2f} | "
              f"{io['gtn']:.0f} / {io['lmdb']:.0f} / {io['lmdb-noreadahead']:.0f} | "
              f"{spread(r['gtn_cold'], lambda x: x['open_s'], 1e3, '{:.2f}')} | "
              f"{spread(r['lmdb_cold'], lambda x: x['open_s'], 1e3, '{:.2f}')} |")
    print("\nload average before/after each size: " + "; ".join(
        f"{r['gb']} GB: {' '.join(f'{x:.1f}' for x in r['load_before'])} / {' '.join(f'{x:.1f}' for x in r['load_after'])}"
        for r in results))


if __name__ == "__main__":
    main()
