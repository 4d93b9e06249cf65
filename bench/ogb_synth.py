#!/usr/bin/env python3
"""SYNTHETIC graph data in OGB's raw on-disk format (node property prediction).

No OGB dataset can be downloaded where GTN's benchmarks run, so this writes what an OGB
node-property dataset unpacks to, with the sizes of a real one and made-up content:

    OUT/raw/edge.csv.gz            src,dst per line (no header), directed
    OUT/raw/node-feat.csv.gz       F comma-separated floats per node
    OUT/raw/node-label.csv.gz      one class id per node
    OUT/raw/num-node-list.csv.gz   the node count
    OUT/raw/num-edge-list.csv.gz   the edge count
    OUT/raw/node_year.csv.gz       (preset arxiv) one year per node
    OUT/split/<name>/{train,valid,test}.csv.gz   node ids, one per line
    OUT/SYNTHETIC.md, OUT/meta.json               say that the data are SYNTHETIC

The graph is a degree-corrected stochastic block model: one block per class, power-law
node weights (Pareto tail, exponent `--alpha`), each edge's source drawn by weight and its
destination drawn by weight inside the source's block with probability `--p-in`, else from
the whole graph. Features are the class centroid plus Gaussian noise, so labels are
learnable from features and from neighbourhoods. Everything is seeded.

    python bench/ogb_synth.py /tmp/arxiv-synth --preset arxiv        # 169,343 nodes, 1,166,243 edges
    python bench/ogb_synth.py /tmp/products-synth --preset products  # 2,449,029 nodes, 61,859,140 edges
    python bench/ogb_synth.py /tmp/tiny --preset tiny                 # seconds; what the tests use
"""
import argparse
import gzip
import io
import json
import os
import time

import numpy as np

PRESETS = {
    # ogbn-arxiv's sizes: 169,343 nodes, 1,166,243 edges, 128 float features, 40 classes,
    # split "time" (train <= 2017, valid 2018, test >= 2019: 90,941 / 29,799 / 48,603).
    "arxiv": dict(nodes=169_343, edges=1_166_243, features=128, classes=40, split="time", years=True,
                  fractions=(90_941 / 169_343, 29_799 / 169_343)),
    # ogbn-products' sizes: 2,449,029 nodes, 61,859,140 edges, 100 features, 47 classes,
    # split "sales_ranking" (196,615 / 39,323 / 2,213,091 by popularity).
    "products": dict(nodes=2_449_029, edges=61_859_140, features=100, classes=47, split="sales_ranking",
                     years=False, fractions=(196_615 / 2_449_029, 39_323 / 2_449_029)),
    "tiny": dict(nodes=2_000, edges=12_000, features=16, classes=5, split="time", years=True,
                 fractions=(0.55, 0.18)),
}


def _write_gz(path, data, level):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=level,
                                                mtime=0) as f:
        f.write(data)


def _csv_bytes(columns):
    """CSV text (no header) of equal-length numpy columns, through Arrow's C++ CSV writer."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    table = pa.table({f"c{i}": c for i, c in enumerate(columns)})
    buf = io.BytesIO()
    pacsv.write_csv(table, buf, write_options=pacsv.WriteOptions(include_header=False, batch_size=1 << 16))
    return buf.getvalue()


def _int_lines(values):
    return _csv_bytes([np.asarray(values, dtype=np.int64)])


def generate(out, nodes, edges, features, classes, seed=0, split="time", years=False, fractions=(0.55, 0.18),
             p_in=0.8, alpha=2.2, noise=2.0, gzip_level=1, preset=None, verbose=False):
    """Writes the SYNTHETIC dataset to ``out`` (see the module doc) and returns its meta dict."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    n, m = int(nodes), int(edges)
    # Blocks (= classes) of Zipf-like sizes, nodes shuffled so ids carry no block order.
    sizes = 1.0 / np.arange(1, classes + 1) ** 0.8
    label = rng.choice(classes, size=n, p=sizes / sizes.sum()).astype(np.int64)
    # Power-law node weights (Pareto tail): degree ~ weight.
    weight = (rng.pareto(alpha - 1.0, size=n) + 1.0)
    # Edges: sources by weight over the whole graph; destinations inside the source's block
    # with probability p_in (by weight within the block), else by weight over the whole graph.
    # No self-loops, no duplicate edges (as in OGB's node-property graphs): draw, drop, repeat.
    cum = np.cumsum(weight)
    order = np.argsort(label, kind="stable")
    block_start = np.searchsorted(label[order], np.arange(classes + 1))
    wcum = np.cumsum(weight[order])
    base = np.concatenate([[0.0], wcum])

    def draw(k):
        src = np.minimum(np.searchsorted(cum, rng.random(k) * cum[-1], side="right"), n - 1)
        b = label[src]
        lo, hi = base[block_start[b]], base[block_start[b + 1]]
        pos = np.minimum(np.searchsorted(wcum, lo + rng.random(k) * (hi - lo), side="right"), block_start[b + 1] - 1)
        dst_any = np.minimum(np.searchsorted(cum, rng.random(k) * cum[-1], side="right"), n - 1)
        dst = np.where(rng.random(k) < p_in, order[pos], dst_any)
        keep = src != dst
        return src[keep].astype(np.int64) * n + dst[keep]

    keys = np.unique(draw(m + m // 8))
    while len(keys) < m:
        keys = np.unique(np.concatenate([keys, draw(max(1024, (m - len(keys)) * 2))]))
    keys = rng.permutation(keys)[:m]
    src, dst = keys // n, keys % n
    del keys
    # Features: class centroid + noise, rounded to OGB's 6 decimals.
    centroids = rng.standard_normal((classes, features)).astype(np.float32)
    x = centroids[label] + noise * rng.standard_normal((n, features), dtype=np.float32)
    x = np.round(x / 10.0, 6).astype(np.float32)
    # Splits: by year (arxiv-like) or by popularity (products-like).
    train_frac, valid_frac = fractions
    if years:
        year = np.clip(np.round(2020 - rng.gamma(2.0, 3.0, size=n)), 1971, 2020).astype(np.int64)
        rank = np.lexsort((rng.random(n), year))  # oldest first
    else:
        year = None
        rank = np.argsort(-weight, kind="stable")  # most popular first
    n_train, n_valid = int(round(train_frac * n)), int(round(valid_frac * n))
    parts = {"train": np.sort(rank[:n_train]), "valid": np.sort(rank[n_train:n_train + n_valid]),
             "test": np.sort(rank[n_train + n_valid:])}
    if verbose:
        print(f"  generated in {time.perf_counter() - t0:.1f} s", flush=True)

    raw = os.path.join(out, "raw")
    _write_gz(os.path.join(raw, "num-node-list.csv.gz"), f"{n}\n".encode(), gzip_level)
    _write_gz(os.path.join(raw, "num-edge-list.csv.gz"), f"{m}\n".encode(), gzip_level)
    _write_gz(os.path.join(raw, "edge.csv.gz"), _csv_bytes([src, dst]), gzip_level)
    del src, dst
    _write_gz(os.path.join(raw, "node-label.csv.gz"), _int_lines(label), gzip_level)
    if year is not None:
        _write_gz(os.path.join(raw, "node_year.csv.gz"), _int_lines(year), gzip_level)
    step = max(1, (64 << 20) // (features * 10))  # ~64 MB of text per piece
    pieces = []
    for s in range(0, n, step):
        pieces.append(_csv_bytes([x[s:s + step, j] for j in range(features)]))
    _write_gz(os.path.join(raw, "node-feat.csv.gz"), b"".join(pieces), gzip_level)
    del pieces
    for name, ids in parts.items():
        _write_gz(os.path.join(out, "split", split, f"{name}.csv.gz"), _int_lines(ids), gzip_level)
    meta = {"SYNTHETIC": True, "generator": "bench/ogb_synth.py (degree-corrected SBM)", "preset": preset,
            "seed": seed, "nodes": n, "edges": m, "features": features, "classes": classes, "split": split,
            "train": int(n_train), "valid": int(n_valid), "test": int(n - n_train - n_valid), "p_in": p_in,
            "alpha": alpha, "noise": noise, "gzip_level": gzip_level}
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
    with open(os.path.join(out, "SYNTHETIC.md"), "w") as f:
        f.write("# SYNTHETIC data, not an OGB dataset\n\n"
                "Written by GTN's bench/ogb_synth.py in OGB's raw on-disk format (node property prediction) "
                f"with the sizes of {'ogbn-' + preset if preset in ('arxiv', 'products') else 'a small graph'}: "
                f"{n:,} nodes, {m:,} edges, {features} float features, {classes} classes. The edges come from a "
                "degree-corrected stochastic block model, the features from class centroids plus noise. "
                "Results measured on it say nothing about the real OGB dataset's content.\n\n"
                + json.dumps(meta, indent=2) + "\n")
    if verbose:
        print(f"  written in {time.perf_counter() - t0:.1f} s", flush=True)
    return meta


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--preset", choices=sorted(PRESETS), default="tiny")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--gzip-level", type=int, default=1, choices=range(1, 10))
    for k in ("nodes", "edges", "features", "classes"):
        ap.add_argument(f"--{k}", type=int, help=f"override the preset's {k}")
    a = ap.parse_args()
    p = dict(PRESETS[a.preset])
    for k in ("nodes", "edges", "features", "classes"):
        if getattr(a, k) is not None:
            p[k] = getattr(a, k)
    if os.path.exists(os.path.join(a.out, "raw")):
        raise SystemExit(f"{a.out}/raw exists; choose a new folder")
    print(f"SYNTHETIC OGB-format graph ({a.preset}) -> {a.out}", flush=True)
    meta = generate(a.out, seed=a.seed, gzip_level=a.gzip_level, preset=a.preset, verbose=True, **p)
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
