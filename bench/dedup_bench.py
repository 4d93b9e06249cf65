"""Near-duplicate text deduplication: GTN vs datatrove's MinHash pipeline vs datasketch's
MinHashLSH, on the corpus of bench/dedup_corpus.py (same documents, same cores).

    python bench/dedup_corpus.py bench/out/dedup-corpus            # once (~2 min, 1.09 GB)
    python bench/dedup_bench.py --corpus bench/out/dedup-corpus --threads 2

Peers run from the virtual environment bench/out/venv-curate (bench/requirements-curate.txt;
they pin versions the main environment does not want). Every system runs in its own process
(peak RSS from wait4), is timed end to end from the JSONL shards to its result, and its
clusters are scored against the corpus's ground truth:
  recall per Jaccard band: planted pairs (true word 5-gram Jaccard) that end in one cluster;
  precision: of the documents a system marks as duplicates (every cluster member but its
  smallest id), the share whose best true Jaccard to another member of its cluster (at most
  50 members checked, drawn with a fixed seed) reaches the threshold; also the removals per
  band of that best Jaccard.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEER_PYTHON = os.path.join(HERE, "out", "venv-curate", "bin", "python")
BANDS = [0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]


def shards(corpus):
    return sorted(glob.glob(os.path.join(corpus, "shard-*.jsonl")))


# ---------------------------------------------------------------- systems (child processes)

def run_gtn(corpus, work, threads, threshold):
    import gtn
    t0 = time.perf_counter()
    ds_path = os.path.join(work, "gtn-ds")
    shutil.rmtree(ds_path, ignore_errors=True)
    for s in shards(corpus):
        gtn.ingest(s, ds_path)
    t_ingest = time.perf_counter() - t0
    t1 = time.perf_counter()
    r = gtn.curate.dedup(ds_path, threshold=threshold, threads=threads)
    t_dedup = time.perf_counter() - t1
    stages = {s["stage"]: s for s in r.stages}
    return r.cluster_id.astype(np.int64), {
        "ingest_s": t_ingest, "dedup_s": t_dedup, "lsh": r.lsh,
        "candidates": stages["minhash"]["candidate_pairs"], "rejected": stages["minhash"]["rejected_pairs"],
        "peak_signature_bytes": r.report["peak_signature_bytes"]}


def run_gtn_dedup_only(corpus, work, threads, threshold):
    """Dedup of the dataset run_gtn ingested (the state a team reruns dedup on)."""
    import gtn
    ds_path = os.path.join(work, "gtn-ds")
    ds = gtn.dataset(ds_path)
    ds.delete_tensor("cluster_id")
    ds.delete_tensor("duplicate_of")
    ds.commit("bench: drop the outputs")
    t0 = time.perf_counter()
    r = gtn.curate.dedup(ds, threshold=threshold, threads=threads)
    dt = time.perf_counter() - t0
    ds.close()
    return r.cluster_id.astype(np.int64), {"dedup_s": dt}


def run_datatrove(corpus, work, threads, threshold):
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup import MinhashDedupSignature
    from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster,
                                                  MinhashDedupFilter)
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    base = os.path.join(work, "datatrove")
    shutil.rmtree(base, ignore_errors=True)
    config = MinhashConfig(n_grams=5, num_buckets=14, hashes_per_bucket=8)  # datatrove's defaults (~0.8)
    files = shards(corpus)
    n_tasks = len(files)

    def reader():
        return JsonlReader(corpus, glob_pattern="shard-*.jsonl", text_key="text", id_key="id")

    t0 = time.perf_counter()
    LocalPipelineExecutor(pipeline=[reader(), MinhashDedupSignature(output_folder=f"{base}/sigs", config=config)],
                          tasks=n_tasks, workers=threads, logging_dir=f"{base}/logs/sigs").run()
    LocalPipelineExecutor(pipeline=[MinhashDedupBuckets(input_folder=f"{base}/sigs", output_folder=f"{base}/buckets",
                                                        config=config)],
                          tasks=config.num_buckets, workers=threads, logging_dir=f"{base}/logs/buckets").run()
    LocalPipelineExecutor(pipeline=[MinhashDedupCluster(input_folder=f"{base}/buckets", output_folder=f"{base}/remove",
                                                        config=config, save_cluster_id=True)],
                          tasks=1, logging_dir=f"{base}/logs/clusters").run()
    LocalPipelineExecutor(pipeline=[reader(), MinhashDedupFilter(input_folder=f"{base}/remove"),
                                    JsonlWriter(f"{base}/output")],
                          tasks=n_tasks, workers=threads, logging_dir=f"{base}/logs/filter").run()
    total = time.perf_counter() - t0
    # Cluster ids: (file rank, doc index) -> global id; docs in no cluster stay alone.
    counts = [sum(1 for _ in open(f)) for f in files]
    offsets = np.concatenate([[0], np.cumsum(counts)])
    n = int(offsets[-1])
    cluster = np.arange(n, dtype=np.int64)
    label_to_min = {}
    for rank in range(n_tasks):
        path = f"{base}/remove/{rank:06d}.clusters"
        if not os.path.exists(path):
            continue
        pairs = np.fromfile(path, dtype="<u4").reshape(-1, 2)
        for doc, cid in pairs.tolist():
            g = int(offsets[rank]) + doc
            label_to_min.setdefault(cid, []).append(g)
    for members in label_to_min.values():
        cluster[members] = min(members)
    return cluster, {"dedup_s": total}


def _datasketch_sig(args):
    texts, num_perm = args
    from datasketch import MinHash
    out = []
    for t in texts:
        w = t.split()
        grams = [" ".join(w[i:i + 5]).encode() for i in range(max(1, len(w) - 4))]
        m = MinHash(num_perm=num_perm)
        m.update_batch(grams)
        out.append(m.hashvalues)
    return out


def run_datasketch(corpus, work, threads, threshold):
    import multiprocessing as mp
    from datasketch import LeanMinHash, MinHash, MinHashLSH
    t0 = time.perf_counter()
    texts = []
    for s in shards(corpus):
        with open(s) as f:
            texts.extend(json.loads(line)["text"] for line in f)
    num_perm = 128
    chunks = [(texts[i:i + 2000], num_perm) for i in range(0, len(texts), 2000)]
    with mp.Pool(threads) as pool:
        sigs = [h for part in pool.imap(_datasketch_sig, chunks) for h in part]
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    seed_mh = MinHash(num_perm=num_perm)
    n = len(texts)
    parent = np.arange(n, dtype=np.int64)

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    with lsh.insertion_session() as session:
        for i, h in enumerate(sigs):
            session.insert(i, LeanMinHash(seed=seed_mh.seed, hashvalues=h, scheme=seed_mh.scheme))
    for i, h in enumerate(sigs):
        for j in lsh.query(LeanMinHash(seed=seed_mh.seed, hashvalues=h, scheme=seed_mh.scheme)):
            a, b = find(i), find(j)
            if a != b:
                parent[max(a, b)] = min(a, b)
    cluster = np.array([find(i) for i in range(n)], dtype=np.int64)
    return cluster, {"dedup_s": time.perf_counter() - t0, "lsh": {"bands": lsh.b, "rows": lsh.r}}


def incremental(corpus, work, threads, threshold, batch=0.1):
    """Index the first (1 - batch) of the rows, add the rest, rerun with the index; compare
    its time and result with a full run over every row."""
    import gtn
    path = os.path.join(work, "gtn-incremental")
    shutil.rmtree(path, ignore_errors=True)
    index = os.path.join(work, "gtn-incremental.idx")
    if os.path.exists(index):
        os.remove(index)
    for s in shards(corpus):
        gtn.ingest(s, path)
    ds = gtn.dataset(path)
    n = len(ds)
    first = int(round(n * (1 - batch)))
    tail_text = [ds._read("text", i) for i in range(first, n)]
    tail_id = [int(ds._read("id", i)) for i in range(first, n)]
    ds.truncate(first)
    ds.commit("bench: first part")
    t = time.perf_counter()
    gtn.curate.dedup(ds, threshold=threshold, threads=threads, index=index)
    t_first = time.perf_counter() - t
    ds.extend({"text": tail_text, "id": tail_id, "cluster_id": [0] * len(tail_id), "duplicate_of": [0] * len(tail_id)})
    ds.commit("bench: new batch")
    t = time.perf_counter()
    inc = gtn.curate.dedup(ds, threshold=threshold, threads=threads, index=index)
    t_inc = time.perf_counter() - t
    t = time.perf_counter()
    full = gtn.curate.find_duplicates(ds, threshold=threshold, threads=threads)
    t_full = time.perf_counter() - t
    same = inc.cluster_id.tolist() == full.cluster_id.tolist() and inc.duplicate_of.tolist() == full.duplicate_of.tolist()
    print(f"incremental: {first} rows indexed in {t_first:.1f} s; +{n - first} rows ({batch:.0%}) with the index "
          f"{t_inc:.2f} s vs a full run over {n} rows {t_full:.2f} s = {t_inc / t_full:.1%}; identical result: {same}")
    ds.close()
    return same


SYSTEMS = {"gtn": run_gtn, "gtn-dedup-only": run_gtn_dedup_only, "datatrove": run_datatrove,
           "datasketch": run_datasketch}
PEERS = {"datatrove", "datasketch"}


def child(name, corpus, work, threads, threshold, out):
    cluster, info = SYSTEMS[name](corpus, work, threads, threshold)
    np.save(out + ".npy", cluster)
    with open(out + ".json", "w") as f:
        json.dump(info, f)


# ---------------------------------------------------------------- scoring

class Texts:
    """Word 5-gram sets of the corpus documents, made on demand (same tokens for all)."""

    def __init__(self, corpus):
        sys.path.insert(0, HERE)
        from dedup_corpus import shingles
        self._shingles = shingles
        self.texts = []
        for s in shards(corpus):
            with open(s) as f:
                self.texts.extend(json.loads(line)["text"] for line in f)
        self.vocab = {}
        self.cache = {}

    def sig(self, i):
        s = self.cache.get(i)
        if s is None:
            ids = [self.vocab.setdefault(w, len(self.vocab)) for w in self.texts[i].split()]
            s = self.cache[i] = self._shingles(ids)
        return s

    def jaccard(self, a, b):
        x, y = self.sig(a), self.sig(b)
        inter = len(np.intersect1d(x, y, assume_unique=True))
        return inter / (len(x) + len(y) - inter)


def score(cluster, truth, texts, threshold):
    pairs = truth["pairs"]
    out = {"recall": {}}
    for lo, hi in zip(BANDS[:-1], BANDS[1:]):
        sel = [p for p in pairs if lo <= p["jaccard"] < hi and p["op"] != "exact"]
        if sel:
            found = sum(cluster[p["a"]] == cluster[p["b"]] for p in sel)
            out["recall"][f"[{lo:.1f},{hi:.1f})"] = (found / len(sel), len(sel))
    sel = [p for p in pairs if p["op"] == "exact"]
    out["recall"]["exact"] = (sum(cluster[p["a"]] == cluster[p["b"]] for p in sel) / len(sel), len(sel))
    hi_pairs = [p for p in pairs if p["jaccard"] >= threshold]
    out["recall_at_t"] = sum(cluster[p["a"]] == cluster[p["b"]] for p in hi_pairs) / len(hi_pairs)
    # Removals and their best Jaccard within the cluster.
    order = np.argsort(cluster, kind="stable")
    sorted_c = cluster[order]
    starts = np.flatnonzero(np.r_[True, sorted_c[1:] != sorted_c[:-1]])
    ends = np.r_[starts[1:], len(order)]
    rng = np.random.default_rng(0)
    best = []
    for s, e in zip(starts, ends):
        if e - s < 2:
            continue
        members = order[s:e]
        for m in members[1:]:
            others = members[members != m]
            if len(others) > 50:
                others = rng.choice(others, 50, replace=False)
            best.append(max(texts.jaccard(int(m), int(o)) for o in others))
    best = np.array(best)
    out["removed"] = int(len(best))
    out["precision"] = float((best >= threshold).mean()) if len(best) else 1.0
    hist = {}
    for lo, hi in zip(BANDS[:-1], BANDS[1:]):
        hist[f"[{lo:.1f},{hi:.1f})"] = int(((best >= lo) & (best < hi)).sum())
    hist["1.0"] = int((best >= 1.0).sum())
    out["removed_by_band"] = hist
    out["clusters"] = int(sum(1 for s, e in zip(starts, ends) if e - s >= 2))
    return out


def run_child(name, args, work):
    out = os.path.join(work, f"result-{name}")
    py = PEER_PYTHON if name in PEERS else sys.executable
    cmd = [py, os.path.abspath(__file__), "--child", name, "--corpus", args.corpus, "--work", work,
           "--threads", str(args.threads), "--threshold", str(args.threshold), "--out", out]
    env = dict(os.environ)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"{name} failed (status {status})")
    with open(out + ".json") as f:
        info = json.load(f)
    info["wall_s"] = wall
    info["peak_rss_mb"] = usage.ru_maxrss / 1024
    return np.load(out + ".npy"), info


def versions():
    out = {}
    for py, pkgs in ((sys.executable, ["numpy"]), (PEER_PYTHON, ["datatrove", "datasketch", "numpy", "spacy"])):
        if not os.path.exists(py):
            continue
        code = ("import importlib.metadata as m, json; print(json.dumps({p: m.version(p) for p in %r}))" % pkgs)
        out[py] = json.loads(subprocess.check_output([py, "-c", code]))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=os.path.join(HERE, "out", "dedup-corpus"))
    ap.add_argument("--work", default=os.path.join(HERE, "out", "dedup-work"))
    ap.add_argument("--systems", default="gtn,gtn-dedup-only,datatrove,datasketch")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--threshold", type=float, default=0.8)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--incremental", action="store_true", help="only the incremental-index measurement (GTN)")
    ap.add_argument("--rescore", action="store_true", help="score the saved results of --systems again (no run)")
    ap.add_argument("--child")
    ap.add_argument("--out")
    args = ap.parse_args()
    if args.child:
        child(args.child, args.corpus, args.work, args.threads, args.threshold, args.out)
        return
    os.makedirs(args.work, exist_ok=True)
    if args.incremental:
        incremental(args.corpus, args.work, args.threads, args.threshold)
        return
    with open(os.path.join(args.corpus, "truth.json")) as f:
        truth = json.load(f)
    print(f"corpus: {truth['docs']} documents, {truth['bytes'] / 1e9:.3f} GB, {len(truth['pairs'])} planted pairs")
    print("versions:", json.dumps(versions()))
    texts = Texts(args.corpus)
    results = {}
    for name in args.systems.split(","):
        if args.rescore:
            out = os.path.join(args.work, f"result-{name}")
            cluster = np.load(out + ".npy")
            with open(os.path.join(args.work, "results.json")) as f:
                info = json.load(f)["results"][name]["info"]
            walls = info["wall_runs_s"]
        else:
            walls = []
            for _ in range(args.repeat):
                cluster, info = run_child(name, args, args.work)
                walls.append(info["wall_s"])
            info["wall_runs_s"] = walls
        sc = score(cluster, truth, texts, args.threshold) if name != "gtn-dedup-only" else {}
        results[name] = {"info": info, "score": sc}
        mbps = truth["bytes"] / 1e6 / min(walls)
        print(f"\n== {name}: {min(walls):.1f} s (runs {', '.join(f'{w:.1f}' for w in walls)}), {mbps:.1f} MB/s, "
              f"peak RSS {info['peak_rss_mb']:.0f} MB")
        print("   info:", json.dumps({k: v for k, v in info.items() if k not in ('wall_runs_s',)}))
        if sc:
            print(f"   recall@{args.threshold}: {sc['recall_at_t']:.4f}   precision@{args.threshold}: {sc['precision']:.4f}"
                  f"   removed {sc['removed']} in {sc['clusters']} clusters")
            print("   recall by band:", "  ".join(f"{k} {v[0]:.3f} (n={v[1]})" for k, v in sc["recall"].items()))
            print("   removals by best Jaccard in cluster:", json.dumps(sc["removed_by_band"]))
    path = os.path.join(args.work, "results.json")
    saved = {}
    if os.path.exists(path):
        with open(path) as f:
            saved = json.load(f).get("results", {})
    saved.update(results)
    with open(path, "w") as f:
        json.dump({"truth": {k: truth[k] for k in ("docs", "bytes")}, "results": saved}, f, indent=1, default=str)
    results = saved
    if "gtn" in results and "datatrove" in results:
        ratio = min(results["datatrove"]["info"]["wall_runs_s"]) / min(results["gtn"]["info"]["wall_runs_s"])
        print(f"\nGTN end to end vs datatrove: {ratio:.1f}x")
    if "gtn" in results and "datasketch" in results:
        ratio = min(results["datasketch"]["info"]["wall_runs_s"]) / min(results["gtn"]["info"]["wall_runs_s"])
        print(f"GTN end to end vs datasketch: {ratio:.1f}x")


if __name__ == "__main__":
    main()
