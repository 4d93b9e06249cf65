#!/usr/bin/env python
"""Tensor queries of GTN against numpy/pandas, DuckDB, Lance and Deep Lake 4 (not a test).

Dataset: --rows N (default 1,000,000) rows of
  labels   class label, int64 codes of 10 classes (cat, dog, ...), ~10 % each
  score    float32 scalar, uniform in [0, 1)
  emb      float32[128] embedding: a per-class centre plus N(0, 1) noise
  caption  text of 3-6 words from a 48-word vocabulary ("grass" in ~8 % of rows)
The same rows go to a GTN dataset, a Parquet file (pyarrow, row groups of 122,880 rows:
DuckDB's own row-group size, so its threads have row groups to share), a Lance dataset and a
Deep Lake 4 dataset (labels as Int64 codes, emb as Array(Float32, [128]), no indexes; it gets
an extra int64 "id" column because its query returns no row positions). Peers compare
labels with the integer code (their fastest form); GTN with the class name.

Queries (every system answers with row positions, or the top-k / counts):
  range      score BETWEEN 0.5 AND 0.515625          (bounds exact in float32)
  label      labels == 'cat'
  text       contains(caption, 'grass')
  compound   labels == 'cat' AND score > 0.5 AND contains(caption, 'grass')
  order      ORDER BY score DESC LIMIT 100
  cosine     ORDER BY cosine_similarity(emb, ARRAY[q]) DESC LIMIT 10   (exact, no index)
  group      SELECT labels, count(*) GROUP BY labels
  model      WHERE predict_proba(model('q.gtnm', emb), 1) > 0.5 (a LogisticRegression
             "is it a cat" on emb, compiled by gtn.ml; peers have no model functions, so
             they read emb and call scikit-learn: stated as such)
GTN only: chunk skipping (a score tensor with 256 KiB chunks, sorted vs shuffled: time and
bytes read for a 0.5 % range) and materialized views (view.materialize(path), then a full
read of every tensor, against a dataset freshly written with the same rows).

Every system runs in its own process, 2 threads each (GTN n_threads=2, DuckDB SET threads=2,
LANCE_CPU_THREADS=2, BLAS via threadpoolctl; the machine has 2 cores, so nobody gets more).
Each query runs once to warm the page cache, then --repeats times; reported: median, min-max.
Open/set-up time is measured apart. Every answer is checked against numpy's (same row set,
same top-k, same counts); a mismatch is marked in the table.

    GTN_CORE_DIR=build/<dir>/python PYTHONPATH=python .venv/bin/python bench/query_bench.py
    ... bench/query_bench.py --rows 100000 --repeats 3 --systems gtn,numpy
Data is cached under bench/out/query_data_<rows>/ (--rebuild to rewrite it); results go to
bench/out/query_bench.json.
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
import time
import traceback
import warnings

THREADS = 2
for _k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "LANCE_CPU_THREADS",
           "RAYON_NUM_THREADS", "POLARS_MAX_THREADS"):
    os.environ.setdefault(_k, str(THREADS))

import numpy as np  # noqa: E402

warnings.filterwarnings("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "out")
DIM = 128
CLASSES = ["cat", "dog", "bird", "fish", "horse", "sheep", "cow", "frog", "deer", "truck"]
WORDS = ("a the on in with near under over small big red blue green white black brown dog cat bird "
         "fish horse sheep cow frog deer truck car tree field road sky water grass beach snow park "
         "city house table chair ball person child sitting running standing looking").split()
WORD = "grass"
LO, HI = 0.5, 0.515625          # exact float32 values
SKIP_LO, SKIP_HI = 0.5, 0.505   # the chunk-skipping range (0.5 %)
ORDER_K, COS_K = 100, 10
SKIP_CHUNK = 256 * 1024
SYSTEMS = ("numpy", "gtn", "duckdb", "lance", "deeplake")
QUERIES = ("range", "label", "text", "compound", "order", "cosine", "group", "model")


# ----------------------------------------------------------------------------- data

def make_data(rows, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(CLASSES), rows).astype(np.int64)
    score = rng.random(rows, dtype=np.float32)
    centres = rng.standard_normal((len(CLASSES), DIM), dtype=np.float32) * 0.35
    emb = rng.standard_normal((rows, DIM), dtype=np.float32)
    emb += centres[labels]
    nwords = rng.integers(3, 7, rows)
    words = rng.integers(0, len(WORDS), (rows, 6))
    vocab = np.array(WORDS, dtype=object)
    parts = vocab[words]
    captions = [" ".join(parts[i, :nwords[i]]) for i in range(rows)]
    query = rng.standard_normal(DIM).astype(np.float32)
    return {"labels": labels, "score": score, "emb": emb, "caption": captions, "query": query}


def data_dir(rows):
    return os.path.join(OUT, f"query_data_{rows}")


def train_model(d, path):
    """LogisticRegression 'is it a cat' on 20k rows of emb; saved as a GTN-ML model."""
    import gtn.ml
    from sklearn.linear_model import LogisticRegression
    n = min(20000, len(d["labels"]))
    clf = LogisticRegression(max_iter=500).fit(d["emb"][:n], (d["labels"][:n] == 0).astype(int))
    gtn.ml.convert(clf, dtype="float32").save(path)
    import pickle
    with open(path + ".sklearn.pkl", "wb") as f:
        pickle.dump(clf, f)
    return clf


def build(rows, rebuild, systems):
    """Writes the dataset for every system (cached); returns set-up seconds per system."""
    ddir = data_dir(rows)
    stamp = os.path.join(ddir, "done.json")
    done = {}
    if os.path.exists(stamp) and not rebuild:
        with open(stamp) as f:
            done = json.load(f)
    if rebuild and os.path.isdir(ddir):
        shutil.rmtree(ddir)
    os.makedirs(ddir, exist_ok=True)
    need = [s for s in systems if s != "numpy" and s not in done]
    if "gtn" in systems and "model" not in done:
        need.append("model")
    if "gtn" in systems and "skip" not in done:
        need.append("skip")
    if not need:
        return done
    d = make_data(rows)
    for s in need:
        t = time.perf_counter()
        print(f"  writing {s} ...", flush=True)
        globals()["build_" + s](d, ddir)
        done[s] = time.perf_counter() - t
        with open(stamp, "w") as f:
            json.dump(done, f)
    return done


def build_model(d, ddir):
    train_model(d, os.path.join(ddir, "q.gtnm"))


def build_gtn(d, ddir):
    import gtn
    path = os.path.join(ddir, "gtn")
    shutil.rmtree(path, ignore_errors=True)
    ds = gtn.dataset(path)
    ds.create_tensor("labels", htype="class_label", class_names=CLASSES)
    ds.create_tensor("score", dtype="float32")
    ds.create_tensor("emb", htype="embedding", dtype="float32")
    ds.create_tensor("caption", htype="text")
    step = 100_000
    for s in range(0, len(d["labels"]), step):
        ds.extend({"labels": d["labels"][s:s + step], "score": d["score"][s:s + step],
                   "emb": d["emb"][s:s + step], "caption": d["caption"][s:s + step]})
    ds.commit("data")
    ds.close()


def build_skip(d, ddir):
    """Two one-tensor datasets with 256 KiB chunks: score sorted, and the same values shuffled."""
    import gtn
    for name, values in (("sorted", np.sort(d["score"])), ("shuffled", d["score"])):
        path = os.path.join(ddir, f"skip_{name}")
        shutil.rmtree(path, ignore_errors=True)
        ds = gtn.dataset(path)
        ds.create_tensor("score", dtype="float32", chunk_size=SKIP_CHUNK)
        ds.extend({"score": values})
        ds.commit("data")
        ds.close()


def arrow_table(d, with_id=False):
    import pyarrow as pa
    cols = {"labels": d["labels"], "score": d["score"],
            "emb": pa.FixedSizeListArray.from_arrays(pa.array(d["emb"].ravel()), DIM),
            "caption": pa.array(d["caption"], type=pa.string())}
    if with_id:
        cols = {"id": np.arange(len(d["labels"]), dtype=np.int64), **cols}
    return pa.table(cols)


def build_duckdb(d, ddir):
    import pyarrow.parquet as pq
    pq.write_table(arrow_table(d), os.path.join(ddir, "data.parquet"), row_group_size=122_880)


def build_lance(d, ddir):
    import lance
    path = os.path.join(ddir, "lance")
    shutil.rmtree(path, ignore_errors=True)
    lance.write_dataset(arrow_table(d), path)


def build_deeplake(d, ddir):
    import deeplake
    path = os.path.join(ddir, "deeplake")
    shutil.rmtree(path, ignore_errors=True)
    ds = deeplake.create("file://" + path)
    ds.add_column("id", deeplake.types.Int64())
    ds.add_column("labels", deeplake.types.Int64())
    ds.add_column("score", deeplake.types.Float32())
    ds.add_column("emb", deeplake.types.Array(deeplake.types.Float32(), shape=[DIM]))
    ds.add_column("caption", deeplake.types.Text())
    step = 100_000
    n = len(d["labels"])
    for s in range(0, n, step):
        e = min(n, s + step)
        ds.append({"id": np.arange(s, e, dtype=np.int64), "labels": d["labels"][s:e], "score": d["score"][s:e],
                   "emb": d["emb"][s:e], "caption": d["caption"][s:e]})
    ds.commit("data")


# ----------------------------------------------------------------------------- reference

def reference(d, ddir):
    """numpy's answers (float64, in blocks): the truth every system is checked against.
    Cached in the data folder."""
    path = os.path.join(ddir, "reference.npz")
    if os.path.exists(path):
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    import pickle
    lab, sc, cap, emb = d["labels"], d["score"], d["caption"], d["emb"]
    has_word = np.fromiter((WORD in c for c in cap), bool, len(cap))
    with open(os.path.join(ddir, "q.gtnm.sklearn.pkl"), "rb") as f:
        clf = pickle.load(f)
    q = d["query"].astype(np.float64)
    cos = np.empty(len(lab))
    proba = np.empty(len(lab))
    for s in range(0, len(lab), 65536):
        e = emb[s:s + 65536].astype(np.float64)
        cos[s:s + 65536] = (e @ q) / (np.linalg.norm(e, axis=1) * np.linalg.norm(q))
        proba[s:s + 65536] = clf.predict_proba(e)[:, 1]
    order = np.lexsort((np.arange(len(sc)), -sc.astype(np.float64)))
    ref = {
        "range": np.flatnonzero((sc >= LO) & (sc <= HI)),
        "label": np.flatnonzero(lab == 0),
        "text": np.flatnonzero(has_word),
        "compound": np.flatnonzero((lab == 0) & (sc > 0.5) & has_word),
        "order": order[:ORDER_K], "order_scores": sc[order[:ORDER_K]],
        "cosine": np.argsort(-cos, kind="stable")[:COS_K], "cosine_values": cos,
        "group": np.bincount(lab, minlength=len(CLASSES)),
        "model": np.flatnonzero(proba > 0.5), "model_proba": proba,
    }
    np.savez(path, **ref)
    return ref


def check(name, got, ref, d):
    """'ok' or a description of how `got` differs from numpy's answer."""
    try:
        if name == "group":
            got = np.asarray(got, dtype=np.int64)
            return "ok" if np.array_equal(got, ref["group"]) else f"MISMATCH counts {got.tolist()}"
        got = np.sort(np.asarray(got, dtype=np.int64).ravel())
        if name == "order":
            # ties in float32 scores may pick different rows: compare the scores
            a = np.sort(d["score"][got])
            b = np.sort(ref["order_scores"])
            return "ok" if len(got) == ORDER_K and np.array_equal(a, b) else "MISMATCH top-100 scores differ"
        if name == "cosine":
            want = np.sort(ref["cosine"])
            if np.array_equal(got, want):
                return "ok"
            cos = ref["cosine_values"]
            kth = np.sort(cos)[-COS_K]
            if len(got) == COS_K and np.all(np.abs(cos[got] - kth) < 1e-6) or (
                    len(got) == COS_K and np.min(cos[got]) >= kth - 1e-6):
                return "ok (ties within 1e-6)"
            return f"MISMATCH top-10 {got.tolist()} vs {want.tolist()}"
        want = ref[name]
        if np.array_equal(got, want):
            return "ok"
        diff = np.setxor1d(got, want)
        if name == "model" and np.all(np.abs(ref["model_proba"][diff] - 0.5) < 1e-5):
            return f"ok ({len(diff)} rows within 1e-5 of 0.5 differ: float32 vs float64)"
        return f"MISMATCH {len(got)} rows vs {len(want)} ({len(diff)} differ, e.g. {diff[:5].tolist()})"
    except Exception as e:  # noqa: BLE001
        return f"MISMATCH ({type(e).__name__}: {e})"


# ----------------------------------------------------------------------------- systems
# Each runner: open(ddir) -> handle; queries: name -> fn(handle) returning row positions
# (or counts for group). Set-up (loading arrays, connecting) is timed by open().

class _LazyClf:
    """The scikit-learn model, loaded at its first use (not part of open())."""

    def __get__(self, obj, cls=None):
        if obj is None:
            return self
        obj.__dict__["clf"] = load_sklearn(obj.ddir)
        return obj.__dict__["clf"]


def load_sklearn(ddir):
    import pickle
    from threadpoolctl import threadpool_limits
    threadpool_limits(THREADS)
    with open(os.path.join(ddir, "q.gtnm.sklearn.pkl"), "rb") as f:
        return pickle.load(f)


def sql_vec(q):
    return "ARRAY[" + ",".join(repr(float(x)) for x in q) + "]"


class NumpyRunner:
    modules = ("pandas", "pyarrow", "threadpoolctl")
    name = "numpy"
    notes = ("in-memory arrays; text: numpy.strings.find on a StringDType array; cosine: "
             "float32 matmul (BLAS) with per-query row norms, argpartition")

    def open(self, ddir, d):
        from threadpoolctl import threadpool_limits
        self._limits = threadpool_limits(THREADS)
        self.d = dict(d)
        self.cap = np.array(d["caption"], dtype=np.dtypes.StringDType())
        import pickle
        with open(os.path.join(ddir, "q.gtnm.sklearn.pkl"), "rb") as f:
            self.clf = pickle.load(f)
        import pandas as pd
        self.s = pd.Series(d["caption"], dtype="string[pyarrow]")
        return self

    def versions(self):
        import pandas as pd
        import sklearn
        from threadpoolctl import threadpool_info
        blas = ", ".join(f"{i.get('internal_api')} {i.get('version')}" for i in threadpool_info()
                         if i.get("user_api") == "blas")
        return {"numpy": np.__version__, "pandas": pd.__version__, "scikit-learn": sklearn.__version__, "blas": blas}

    def queries(self):
        d = self.d
        lab, sc, emb, q = d["labels"], d["score"], d["emb"], d["query"]

        def cosine(_):
            s = emb @ q
            s /= np.sqrt(np.einsum("ij,ij->i", emb, emb)) * np.float32(np.linalg.norm(q))
            top = np.argpartition(-s, COS_K)[:COS_K]
            return top[np.argsort(-s[top])]

        def order(_):
            top = np.argpartition(-sc, ORDER_K)[:ORDER_K]
            return top[np.argsort(-sc[top])]

        return {
            "range": lambda _: np.flatnonzero((sc >= LO) & (sc <= HI)),
            "label": lambda _: np.flatnonzero(lab == 0),
            "text": lambda _: np.flatnonzero(np.strings.find(self.cap, WORD) >= 0),
            "text_pandas": lambda _: np.flatnonzero(self.s.str.contains(WORD, regex=False).to_numpy()),
            "compound": lambda _: np.flatnonzero((lab == 0) & (sc > 0.5) & (np.strings.find(self.cap, WORD) >= 0)),
            "order": order,
            "cosine": cosine,
            "group": lambda _: np.bincount(lab, minlength=len(CLASSES)),
            "group_pandas": lambda _: __import__("pandas").Series(lab).value_counts().sort_index().to_numpy(),
            "model": lambda _: np.flatnonzero(self.clf.predict_proba(emb)[:, 1] > 0.5),
        }


class GtnRunner:
    modules = ("gtn",)
    name = "gtn"
    notes = "ds.query(text, n_threads=2) -> gtn.View; answers are view.indices / view.columns"

    def open(self, ddir, d):
        import gtn
        self.gtn = gtn
        self.ddir = ddir
        self.ds = gtn.dataset(os.path.join(ddir, "gtn"), read_only=True)
        return self

    def versions(self):
        try:
            commit = subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"], capture_output=True,
                                    text=True).stdout.strip()
        except OSError:
            commit = "?"
        return {"gtn": f"{getattr(self.gtn, '__version__', 'dev')} (commit {commit})"}

    def run(self, text):
        return self.ds.query(text, n_threads=THREADS, model_dir=self.ddir)

    def queries(self):
        q = sql_vec(make_query_vector(self))
        return {
            "range": lambda _: self.run(f"SELECT * WHERE score BETWEEN {LO} AND {HI}").indices,
            "label": lambda _: self.run("SELECT * WHERE labels == 'cat'").indices,
            "text": lambda _: self.run(f"SELECT * WHERE contains(caption, '{WORD}')").indices,
            "compound": lambda _: self.run(
                f"SELECT * WHERE labels == 'cat' AND score > 0.5 AND contains(caption, '{WORD}')").indices,
            "order": lambda _: self.run(f"SELECT * ORDER BY score DESC LIMIT {ORDER_K}").indices,
            "cosine": lambda _: self.run(f"SELECT * ORDER BY cosine_similarity(emb, {q}) DESC LIMIT {COS_K}").indices,
            "group": lambda _: group_counts(self.run("SELECT labels, count(*) GROUP BY labels")),
            "model": lambda _: self.run("SELECT * WHERE predict_proba(model('q.gtnm', emb), 1) > 0.5").indices,
        }


def group_counts(view):
    out = np.zeros(len(CLASSES), np.int64)
    for (key, _), c in zip(view.groups, view.columns["count(*)"]):
        out[CLASSES.index(key)] = int(c)
    return out


def make_query_vector(runner):
    return runner.query_vector


class DuckdbRunner:
    modules = ("duckdb",)
    clf = _LazyClf()
    name = "duckdb"
    notes = ("read_parquet(file_row_number=true) view, SET threads=2; cosine: "
             "array_cosine_similarity(emb::FLOAT[128], ?::FLOAT[128]); model: SELECT emb + scikit-learn")

    def open(self, ddir, d):
        import duckdb
        self.duckdb = duckdb
        self.con = duckdb.connect()
        self.con.execute(f"SET threads={THREADS}")
        path = os.path.join(ddir, "data.parquet")
        self.con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{path}', file_row_number=true)")
        self.ddir = ddir
        return self

    def versions(self):
        return {"duckdb": self.duckdb.__version__}

    def ids(self, where):
        return self.con.execute(f"SELECT file_row_number FROM t WHERE {where}").fetchnumpy()["file_row_number"]

    def queries(self):
        qv = [float(x) for x in self.query_vector]

        def model(_):
            tb = self.con.execute("SELECT emb FROM t ORDER BY file_row_number").to_arrow_table()
            emb = fsl_numpy(tb.column("emb"))
            return np.flatnonzero(self.clf.predict_proba(emb)[:, 1] > 0.5)

        def group(_):
            r = self.con.execute("SELECT labels, count(*) AS c FROM t GROUP BY labels").fetchnumpy()
            out = np.zeros(len(CLASSES), np.int64)
            out[r["labels"]] = r["c"]
            return out

        return {
            "range": lambda _: self.ids(f"score BETWEEN {LO} AND {HI}"),
            "label": lambda _: self.ids("labels = 0"),
            "text": lambda _: self.ids(f"contains(caption, '{WORD}')"),
            "compound": lambda _: self.ids(f"labels = 0 AND score > 0.5 AND contains(caption, '{WORD}')"),
            "order": lambda _: self.con.execute(
                f"SELECT file_row_number FROM t ORDER BY score DESC LIMIT {ORDER_K}").fetchnumpy()["file_row_number"],
            "cosine": lambda _: self.con.execute(
                f"SELECT file_row_number FROM t ORDER BY array_cosine_similarity(emb::FLOAT[{DIM}], "
                f"$q::FLOAT[{DIM}]) DESC LIMIT {COS_K}", {"q": qv}).fetchnumpy()["file_row_number"],
            "group": group,
            "model": model,
        }


def fsl_numpy(col):
    """A pyarrow (fixed-size) list column of float32[DIM] as an (n, DIM) array."""
    import pyarrow as pa
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    return col.flatten().to_numpy(zero_copy_only=False).reshape(-1, DIM)


class LanceRunner:
    modules = ("lance", "lance.dataset")
    clf = _LazyClf()
    name = "lance"
    notes = ("to_table(columns=[], filter=..., with_row_address=True); order: order_by + limit; "
             "cosine: nearest={metric: cosine, use_index: False} (exact flat search, no index); "
             "group: ds.sql(...GROUP BY...); model: to_table(columns=['emb']) + scikit-learn")

    def open(self, ddir, d):
        import lance
        self.lance = lance
        self.ds = lance.dataset(os.path.join(ddir, "lance"))
        self.ddir = ddir
        return self

    def versions(self):
        return {"pylance": self.lance.__version__}

    def ids(self, where):
        t = self.ds.to_table(columns=[], filter=where, with_row_address=True)
        return t.column("_rowaddr").to_numpy()

    def queries(self):
        from lance.dataset import ColumnOrdering

        def order(_):
            t = self.ds.to_table(columns=["score"], order_by=[ColumnOrdering("score", ascending=False)],
                                 limit=ORDER_K, with_row_address=True)
            return t.column("_rowaddr").to_numpy()

        def cosine(_):
            t = self.ds.to_table(columns=[], nearest={"column": "emb", "q": self.query_vector, "k": COS_K,
                                                      "metric": "cosine", "use_index": False},
                                 with_row_address=True, disable_scoring_autoprojection=True)
            return t.column("_rowaddr").to_numpy()

        def group(_):
            batches = self.ds.sql("SELECT labels, count(*) AS c FROM dataset GROUP BY labels").build().to_batch_records()
            out = np.zeros(len(CLASSES), np.int64)
            for b in batches:
                out[b.column("labels").to_numpy()] = b.column("c").to_numpy()
            return out

        def model(_):
            emb = fsl_numpy(self.ds.to_table(columns=["emb"]).column("emb"))
            return np.flatnonzero(self.clf.predict_proba(emb)[:, 1] > 0.5)

        return {
            "range": lambda _: self.ids(f"score BETWEEN {LO} AND {HI}"),
            "label": lambda _: self.ids("labels = 0"),
            "text": lambda _: self.ids(f"contains(caption, '{WORD}')"),
            "compound": lambda _: self.ids(f"labels = 0 AND score > 0.5 AND contains(caption, '{WORD}')"),
            "order": order,
            "cosine": cosine,
            "group": group,
            "model": model,
        }


class DeeplakeRunner:
    modules = ("deeplake",)
    clf = _LazyClf()
    name = "deeplake"
    notes = ("ds.query(TQL) on open_read_only; answers: the view's id column; group: "
             "SELECT labels GROUP BY labels (TQL has no count(*)), counts = group lengths; "
             "model: ds['emb'][:] + scikit-learn")

    def open(self, ddir, d):
        import deeplake
        self.deeplake = deeplake
        self.ds = deeplake.open_read_only("file://" + os.path.join(ddir, "deeplake"))
        self.ddir = ddir
        return self

    def versions(self):
        return {"deeplake": self.deeplake.__version__}

    def ids(self, tql):
        v = self.ds.query(tql)
        return np.asarray(v["id"][:], dtype=np.int64) if len(v) else np.zeros(0, np.int64)

    def queries(self):
        q = sql_vec(self.query_vector)

        def group(_):
            v = self.ds.query("SELECT labels GROUP BY labels")
            out = np.zeros(len(CLASSES), np.int64)
            for g in v["labels"][:]:
                g = np.asarray(g)
                out[int(g[0])] = len(g)
            return out

        def model(_):
            emb = np.asarray(self.ds["emb"][:], dtype=np.float32)
            return np.flatnonzero(self.clf.predict_proba(emb)[:, 1] > 0.5)

        return {
            "range": lambda _: self.ids(f"SELECT id WHERE score BETWEEN {LO} AND {HI}"),
            "label": lambda _: self.ids("SELECT id WHERE labels == 0"),
            "text": lambda _: self.ids(f"SELECT id WHERE contains(caption, '{WORD}')"),
            "compound": lambda _: self.ids(
                f"SELECT id WHERE labels == 0 AND score > 0.5 AND contains(caption, '{WORD}')"),
            "order": lambda _: self.ids(f"SELECT id ORDER BY score DESC LIMIT {ORDER_K}"),
            "cosine": lambda _: self.ids(f"SELECT id ORDER BY COSINE_SIMILARITY(emb, {q}) DESC LIMIT {COS_K}"),
            "group": group,
            "model": model,
        }


RUNNERS = {"numpy": NumpyRunner, "gtn": GtnRunner, "duckdb": DuckdbRunner, "lance": LanceRunner,
           "deeplake": DeeplakeRunner}


def stats(xs):
    if not xs:
        return None
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def timed(fn, repeats, budget_s):
    """One warm-up call (its answer is returned), then `repeats` timed calls (fewer only
    when `repeats` > 5 and the calls pass budget_s; never fewer than 5)."""
    t = time.perf_counter()
    ans = fn(None)
    first = time.perf_counter() - t
    times = []
    for i in range(repeats):
        if i >= 5 and (first + sum(times)) > budget_s:
            break
        t = time.perf_counter()
        fn(None)
        times.append(time.perf_counter() - t)
    return ans, first, times


def worker(system, rows, repeats, only):
    """Runs one system's queries in this process; prints a JSON result line."""
    ddir = data_dir(rows)
    d = make_data(rows)
    ref = reference(d, ddir)
    r = RUNNERS[system]()
    r.query_vector = d["query"]
    res = {"system": system, "notes": r.notes, "queries": {}, "loadavg_before": os.getloadavg()}
    for mod in r.modules:  # import time is not open time
        __import__(mod)
    t = time.perf_counter()
    r.open(ddir, d if system == "numpy" else None)
    res["open_s"] = time.perf_counter() - t
    if system != "numpy":
        del d["emb"]  # peers read their own copy; keep memory for them
    res["versions"] = r.versions()
    for name, fn in r.queries().items():
        if only and name.split("_")[0] not in only:
            continue
        try:
            ans, first, times = timed(fn, repeats, budget_s=20.0)
            base = name.split("_")[0]
            res["queries"][name] = {"first_s": first, "time": stats(times), "check": check(base, ans, ref, d),
                                    "n_rows": int(np.asarray(ans).size) if base != "group" else None}
        except Exception as e:  # noqa: BLE001
            res["queries"][name] = {"error": f"{type(e).__name__}: {e}".splitlines()[0][:300]}
            traceback.print_exc(file=sys.stderr)
        print(f"    {system:9s} {name:13s} {fmt_q(res['queries'][name])}", file=sys.stderr, flush=True)
    if system == "gtn" and (not only or "skip" in only):
        res["skip"] = chunk_skipping(ddir, repeats)
    if system == "gtn" and (not only or "materialize" in only):
        res["materialize"] = materialized(ddir, d, repeats)
    res["loadavg_after"] = os.getloadavg()
    print("RESULT " + json.dumps(res), flush=True)


def fmt_q(q):
    if "error" in q:
        return "ERROR " + q["error"]
    s = q["time"]
    return f"{s['median'] * 1e3:9.2f} ms  [{s['min'] * 1e3:.2f}-{s['max'] * 1e3:.2f}]  {q['check']}"


# ----------------------------------------------------------------------------- GTN only

def chunk_skipping(ddir, repeats):
    import gtn
    out = {}
    text = f"SELECT * WHERE score BETWEEN {SKIP_LO} AND {SKIP_HI}"
    for name in ("sorted", "shuffled"):
        ds = gtn.dataset(os.path.join(ddir, f"skip_{name}"), read_only=True)
        sc = ds["score"].numpy()
        want = np.flatnonzero((sc >= SKIP_LO) & (sc <= SKIP_HI))
        ans, first, times = timed(lambda _: ds.query(text, n_threads=THREADS), repeats, 20.0)
        info = ds._info("score")
        out[name] = {"time": stats(times), "stats": dict(ans.stats), "rows": len(ans),
                     "chunks": info["num_chunks"], "stored_bytes": info["stored_bytes"],
                     "check": "ok" if np.array_equal(np.sort(ans.indices.astype(np.int64)), want) else "MISMATCH"}
        _, _, nt = timed(lambda _: np.flatnonzero((sc >= SKIP_LO) & (sc <= SKIP_HI)), repeats, 10.0)
        out[name]["numpy_time"] = stats(nt)
        ds.close()
        print(f"    gtn       skip_{name:8s} {out[name]['time']['median'] * 1e3:9.2f} ms  "
              f"bytes_read {ans.stats.get('bytes_read')} of {info['stored_bytes']}  {ans.stats}  "
              f"{out[name]['check']}", file=sys.stderr, flush=True)
    return out


def materialized(ddir, d, repeats):
    """A view of ~10 % of the rows, materialized, against a fresh dataset of the same rows."""
    import gtn
    ds = gtn.dataset(os.path.join(ddir, "gtn"), read_only=True)
    view = ds.query("SELECT * WHERE labels == 'cat'", n_threads=THREADS)
    mpath = os.path.join(ddir, "materialized")
    fpath = os.path.join(ddir, "fresh")
    t = time.perf_counter()
    m = view.materialize(mpath, overwrite=True, commit="materialized")
    mat_s = time.perf_counter() - t
    m.close()
    rows = view.indices.astype(np.int64)
    shutil.rmtree(fpath, ignore_errors=True)
    f = gtn.dataset(fpath)
    f.create_tensor("labels", htype="class_label", class_names=CLASSES)
    f.create_tensor("score", dtype="float32")
    f.create_tensor("emb", htype="embedding", dtype="float32")
    f.create_tensor("caption", htype="text")
    emb = ds["emb"].numpy()[rows] if "emb" not in d else d["emb"][rows]
    f.extend({"labels": d["labels"][rows], "score": d["score"][rows], "emb": emb,
              "caption": [d["caption"][i] for i in rows]})
    f.commit("fresh")
    f.close()

    def read_all(path):
        h = gtn.dataset(path, read_only=True)
        out = {t: h[t].numpy() for t in ("labels", "score", "emb", "caption")}
        h.close()
        return out

    res = {"rows": len(rows), "materialize_s": mat_s}
    # the two reads alternate (after one warm-up each), so that load on the machine hits both alike
    paths = {"materialized": mpath, "fresh": fpath}
    times = {name: [] for name in paths}
    answers = {name: read_all(path) for name, path in paths.items()}
    for _ in range(2 * repeats):
        for name, path in paths.items():
            t = time.perf_counter()
            read_all(path)
            times[name].append(time.perf_counter() - t)
    for name, path in paths.items():
        ans = answers[name]
        ok = (np.array_equal(ans["score"], d["score"][rows]) and np.array_equal(ans["labels"], d["labels"][rows])
              and np.array_equal(ans["emb"], emb) and list(ans["caption"]) == [d["caption"][i] for i in rows])
        h = gtn.dataset(path, read_only=True)
        chunks = {t: h._info(t)["num_chunks"] for t in ("labels", "score", "emb", "caption")}
        h.close()
        res[name] = {"time": stats(times[name]), "check": "ok" if ok else "MISMATCH", "chunks": chunks}
    # reading the view's rows without materializing (random access into the source)
    try:
        ans, first, times = timed(lambda _: {t: view[t].numpy() for t in ("labels", "score", "emb", "caption")},
                                  min(repeats, 3), 30.0)
        res["view_unmaterialized"] = {"time": stats(times)}
    except Exception as e:  # noqa: BLE001
        res["view_unmaterialized"] = {"error": f"{type(e).__name__}: {e}"}
    res["ratio"] = res["materialized"]["time"]["median"] / res["fresh"]["time"]["median"]
    print(f"    gtn       materialized {res['materialized']['time']['median'] * 1e3:.1f} ms vs fresh "
          f"{res['fresh']['time']['median'] * 1e3:.1f} ms (x{res['ratio']:.3f}), unmaterialized view "
          f"{res['view_unmaterialized'].get('time', {}).get('median', float('nan')) * 1e3:.1f} ms "
          f"{res['view_unmaterialized'].get('error', '')}",
          file=sys.stderr, flush=True)
    ds.close()
    return res


# ----------------------------------------------------------------------------- report

def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def ms(seconds):
    v = seconds * 1e3
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def report(results):
    by = {r["system"]: r for r in results}
    base = by.get("numpy", {}).get("queries", {})
    lines = []
    head = "| query | " + " | ".join(by) + " |"
    lines += [head, "|---" * (len(by) + 1) + "|"]
    for q in QUERIES:
        cells = []
        for s, r in by.items():
            x = r["queries"].get(q)
            if not x:
                cells.append("–")
                continue
            if "error" in x:
                cells.append("error")
                continue
            t = x["time"]
            c = f"{ms(t['median'])} ({ms(t['min'])}–{ms(t['max'])})"
            if s != "numpy" and q in base and "time" in base[q]:
                c += f" {t['median'] / base[q]['time']['median']:.2f}×"
            if not x["check"].startswith("ok"):
                c += " **wrong**"
            cells.append(c)
        lines.append(f"| {q} | " + " | ".join(cells) + " |")
    lines.append("| open / set-up | " + " | ".join(ms(r["open_s"]) for r in by.values()) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--only", default="", help="comma list of queries (and skip, materialize) to run")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--out", default=os.path.join(OUT, "query_bench.json"))
    a = ap.parse_args()
    only = set(filter(None, a.only.split(",")))
    if a.worker:
        worker(a.worker, a.rows, a.repeats, only)
        return
    systems = [s.strip() for s in a.systems.split(",") if s.strip()]
    for s in systems:
        if s not in RUNNERS:
            ap.error(f"unknown system {s!r}; systems: {', '.join(SYSTEMS)}")
    t0 = time.perf_counter()
    print(f"query_bench: {a.rows} rows, {a.repeats} repeats, {THREADS} threads; {machine()}", flush=True)
    setup = build(a.rows, a.rebuild, systems)
    results = []
    for s in systems:
        print(f"  running {s} ...", flush=True)
        p = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", s, "--rows", str(a.rows),
                            "--repeats", str(a.repeats), "--only", a.only],
                           stdout=subprocess.PIPE, text=True, env=os.environ)
        line = next((x for x in p.stdout.splitlines() if x.startswith("RESULT ")), None)
        if line is None:
            print(f"  {s} failed (exit {p.returncode})", flush=True)
            results.append({"system": s, "error": f"exit {p.returncode}", "queries": {}, "open_s": float("nan")})
            continue
        r = json.loads(line[len("RESULT "):])
        r["setup_s"] = setup.get(s)
        results.append(r)
    doc = {"rows": a.rows, "repeats": a.repeats, "threads": THREADS, "machine": machine(),
           "total_s": time.perf_counter() - t0, "results": results}
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=1)
    print(report(results))
    print(f"total {doc['total_s']:.0f} s; results in {a.out}")


if __name__ == "__main__":
    main()
