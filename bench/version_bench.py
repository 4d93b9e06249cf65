#!/usr/bin/env python
"""Version control of GTN against Deep Lake 3.9, Deep Lake 4 and Lance (not a test).

Dataset: --samples N rows (default 1,000,000) of two tensors, "label" int64 scalar (8 B)
and "embedding" float32[16] (64 B): 72 B of payload per sample, 72 MB at N = 1M. Lance
gets a third int64 column "id" (the key its merge_insert updates by). "Updating a
sample" writes both tensors of that sample (label and embedding).

Measured, each system through its best public API (the class of each system below):

  commit1      update 1 random sample, then commit: update / commit / total time, the
               "durable" time (peers that do not fsync: plus fsync of every file the
               commit wrote, so that every system does equal work), and the bytes the
               commit wrote (growth of the dataset folder, os.walk sum of file sizes)
  commit1000   the same with 1,000 random samples updated in one batch
  commit1_small  commit1 on a dataset of N/10 samples: commit cost vs dataset size
  depth        open time and random single-sample read latency (µs/read, warm) at
               history depth 1 and after D more commits (each updating 1 random
               sample); ratio depth-D / depth-1
  checkout     switching between two branches; opening a tag (past version)
  diff, merge  branches a and b from one commit, each updating a disjoint 1% of the
               samples (+ 10 samples both changed, where the merge policy resolves
               them), committed; diff(a, b) and merge b into a (policy theirs), checked
  storage      folder size after K commits of 1% random updates / size after ingest

Every operation is repeated (--repeats) and reported as the median with min-max; every
write is read back and asserted. Each system runs in its own process (Deep Lake 3 in its
own virtualenv, it needs numpy<2); results go to bench/out/version_bench.json.

    python3 -m venv bench/out/venv-dl3 && bench/out/venv-dl3/bin/pip install "deeplake<4" "numpy<2"
    GTN_CORE_DIR=build/<dir>/python PYTHONPATH=python .venv/bin/python bench/version_bench.py --quick
    ... bench/version_bench.py                      # full scale, all systems
    ... bench/version_bench.py --systems lance,deeplake4 --samples 100000 --depth 200
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import warnings

import numpy as np

warnings.filterwarnings("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "out")
EMB_DIM = 16
SYSTEMS = ("gtn", "deeplake4", "deeplake3", "lance")
OVERLAP = 10  # samples both branches change (only for systems whose merge resolves conflicts)


# ----------------------------------------------------------------------------- helpers

def folder_size(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total


def snapshot(path):
    snap = {}
    for root, _, files in os.walk(path):
        for f in files:
            p = os.path.join(root, f)
            try:
                st = os.stat(p)
                snap[p] = (st.st_size, st.st_mtime_ns)
            except OSError:
                pass
    return snap


def fsync_written(path, before):
    """fsync every file new or changed since `before`, and their folders; returns seconds."""
    after = snapshot(path)
    changed = [p for p, v in after.items() if before.get(p) != v]
    t = time.perf_counter()
    dirs = set()
    for p in changed:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        dirs.add(os.path.dirname(p))
    for d in dirs:
        fd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return time.perf_counter() - t


def stats(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def emb_rows(rng, k):
    return rng.random((k, EMB_DIM), dtype=np.float32)


# ----------------------------------------------------------------------------- systems
# Every adapter: create(path, labels, embs) -> leaves a writable handle on main with one
# commit; update(idx, labels, embs); commit(msg); read(h, i) -> (label, emb) on handle h
# (None = the writable one); open_ro(path) -> h; close_ro(h); branch(name) (create at the
# current commit and switch to it); checkout(name); tag(name); open_tag(path, name) -> h;
# diff(a, b) -> number of changed label samples found; merge(name) (into the current).

class GTN:
    name = "gtn"
    durable = True
    notes = "fsyncs at commit (Durability::kFlush); ds[t][idx] = values, ds.commit()"
    commit_is_separate = True
    has_diff = has_merge = merge_resolves_conflicts = True

    def __init__(self):
        import gtn
        self.gtn = gtn
        self.version = getattr(gtn, "__version__", "dev (this repository)")
        self.ds = None

    def create(self, path, labels, embs):
        g = self.gtn
        self.path = path
        ds = g.dataset(path)
        ds.create_tensor("label", htype="generic", dtype="int64")
        ds.create_tensor("embedding", htype="embedding", dtype="float32")
        step = 100_000
        for s in range(0, len(labels), step):
            ds.extend({"label": labels[s:s + step], "embedding": embs[s:s + step]})
        ds.flush()
        ds.commit("init")
        self.ds = ds

    def reopen(self):
        self.ds = self.gtn.dataset(self.path)

    def close(self):
        if self.ds is not None:
            self.ds.close()
            self.ds = None

    def update(self, idx, labels, embs):
        if len(idx) == 1:
            self.ds["label"][int(idx[0])] = labels[0]
            self.ds["embedding"][int(idx[0])] = embs[0]
        else:
            order = np.argsort(idx)
            ii = [int(i) for i in idx[order]]
            self.ds["label"][ii] = labels[order]
            self.ds["embedding"][ii] = embs[order]

    def commit(self, msg):
        return self.ds.commit(msg)

    def open_ro(self, path):
        return self.gtn.dataset(path, read_only=True)

    def close_ro(self, h):
        h.close()

    def read(self, h, i):
        h = h or self.ds
        lab = h["label"][i]
        emb = h["embedding"][i]
        lab = lab.numpy() if hasattr(lab, "numpy") else lab
        emb = emb.numpy() if hasattr(emb, "numpy") else emb
        return lab, emb

    def branch(self, name):
        self.ds.checkout(name, create=True)

    def checkout(self, name):
        self.ds.checkout(name)

    def tag(self, name):
        self.ds.tag(name)

    def open_tag(self, path, name):
        return self.gtn.dataset(path, read_only=True, version=name)

    def diff(self, a, b):
        d = self.ds.diff(a, b)
        tensors = d["tensors"]
        if isinstance(tensors, dict):
            t = tensors["label"]
        else:
            t = next(x for x in tensors if x["name"] == "label")
        return len(t["updated"])

    def merge(self, name):
        r = self.ds.merge(name, policy="theirs")
        if isinstance(r, dict) and not r.get("commit"):
            raise RuntimeError(f"gtn merge made no commit: {r}")


class DeepLake4:
    name = "deeplake4"
    durable = False
    notes = ("no fsync (strace); col[i] = v (Column.__setitem__ takes an int or a slice, "
             "so a batch of random indices is a loop); ds.commit(); branch(name).open()")
    commit_is_separate = True
    has_diff = False
    has_merge = True
    merge_resolves_conflicts = False  # merge() has no conflict policy

    def __init__(self):
        import deeplake
        self.dl = deeplake
        self.version = deeplake.__version__
        self.ds = None
        self.branch_name = "main"

    def url(self, path):
        return "file://" + os.path.abspath(path)

    def create(self, path, labels, embs):
        dl = self.dl
        self.path = path
        ds = dl.create(self.url(path))
        ds.add_column("label", dl.types.Int64())
        ds.add_column("embedding", dl.types.Array(dl.types.Float32(), shape=[EMB_DIM]))
        step = 100_000
        for s in range(0, len(labels), step):
            ds.append({"label": labels[s:s + step], "embedding": embs[s:s + step]})
        ds.commit("init")
        self.ds = ds

    def reopen(self):
        self.ds = self.dl.open(self.url(self.path))
        self.branch_name = "main"

    def close(self):
        self.ds = None

    def update(self, idx, labels, embs):
        lab, emb = self.ds["label"], self.ds["embedding"]
        for k, i in enumerate(idx):
            lab[int(i)] = int(labels[k])
            emb[int(i)] = embs[k]

    def commit(self, msg):
        self.ds.commit(msg)
        return self.ds.version

    def open_ro(self, path):
        return self.dl.open_read_only(self.url(path))

    def close_ro(self, h):
        pass

    def read(self, h, i):
        h = h or self.ds
        return h["label"][i], h["embedding"][i]

    def branch(self, name):
        self.ds.branch(name)
        self.ds = self.ds.branches[name].open()
        self.branch_name = name

    def checkout(self, name):
        self.ds = self.ds.branches[name].open()
        self.branch_name = name

    def tag(self, name):
        self.ds.tag(name)

    def open_tag(self, path, name):
        return self.dl.open_read_only(self.url(path)).tags[name].open()

    def merge(self, name):
        self.ds.merge(name, message="merge " + name)


class DeepLake3:
    name = "deeplake3"
    durable = False
    notes = ("no fsync (strace); tensor[list] = values, ds.commit(); checkout(branch); "
             "merge(conflict_resolution='theirs') (commits itself)")
    commit_is_separate = True
    has_diff = has_merge = merge_resolves_conflicts = True

    def __init__(self):
        import deeplake
        self.dl = deeplake
        self.version = deeplake.__version__
        self.ds = None
        self.tags = {}

    def create(self, path, labels, embs):
        self.path = path
        ds = self.dl.empty(path, overwrite=True, verbose=False)
        ds.create_tensor("label", htype="generic", dtype="int64")
        ds.create_tensor("embedding", htype="embedding", dtype="float32")
        step = 100_000
        with ds:
            for s in range(0, len(labels), step):
                ds.extend({"label": labels[s:s + step], "embedding": embs[s:s + step]})
        ds.commit("init")
        self.ds = ds

    def reopen(self):
        self.ds = self.dl.load(self.path, verbose=False)

    def close(self):
        self.ds = None

    def update(self, idx, labels, embs):
        if len(idx) == 1:
            i = int(idx[0])
            self.ds.label[i] = np.int64(labels[0])
            self.ds.embedding[i] = embs[0]
        else:
            order = np.argsort(idx)
            ii = [int(i) for i in idx[order]]
            with self.ds:
                self.ds.label[ii] = labels[order].reshape(-1, 1)
                self.ds.embedding[ii] = embs[order]

    def commit(self, msg):
        return self.ds.commit(msg)

    def open_ro(self, path):
        return self.dl.load(path, read_only=True, verbose=False)

    def close_ro(self, h):
        pass

    def read(self, h, i):
        h = h or self.ds
        return h.label[i].numpy(), h.embedding[i].numpy()

    def branch(self, name):
        self.ds.checkout(name, create=True)

    def checkout(self, name):
        self.ds.checkout(name)

    def tag(self, name):  # Deep Lake 3 has no tags: a commit id stands in
        self.tags[name] = self.ds.pending_commit_id if self.ds.has_head_changes else self.ds.commit_id

    def open_tag(self, path, name):
        h = self.dl.load(path, read_only=True, verbose=False)
        h.checkout(self.tags[name])
        return h

    def diff(self, a, b):
        d = self.ds.diff(a, b, as_dict=True)
        n = 0
        for side in d["tensor"]:
            for c in side:
                n += len(c.get("label", {}).get("data_updated", ()))
        return n

    def merge(self, name):
        self.ds.merge(name, conflict_resolution="theirs")  # commits the merge itself


class Lance:
    name = "lance"
    durable = False
    notes = ("no fsync (strace); every write is a version: merge_insert('id') is update+commit; "
             "stable row ids, reads by row id (_take_rows: take() offsets move after updates); "
             "branches via create_branch/checkout_version")
    commit_is_separate = False
    has_diff = True  # emulated: dataset.delta() of each branch since the fork
    has_merge = True  # emulated: delta of b -> merge_insert into a (no conflict detection)
    merge_resolves_conflicts = True  # "theirs" by construction

    def __init__(self):
        import lance
        import pyarrow as pa
        self.lance, self.pa = lance, pa
        self.version = lance.__version__
        self.ds = None
        self.fork = {}

    def table(self, idx, labels, embs):
        pa = self.pa
        return pa.table({
            "id": pa.array(np.asarray(idx, dtype=np.int64)),
            "label": pa.array(np.asarray(labels, dtype=np.int64)),
            "embedding": pa.FixedSizeListArray.from_arrays(pa.array(np.ascontiguousarray(embs).reshape(-1)), EMB_DIM),
        })

    def create(self, path, labels, embs):
        self.path = path
        self.ds = self.lance.write_dataset(self.table(np.arange(len(labels)), labels, embs), path,
                                           enable_stable_row_ids=True)

    def reopen(self):
        self.ds = self.lance.dataset(self.path)

    def close(self):
        self.ds = None

    def update(self, idx, labels, embs):
        self.ds.merge_insert("id").when_matched_update_all().execute(self.table(idx, labels, embs))

    def commit(self, msg):
        return self.ds.version

    def open_ro(self, path):
        return self.lance.dataset(path)

    def close_ro(self, h):
        pass

    def read(self, h, i):
        h = h or self.ds
        t = h._take_rows([int(i)], columns=["label", "embedding"])
        return t.column(0)[0].as_py(), np.asarray(t.column(1)[0].values)

    def branch(self, name):
        self.fork[name] = self.ds.version
        self.ds = self.ds.create_branch(name)

    def checkout(self, name):
        self.ds = self.ds.checkout_version((name, None))

    def tag(self, name):
        self.ds.tags.create(name, self.ds.version)

    def open_tag(self, path, name):
        return self.lance.dataset(path, version=name)

    def _changes(self, name):
        d = self.ds.checkout_version((name, None))
        return d.delta(begin_version=self.fork[name], end_version=d.version).get_updated_rows().read_all()

    def diff(self, a, b):
        return self._changes(a).num_rows + self._changes(b).num_rows

    def merge(self, name):
        t = self._changes(name).select(["id", "label", "embedding"])
        self.ds.merge_insert("id").when_matched_update_all().execute(t)


ADAPTERS = {"gtn": GTN, "deeplake4": DeepLake4, "deeplake3": DeepLake3, "lance": Lance}


# ----------------------------------------------------------------------------- worker

class Bench:
    def __init__(self, sysobj, args, workdir):
        self.s = sysobj
        self.a = args
        self.work = workdir
        self.rng = np.random.default_rng(args.seed)
        self.counter = 0
        self.res = {"system": sysobj.name, "version": sysobj.version, "durable": sysobj.durable,
                    "notes": sysobj.notes, "metrics": {}, "info": {}}

    def put(self, key, values, unit, note=""):
        self.res["metrics"][key] = {"unit": unit, "stats": stats(values), "values": values, "note": note}

    def fresh_values(self, k):
        base = 10**9 + self.counter
        self.counter += k
        return np.arange(base, base + k, dtype=np.int64), emb_rows(self.rng, k)

    def check(self, h, idx, labels, embs):
        picks = range(len(idx)) if len(idx) <= 5 else self.rng.choice(len(idx), 5, replace=False)
        for k in picks:
            lab, emb = self.s.read(h, int(idx[k]))
            assert int(np.asarray(lab).reshape(-1)[0]) == int(labels[k]), (self.s.name, idx[k], lab, labels[k])
            assert np.allclose(np.asarray(emb, dtype=np.float32).reshape(-1), embs[k]), (self.s.name, idx[k])

    def update_commit(self, path, k, n):
        """One update of k random samples + commit; returns (update_s, commit_s, durable_s, bytes)."""
        idx = self.rng.choice(n, k, replace=False)
        labels, embs = self.fresh_values(k)
        before = snapshot(path)
        size0 = sum(v[0] for v in before.values())
        t0 = time.perf_counter()
        self.s.update(idx, labels, embs)
        t1 = time.perf_counter()
        self.s.commit(f"update {k}")
        t2 = time.perf_counter()
        written = folder_size(path) - size0
        fs = 0.0 if self.s.durable else fsync_written(path, before)
        self.check(None, idx, labels, embs)
        if not self.s.commit_is_separate:
            return None, None, t2 - t0, t2 - t0 + fs, written
        return t1 - t0, t2 - t1, t2 - t0, t2 - t0 + fs, written

    def commit_series(self, key, path, k, n, repeats):
        rows = [self.update_commit(path, k, n) for _ in range(repeats)]
        self.put(key + ".update_ms", [r[0] * 1e3 if r[0] is not None else None for r in rows], "ms")
        self.put(key + ".commit_ms", [r[1] * 1e3 if r[1] is not None else None for r in rows], "ms")
        self.put(key + ".total_ms", [r[2] * 1e3 for r in rows], "ms")
        self.put(key + ".durable_ms", [r[3] * 1e3 for r in rows], "ms",
                 "as is (fsyncs itself)" if self.s.durable else "+ fsync of the files written")
        self.put(key + ".bytes", [r[4] for r in rows], "B")

    def open_read(self, key, path, n, repeats):
        opens = []
        for _ in range(repeats):
            t = time.perf_counter()
            h = self.s.open_ro(path)
            opens.append((time.perf_counter() - t) * 1e3)
            self.s.close_ro(h)
        h = self.s.open_ro(path)
        warm = self.rng.integers(0, n, min(n, 2000))
        for i in warm:
            self.s.read(h, int(i))
        lat = []
        for _ in range(repeats):
            idx = self.rng.integers(0, n, self.a.reads)
            t = time.perf_counter()
            for i in idx:
                self.s.read(h, int(i))
            lat.append((time.perf_counter() - t) / len(idx) * 1e6)
        self.s.close_ro(h)
        self.put(key + ".open_ms", opens, "ms")
        self.put(key + ".read_us", lat, "us")

    def make(self, name, n):
        path = os.path.join(self.work, name)
        shutil.rmtree(path, ignore_errors=True)
        labels = np.arange(n, dtype=np.int64)
        embs = np.random.default_rng(1).random((n, EMB_DIM), dtype=np.float32)
        t = time.perf_counter()
        self.s.create(path, labels, embs)
        self.res["info"][name + ".ingest_s"] = time.perf_counter() - t
        self.res["info"][name + ".size0"] = folder_size(path)
        return path, labels, embs

    def run(self):
        a, s, R = self.a, self.s, self.a.repeats
        n = a.samples
        depth = a.depth
        if s.name == "deeplake3" and a.deeplake3_depth:
            depth = min(depth, a.deeplake3_depth)
        if s.name == "deeplake4" and a.deeplake4_depth:
            depth = min(depth, a.deeplake4_depth)
        kstore = a.storage_commits
        if s.name == "deeplake3" and a.deeplake3_storage_commits:
            kstore = min(kstore, a.deeplake3_storage_commits)
        self.res["info"].update({"samples": n, "depth": depth, "storage_commits": kstore, "repeats": R})

        # main dataset: depth 1, commits, depth D, tag
        path, labels, embs = self.make("main", n)
        s.tag("v1")
        s.close()
        self.open_read("depth1", path, n, R)
        s.reopen()
        self.commit_series("commit1", path, 1, n, R)
        self.commit_series("commit1000", path, 1000, n, R)
        more = max(depth - 2 * R, 0)
        per = []
        for _ in range(more):
            per.append(self.update_commit(path, 1, n)[2] * 1e3)
        self.res["info"]["depth_reached"] = 1 + 2 * R + more
        if per:
            q = max(1, len(per) // 10)
            self.put("depth.first_commits_ms", per[:q], "ms", "total update+commit, first 10% of the depth run")
            self.put("depth.last_commits_ms", per[-q:], "ms", "total update+commit, last 10% of the depth run")
        s.close()
        self.open_read("depthD", path, n, R)

        # a past version (tag made right after ingest)
        t_tag = []
        for _ in range(R):
            t = time.perf_counter()
            h = s.open_tag(path, "v1")
            t_tag.append((time.perf_counter() - t) * 1e3)
            for i in self.rng.integers(0, n, 3):
                lab, _ = s.read(h, int(i))
                assert int(np.asarray(lab).reshape(-1)[0]) == int(i), (s.name, "tag", i, lab)
            s.close_ro(h)
        self.put("open_tag_ms", t_tag, "ms")

        # branches, checkout, diff, merge
        s.reopen()
        k = max(1, n // 100)
        t_co, t_diff, t_merge, found = [], [], [], []
        for r in range(R):
            s.checkout("main") if r else None
            perm = self.rng.permutation(n)
            A, B = perm[:k], perm[k:2 * k]
            O = perm[2 * k:2 * k + OVERLAP] if s.merge_resolves_conflicts else perm[:0]
            la, ea = self.fresh_values(k + len(O))
            lb, eb = self.fresh_values(k + len(O))
            ia, ib = np.concatenate([A, O]), np.concatenate([B, O])
            an, bn = f"a{r}", f"b{r}"
            s.branch(an)
            s.update(ia, la, ea)
            s.commit("a")
            s.checkout("main")
            s.branch(bn)
            s.update(ib, lb, eb)
            s.commit("b")
            for _ in range(2):
                t = time.perf_counter()
                s.checkout(an)
                t_co.append((time.perf_counter() - t) * 1e3)
                t = time.perf_counter()
                s.checkout(bn)
                t_co.append((time.perf_counter() - t) * 1e3)
            self.check(None, ib, lb, eb)
            if s.has_diff:
                t = time.perf_counter()
                cnt = s.diff(an, bn)
                t_diff.append((time.perf_counter() - t) * 1e3)
                found.append(cnt)
                ok = {2 * k + len(O), 2 * k + 2 * len(O)}
                assert cnt in ok, (s.name, "diff found", cnt, "expected one of", ok)
            if s.has_merge:
                s.checkout(an)
                t = time.perf_counter()
                s.merge(bn)
                t_merge.append((time.perf_counter() - t) * 1e3)
                self.check(None, A, la[:k], ea[:k])
                self.check(None, ib, lb, eb)  # b's values, overlap included (theirs)
        self.put("checkout_ms", t_co, "ms", "switch between two branches")
        self.put("diff_ms", t_diff if s.has_diff else [], "ms")
        self.put("merge_ms", t_merge if s.has_merge else [], "ms")
        self.res["info"]["diff_found"] = found
        self.res["info"]["diff_expected"] = f"{k} + {k} (+{OVERLAP} overlap)" if s.merge_resolves_conflicts else f"{k} + {k}"
        s.close()
        if not a.keep:
            shutil.rmtree(path, ignore_errors=True)

        # commit cost vs dataset size
        ns = max(1000, n // 10)
        path, _, _ = self.make("small", ns)
        self.commit_series("commit1_small", path, 1, ns, R)
        s.close()
        shutil.rmtree(path, ignore_errors=True)

        # storage after K commits of 1% updates
        path, _, _ = self.make("storage", n)
        size0 = folder_size(path)
        per = []
        for _ in range(kstore):
            per.append(self.update_commit(path, k, n)[2] * 1e3)
        s.close()
        self.res["info"]["storage.size0"] = size0
        self.res["info"]["storage.size1"] = folder_size(path)
        self.put("storage.ratio", [folder_size(path) / size0], "x")
        self.put("storage.commit_ms", per, "ms", "update of 1% + commit")
        shutil.rmtree(path, ignore_errors=True)
        return self.res


def worker(args):
    res = {"system": args.worker}
    try:
        sysobj = ADAPTERS[args.worker]()
        workdir = os.path.join(args.workdir, args.worker)
        shutil.rmtree(workdir, ignore_errors=True)
        os.makedirs(workdir)
        res = Bench(sysobj, args, workdir).run()
        shutil.rmtree(workdir, ignore_errors=True)
    except Exception as e:  # reported as n/a by the parent
        res["error"] = f"{type(e).__name__}: {e}"
        res["traceback"] = traceback.format_exc()
    with open(args.json_out, "w") as f:
        json.dump(res, f, default=lambda o: o.item() if hasattr(o, "item") else str(o))


# ----------------------------------------------------------------------------- report

ROWS = [
    ("commit after updating 1 sample", [("commit1.total_ms", "update+commit ms"), ("commit1.update_ms", "update ms"),
                                        ("commit1.commit_ms", "commit ms"), ("commit1.durable_ms", "durable ms"),
                                        ("commit1.bytes", "bytes written")]),
    ("commit after updating 1,000 samples (one batch)", [("commit1000.total_ms", "update+commit ms"),
                                                         ("commit1000.update_ms", "update ms"),
                                                         ("commit1000.commit_ms", "commit ms"),
                                                         ("commit1000.durable_ms", "durable ms"),
                                                         ("commit1000.bytes", "bytes written")]),
    ("commit after updating 1 sample on N/10 samples (vs N above: does it grow?)",
     [("commit1_small.total_ms", "update+commit ms"), ("commit1_small.durable_ms", "durable ms"),
      ("commit1_small.bytes", "bytes written")]),
    ("read latency vs history depth", [("depth1.open_ms", "open ms, depth 1"), ("depthD.open_ms", "open ms, depth D"),
                                       ("depth1.read_us", "read µs, depth 1"), ("depthD.read_us", "read µs, depth D"),
                                       ("depth.first_commits_ms", "commit ms, early"),
                                       ("depth.last_commits_ms", "commit ms, late")]),
    ("checkout", [("checkout_ms", "branch switch ms"), ("open_tag_ms", "open tag / past version ms")]),
    ("diff and merge of two branches each changing 1%", [("diff_ms", "diff ms"), ("merge_ms", "merge ms")]),
    ("storage after K commits of 1% updates", [("storage.ratio", "size / initial"),
                                               ("storage.commit_ms", "1% update+commit ms")]),
]


def fmt(x):
    if x is None:
        return "-"
    ax = abs(x)
    if ax >= 1e6:
        return f"{x / 1e6:.2f}M"
    if ax >= 1e4:
        return f"{x / 1e3:.1f}k"
    if ax >= 100:
        return f"{x:.0f}"
    if ax >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


def report(results, args):
    lines = [f"# GTN version control benchmark", "",
             f"samples={args.samples}, depth={args.depth}, repeats={args.repeats}, reads={args.reads}, "
             f"storage commits={args.storage_commits}; label int64 + embedding float32[{EMB_DIM}] "
             f"= {8 + 4 * EMB_DIM} B/sample; {platform.platform()}, {os.cpu_count()} CPUs", ""]
    for r in results:
        if "error" in r:
            lines.append(f"- {r['system']}: n/a ({r['error']})")
        else:
            i = r["info"]
            lines.append(f"- {r['system']} {r['version']}: durable={r['durable']}; {r['notes']}; "
                         f"depth reached {i.get('depth_reached')}, storage commits {i.get('storage_commits')}, "
                         f"ingest {fmt(i.get('main.ingest_s'))} s, size {fmt(i.get('main.size0'))} B")
    lines.append("")
    gtn = next((r for r in results if r["system"] == "gtn" and "error" not in r), None)
    for title, keys in ROWS:
        lines += [f"## {title}", "", "| metric | system | version | median | min–max | ratio vs GTN | notes |",
                  "|---|---|---|---|---|---|---|"]
        for key, label in keys:
            for r in results:
                if "error" in r:
                    lines.append(f"| {label} | {r['system']} | - | n/a | | | {r['error'][:80]} |")
                    continue
                m = r["metrics"].get(key)
                st = m and m["stats"]
                if not st:
                    why = "not supported" if key in ("diff_ms", "merge_ms") else "n/a (not separable)"
                    if r["system"] == "deeplake4" and key == "diff_ms":
                        why = "n/a (Deep Lake 4 has no diff)"
                    lines.append(f"| {label} | {r['system']} | {r['version']} | {why} | | | |")
                    continue
                ratio = ""
                g = gtn and gtn["metrics"].get(key)
                if g and g["stats"] and g["stats"]["median"]:
                    ratio = f"{st['median'] / g['stats']['median']:.2f}x"
                note = m.get("note", "")
                if key.startswith("depth") and r["system"] != "gtn":
                    note = (note + f" depth {r['info'].get('depth_reached')}").strip()
                if key == "diff_ms" and r["system"] == "lance":
                    note = "emulated: delta() of each branch since the fork"
                if key == "merge_ms" and r["system"] == "lance":
                    note = "emulated: delta of b, merge_insert into a; no conflict detection"
                if key == "merge_ms" and r["system"] == "deeplake4":
                    note = "no conflict policy: disjoint changes only"
                if key.startswith("storage") and r["system"] == "deeplake3":
                    note = (note + f" K={r['info'].get('storage_commits')}").strip()
                lines.append(f"| {label} | {r['system']} | {r['version']} | {fmt(st['median'])} | "
                             f"{fmt(st['min'])}–{fmt(st['max'])} | {ratio} | {note} |")
        if title.startswith("read latency"):
            lines += ["", "Ratio depth-D / depth-1 (read µs, open ms):", ""]
            for r in results:
                if "error" in r:
                    continue
                mm = r["metrics"]
                try:
                    rr = mm["depthD.read_us"]["stats"]["median"] / mm["depth1.read_us"]["stats"]["median"]
                    ro = mm["depthD.open_ms"]["stats"]["median"] / mm["depth1.open_ms"]["stats"]["median"]
                    lines.append(f"- {r['system']}: read {rr:.2f}x, open {ro:.2f}x at depth {r['info'].get('depth_reached')}")
                except (KeyError, TypeError, ZeroDivisionError):
                    pass
        lines.append("")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--samples", type=int, default=1_000_000)
    p.add_argument("--depth", type=int, default=1000, help="commits on top of the first (GTN, Lance, Deep Lake 4)")
    p.add_argument("--deeplake3-depth", type=int, default=100,
                   help="cap of the depth for Deep Lake 3 (each of its commits copies whole chunks)")
    p.add_argument("--deeplake4-depth", type=int, default=0, help="cap of the depth for Deep Lake 4 (0: none)")
    p.add_argument("--storage-commits", type=int, default=100)
    p.add_argument("--deeplake3-storage-commits", type=int, default=20,
                   help="cap for Deep Lake 3 (each 1%% commit copies the whole dataset)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--reads", type=int, default=2000, help="random single-sample reads per repeat")
    p.add_argument("--quick", action="store_true", help="20,000 samples, depth 20, 10 storage commits")
    p.add_argument("--systems", default=",".join(SYSTEMS))
    p.add_argument("--deeplake3-python", default=os.path.join(OUT, "venv-dl3", "bin", "python"))
    p.add_argument("--workdir", default=os.path.join(OUT, "version-bench-data"))
    p.add_argument("--json", default=os.path.join(OUT, "version_bench.json"))
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--keep", action="store_true")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--json-out", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.quick:
        args.samples, args.depth, args.storage_commits = 20_000, 20, 10
        args.deeplake3_depth = min(args.deeplake3_depth, 20)
        args.deeplake3_storage_commits = min(args.deeplake3_storage_commits, 10)
    if args.worker:
        return worker(args)

    os.makedirs(OUT, exist_ok=True)
    passthrough = [a for a in sys.argv[1:]]
    results = []
    for name in [x.strip() for x in args.systems.split(",") if x.strip()]:
        if name not in ADAPTERS:
            sys.exit(f"unknown system {name}; choose from {', '.join(SYSTEMS)}")
        py = sys.executable
        if name == "deeplake3":
            py = args.deeplake3_python
            if not os.path.exists(py):
                results.append({"system": name, "error": f"no Deep Lake 3 interpreter at {py} (see the docstring)"})
                continue
        fd, jpath = tempfile.mkstemp(suffix=".json", dir=OUT)
        os.close(fd)
        t = time.perf_counter()
        print(f"[{name}] running ...", file=sys.stderr, flush=True)
        env = dict(os.environ, DEEPLAKE_DISABLE_VERSION_CHECK="1", BUGGER_OFF="true", PYTHONWARNINGS="ignore")
        proc = subprocess.run([py, os.path.abspath(__file__), *passthrough, "--worker", name, "--json-out", jpath],
                              env=env, capture_output=True, text=True)
        try:
            with open(jpath) as f:
                r = json.load(f)
        except (OSError, ValueError):
            tail = " ".join(w for w in proc.stderr.split() if w not in "-\\|/")[-300:]
            r = {"system": name, "error": f"worker exited {proc.returncode}: {tail}"}
        os.unlink(jpath)
        r["wall_s"] = time.perf_counter() - t
        print(f"[{name}] done in {r['wall_s']:.0f} s" + (f": {r['error']}" if "error" in r else ""),
              file=sys.stderr, flush=True)
        if "traceback" in r:
            print(r["traceback"], file=sys.stderr)
        results.append(r)
    text = report(results, args)
    print(text)
    with open(args.json, "w") as f:
        json.dump({"args": vars(args), "results": results}, f, indent=1, default=str)
    with open(os.path.splitext(args.json)[0] + ".md", "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
