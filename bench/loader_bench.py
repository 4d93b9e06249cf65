#!/usr/bin/env python
"""PyTorch loading from GTN against hand-written and peer loaders (not a test).

Each sample: image uint8[64, 64, 3], label int64, text of 20-80 bytes; the same samples
are written to GTN, LMDB, Deep Lake and Lance (uncompressed). Every loader runs shuffled
epochs of batch 256 into a loop that only touches each batch; samples/s is the median of
the timed epochs (after one warm-up epoch), "spread" is (max - min) / median.

  GTN loader        ds.pytorch(batch_size=256, shuffle=True, num_workers=N): chunk-local
                    shuffle, one batch read per tensor, persistent workers
  GTN raw reads     the same batches (same indices, same order) read with
                    ds["t"][indices].numpy() in this process, no torch: what the loader
                    reads and decodes; "overhead" is the loader's time over it
  LMDB              a hand-written torch Dataset: __getitems__ does txn.getmulti +
                    np.frombuffer into one batch buffer per tensor; DataLoader(shuffle=True)
  Deep Lake         DataLoader(ds.pytorch(), batch_size=256, shuffle=True) (Deep Lake 4's
                    torch API: a map-style dataset of rows, default_collate)
  Lance             LanceDataset, Lance's torch loader (an IterableDataset of arrow
                    batches): at 0 workers ShardedBatchSampler(randomize=True) shuffles the
                    order of batch-sized row ranges; with workers it shards batches across
                    them (not shuffled), spawn (lance is not fork-safe)
  floor             a DataLoader whose dataset hands out an empty batch buffer of the same
                    shapes: torch's own per-batch cost (with workers: moving each batch
                    through shared memory)

    .venv/bin/pip install torch==2.13.0 -r bench/requirements.txt
    GTN_CORE_DIR=build/<dir>/python PYTHONPATH=python .venv/bin/python bench/loader_bench.py
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import struct
import sys
import tempfile
import time

import numpy as np

IMAGE_SHAPE = (64, 64, 3)
BATCH = 256
_WORDS = "data tensor sample chunk image text label train model fast read batch the of a".split()


def make_data(n):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, *IMAGE_SHAPE), dtype=np.uint8)
    labels = (np.arange(n, dtype=np.int64) * 7919) % 1000
    texts = [" ".join(_WORDS[w] for w in rng.integers(0, len(_WORDS), size=int(k)))
             for k in rng.integers(4, 16, size=n)]
    return images, labels, texts


def consume(batches):
    """Iterates a loader, touching each batch; returns the number of samples."""
    count = 0
    for b in batches:
        if isinstance(b, dict):
            count += len(b["label"])
        else:
            count += len(b[1])
    return count


# --- writers -----------------------------------------------------------------------------

def write_gtn(path, images, labels, texts):
    import gtn
    with gtn.dataset(path) as ds:
        ds.create_tensor("image", htype="image")
        ds.create_tensor("label", htype="class_label")
        ds.create_tensor("text", htype="text")
        for a in range(0, len(labels), 1000):
            ds.extend({"image": images[a:a + 1000], "label": labels[a:a + 1000], "text": texts[a:a + 1000]})


_HEAD = struct.Struct("<q")


def write_lmdb(path, images, labels, texts):
    import lmdb
    env = lmdb.open(path, map_size=1 << 31, subdir=True, sync=False)
    with env.begin(write=True) as txn:
        for i in range(len(labels)):
            txn.put(struct.pack(">Q", i), _HEAD.pack(int(labels[i])) + images[i].tobytes() + texts[i].encode())
    env.sync()
    env.close()


def write_deeplake(path, images, labels, texts):
    import deeplake
    ds = deeplake.create(f"file://{path}")
    ds.add_column("image", deeplake.types.Array("uint8", shape=list(IMAGE_SHAPE)))
    ds.add_column("label", deeplake.types.Int64())
    ds.add_column("text", deeplake.types.Text())
    for a in range(0, len(labels), 1000):
        ds.append({"image": images[a:a + 1000], "label": labels[a:a + 1000], "text": texts[a:a + 1000]})
    ds.commit()


def write_lance(path, images, labels, texts):
    import lance
    import pyarrow as pa
    n = len(labels)
    flat = pa.array(images.reshape(-1))
    image = pa.FixedSizeListArray.from_arrays(flat, int(np.prod(IMAGE_SHAPE)))
    table = pa.table({"image": image, "label": pa.array(labels), "text": pa.array(texts)})
    lance.write_dataset(table, path, max_rows_per_group=1024)
    assert lance.dataset(path).count_rows() == n


# --- loaders -----------------------------------------------------------------------------

class LMDBDataset:
    """A hand-written torch map-style dataset over LMDB (defined at module level so that
    spawn can pickle it; the environment is opened in each process on first use)."""

    def __init__(self, path, n):
        self.path, self.n, self._env, self._pid = path, n, None, None

    def __getstate__(self):
        return {"path": self.path, "n": self.n, "_env": None, "_pid": None}

    def _txn(self):
        if self._env is None or self._pid != os.getpid():
            import lmdb
            self._env = lmdb.open(self.path, readonly=True, lock=False, subdir=True, readahead=False)
            self._pid = os.getpid()
            self._t = self._env.begin(buffers=True)
        return self._t

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        v = self._txn().get(struct.pack(">Q", i))
        e = 8 + int(np.prod(IMAGE_SHAPE))
        return {"image": np.frombuffer(v, np.uint8, e - 8, 8).reshape(IMAGE_SHAPE).copy(),
                "label": _HEAD.unpack_from(v)[0], "text": bytes(v[e:]).decode()}

    def __getitems__(self, indices):
        import torch
        keys = [struct.pack(">Q", i) for i in indices]
        rows = self._txn().cursor().getmulti(keys)
        e = 8 + int(np.prod(IMAGE_SHAPE))
        images = np.empty((len(keys), *IMAGE_SHAPE), np.uint8)  # the one batch buffer
        labels = np.empty(len(keys), np.int64)
        texts = []
        for k, (_, v) in enumerate(rows):
            images[k] = np.frombuffer(v, np.uint8, e - 8, 8).reshape(IMAGE_SHAPE)
            labels[k] = _HEAD.unpack_from(v)[0]
            texts.append(bytes(v[e:]).decode())
        return [{"image": torch.from_numpy(images), "label": torch.from_numpy(labels), "text": texts}]


def _first_item(batch):
    return batch[0]


def lmdb_loader(path, n, workers):
    from torch.utils.data import DataLoader
    return DataLoader(LMDBDataset(path, n), batch_size=BATCH, shuffle=True, num_workers=workers,
                      collate_fn=_first_item, persistent_workers=workers > 0)


def deeplake_loader(path, workers):
    import deeplake
    from torch.utils.data import DataLoader
    ds = deeplake.open_read_only(f"file://{path}")
    return DataLoader(ds.pytorch(), batch_size=BATCH, shuffle=True, num_workers=workers,
                      persistent_workers=workers > 0)


def lance_to_tensor(batch, **_):
    """Lance's to_tensor_fn for these columns (its default refuses text columns): the
    image column through lance.torch.data._fsl_to_tensor, as Lance's own default does."""
    import torch
    from lance.torch.data import _fsl_to_tensor
    return {"image": _fsl_to_tensor(batch["image"], batch["image"].type.list_size).view(-1, *IMAGE_SHAPE),
            "label": torch.from_numpy(batch["label"].to_numpy()),
            "text": batch["text"].to_pylist()}


def lance_loader(path, workers):
    """LanceDataset, Lance's torch loader: an IterableDataset of arrow batches. At
    workers=0 its ShardedBatchSampler(randomize=True) shuffles the order of batch-sized
    row ranges; with workers it shards batches across them (shard_granularity="batch",
    each worker its own rank) without shuffling."""
    from lance.sampler import ShardedBatchSampler
    from lance.torch.data import LanceDataset
    from torch.utils.data import DataLoader
    if workers == 0:
        ds = LanceDataset(path, batch_size=BATCH, sampler=ShardedBatchSampler(0, 1, randomize=True, seed=0),
                          to_tensor_fn=lance_to_tensor)
        return DataLoader(ds, batch_size=None, num_workers=0)
    ds = LanceDataset(path, batch_size=BATCH, shard_granularity="batch", to_tensor_fn=lance_to_tensor)
    return DataLoader(ds, batch_size=None, num_workers=workers, persistent_workers=True,
                      multiprocessing_context="spawn")  # lance is not fork-safe


class EmptyBatches:
    """torch's own cost: a map-style dataset that hands out a fresh batch buffer of the
    benchmark's shapes without reading anything."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return -(-self.n // BATCH)

    def __getitem__(self, k):
        import torch
        m = min(BATCH, self.n - k * BATCH)
        return {"image": torch.from_numpy(np.empty((m, *IMAGE_SHAPE), np.uint8)),
                "label": torch.from_numpy(np.empty(m, np.int64)), "text": ["t"] * m}


def torch_floor(n, workers):
    from torch.utils.data import DataLoader
    return DataLoader(EmptyBatches(n), batch_size=None, shuffle=True, num_workers=workers,
                      persistent_workers=workers > 0)


def gtn_raw(path, loader):
    """The batches the loader's next epoch reads, read without torch in this process."""
    import gtn
    ds = gtn.dataset(path, read_only=True)
    batches = loader.sampler.batches(loader.epoch)
    tensors = loader.dataset.tensors

    def run():
        count = 0
        for idx in batches:
            b = {t: ds[t][idx].numpy() for t in tensors}
            count += len(b["label"])
        return count
    return run


# --- timing ------------------------------------------------------------------------------

def timed(make_iter, n, repeats):
    """Samples/s of each timed epoch after one warm-up epoch."""
    got = consume(make_iter())
    if got != n:
        raise RuntimeError(f"an epoch gave {got} samples, expected {n}")
    rates = []
    for _ in range(repeats):
        t = time.perf_counter()
        got = consume(make_iter())
        rates.append(got / (time.perf_counter() - t))
    return rates


def versions():
    from importlib import metadata
    out = {"python": platform.python_version(), "machine": f"{platform.machine()}, {os.cpu_count()} cores"}
    for dist in ("numpy", "torch", "lmdb", "deeplake", "pylance", "pyarrow"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--samples", type=int, default=20000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    p.add_argument("--dir", default=None, help="where to write the datasets (default: a temp dir)")
    p.add_argument("--only", nargs="*", default=None, help="subset of: gtn lmdb deeplake lance")
    args = p.parse_args()
    n = args.samples
    only = set(args.only or ["gtn", "lmdb", "deeplake", "lance"])
    root = args.dir or tempfile.mkdtemp(prefix="gtn_loader_bench_")
    import gtn
    print("versions:", ", ".join(f"{k} {v}" for k, v in versions().items()), f", gtn {gtn.__version__}")
    print(f"{n} samples of image uint8{list(IMAGE_SHAPE)} + label int64 + text, batch {BATCH}, "
          f"{args.repeats} timed epochs after 1 warm-up, data in {root}")
    images, labels, texts = make_data(n)
    writers = {"gtn": write_gtn, "lmdb": write_lmdb, "deeplake": write_deeplake, "lance": write_lance}
    paths = {}
    for name, write in writers.items():
        if name not in only:
            continue
        paths[name] = os.path.join(root, name)
        shutil.rmtree(paths[name], ignore_errors=True)
        t = time.perf_counter()
        try:
            write(paths[name], images, labels, texts)
            print(f"wrote {name} in {time.perf_counter() - t:.1f} s")
        except Exception as e:  # noqa: BLE001
            print(f"{name}: not available: {type(e).__name__}: {e}")
            del paths[name]
    del images, labels, texts

    rows = []

    def record(name, workers, fn, note=""):
        try:
            rates = fn()
        except Exception as e:  # noqa: BLE001
            rows.append((name, workers, None, None, f"failed: {type(e).__name__}: {str(e)[:80]}"))
            print(rows[-1])
            return None
        med = statistics.median(rates)
        rows.append((name, workers, med, (max(rates) - min(rates)) / med, note))
        print(f"{name:<34} workers={workers}  {med:>9,.0f} samples/s  spread {rows[-1][3]:.1%}  {note}",
              flush=True)
        return med

    if "gtn" in paths:
        import gtn
        for w in args.workers:
            ds = gtn.dataset(paths["gtn"], read_only=True)
            loader = ds.pytorch(batch_size=BATCH, shuffle=True, num_workers=w, seed=0,
                                persistent_workers=w > 0)
            if w == 0:
                # raw and loader epochs interleaved on the same batches, so that drift of a
                # shared machine hits both alike; CPU time too, which the other processes
                # of a shared machine disturb less than wall time
                raw_rates, loader_rates, raw_cpu, loader_cpu = [], [], [], []
                consume(iter(loader))
                loader.set_epoch(1)
                run = gtn_raw(paths["gtn"], loader)
                run()
                for _ in range(max(5, args.repeats)):
                    c, t = time.process_time(), time.perf_counter()
                    got = run()
                    raw_rates.append(got / (time.perf_counter() - t))
                    raw_cpu.append(time.process_time() - c)
                    loader.set_epoch(1)
                    c, t = time.process_time(), time.perf_counter()
                    got = consume(iter(loader))
                    loader_rates.append(got / (time.perf_counter() - t))
                    loader_cpu.append(time.process_time() - c)
                raw = record("GTN raw batch reads (no torch)", 0, lambda: raw_rates, "same batches, same order")
                med = record("GTN ds.pytorch()", 0, lambda: loader_rates, "chunk-local shuffle")
                if raw and med:
                    cpu = statistics.median(loader_cpu) / statistics.median(raw_cpu) - 1
                    note = f"chunk-local shuffle; over raw reads: {raw / med - 1:+.1%} wall, {cpu:+.1%} CPU"
                    rows[-1] = rows[-1][:4] + (note,)
                    print(f"  loader over raw reads: {raw / med - 1:+.1%} wall time, {cpu:+.1%} CPU time")
            else:
                record("GTN ds.pytorch()", w, lambda: timed(lambda: iter(loader), n, args.repeats),
                       "chunk-local shuffle, fork")
    if "lmdb" in paths:
        for w in args.workers:
            record("LMDB hand-written (getmulti)", w,
                   lambda: _persistent(lmdb_loader(paths["lmdb"], n, w), n, args.repeats),
                   "full shuffle" + (", fork" if w else ""))
    if "deeplake" in paths:
        for w in args.workers:
            record("Deep Lake ds.pytorch()", w,
                   lambda: _persistent(deeplake_loader(paths["deeplake"], w), n, args.repeats),
                   "full shuffle, rows + default_collate" + (", fork" if w else ""))
    if "lance" in paths:
        for w in args.workers:
            record("Lance LanceDataset", w,
                   lambda: _persistent(lance_loader(paths["lance"], w), n, args.repeats),
                   "batch-range shuffle (ShardedBatchSampler)" if w == 0 else "not shuffled (batch shards), spawn")
    for w in args.workers:
        record("torch DataLoader, no reads (floor)", w, lambda: _persistent(torch_floor(n, w), n, args.repeats),
               "a fresh batch buffer per step" + (", fork" if w else ""))

    print()
    print("| loader | workers | samples/s (median) | spread | notes |")
    print("|---|---:|---:|---:|---|")
    for name, w, med, spread, note in rows:
        if med is None:
            print(f"| {name} | {w} | — | — | {note} |")
        else:
            print(f"| {name} | {w} | {med:,.0f} | {spread:.1%} | {note} |")
    if not args.dir:
        shutil.rmtree(root, ignore_errors=True)


def _persistent(loader, n, repeats):
    """Timed epochs of one DataLoader (its workers, when persistent, start in the warm-up)."""
    return timed(lambda: iter(loader), n, repeats)


if __name__ == "__main__":
    sys.exit(main())
