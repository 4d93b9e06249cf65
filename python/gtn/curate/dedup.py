"""gtn.curate.dedup: the Python face of the C++ pipeline (src/gtn/curate/)."""
from __future__ import annotations

import json
import os

import numpy as np

from gtn import _core

_FILE_SOURCES = (".jsonl", ".ndjson", ".csv", ".tsv", ".parquet", ".pq")
_NORMALIZE_KEYS = ("lowercase", "punctuation", "whitespace", "nfkc")


def _normalization(normalize):
    if normalize is True or normalize is None:
        return dict.fromkeys(_NORMALIZE_KEYS, True)
    if normalize is False:
        return dict.fromkeys(_NORMALIZE_KEYS, False)
    if isinstance(normalize, dict):
        unknown = set(normalize) - set(_NORMALIZE_KEYS)
        if unknown:
            raise ValueError(f"unknown normalization option(s) {sorted(unknown)}; expected {list(_NORMALIZE_KEYS)}")
        out = dict.fromkeys(_NORMALIZE_KEYS, True)
        out.update({k: bool(v) for k, v in normalize.items()})
        return out
    raise TypeError(f"normalize must be True, False or a dict of {list(_NORMALIZE_KEYS)}, got {normalize!r}")


def _open(ds, into, write):
    """(dataset, opened_here) for a gtn.Dataset, a dataset folder or a file to ingest."""
    import gtn
    if isinstance(ds, _core.Dataset):
        return ds, False
    if not isinstance(ds, (str, os.PathLike)):
        raise TypeError(f"dedup needs a gtn.Dataset, a dataset folder or a .jsonl/.csv/.parquet file, got {type(ds).__name__}")
    path = os.fspath(ds)
    if os.path.isfile(path):
        if not path.lower().endswith(_FILE_SOURCES):
            raise ValueError(f"{path} is a file but not .jsonl, .csv, .tsv or .parquet; give a dataset folder or one of those")
        if into is None:
            into = os.path.splitext(path)[0] + ".gtn"
        if os.path.exists(into):
            raise FileExistsError(f"{into} exists; pass into= a new dataset folder for the ingested {path}")
        gtn.ingest(path, into, commit=f"ingest {os.path.basename(path)}")
        return gtn.dataset(into), True
    if into is not None:
        raise ValueError(f"into= applies to a .jsonl/.csv/.parquet source; {path} is not one")
    if not os.path.isdir(path):
        raise FileNotFoundError(f"no dataset or file at {path}")
    return gtn.dataset(path, read_only=not write, create=False), True


class DedupResult:
    """What a dedup run found. ``report`` is the full JSON report as a dict."""

    def __init__(self, raw, dataset_path, texts=None):
        self.report = json.loads(raw["json"])
        self.text = raw["text"]
        self.cluster_id = raw["cluster_id"]
        self.duplicate_of = raw["duplicate_of"]
        self.keep_rows = raw["keep_rows"]
        self.dataset_path = dataset_path
        self.view = self.report.get("view") or None  # name of the saved view of the kept rows
        self.examples = self.report["examples"]
        if texts is not None:
            for e in self.examples:
                e["text"] = texts(e["row"])
                e["matched_text"] = texts(e["matched_row"])

    rows = property(lambda self: self.report["rows"])
    rows_kept = property(lambda self: self.report["rows_kept"])
    rows_removed = property(lambda self: self.report["rows_removed"])
    commit = property(lambda self: self.report["commit"] or None)
    stages = property(lambda self: self.report["stages"])
    cluster_sizes = property(lambda self: {int(k): v for k, v in self.report["cluster_sizes"].items()})
    lsh = property(lambda self: self.report.get("lsh"))
    s_curve = property(lambda self: self.report.get("s_curve", ""))

    def __str__(self):
        return self.text

    def __repr__(self):
        return f"<DedupResult {self.rows} rows: {self.rows_kept} kept, {self.rows_removed} duplicates>"

    def plot(self, path):
        """Writes an SVG with two panels: rows removed per stage, and the cluster-size
        histogram (log-scaled counts). Returns the path."""
        stages = [(s["stage"], s["rows_removed"]) for s in self.stages]
        sizes = sorted(self.cluster_sizes.items())
        w, h, pad = 720, 300, 50
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
               f'<text x="{w // 4}" y="16" text-anchor="middle" font-size="13">rows removed per stage</text>',
               f'<text x="{3 * w // 4}" y="16" text-anchor="middle" font-size="13">clusters by size (log count)</text>']

        def bars(x0, x1, items, log):
            if not items:
                out.append(f'<text x="{(x0 + x1) // 2}" y="{h // 2}" text-anchor="middle">none</text>')
                return
            vals = [np.log10(v) + 1 if log else v for _, v in items]
            top = max(max(vals), 1e-9)
            bw = (x1 - x0) / len(items)
            for i, ((label, v), hv) in enumerate(zip(items, vals)):
                bh = (h - 2 * pad) * hv / top
                x = x0 + i * bw
                out.append(f'<rect x="{x + 2:.1f}" y="{h - pad - bh:.1f}" width="{max(bw - 4, 1):.1f}" height="{bh:.1f}" fill="#4472c4"/>')
                out.append(f'<text x="{x + bw / 2:.1f}" y="{h - pad + 14}" text-anchor="middle">{label}</text>')
                out.append(f'<text x="{x + bw / 2:.1f}" y="{h - pad - bh - 3:.1f}" text-anchor="middle">{v}</text>')

        bars(pad, w // 2 - pad // 2, stages, False)
        bars(w // 2 + pad // 2, w - pad, [(str(k), v) for k, v in sizes[:30]], True)
        out.append("</svg>")
        with open(path, "w") as f:
            f.write("\n".join(out))
        return path


def _options(tensor, method, write, commit, threshold, ngram, unit, norm, normalize_exact, exact_tensors, num_perm,
             bands, rows, target_recall, keep, score, image_hash, hamming, clusters, kmeans_iterations, seed, threads,
             index, allow_empty, memory_mb, max_examples, cluster_tensor, duplicate_tensor, view_name):
    """The options dict the C++ side reads (python/src/curate_bindings.cc, options_from)."""
    return dict(method=method, tensor=tensor, exact_tensors=list(exact_tensors or []),
                normalize_exact=bool(normalize_exact), threshold=float(threshold), ngram=int(ngram), unit=unit, **norm,
                num_perm=int(num_perm), bands=int(bands or 0), rows=int(rows or 0), target_recall=float(target_recall),
                keep=keep, score=score or "", image_hash=image_hash, hamming=int(hamming), clusters=int(clusters or 0),
                kmeans_iterations=int(kmeans_iterations), seed=int(seed), threads=int(threads or 0),
                index=os.fspath(index) if index is not None else "", write=bool(write), allow_empty=bool(allow_empty),
                commit=(commit or "") if write else "", memory_bytes=int(memory_mb) << 20,
                max_examples=int(max_examples), cluster_tensor=cluster_tensor, duplicate_tensor=duplicate_tensor,
                view_name=(view_name or "") if write else "")


def _run(ds, tensor, method, write, commit, into, threshold, ngram, unit, normalize, normalize_exact, exact_tensors,
         num_perm, bands, rows, target_recall, keep, score, image_hash, hamming, clusters, kmeans_iterations, seed,
         threads, index, allow_empty, memory_mb, max_examples, cluster_tensor, duplicate_tensor, view_name, progress,
         executor=None):
    dataset, opened = _open(ds, into, write)
    try:
        norm = _normalization(normalize)
        if (bands is None) != (rows is None):
            raise ValueError("give both bands and rows, or neither (then they are chosen from the threshold)")
        opts = _options(tensor, method, write, commit, threshold, ngram, unit, norm, normalize_exact, exact_tensors,
                        num_perm, bands, rows, target_recall, keep, score, image_hash, hamming, clusters,
                        kmeans_iterations, seed, threads, index, allow_empty, memory_mb, max_examples, cluster_tensor,
                        duplicate_tensor, view_name)
        hash_rows = verify = None
        if executor is not None:
            hash_rows, verify = executor.hooks(dataset, opts)
        raw = _core.curate_dedup(dataset, opts, progress, hash_rows, verify)
        texts = None
        names = dataset._tensor_names()
        if tensor in names and dataset._tensor_types(tensor)["dtype"] == "text":
            def texts(row, _ds=dataset):
                value = _ds._read(tensor, int(row))
                return value if len(value) <= 300 else value[:300] + "..."
        result = DedupResult(raw, dataset.path, texts)
        return result
    finally:
        if opened:
            dataset.close()


def dedup(ds, tensor="text", method="exact+minhash", *, threshold=0.8, ngram=5, unit="word", normalize=True,
          normalize_exact=True, exact_tensors=None, num_perm=128, bands=None, rows=None, target_recall=0.99,
          keep="first", score=None, image_hash="phash", hamming=10, clusters=None, kmeans_iterations=20, seed=42,
          threads=0, index=None, allow_empty=False, commit="dedup", into=None, memory_mb=512, max_examples=5,
          cluster_tensor="cluster_id", duplicate_tensor="duplicate_of", view_name="dedup-keep", progress=None,
          executor=None):
    """Finds duplicates among the rows of ``ds`` and records them: ``cluster_id`` (smallest
    row of the cluster) and ``duplicate_of`` (-1 for kept rows, else the kept row) tensors,
    then a commit with message ``commit``. Returns a :class:`DedupResult`.

    ``ds``: a gtn.Dataset, a dataset folder, or a .jsonl/.csv/.parquet file (ingested into
    ``into``, default: the file's name with .gtn). ``method``: stages joined by "+" out of
    "exact", "minhash", "image", "semantic". ``threshold``: Jaccard of the n-gram sets
    (minhash) or cosine similarity (semantic), in (0, 1]. ``ngram``/``unit``: n-grams of
    words or characters. ``normalize``: True, False or a dict of lowercase, punctuation,
    whitespace, nfkc. ``bands``/``rows``: LSH layout (default: chosen from the threshold
    so that P(candidate) >= target_recall there). ``keep``: "first", "longest" or "score"
    (highest value of the ``score`` tensor). ``index``: a file for incremental runs.
    ``exact_tensors``: hash several tensors together in the exact stage. ``executor``: where
    the hashing and verification run, e.g. ``gtn.curate.dask.DaskExecutor(client)``
    (default: here, on ``threads`` threads); the result is the same.
    """
    return _run(ds, tensor, method, True, commit, into, threshold, ngram, unit, normalize, normalize_exact,
                exact_tensors, num_perm, bands, rows, target_recall, keep, score, image_hash, hamming, clusters,
                kmeans_iterations, seed, threads, index, allow_empty, memory_mb, max_examples, cluster_tensor,
                duplicate_tensor, view_name, progress, executor)


def find_duplicates(ds, tensor="text", method="exact+minhash", *, threshold=0.8, ngram=5, unit="word", normalize=True,
                    normalize_exact=True, exact_tensors=None, num_perm=128, bands=None, rows=None, target_recall=0.99,
                    keep="first", score=None, image_hash="phash", hamming=10, clusters=None, kmeans_iterations=20,
                    seed=42, threads=0, index=None, allow_empty=False, memory_mb=512, max_examples=5, progress=None):
    """Same as :func:`dedup` but writes nothing to the dataset (it may be read-only)."""
    return _run(ds, tensor, method, False, None, None, threshold, ngram, unit, normalize, normalize_exact,
                exact_tensors, num_perm, bands, rows, target_recall, keep, score, image_hash, hamming, clusters,
                kmeans_iterations, seed, threads, index, allow_empty, memory_mb, max_examples, "cluster_id",
                "duplicate_of", None, progress)


def lsh_params(threshold, num_perm=128, target_recall=0.99):
    """(bands, rows, s_curve_text) that dedup would use."""
    return _core.curate_lsh_params(float(threshold), int(num_perm), float(target_recall))


def normalize_text(text, lowercase=True, punctuation=True, whitespace=True, nfkc=True):
    """The text as the minhash and exact stages see it."""
    return _core.curate_normalize_text(text, lowercase, punctuation, whitespace, nfkc)


def ngram_hashes(text, n=5, unit="word", **normalize):
    """Sorted distinct 64-bit hashes of the n-grams of the normalized text (numpy uint64)."""
    return _core.curate_ngram_hashes(text, n, unit, **_normalization(normalize or True))


def image_hash(image, kind="phash"):
    """64-bit pHash or dHash of a uint8 image array (H, W) or (H, W, C)."""
    return _core.curate_image_hash(np.ascontiguousarray(image, dtype=np.uint8), kind)
