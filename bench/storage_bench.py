#!/usr/bin/env python
"""GTN-F against its peers on synthetic multimodal datasets (not a test).

Two schemas, the same samples written to GTN and to every peer that imports (Lance, Deep
Lake, Parquet, HDF5, Zarr, LMDB, and numpy memory maps as the floor), uncompressed
everywhere:

  image   image uint8[64, 64, 3], embedding float32[128], label int64, text 50-500 bytes
  small   embedding float32[128], label int64, text 50-500 bytes (no image)

Each system is used through its fastest API and settings that we know of (see the class of
each peer and docs/benchmarks-storage.md), and timed on:

  open      opening the written dataset (warm page cache), ready to read
  random    one whole sample at a time from Python, random indices, two rows:
              as returned  - whatever the read gives back (GTN and LMDB with buffers=True
                             and numpy memmaps return views of mapped memory)
              copied out   - the sample's bytes in memory the caller owns (a view is copied
                             with np.array; systems that always copy are timed once)
  batch     random batches of 256 indices: one stacked array per tensor, a list of str
  scan      every sample in order, in batches of 1,000 (each system's own batch or
            iterator API), with the page-cache bandwidth of plain read() as the baseline
  ingest    writing all samples in batches of 1,000 through close/commit; "durable" adds
            each system's way of reaching the disk (fsync), see DURABILITY below

Every system's reads are checked against the generated samples before timing. Each
operation is repeated (--repeats, default 3, ingest included; the repetitions of all systems
are interleaved, so that a change of load on a shared machine hits every system alike) and
reported as the median with the spread (min-max) in brackets. Times are per sample, in
microseconds.

    .venv/bin/pip install -r bench/requirements.txt
    GTN_CORE_DIR=build/<dir>/python PYTHONPATH=python .venv/bin/python bench/storage_bench.py --samples 20000
"""
from __future__ import annotations

import argparse
import importlib
import json
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
IMAGE_BYTES = 64 * 64 * 3
EMB_DIM = 128
EMB_BYTES = EMB_DIM * 4
WRITE_BATCH = 1000
READ_BATCH = 256
SCAN_BATCH = 1000
_WORDS = ("data tensor sample chunk image text label vector model train the of a and with "
          "fast random read scan store index query batch").split()

# What "durable" means for each system: the harness adds what the system lacks.
DURABILITY = {
    "GTN": "close() fdatasyncs every chunk file written, fsyncs their folders, then writes, fsyncs "
           "and renames the manifest (built in; GTN has no mode without it, so it has no non-durable figure)",
    "LMDB": "written with sync=False; durable adds env.sync(True) (one fsync of data.mdb)",
    "HDF5 (h5py)": "h5py never fsyncs; durable adds fsync of the file and its folder",
    "Zarr": "durable adds fsync of every file and folder written",
    "Parquet (pyarrow)": "durable adds fsync of the file and its folder",
    "Lance": "durable adds fsync of every file and folder written",
    "Deep Lake": "durable adds fsync of every file and folder written",
    "numpy memmap": "durable adds fsync of every file and folder written",
}


# --- the synthetic samples (deterministic: write batch k comes from seed k) ---

def make_batch(start, n, with_image=True):
    rng = np.random.default_rng([start, 1])
    embeddings = rng.standard_normal((n, EMB_DIM), dtype=np.float32)
    labels = ((np.arange(start, start + n, dtype=np.int64) * 7919) % 1000).astype(np.int64)
    texts = []
    for length in rng.integers(50, 501, size=n):
        words = rng.choice(len(_WORDS), size=int(length) // 3 + 2)
        texts.append(" ".join(_WORDS[w] for w in words)[: int(length)])
    images = None
    if with_image:
        images = np.random.default_rng([start, 0]).integers(0, 256, size=(n, *IMAGE_SHAPE), dtype=np.uint8)
    return images, embeddings, labels, texts


_CACHE = {}


def batches(total, with_image):
    """The samples in write batches, generated once and kept so that ingest times do not
    include generating them."""
    key = (total, with_image)
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = [(start, make_batch(start, min(WRITE_BATCH, total - start), with_image))
                       for start in range(0, total, WRITE_BATCH)]
    return iter(_CACHE[key])


def expected(i, n, with_image):
    images, embeddings, labels, texts = _CACHE[(n, with_image)][i // WRITE_BATCH][1]
    j = i % WRITE_BATCH
    return (images[j] if with_image else None), embeddings[j], labels[j], texts[j]


def fsync_tree(path):
    """fsync of every file under `path` (or `path` itself), then of every folder."""
    paths = [path] if os.path.isfile(path) else []
    dirs = []
    if os.path.isdir(path):
        for d, _, files in os.walk(path):
            dirs.append(d)
            paths += [os.path.join(d, f) for f in files]
    else:
        dirs.append(os.path.dirname(path) or ".")
    for p in paths + dirs:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def files_of(path):
    if os.path.isfile(path):
        return [path]
    out = []
    for d, _, files in os.walk(path):
        out += [os.path.join(d, f) for f in files]
    return out


# --- systems ---
#
# build(path, n, img): writes all samples, closes; may set self.nondurable_s
# durable(path):       what makes the written data durable (default: fsync of the tree)
# open(path) / close()
# get(i):              (image or None, embedding, label, text) as the API returns them
# get_copy(i):         the same with every array owning its bytes (absent: get copies)
# get_batch(idx):      (images or None, embeddings, labels, [text]) stacked
# scan():              yields such batches for every sample in order

class GTN:
    name = "GTN"
    module = "gtn"
    copies = False

    def build(self, path, n, img):
        import gtn
        ds = gtn.dataset(path)
        if img:
            ds.create_tensor("image", htype="image", dtype="uint8")
        ds.create_tensor("embedding", htype="embedding", dtype="float32")
        ds.create_tensor("label", htype="generic", dtype="int64")
        ds.create_tensor("text", htype="text")
        t0 = time.perf_counter()
        for _, (images, embeddings, labels, texts) in batches(n, img):
            b = {"embedding": embeddings, "label": labels, "text": texts}
            if img:
                b["image"] = images
            ds.extend(b)
        self.extend_s = time.perf_counter() - t0
        ds.close()  # fdatasync of the chunk files, then the manifest (Durability::kFlush)
        self.no_nondurable = True  # GTN has no mode that skips the fsync at close

    def durable(self, path):
        pass  # close() above made it durable

    def open(self, path):
        import gtn
        self.ds = gtn.dataset(path, read_only=True)
        self.n = len(self.ds)
        self.img = "image" in self.ds._tensor_names()

    def close(self):
        self.ds.close()

    def get(self, i):
        s = self.ds[i]
        return s.get("image"), s["embedding"], s["label"], s["text"]

    def get_copy(self, i):
        # Arrays of at most 1 KiB (embedding, label) already come back as copies; text is a str.
        s = self.ds[i]
        return (np.array(s["image"]) if self.img else None), s["embedding"], s["label"], s["text"]

    def get_batch(self, idx):
        b = self.ds[idx]
        return b.get("image"), b["embedding"], b["label"], b["text"]

    def scan(self):
        for a in range(0, self.n, SCAN_BATCH):
            b = self.ds[a:a + SCAN_BATCH]
            yield b.get("image"), b["embedding"], b["label"], b["text"]


class NumpyMemmap:
    """One .npy per tensor, text as one blob plus offsets; read through plain ndarray views
    of one mmap per file (not np.memmap objects, whose subclass indexing costs more than
    the bytes)."""
    name = "numpy memmap"
    module = "numpy"
    copies = False

    def build(self, path, n, img):
        os.makedirs(path)
        arrays = {}
        if img:
            arrays["image"] = np.lib.format.open_memmap(f"{path}/image.npy", "w+", np.uint8, (n, *IMAGE_SHAPE))
        arrays["embedding"] = np.lib.format.open_memmap(f"{path}/embedding.npy", "w+", np.float32, (n, EMB_DIM))
        arrays["label"] = np.lib.format.open_memmap(f"{path}/label.npy", "w+", np.int64, (n,))
        ends = np.empty(n + 1, np.int64)
        ends[0] = 0
        with open(f"{path}/text.bin", "wb") as f:
            for start, (images, embeddings, labels, texts) in batches(n, img):
                end = start + len(labels)
                if img:
                    arrays["image"][start:end] = images
                arrays["embedding"][start:end] = embeddings
                arrays["label"][start:end] = labels
                enc = [t.encode() for t in texts]
                f.write(b"".join(enc))
                ends[start + 1:end + 1] = ends[start] + np.cumsum([len(e) for e in enc])
        np.save(f"{path}/text_offsets.npy", ends)
        for a in arrays.values():
            a.flush()
        del arrays

    def durable(self, path):
        fsync_tree(path)

    @staticmethod
    def _view(path):
        return np.asarray(np.load(path, mmap_mode="r"))  # a plain ndarray over the np.memmap's mapping

    def open(self, path):
        self.img = self._view(f"{path}/image.npy") if os.path.exists(f"{path}/image.npy") else None
        self.emb = self._view(f"{path}/embedding.npy")
        self.lab = self._view(f"{path}/label.npy")
        self.off = np.load(f"{path}/text_offsets.npy").tolist()
        import mmap
        with open(f"{path}/text.bin", "rb") as f:
            self.text = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        self.n = len(self.lab)

    def close(self):
        self.img = self.emb = self.lab = self.text = None

    def _text(self, i):
        return self.text[self.off[i]:self.off[i + 1]].decode()

    def get(self, i):
        return (self.img[i] if self.img is not None else None), self.emb[i], self.lab[i], self._text(i)

    def get_copy(self, i):
        return ((self.img[i].copy() if self.img is not None else None), self.emb[i].copy(), self.lab[i],
                self._text(i))

    def get_batch(self, idx):
        idx = np.asarray(idx)
        return ((self.img[idx] if self.img is not None else None), self.emb[idx], self.lab[idx],
                [self._text(i) for i in idx.tolist()])

    def scan(self):
        for a in range(0, self.n, SCAN_BATCH):
            b = min(self.n, a + SCAN_BATCH)
            off = self.off
            blob = self.text[off[a]:off[b]]
            texts = [blob[off[k] - off[a]:off[k + 1] - off[a]].decode() for k in range(a, b)]
            yield ((self.img[a:b].copy() if self.img is not None else None), self.emb[a:b].copy(),
                   self.lab[a:b].copy(), texts)


class LMDB:
    """One packed value per sample (label, embedding, image, text), one read transaction
    kept open. "As returned" uses buffers=True (memoryviews of the map, valid while the
    transaction lives); "copied out" uses the default (bytes copied out of the map) with
    numpy views of those bytes. Batches use Cursor.getmulti; the scan iterates a cursor."""
    name = "LMDB"
    module = "lmdb"
    copies = False
    _key = struct.Struct(">Q")

    def build(self, path, n, img):
        import lmdb
        size = (IMAGE_BYTES if img else 0) + EMB_BYTES + 8 + 600
        env = lmdb.open(path, map_size=max(1 << 28, n * size * 2), subdir=True, sync=False, metasync=False)
        for start, (images, embeddings, labels, texts) in batches(n, img):
            items = []
            for j in range(len(labels)):
                parts = [labels[j].tobytes(), embeddings[j].tobytes()]
                if img:
                    parts.append(images[j].tobytes())
                parts.append(texts[j].encode())
                items.append((self._key.pack(start + j), b"".join(parts)))
            with env.begin(write=True) as txn:
                txn.cursor().putmulti(items, append=True)
        env.close()

    def durable(self, path):
        import lmdb
        env = lmdb.open(path, subdir=True)
        env.sync(True)
        env.close()

    def open(self, path):
        import lmdb
        self.env = lmdb.open(path, readonly=True, lock=False, subdir=True)
        self.txn = self.env.begin(buffers=True)
        self.txn_bytes = self.env.begin()
        self.n = self.env.stat()["entries"]
        first = self.txn.get(self._key.pack(0))
        self.img = len(first) >= 8 + EMB_BYTES + IMAGE_BYTES + 50
        self.text_at = 8 + EMB_BYTES + (IMAGE_BYTES if self.img else 0)
        self.fixed = self.text_at  # bytes before the text

    def close(self):
        self.txn.abort()
        self.txn_bytes.abort()
        self.env.close()

    def _unpack(self, v):
        img = np.frombuffer(v, np.uint8, IMAGE_BYTES, 8 + EMB_BYTES).reshape(IMAGE_SHAPE) if self.img else None
        return (img, np.frombuffer(v, np.float32, EMB_DIM, 8), int.from_bytes(v[:8], "little", signed=True),
                str(v[self.text_at:], "utf-8"))

    def get(self, i):
        return self._unpack(self.txn.get(self._key.pack(i)))

    def get_copy(self, i):
        return self._unpack(self.txn_bytes.get(self._key.pack(i)))

    def _stack(self, values):
        fixed = self.fixed
        buf = np.frombuffer(b"".join([v[:fixed] for v in values]), np.uint8).reshape(len(values), fixed)
        labels = buf[:, :8].copy().view(np.int64).ravel()
        emb = buf[:, 8:8 + EMB_BYTES].copy().view(np.float32)
        img = buf[:, 8 + EMB_BYTES:fixed].reshape(len(values), *IMAGE_SHAPE) if self.img else None
        return img, emb, labels, [str(v[fixed:], "utf-8") for v in values]

    def get_batch(self, idx):
        key = self._key.pack
        got = self.txn.cursor().getmulti([key(i) for i in idx.tolist()])
        return self._stack([v for _, v in got])

    def scan(self):
        cur = self.txn.cursor()
        cur.first()
        vals = []
        for v in cur.iternext(keys=False, values=True):
            vals.append(v)
            if len(vals) == SCAN_BATCH:
                yield self._stack(vals)
                vals = []
        if vals:
            yield self._stack(vals)


class HDF5:
    """Contiguous datasets; text as one uint8 blob plus an offsets dataset (read once at
    open), which h5py reads several times faster than variable-length strings. Single
    samples through dataset[i]."""
    name = "HDF5 (h5py)"
    module = "h5py"
    copies = True

    def build(self, path, n, img):
        import h5py
        text_bytes = sum(len(t.encode()) for _, b in batches(n, img) for t in b[3])
        with h5py.File(path, "w", libver="latest") as f:
            im = f.create_dataset("image", (n, *IMAGE_SHAPE), np.uint8) if img else None
            emb = f.create_dataset("embedding", (n, EMB_DIM), np.float32)
            lab = f.create_dataset("label", (n,), np.int64)
            blob = f.create_dataset("text", (text_bytes,), np.uint8)
            ends = np.zeros(n + 1, np.int64)
            for start, (images, embeddings, labels, texts) in batches(n, img):
                end = start + len(labels)
                if img:
                    im[start:end] = images
                emb[start:end], lab[start:end] = embeddings, labels
                enc = b"".join(t.encode() for t in texts)
                ends[start + 1:end + 1] = ends[start] + np.cumsum([len(t.encode()) for t in texts])
                blob[ends[start]:ends[end]] = np.frombuffer(enc, np.uint8)
            f.create_dataset("text_offsets", data=ends)

    def durable(self, path):
        fsync_tree(path)

    def open(self, path):
        import h5py
        self.f = h5py.File(path, "r")
        self.img = self.f["image"] if "image" in self.f else None
        self.emb, self.lab, self.txt = self.f["embedding"], self.f["label"], self.f["text"]
        self.off = self.f["text_offsets"][:].tolist()
        self.n = len(self.lab)

    def close(self):
        self.f.close()

    def _text(self, i):
        return self.txt[self.off[i]:self.off[i + 1]].tobytes().decode()

    def get(self, i):
        return (self.img[i] if self.img is not None else None), self.emb[i], self.lab[i], self._text(i)

    def get_batch(self, idx):
        # Images one read each (h5py's fancy indexing of large rows is about 10x slower);
        # the small tensors through one fancy read of the sorted, unique indices.
        uniq, inverse = np.unique(idx, return_inverse=True)
        images = None
        if self.img is not None:
            images = np.empty((len(idx), *IMAGE_SHAPE), np.uint8)
            for k, i in enumerate(idx.tolist()):
                images[k] = self.img[i]
        return images, self.emb[uniq][inverse], self.lab[uniq][inverse], [self._text(i) for i in idx.tolist()]

    def scan(self):
        off = self.off
        for a in range(0, self.n, SCAN_BATCH):
            b = min(self.n, a + SCAN_BATCH)
            blob = self.txt[off[a]:off[b]].tobytes()
            yield ((self.img[a:b] if self.img is not None else None), self.emb[a:b], self.lab[a:b],
                   [blob[off[k] - off[a]:off[k + 1] - off[a]].decode() for k in range(a, b)])


class Zarr:
    """Zarr v3, no compression, chunks of 64 samples (16 and sharded one-sample chunks
    were slower on every operation in our runs)."""
    name = "Zarr"
    module = "zarr"
    copies = True
    chunk = 64

    def build(self, path, n, img):
        import zarr
        g = zarr.open_group(path, mode="w", zarr_format=3)

        def arr(name, shape, dtype):
            return g.create_array(name, shape=(n, *shape), chunks=(self.chunk, *shape), dtype=dtype,
                                  compressors=None)

        im = arr("image", IMAGE_SHAPE, "uint8") if img else None
        emb = arr("embedding", (EMB_DIM,), "float32")
        lab = arr("label", (), "int64")
        txt = arr("text", (), str)
        for start, (images, embeddings, labels, texts) in batches(n, img):
            end = start + len(labels)
            if img:
                im[start:end] = images
            emb[start:end], lab[start:end] = embeddings, labels
            txt[start:end] = np.array(texts, dtype=object)

    def durable(self, path):
        fsync_tree(path)

    def open(self, path):
        import zarr
        g = zarr.open_group(path, mode="r")
        self.img = g["image"] if "image" in g else None
        self.emb, self.lab, self.txt = g["embedding"], g["label"], g["text"]
        self.n = self.lab.shape[0]

    def close(self):
        pass

    def get(self, i):
        return (self.img[i] if self.img is not None else None), self.emb[i], self.lab[i], str(self.txt[i])

    def get_batch(self, idx):
        uniq, inverse = np.unique(idx, return_inverse=True)
        t = self.txt.get_orthogonal_selection(uniq)
        return ((self.img.get_orthogonal_selection(uniq)[inverse] if self.img is not None else None),
                self.emb.get_orthogonal_selection(uniq)[inverse], self.lab.get_orthogonal_selection(uniq)[inverse],
                [str(t[k]) for k in inverse.tolist()])

    def scan(self):
        for a in range(0, self.n, SCAN_BATCH):
            b = min(self.n, a + SCAN_BATCH)
            yield ((self.img[a:b] if self.img is not None else None), self.emb[a:b], self.lab[a:b],
                   [str(t) for t in self.txt[a:b]])


def _arrow_schema(img):
    import pyarrow as pa
    fields = [("image", pa.binary(IMAGE_BYTES))] if img else []
    return pa.schema(fields + [("embedding", pa.list_(pa.float32(), EMB_DIM)), ("label", pa.int64()),
                               ("text", pa.string())])


def _arrow_batch(images, embeddings, labels, texts):
    import pyarrow as pa
    n = len(labels)
    cols = []
    if images is not None:
        cols.append(pa.FixedSizeBinaryArray.from_buffers(pa.binary(IMAGE_BYTES), n,
                                                          [None, pa.py_buffer(np.ascontiguousarray(images))]))
    cols += [pa.FixedSizeListArray.from_arrays(pa.array(embeddings.reshape(-1)), EMB_DIM), pa.array(labels),
             pa.array(texts, pa.string())]
    return pa.RecordBatch.from_arrays(cols, schema=_arrow_schema(images is not None))


def _from_arrow(t):
    """numpy views of an Arrow table or record batch's buffers (no copy) and a list of str."""
    n = t.num_rows
    names = t.schema.names
    images = None
    if "image" in names:
        col = t.column("image")
        img = col.combine_chunks() if hasattr(col, "combine_chunks") else col
        images = np.frombuffer(img.buffers()[1], np.uint8, n * IMAGE_BYTES,
                               img.offset * IMAGE_BYTES).reshape(n, *IMAGE_SHAPE)
    col = t.column("embedding")
    emb = col.combine_chunks() if hasattr(col, "combine_chunks") else col
    embeddings = emb.flatten().to_numpy().reshape(n, EMB_DIM)
    return images, embeddings, t.column("label").to_numpy(), t.column("text").to_pylist()


def _first(t):
    images, embeddings, labels, texts = _from_arrow(t)
    return (images[0] if images is not None else None), embeddings[0], labels[0], texts[0]


class Parquet:
    """One uncompressed file without dictionaries or statistics, row groups of 50 samples
    (about 650 KB with images; 10, 100 and 1,000 were slower on random reads in our runs,
    and the scan barely changes), memory-mapped. A random read decodes its row group
    (ParquetFile.read_row_group without threads); the scan is iter_batches."""
    name = "Parquet (pyarrow)"
    module = "pyarrow.parquet"
    copies = True
    row_group = 50

    def build(self, path, n, img):
        import pyarrow as pa
        import pyarrow.parquet as pq
        with pq.ParquetWriter(path, _arrow_schema(img), compression="none", use_dictionary=False,
                              write_statistics=False) as w:
            for _, b in batches(n, img):
                w.write_table(pa.Table.from_batches([_arrow_batch(*b)]), row_group_size=self.row_group)

    def durable(self, path):
        fsync_tree(path)

    def open(self, path):
        import pyarrow.parquet as pq
        self.pf = pq.ParquetFile(path, memory_map=True)
        self.n = self.pf.metadata.num_rows

    def close(self):
        self.pf.close()

    def get(self, i):
        t = self.pf.read_row_group(i // self.row_group, use_threads=False)
        return _first(t.slice(i % self.row_group, 1))

    def get_batch(self, idx):
        import pyarrow as pa
        groups, inverse = np.unique(idx // self.row_group, return_inverse=True)
        t = self.pf.read_row_groups(groups.tolist(), use_threads=False)
        pos = inverse * self.row_group + idx % self.row_group  # every row group but the last is full
        return _from_arrow(t.take(pa.array(pos)).combine_chunks())

    def scan(self):
        for b in self.pf.iter_batches(batch_size=SCAN_BATCH, use_threads=False):
            yield _from_arrow(b)


class Lance:
    """Lance's default (stable) file format (2.1 took 30 % less time on take() but scanned
    3x slower in our runs), take() for samples and batches, to_batches() for the scan."""
    name = "Lance"
    module = "lance"
    copies = True

    def build(self, path, n, img):
        import lance
        import pyarrow as pa
        reader = pa.RecordBatchReader.from_batches(_arrow_schema(img), (_arrow_batch(*b) for _, b in batches(n, img)))
        lance.write_dataset(reader, path)

    def durable(self, path):
        fsync_tree(path)

    def open(self, path):
        import lance
        self.ds = lance.dataset(path)
        self.n = self.ds.count_rows()

    def close(self):
        self.ds = None

    def get(self, i):
        return _first(self.ds.take([i]))

    def get_batch(self, idx):
        return _from_arrow(self.ds.take(idx))

    def scan(self):
        for b in self.ds.to_batches(batch_size=SCAN_BATCH):
            yield _from_arrow(b)



class DeepLake:
    """Deep Lake 4: ds[i] rows (faster than four column reads), column[list] for batches,
    ds.batches() for the scan."""
    name = "Deep Lake"
    module = "deeplake"
    copies = True

    def build(self, path, n, img):
        import deeplake
        ds = deeplake.create(f"file://{path}")
        if img:
            ds.add_column("image", deeplake.types.Array("uint8", shape=list(IMAGE_SHAPE)))
        ds.add_column("embedding", deeplake.types.Array("float32", shape=[EMB_DIM]))
        ds.add_column("label", deeplake.types.Int64())
        ds.add_column("text", deeplake.types.Text())
        for _, (images, embeddings, labels, texts) in batches(n, img):
            b = {"embedding": embeddings, "label": labels, "text": texts}
            if img:
                b["image"] = images
            ds.append(b)
        ds.commit()

    def durable(self, path):
        fsync_tree(path)

    def open(self, path):
        import deeplake
        self.ds = deeplake.open_read_only(f"file://{path}")
        self.n = len(self.ds)
        self.img = "image" in [c.name for c in self.ds.schema.columns]

    def close(self):
        self.ds = None

    def get(self, i):
        row = self.ds[i]
        return (row["image"] if self.img else None), row["embedding"], row["label"], row["text"]

    def get_batch(self, idx):
        idx = idx.tolist()  # column reads: 4x faster than ds[idx] rows in our runs
        ds = self.ds
        return (ds["image"][idx] if self.img else None), ds["embedding"][idx], ds["label"][idx], ds["text"][idx]

    def scan(self):
        for b in self.ds.batches(SCAN_BATCH):
            yield (b["image"] if self.img else None), b["embedding"], b["label"], b["text"]


SYSTEMS = [GTN, Lance, DeepLake, Parquet, HDF5, Zarr, LMDB, NumpyMemmap]


# --- checks ---

def _owns(a):
    """True when the array's bytes belong to the process (not a view of a mapping)."""
    while isinstance(a, np.ndarray):
        if a.base is None:
            return True
        a = a.base
    return isinstance(a, (bytes, bytearray))


def _check_sample(name, what, got, want):
    for k, field in enumerate(("image", "embedding", "label")):
        if want[k] is None:
            if got[k] is not None:
                raise AssertionError(f"{name} {what}: an image where none was written")
        elif not np.array_equal(np.asarray(got[k]), want[k]):
            raise AssertionError(f"{name} {what} {field} differs from what was written")
    if str(got[3]) != want[3]:
        raise AssertionError(f"{name} {what} text differs from what was written")


def check(system, n, img, rng):
    """Every read path gives back what was written: single samples (as returned and copied
    out; the copied-out arrays must own their bytes), a random batch, and the first and
    last sample of every scan batch."""
    name = system.name
    for i in rng.integers(0, n, size=5).tolist() + [0, n - 1]:
        want = expected(i, n, img)
        _check_sample(name, f"sample {i}", system.get(i), want)
        if not system.copies:
            got = system.get_copy(i)
            _check_sample(name, f"sample {i} (copied out)", got, want)
            for a in got[:2]:
                if a is not None and not _owns(a):
                    raise AssertionError(f"{name}: a copied-out read returned a view of {type(a.base).__name__}")
    idx = rng.integers(0, n, size=READ_BATCH)
    got = system.get_batch(idx)
    for k, i in enumerate(idx.tolist()):
        _check_sample(name, f"batch item {k}", [None if g is None else g[k] for g in got], expected(i, n, img))
    seen = 0
    for b in system.scan():
        m = len(b[2])
        for k in (0, m - 1):
            _check_sample(name, f"scan sample {seen + k}", [None if g is None else g[k] for g in b],
                          expected(seen + k, n, img))
        seen += m
    if seen != n:
        raise AssertionError(f"{name}: the scan gave {seen} samples, expected {n}")


# --- timing ---

def time_open(cls, path, times=5):
    out = []
    for _ in range(times):
        s = cls()
        t0 = time.perf_counter()
        s.open(path)
        out.append(time.perf_counter() - t0)
        s.close()
    return statistics.median(out)


def time_random(get, n, reads, budget, rng):
    idx = rng.integers(0, n, size=reads).tolist()
    for i in idx[:200]:  # warm-up
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


def time_batches(system, n, count, budget, rng):
    system.get_batch(rng.integers(0, n, size=READ_BATCH))  # warm-up
    idxs = [rng.integers(0, n, size=READ_BATCH) for _ in range(count)]
    done = 0
    t0 = time.perf_counter()
    for idx in idxs:
        system.get_batch(idx)
        done += 1
        if time.perf_counter() - t0 > budget:
            break
    return (time.perf_counter() - t0) / (done * READ_BATCH)


def time_scan(system, n):
    seen = 0
    t0 = time.perf_counter()
    for b in system.scan():
        seen += len(b[2])
    return (time.perf_counter() - t0) / seen


def read_bandwidth(paths, block, fresh=False):
    """Bytes per second of plain read() of `paths` (warm page cache) in blocks of `block`
    bytes, the size of one scan batch: into one reused buffer (the page-cache bandwidth,
    the scan target's baseline), or with `fresh` into a new numpy buffer per block, as a
    scan that returns new arrays must."""
    buf = bytearray(block)
    mv = memoryview(buf)
    total = 0
    t0 = time.perf_counter()
    for p in paths:
        with open(p, "rb", buffering=0) as f:
            while True:
                if fresh:
                    mv = memoryview(np.empty(block, np.uint8))
                got = f.readinto(mv)
                if not got:
                    break
                total += got
    return total / (time.perf_counter() - t0), total


def logical_bytes(n, img):
    text = sum(len(t.encode()) for _, b in batches(n, img) for t in b[3])
    return n * ((IMAGE_BYTES if img else 0) + EMB_BYTES + 8) + text


def run_rep(cls, root, args, img, rep, r):
    """Repetition `rep` of every operation for one system, into the lists of `r`. The
    repetitions of all systems are interleaved (every system's first, then every system's
    second, ...) so that a change of load on a shared machine hits every system alike."""
    if "error" in r:
        return
    if rep == 0:
        try:
            importlib.import_module(cls.module)
        except Exception as e:  # noqa: BLE001 (any import failure means "not available")
            r["error"] = f"not available: {type(e).__name__}: {e}".splitlines()[0]
            return
        r.update({k: [] for k in ("ingest", "ingest_durable", "open", "random", "random_copy", "batch", "scan",
                                  "load")})
    n = args.samples
    path = os.path.join(root, cls.__name__.lower())
    rng = np.random.default_rng(2024 + rep)
    try:
        r["load"].append(os.getloadavg()[0])
        _remove(path)
        s = cls()
        t0 = time.perf_counter()
        s.build(path, n, img)
        t1 = time.perf_counter()
        s.durable(path)
        t2 = time.perf_counter()
        if getattr(s, "no_nondurable", False):
            r["ingest"].append(None)
            r.setdefault("extend_only", []).append(s.extend_s / n)
        else:
            r["ingest"].append((t1 - t0) / n)
        r["ingest_durable"].append((t2 - t0) / n)
        r["open"].append(time_open(cls, path))
        s = cls()
        s.open(path)
        if rep == 0:
            check(s, n, img, rng)
            r["bytes_on_disk"] = sum(os.path.getsize(p) for p in files_of(path))
        r["random"].append(time_random(s.get, n, args.reads, args.budget, rng))
        if cls.copies:
            r["random_copy"].append(r["random"][-1])
        else:
            r["random_copy"].append(time_random(s.get_copy, n, args.reads, args.budget, rng))
        r["batch"].append(time_batches(s, n, args.batches, args.budget, rng))
        if cls is GTN:  # the page-cache baseline, measured right before the scan it is compared with
            files = files_of(path)
            r.setdefault("read_bw", []).append(statistics.median(
                read_bandwidth(files, _scan_block(img))[0] for _ in range(3)))
            r.setdefault("read_bw_fresh", []).append(statistics.median(
                read_bandwidth(files, _scan_block(img), True)[0] for _ in range(3)))
        r["scan"].append(time_scan(s, n))
        s.close()
        del s
    except Exception as e:  # noqa: BLE001 (a peer that breaks is reported, not fatal)
        r.clear()
        r["error"] = f"failed: {type(e).__name__}: {e}".splitlines()[0]
    finally:
        _remove(path)


def _scan_block(img):
    return SCAN_BATCH * ((IMAGE_BYTES if img else 0) + EMB_BYTES + 8 + 275)


def _remove(path):
    shutil.rmtree(path, ignore_errors=True)
    if os.path.exists(path):
        os.remove(path)


# --- report ---

def med(xs):
    return statistics.median(xs)


def fmt_us(seconds):
    us = seconds * 1e6
    return f"{us:.2f}" if us < 10 else f"{us:.1f}" if us < 1000 else f"{us:,.0f}"


def cell(xs, ref=None, unit=fmt_us):
    s = f"{unit(med(xs))} [{unit(min(xs))}–{unit(max(xs))}]"
    if ref is not None:
        s += f" x{med(xs) / med(ref):.2f}"
    return s


def fmt_ms(seconds):
    ms = seconds * 1e3
    return f"{ms:.2f}" if ms < 10 else f"{ms:.1f}" if ms < 1000 else f"{ms:,.0f}"


ROWS = [("open", "open (ms)", fmt_ms), ("random", "random read, as returned (µs)", fmt_us),
        ("random_copy", "random read, copied out (µs)", fmt_us), ("batch", "random batch of 256 (µs/sample)", fmt_us),
        ("scan", "scan (µs/sample)", fmt_us), ("ingest", "ingest, not durable (µs/sample)", fmt_us),
        ("ingest_durable", "ingest, durable (µs/sample)", fmt_us)]


def report(results, schema, args, lbytes):
    gtn = results.get("GTN", {})
    ok = {k: v for k, v in results.items() if "error" not in v}
    names = list(ok)
    lines = [f"### schema: {schema} ({args.samples:,} samples, {lbytes / args.samples:,.0f} bytes per sample; "
             f"median [min–max] of {args.repeats}; xN = GTN's time / the system's time, below 1: GTN is faster)", ""]
    lines.append("| | " + " | ".join(names) + " |")
    lines.append("|---" * (len(names) + 1) + "|")
    for key, label, unit in ROWS:
        cells = []
        for name in names:
            xs = ok[name][key]
            if any(x is None for x in xs):
                cells.append("— (no such mode)")
                continue
            c = f"{unit(med(xs))} [{unit(min(xs))}–{unit(max(xs))}]"
            if name != "GTN" and key in gtn and "error" not in gtn and None not in gtn[key]:
                c += f" (x{med(gtn[key]) / med(xs):.2f})"
            if key == "random" and SYSTEMS_BY_NAME[name].copies:
                c += " copies"
            cells.append(c)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    cells = []
    for name in names:
        gbps = [lbytes / (t * args.samples) / 1e9 for t in ok[name]["scan"]]
        cells.append(f"{med(gbps):.2f} GB/s")
    lines.append("| scan bandwidth (logical bytes) | " + " | ".join(cells) + " |")
    for key, what in (("read_bw", "read() of GTN's files into one reused buffer"),
                      ("read_bw_fresh", "read() into a fresh buffer per batch")):
        if key in gtn:
            bw = gtn[key]
            cells = [f"{100 * lbytes / (med(ok[n]['scan']) * args.samples) / med(bw):.0f} %" for n in names]
            if "GTN" in ok:  # GTN's own ratio per repetition (each baseline was read right before its scan)
                ratios = [100 * lbytes / (t * args.samples) / b for t, b in zip(gtn["scan"], bw)]
                cells[names.index("GTN")] = f"{med(ratios):.0f} % [{min(ratios):.0f}–{max(ratios):.0f}]"
            lines.append(f"| scan / {what} ({med(bw) / 1e9:.2f} GB/s [{min(bw) / 1e9:.2f}–{max(bw) / 1e9:.2f}]) | "
                         + " | ".join(cells) + " |")
    if "extend_only" in gtn:
        lines.append(f"| GTN extend() calls alone, before close (µs/sample) | {cell(gtn['extend_only'])} |"
                     + " |" * (len(names) - 1))
    lines.append("| load average (1 min) when measured | " + " | ".join(
        " ".join(f"{x:.1f}" for x in ok[n]["load"]) for n in names) + " |")
    lines.append("| bytes on disk per sample | " + " | ".join(f"{ok[n]['bytes_on_disk'] / args.samples:,.0f}" for n in names)
                 + " |")
    for name, r in results.items():
        if "error" in r:
            lines.append(f"\n{name}: {r['error']}")
    return "\n".join(lines)


SYSTEMS_BY_NAME = {c.name: c for c in SYSTEMS}


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            mem = f", {int(f.readline().split()[1]) / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (f"{cpu}, {os.cpu_count()} cores{mem}, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def versions():
    out = {}
    for mod, dist in (("numpy", "numpy"), ("gtn", "gtn"), ("lance", "pylance"), ("deeplake", "deeplake"),
                      ("pyarrow", "pyarrow"), ("h5py", "h5py"), ("zarr", "zarr"), ("lmdb", "lmdb")):
        try:
            m = importlib.import_module(mod)
            out[dist] = getattr(m, "__version__", "?")
        except Exception:  # noqa: BLE001
            out[dist] = "not installed"
    try:
        import h5py
        out["libhdf5"] = h5py.version.hdf5_version
    except Exception:  # noqa: BLE001
        pass
    try:
        import lmdb
        out["liblmdb"] = ".".join(map(str, lmdb.version()))
    except Exception:  # noqa: BLE001
        pass
    return out


def load_average():
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=20_000)
    p.add_argument("--schemas", default="image,small", help="image, small or both")
    p.add_argument("--repeats", type=int, default=3, help="repetitions of every operation, ingest included")
    p.add_argument("--reads", type=int, default=20_000, help="random single-sample reads per repetition")
    p.add_argument("--batches", type=int, default=100, help="random batches of 256 per repetition")
    p.add_argument("--budget", type=float, default=1.5, help="seconds at most per timed read loop")
    p.add_argument("--only", default="", help="comma-separated system names (default: all)")
    p.add_argument("--dir", default=None, help="scratch folder (default: a temporary one)")
    p.add_argument("--json", default="bench/out/storage_bench.json", help="where to write the raw numbers")
    args = p.parse_args()
    only = {s.strip().lower() for s in args.only.split(",") if s.strip()}
    root = tempfile.mkdtemp(prefix="gtn-bench-", dir=args.dir)
    print(f"machine: {machine()}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()))
    print(f"load average at start: {load_average()}", flush=True)
    out = {"samples": args.samples, "machine": machine(), "versions": versions(), "schemas": {}}
    try:
        for schema in [s.strip() for s in args.schemas.split(",") if s.strip()]:
            img = schema == "image"
            batches(args.samples, img)  # generate before timing
            lbytes = logical_bytes(args.samples, img)
            systems = [c for c in SYSTEMS
                       if not only or c.name.lower() in only or c.__name__.lower() in only]
            results = {c.name: {} for c in systems}
            for rep in range(args.repeats):
                for cls in systems:
                    print(f"== {schema}: {cls.name}, repetition {rep + 1} ... (load {load_average()})",
                          file=sys.stderr, flush=True)
                    r = results[cls.name]
                    run_rep(cls, root, args, img, rep, r)
                    print("   " + (r["error"] if "error" in r else
                                  ", ".join(f"{k} {v[-1] * 1e6:.2f}" for k, v in r.items()
                                            if isinstance(v, list) and v and v[-1] is not None
                                            and k not in ("load", "read_bw", "read_bw_fresh"))),
                          file=sys.stderr, flush=True)
            print()
            print(report(results, schema, args, lbytes))
            out["schemas"][schema] = {"logical_bytes": lbytes, "results": results}
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"\nload average at end: {load_average()}")
    print("durable means: " + "; ".join(f"{k}: {v}" for k, v in DURABILITY.items()))
    if args.json:
        os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
