#!/usr/bin/env python
"""GTN-F against its peers on one synthetic multimodal dataset (not a test).

Each sample: image uint8[64, 64, 3], embedding float32[128], label int64, text of 50-500
bytes. The same samples are written to GTN and to every peer that imports (Lance, Deep
Lake, Parquet, HDF5, Zarr, LMDB, and a raw numpy memmap as the floor), uncompressed
everywhere, then timed on:

  ingest   writing all samples (batches of 1,000)
  random   one whole sample at a time from Python, random indices
  batch    random batches of 256 indices, one call per batch where the API allows
  scan     every sample in order, in batches of 1,000

Times are per sample; "xN" is the peer's time over GTN's (above 1: GTN is faster).
Peers that do not import or fail are listed as "not available: <reason>".

    .venv/bin/pip install -r bench/requirements.txt
    GTN_CORE_DIR=build/<dir>/python PYTHONPATH=python .venv/bin/python bench/storage_bench.py --samples 50000
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import struct
import sys
import tempfile
import time

import numpy as np

IMAGE_SHAPE = (64, 64, 3)
EMB_DIM = 128
WRITE_BATCH = 1000
READ_BATCH = 256
_WORDS = ("data tensor sample chunk image text label vector model train the of a and with "
          "fast random read scan store index query batch").split()


# --- the synthetic samples (deterministic: batch k is generated from seed k) ---

def make_batch(start, n):
    rng = np.random.default_rng(start)
    images = rng.integers(0, 256, size=(n, *IMAGE_SHAPE), dtype=np.uint8)
    embeddings = rng.standard_normal((n, EMB_DIM), dtype=np.float32)
    labels = ((np.arange(start, start + n, dtype=np.int64) * 7919) % 1000).astype(np.int64)
    texts = []
    for length in rng.integers(50, 501, size=n):
        words = rng.choice(len(_WORDS), size=int(length) // 3 + 2)
        texts.append(" ".join(_WORDS[w] for w in words)[: int(length)])
    return images, embeddings, labels, texts


_CACHE = {}


def batches(total):
    """The samples in write batches, generated once and kept so that ingest times do not
    include generating them."""
    if total not in _CACHE:
        _CACHE.clear()
        _CACHE[total] = [(start, make_batch(start, min(WRITE_BATCH, total - start)))
                         for start in range(0, total, WRITE_BATCH)]
    return iter(_CACHE[total])


def expected_sample(i):
    start = i - i % WRITE_BATCH
    images, embeddings, labels, texts = make_batch(start, WRITE_BATCH)
    j = i - start
    return images[j], embeddings[j], labels[j], texts[j]


# --- systems: build(path, n), open(path), get(i), get_batch(idx), scan() ---

class GTN:
    name = "GTN"

    def build(self, path, n):
        import gtn
        with gtn.dataset(path) as ds:
            ds.create_tensor("image", htype="image", dtype="uint8")
            ds.create_tensor("embedding", htype="embedding", dtype="float32")
            ds.create_tensor("label", htype="generic", dtype="int64")
            ds.create_tensor("text", htype="text")
            for _, (images, embeddings, labels, texts) in batches(n):
                ds.extend({"image": images, "embedding": embeddings, "label": labels, "text": texts})

    def open(self, path):
        import gtn
        self.ds = gtn.dataset(path, read_only=True)
        self.n = len(self.ds)

    def get(self, i):
        s = self.ds[i]
        return s["image"], s["embedding"], s["label"], s["text"]

    def get_batch(self, idx):
        b = self.ds[idx]
        return b["image"], b["embedding"], b["label"], b["text"]

    def scan(self):
        for a in range(0, self.n, WRITE_BATCH):
            b = self.ds[a:a + WRITE_BATCH]
            yield b["image"], b["embedding"], b["label"], b["text"]


class NumpyMemmap:
    name = "numpy memmap"

    def build(self, path, n):
        os.makedirs(path)
        img = np.lib.format.open_memmap(f"{path}/image.npy", "w+", np.uint8, (n, *IMAGE_SHAPE))
        emb = np.lib.format.open_memmap(f"{path}/embedding.npy", "w+", np.float32, (n, EMB_DIM))
        lab = np.lib.format.open_memmap(f"{path}/label.npy", "w+", np.int64, (n,))
        offsets = [0]
        with open(f"{path}/text.bin", "wb") as f:
            for start, (images, embeddings, labels, texts) in batches(n):
                img[start:start + len(labels)] = images
                emb[start:start + len(labels)] = embeddings
                lab[start:start + len(labels)] = labels
                for t in texts:
                    b = t.encode()
                    f.write(b)
                    offsets.append(offsets[-1] + len(b))
        np.save(f"{path}/text_offsets.npy", np.array(offsets, dtype=np.int64))
        for a in (img, emb, lab):
            a.flush()

    def open(self, path):
        self.img = np.load(f"{path}/image.npy", mmap_mode="r")
        self.emb = np.load(f"{path}/embedding.npy", mmap_mode="r")
        self.lab = np.load(f"{path}/label.npy", mmap_mode="r")
        self.off = np.load(f"{path}/text_offsets.npy")
        self.text = np.memmap(f"{path}/text.bin", dtype=np.uint8, mode="r")
        self.n = len(self.lab)

    def _text(self, i):
        return self.text[self.off[i]:self.off[i + 1]].tobytes().decode()

    def get(self, i):
        return self.img[i], self.emb[i], self.lab[i], self._text(i)

    def get_batch(self, idx):
        idx = np.asarray(idx)
        return self.img[idx], self.emb[idx], self.lab[idx], [self._text(i) for i in idx]

    def scan(self):
        for a in range(0, self.n, WRITE_BATCH):
            b = min(self.n, a + WRITE_BATCH)
            yield (np.array(self.img[a:b]), np.array(self.emb[a:b]), np.array(self.lab[a:b]),
                   [self._text(i) for i in range(a, b)])


class LMDB:
    name = "LMDB"
    _head = struct.Struct("<q")

    def build(self, path, n):
        import lmdb
        env = lmdb.open(path, map_size=max(1 << 30, n * 16 * 1024 * 2), subdir=True, sync=False)
        for start, (images, embeddings, labels, texts) in batches(n):
            with env.begin(write=True) as txn:
                for j in range(len(labels)):
                    value = (self._head.pack(int(labels[j])) + embeddings[j].tobytes() + images[j].tobytes()
                             + texts[j].encode())
                    txn.put(struct.pack(">Q", start + j), value)
        env.sync()
        env.close()

    def open(self, path):
        import lmdb
        self.env = lmdb.open(path, readonly=True, lock=False, subdir=True)
        self.txn = self.env.begin()
        self.n = self.env.stat()["entries"]

    def _unpack(self, v):
        e = 8 + EMB_DIM * 4
        i = e + int(np.prod(IMAGE_SHAPE))
        return (np.frombuffer(v, np.uint8, i - e, e).reshape(IMAGE_SHAPE), np.frombuffer(v, np.float32, EMB_DIM, 8),
                self._head.unpack_from(v)[0], v[i:].decode())

    def get(self, i):
        return self._unpack(self.txn.get(struct.pack(">Q", i)))

    def get_batch(self, idx):
        rows = [self.get(int(i)) for i in idx]
        return (np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows]), np.array([r[2] for r in rows]),
                [r[3] for r in rows])

    def scan(self):
        rows = []
        for _, v in self.txn.cursor():
            rows.append(self._unpack(v))
            if len(rows) == WRITE_BATCH:
                yield rows
                rows = []
        if rows:
            yield rows


class HDF5:
    name = "HDF5 (h5py)"

    def build(self, path, n):
        import h5py
        with h5py.File(path, "w") as f:
            img = f.create_dataset("image", (n, *IMAGE_SHAPE), np.uint8)
            emb = f.create_dataset("embedding", (n, EMB_DIM), np.float32)
            lab = f.create_dataset("label", (n,), np.int64)
            txt = f.create_dataset("text", (n,), h5py.string_dtype("utf-8"))
            for start, (images, embeddings, labels, texts) in batches(n):
                end = start + len(labels)
                img[start:end], emb[start:end], lab[start:end], txt[start:end] = images, embeddings, labels, texts

    def open(self, path):
        import h5py
        self.f = h5py.File(path, "r")
        self.img, self.emb, self.lab = self.f["image"], self.f["embedding"], self.f["label"]
        self.txt = self.f["text"].asstr()
        self.n = len(self.lab)

    def get(self, i):
        return self.img[i], self.emb[i], self.lab[i], self.txt[i]

    def get_batch(self, idx):
        order = np.argsort(idx)  # h5py fancy indexing needs increasing, unique indices
        s = np.asarray(idx)[order]
        uniq, inverse = np.unique(s, return_inverse=True)
        back = np.empty_like(order)
        back[order] = np.arange(len(order))
        pick = inverse[back]
        texts = self.txt[uniq]
        return (self.img[uniq][pick], self.emb[uniq][pick], self.lab[uniq][pick], [texts[k] for k in pick])

    def scan(self):
        for a in range(0, self.n, WRITE_BATCH):
            b = min(self.n, a + WRITE_BATCH)
            yield self.img[a:b], self.emb[a:b], self.lab[a:b], self.txt[a:b]


class Zarr:
    name = "Zarr"
    chunk = 64  # samples per chunk: small enough for random reads, no compression

    def build(self, path, n):
        import zarr
        g = zarr.open_group(path, mode="w")
        img = g.create_array("image", shape=(n, *IMAGE_SHAPE), chunks=(self.chunk, *IMAGE_SHAPE), dtype="uint8",
                             compressors=None)
        emb = g.create_array("embedding", shape=(n, EMB_DIM), chunks=(self.chunk, EMB_DIM), dtype="float32",
                             compressors=None)
        lab = g.create_array("label", shape=(n,), chunks=(self.chunk,), dtype="int64", compressors=None)
        txt = g.create_array("text", shape=(n,), chunks=(self.chunk,), dtype=str, compressors=None)
        for start, (images, embeddings, labels, texts) in batches(n):
            end = start + len(labels)
            img[start:end], emb[start:end], lab[start:end] = images, embeddings, labels
            txt[start:end] = np.array(texts, dtype=object)

    def open(self, path):
        import zarr
        g = zarr.open_group(path, mode="r")
        self.img, self.emb, self.lab, self.txt = g["image"], g["embedding"], g["label"], g["text"]
        self.n = self.lab.shape[0]

    def get(self, i):
        return self.img[i], self.emb[i], self.lab[i], str(self.txt[i])

    def get_batch(self, idx):
        idx = np.asarray(idx)
        return (self.img.get_orthogonal_selection(idx), self.emb.get_orthogonal_selection(idx),
                self.lab.get_orthogonal_selection(idx), list(self.txt.get_orthogonal_selection(idx)))

    def scan(self):
        for a in range(0, self.n, WRITE_BATCH):
            b = min(self.n, a + WRITE_BATCH)
            yield self.img[a:b], self.emb[a:b], self.lab[a:b], list(self.txt[a:b])


def _arrow_schema():
    import pyarrow as pa
    return pa.schema([("image", pa.binary(int(np.prod(IMAGE_SHAPE)))),
                      ("embedding", pa.list_(pa.float32(), EMB_DIM)),
                      ("label", pa.int64()), ("text", pa.string())])


def _arrow_batch(images, embeddings, labels, texts):
    import pyarrow as pa
    n = len(labels)
    image = pa.FixedSizeBinaryArray.from_buffers(pa.binary(int(np.prod(IMAGE_SHAPE))), n,
                                                 [None, pa.py_buffer(np.ascontiguousarray(images))])
    emb = pa.FixedSizeListArray.from_arrays(pa.array(embeddings.reshape(-1)), EMB_DIM)
    return pa.RecordBatch.from_arrays([image, emb, pa.array(labels), pa.array(texts, pa.string())],
                                      schema=_arrow_schema())


def _from_arrow(table):
    n = table.num_rows
    img = table.column("image").combine_chunks()
    images = np.frombuffer(img.buffers()[1], np.uint8, n * int(np.prod(IMAGE_SHAPE)),
                           img.offset * int(np.prod(IMAGE_SHAPE))).reshape(n, *IMAGE_SHAPE)
    emb = table.column("embedding").combine_chunks()
    embeddings = emb.flatten().to_numpy(zero_copy_only=False).reshape(n, EMB_DIM)
    return images, embeddings, table.column("label").to_numpy(), table.column("text").to_pylist()


class Parquet:
    name = "Parquet (pyarrow)"
    row_group = 1000

    def build(self, path, n):
        import pyarrow.parquet as pq
        with pq.ParquetWriter(path, _arrow_schema(), compression="none") as w:
            for _, b in batches(n):
                w.write_batch(_arrow_batch(*b), row_group_size=self.row_group)

    def open(self, path):
        import pyarrow.parquet as pq
        self.pf = pq.ParquetFile(path, memory_map=True)
        self.n = self.pf.metadata.num_rows

    def get(self, i):
        t = self.pf.read_row_group(i // self.row_group).slice(i % self.row_group, 1)
        images, embeddings, labels, texts = _from_arrow(t)
        return images[0], embeddings[0], labels[0], texts[0]

    def get_batch(self, idx):
        import pyarrow as pa
        idx = np.asarray(idx)
        groups = np.unique(idx // self.row_group)
        t = pa.concat_tables([self.pf.read_row_group(int(g)) for g in groups])
        pos = np.searchsorted(groups, idx // self.row_group) * self.row_group + idx % self.row_group
        return _from_arrow(t.take(pa.array(pos)))

    def scan(self):
        import pyarrow as pa
        for b in self.pf.iter_batches(batch_size=WRITE_BATCH):
            yield _from_arrow(pa.Table.from_batches([b]))


class Lance:
    name = "Lance"

    def build(self, path, n):
        import lance
        import pyarrow as pa
        reader = pa.RecordBatchReader.from_batches(_arrow_schema(), (_arrow_batch(*b) for _, b in batches(n)))
        lance.write_dataset(reader, path)

    def open(self, path):
        import lance
        self.ds = lance.dataset(path)
        self.n = self.ds.count_rows()

    def get(self, i):
        images, embeddings, labels, texts = _from_arrow(self.ds.take([i]))
        return images[0], embeddings[0], labels[0], texts[0]

    def get_batch(self, idx):
        return _from_arrow(self.ds.take(list(map(int, idx))))

    def scan(self):
        import pyarrow as pa
        for b in self.ds.to_batches(batch_size=WRITE_BATCH):
            yield _from_arrow(pa.Table.from_batches([b]))


class DeepLake:
    name = "Deep Lake"

    def build(self, path, n):
        import deeplake
        ds = deeplake.create(f"file://{path}")
        ds.add_column("image", deeplake.types.Array("uint8", shape=list(IMAGE_SHAPE)))
        ds.add_column("embedding", deeplake.types.Array("float32", shape=[EMB_DIM]))
        ds.add_column("label", deeplake.types.Int64())
        ds.add_column("text", deeplake.types.Text())
        for _, (images, embeddings, labels, texts) in batches(n):
            ds.append({"image": images, "embedding": embeddings, "label": labels, "text": texts})
        ds.commit()

    def open(self, path):
        import deeplake
        self.ds = deeplake.open_read_only(f"file://{path}")
        self.n = len(self.ds)

    def get(self, i):
        row = self.ds[i]
        return row["image"], row["embedding"], row["label"], row["text"]

    def get_batch(self, idx):
        idx = [int(i) for i in idx]
        return (self.ds["image"][idx], self.ds["embedding"][idx], self.ds["label"][idx], self.ds["text"][idx])

    def scan(self):
        for a in range(0, self.n, WRITE_BATCH):
            b = min(self.n, a + WRITE_BATCH)
            yield (self.ds["image"][a:b], self.ds["embedding"][a:b], self.ds["label"][a:b], self.ds["text"][a:b])


SYSTEMS = [GTN, Lance, DeepLake, Parquet, HDF5, Zarr, LMDB, NumpyMemmap]
_IMPORTS = {"Lance": "lance", "Deep Lake": "deeplake", "Parquet (pyarrow)": "pyarrow.parquet",
            "HDF5 (h5py)": "h5py", "Zarr": "zarr", "LMDB": "lmdb", "GTN": "gtn", "numpy memmap": "numpy"}


# --- timing ---

def check(system, n, rng):
    """The system gives back what was written (label, text, image and embedding)."""
    for i in rng.integers(0, n, size=3):
        img, emb, lab, txt = system.get(int(i))
        e_img, e_emb, e_lab, e_txt = expected_sample(int(i))
        if not (np.array_equal(np.asarray(img), e_img) and np.array_equal(np.asarray(emb), e_emb)
                and int(lab) == int(e_lab) and str(txt) == e_txt):
            raise AssertionError(f"sample {i} read back differs from what was written")


def time_random(system, n, reads, budget, rng):
    idx = rng.integers(0, n, size=reads).tolist()
    get = system.get
    for i in idx[:100]:  # warm-up
        get(i)
    done = 0
    t0 = time.perf_counter()
    deadline = t0 + budget
    for i in idx:
        get(i)
        done += 1
        if (done & 63) == 0 and time.perf_counter() > deadline:
            break
    return (time.perf_counter() - t0) / done


def time_batches(system, n, batches_, budget, rng):
    system.get_batch(rng.integers(0, n, size=READ_BATCH))  # warm-up
    done = 0
    t0 = time.perf_counter()
    for _ in range(batches_):
        system.get_batch(rng.integers(0, n, size=READ_BATCH))
        done += 1
        if time.perf_counter() - t0 > budget:
            break
    return (time.perf_counter() - t0) / (done * READ_BATCH)


def time_scan(system, n, budget):
    seen = 0
    t0 = time.perf_counter()
    for b in system.scan():
        seen += len(b[2]) if isinstance(b, tuple) else len(b)
        if time.perf_counter() - t0 > budget:
            break
    return (time.perf_counter() - t0) / max(1, seen)


def run_system(cls, root, args):
    module = _IMPORTS[cls.name]
    try:
        __import__(module)
    except Exception as e:  # noqa: BLE001 (any import failure means "not available")
        return {"error": f"not available: {type(e).__name__}: {e}".splitlines()[0]}
    system = cls()
    path = os.path.join(root, cls.__name__.lower())
    rng = np.random.default_rng(2024)
    for _ in batches(args.samples):  # generate (once) before timing
        break
    try:
        t0 = time.perf_counter()
        system.build(path, args.samples)
        ingest = (time.perf_counter() - t0) / args.samples
        system.open(path)
        check(system, args.samples, rng)
        result = {"ingest": ingest,
                  "random": time_random(system, args.samples, args.reads, args.budget, rng),
                  "batch": time_batches(system, args.samples, args.batches, args.budget, rng),
                  "scan": time_scan(system, args.samples, args.budget)}
    except Exception as e:  # noqa: BLE001 (a peer that breaks is reported, not fatal)
        return {"error": f"not available: {type(e).__name__}: {e}".splitlines()[0]}
    finally:
        del system
        shutil.rmtree(path, ignore_errors=True)
        if os.path.exists(path):
            os.remove(path)
    return result


OPS = [("random", "random read (1 sample)"), ("batch", "random batch (256)"), ("scan", "sequential scan"),
       ("ingest", "ingest")]


def fmt_us(seconds):
    us = seconds * 1e6
    return f"{us:.2f}" if us < 10 else f"{us:.1f}" if us < 1000 else f"{us:,.0f}"


def report(results, args):
    gtn = results.get("GTN", {})
    lines = [f"samples: {args.samples:,}; time per sample in µs (samples/s); xN = peer time / GTN time", ""]
    header = "| system | " + " | ".join(label for _, label in OPS) + " |"
    lines += [header, "|" + "---|" * (len(OPS) + 1)]
    for name, r in results.items():
        if "error" in r:
            lines.append(f"| {name} | {r['error']} |" + " |" * (len(OPS) - 1))
            continue
        cells = []
        for op, _ in OPS:
            cell = f"{fmt_us(r[op])} ({1 / r[op]:,.0f}/s)"
            if name != "GTN" and op in gtn:
                cell += f" x{r[op] / gtn[op]:.2f}"
            cells.append(cell)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=50_000)
    p.add_argument("--reads", type=int, default=20_000, help="random single-sample reads per system")
    p.add_argument("--batches", type=int, default=200, help="random batches of 256 per system")
    p.add_argument("--budget", type=float, default=10.0, help="seconds at most per timed operation")
    p.add_argument("--only", default="", help="comma-separated system names (default: all)")
    p.add_argument("--dir", default=None, help="scratch folder (default: a temporary one)")
    p.add_argument("--json", default="bench/out/storage_bench.json", help="where to write the raw numbers")
    args = p.parse_args()
    only = {s.strip().lower() for s in args.only.split(",") if s.strip()}
    root = tempfile.mkdtemp(prefix="gtn-bench-", dir=args.dir)
    results = {}
    try:
        for cls in SYSTEMS:
            if only and cls.name.lower() not in only and cls.__name__.lower() not in only:
                continue
            print(f"== {cls.name} ...", file=sys.stderr, flush=True)
            results[cls.name] = run_system(cls, root, args)
            print(f"   {results[cls.name]}", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"machine: {machine()}")
    print(report(results, args))
    if args.json:
        os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"samples": args.samples, "machine": machine(), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
