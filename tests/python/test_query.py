"""Tensor queries against a numpy reference: thousands of random queries over a dataset
that changes between rounds (appends, updates, deletions, commits), plus the language's
errors, GROUP BY, SAMPLE BY, chunk skipping, saved views and model functions."""
import os
import random

import numpy as np
import pytest

import gtn

CLASSES = ["cat", "dog", "bird", "fish", "frog"]
WORDS = ["red", "green", "blue", "grass", "sky", "tree", "sea", "sun"]


class Ref:
    """The dataset's content as numpy arrays."""

    def __init__(self):
        self.label = np.zeros(0, np.int64)
        self.score = np.zeros(0, np.float32)
        self.ival = np.zeros(0, np.int64)
        self.emb = np.zeros((0, 4), np.float32)
        self.caption = []

    def batch(self, rng, n):
        label = rng.integers(0, len(CLASSES), n)
        score = rng.random(n).astype(np.float32)
        score[rng.random(n) < 0.05] = np.nan
        ival = rng.integers(-50, 50, n)
        emb = rng.standard_normal((n, 4)).astype(np.float32)
        caption = [" ".join(rng.choice(WORDS, rng.integers(0, 5))) for _ in range(n)]
        return {"label": label, "score": score, "ival": ival, "emb": emb, "caption": caption}

    def extend(self, b):
        self.label = np.concatenate([self.label, b["label"]])
        self.score = np.concatenate([self.score, b["score"]])
        self.ival = np.concatenate([self.ival, b["ival"]])
        self.emb = np.concatenate([self.emb, b["emb"]])
        self.caption += list(b["caption"])

    def delete(self, rows):
        keep = np.ones(len(self.label), bool)
        keep[rows] = False
        self.label, self.score, self.ival, self.emb = self.label[keep], self.score[keep], self.ival[keep], self.emb[keep]
        self.caption = [c for c, k in zip(self.caption, keep) if k]


def make_dataset(path):
    ds = gtn.dataset(path)
    ds.create_tensor("label", htype="class_label", class_names=CLASSES, chunk_size=2048)
    ds.create_tensor("score", dtype="float32", chunk_size=1024)
    ds.create_tensor("ival", dtype="int64", chunk_size=2048)
    ds.create_tensor("emb", htype="embedding", dtype="float32", chunk_size=4096)
    ds.create_tensor("caption", htype="text", chunk_size=4096)
    return ds


# --- random expressions: (query text, numpy value) pairs ---

def num_expr(r, ref, depth=0):
    f64 = lambda a: a.astype(np.float64)  # noqa: E731
    choices = ["score", "ival", "emb", "mean", "l2", "len", "const"]
    if depth < 2:
        choices += ["arith", "arith"]
    k = r.choice(choices)
    if k == "score":
        return "score", f64(ref.score)
    if k == "ival":
        return "ival", f64(ref.ival)
    if k == "emb":
        i = r.randrange(-4, 4)
        return f"emb[{i}]", f64(ref.emb[:, i])
    if k == "mean":
        return "mean(emb)", f64(ref.emb).mean(axis=1)
    if k == "l2":
        return "l2_norm(emb)", np.sqrt((f64(ref.emb) ** 2).sum(axis=1))
    if k == "len":
        return "len(caption)", np.array([len(c) for c in ref.caption], np.float64)
    if k == "const":
        v = round(r.uniform(-3, 3), 3)
        return repr(v), np.full(len(ref.label), v)
    op = r.choice(["+", "-", "*"])
    (ta, va), (tb, vb) = num_expr(r, ref, depth + 1), num_expr(r, ref, depth + 1)
    v = va + vb if op == "+" else va - vb if op == "-" else va * vb
    return f"({ta} {op} {tb})", v


def predicate(r, ref, depth=0):
    kinds = ["cmp", "cmp", "label", "in", "between", "contains", "like", "any", "all", "cos"]
    if depth < 2:
        kinds += ["and", "or", "not"]
    k = r.choice(kinds)
    n = len(ref.label)
    if k == "cmp":
        op = r.choice(["<", "<=", ">", ">=", "==", "!="])
        t, v = num_expr(r, ref, depth + 1)
        c = round(r.uniform(-2, 2), 2) if r.random() < 0.7 else r.randrange(-3, 4)
        with np.errstate(invalid="ignore"):
            m = {"<": v < c, "<=": v <= c, ">": v > c, ">=": v >= c, "==": v == c, "!=": v != c}[op]
        return f"{t} {op} {c}", m
    if k == "label":
        c = r.randrange(len(CLASSES))
        return (f"label == '{CLASSES[c]}'", ref.label == c) if r.random() < 0.5 else (f"label != {c}", ref.label != c)
    if k == "in":
        cs = r.sample(range(len(CLASSES)), r.randint(1, 3))
        neg = r.random() < 0.3
        m = np.isin(ref.label, cs)
        names = ", ".join(f"'{CLASSES[c]}'" for c in cs)
        return f"label {'NOT ' if neg else ''}IN ({names})", ~m if neg else m
    if k == "between":
        a, b = sorted([round(r.uniform(-0.2, 1.2), 2), round(r.uniform(-0.2, 1.2), 2)])
        with np.errstate(invalid="ignore"):
            return f"score BETWEEN {a} AND {b}", (ref.score >= a) & (ref.score <= b)
    if k == "contains":
        w = r.choice(WORDS)
        return f"contains(caption, '{w}')", np.array([w in c for c in ref.caption], bool)
    if k == "like":
        w = r.choice(WORDS)
        if r.random() < 0.5:
            return f"caption LIKE '{w}%'", np.array([c.startswith(w) for c in ref.caption], bool)
        return f"caption LIKE '%{w[1:]}'", np.array([c.endswith(w[1:]) for c in ref.caption], bool)
    if k in ("any", "all"):
        c = round(r.uniform(-1.5, 1.5), 2)
        m = ref.emb > c
        return f"{k}(emb > {c})", m.any(axis=1) if k == "any" else m.all(axis=1)
    if k == "cos":
        q = np.array([r.uniform(-1, 1) for _ in range(4)])
        e = ref.emb.astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            cs = e @ q / (np.linalg.norm(e, axis=1) * np.linalg.norm(q))
        c = round(r.uniform(-0.5, 0.5), 2)
        arr = ", ".join(repr(float(x)) for x in q)
        return f"cosine_similarity(emb, ARRAY[{arr}]) > {c}", cs > c
    if k == "not":
        t, m = predicate(r, ref, depth + 1)
        return f"NOT ({t})", ~m
    (ta, ma), (tb, mb) = predicate(r, ref, depth + 1), predicate(r, ref, depth + 1)
    if k == "and":
        return f"({ta}) AND ({tb})", ma & mb
    return f"({ta}) OR ({tb})", ma | mb


def order_key(r, ref):
    k = r.choice(["score", "ival", "emb", "len"])
    if k == "score":
        return "score", ref.score.astype(np.float64)
    if k == "ival":
        return "ival", ref.ival.astype(np.float64)
    if k == "emb":
        i = r.randrange(4)
        return f"emb[{i}]", ref.emb[:, i].astype(np.float64)
    return "len(caption)", np.array([len(c) for c in ref.caption], np.float64)


def reference_order(rows, key, desc):
    """Stable order of `rows` by key (NaN last ascending, first descending)."""
    k = key[rows]
    nan = np.isnan(k)
    if desc:
        return rows[np.lexsort((rows, -np.where(nan, 0, k), ~nan))]
    return rows[np.lexsort((rows, np.where(nan, 0, k), nan))]


def check_round(ds, ref, r, n_queries):
    for _ in range(n_queries):
        text, mask = predicate(r, ref)
        rows = np.flatnonzero(mask)
        q = f"SELECT * WHERE {text}"
        if r.random() < 0.4:
            kt, kv = order_key(r, ref)
            desc = r.random() < 0.5
            q += f" ORDER BY {kt}{' DESC' if desc else ''}"
            rows = reference_order(rows, kv, desc)
        if r.random() < 0.4:
            limit, offset = r.randrange(0, 30), r.randrange(0, 10)
            q += f" LIMIT {limit} OFFSET {offset}"
            rows = rows[offset:offset + limit]
        got = ds.query(q).indices
        assert np.array_equal(got, rows.astype(np.uint64)), f"{q}\n got {got[:20]}\nwant {rows[:20]}"


def test_random_queries_match_numpy_through_changes(tmp_path):
    rng = np.random.default_rng(5)
    r = random.Random(5)
    ref = Ref()
    ds = make_dataset(str(tmp_path / "d.gtn"))
    rounds = 0
    for step in range(6):
        b = ref.batch(rng, 400)
        ds.extend(b)
        ref.extend(b)
        if step >= 1:  # updates: scores, labels and embeddings of random rows
            rows = rng.choice(len(ref.label), 60, replace=False)
            new = rng.random(60).astype(np.float32)
            ds["score"][rows.tolist()] = new
            ref.score[rows] = new
            lab = rng.integers(0, len(CLASSES), 60)
            ds["label"][rows.tolist()] = lab
            ref.label[rows] = lab
        if step >= 2:
            gone = rng.choice(len(ref.label), 40, replace=False)
            ds.delete_samples(gone.tolist())
            ref.delete(gone)
        if step % 2 == 0:
            ds.commit(f"step {step}")
        else:
            ds.flush()
        check_round(ds, ref, r, 350)
        rounds += 1
    assert rounds == 6
    # The same answers from a read-only reopen (statistics read back from disk).
    ds.close()
    ro = gtn.dataset(str(tmp_path / "d.gtn"), read_only=True)
    check_round(ro, ref, r, 200)


def test_group_by_counts_and_aggregates_match_pandas(tmp_path):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(1)
    ref = Ref()
    ds = make_dataset(str(tmp_path / "g.gtn"))
    b = ref.batch(rng, 3000)
    ds.extend(b)
    ref.extend(b)
    v = ds.query("SELECT label, count(*), mean(ival), max(ival) WHERE ival > -20 GROUP BY label ORDER BY count(*) DESC")
    df = pd.DataFrame({"label": ref.label, "ival": ref.ival})
    df = df[df.ival > -20]
    want = df.groupby("label").agg(n=("ival", "size"), m=("ival", "mean"), x=("ival", "max"))
    want = want.sort_values("n", ascending=False, kind="stable")
    assert [k for k, _ in v.groups] == [CLASSES[i] for i in want.index]
    np.testing.assert_array_equal(v.columns["count(*)"], want.n.to_numpy())
    np.testing.assert_allclose(v.columns["mean(ival)"], want.m.to_numpy(), rtol=1e-12)
    np.testing.assert_array_equal(v.columns["max(ival)"], want.x.to_numpy())
    # Each group's view holds exactly its rows.
    for key, sub in v.groups:
        c = CLASSES.index(key)
        assert set(sub.indices.tolist()) == set(np.flatnonzero((ref.label == c) & (ref.ival > -20)).tolist())
    # An aggregate without GROUP BY: one group of every matching row.
    one = ds.query("SELECT count(*), sum(ival) WHERE label == 'dog'")
    assert one.columns["count(*)"].tolist() == [int((ref.label == 1).sum())]
    assert one.columns["sum(ival)"].tolist() == [float(ref.ival[ref.label == 1].sum())]


def test_sample_by_is_seeded_weighted_and_respects_zero_weights(tmp_path):
    rng = np.random.default_rng(2)
    ref = Ref()
    ds = make_dataset(str(tmp_path / "s.gtn"))
    b = ref.batch(rng, 2000)
    ds.extend(b)
    ref.extend(b)
    q = "SELECT * SAMPLE BY (label == 'cat') * 1.0 + (label == 'dog') * 3.0 LIMIT 200"
    a, b2 = ds.query(q, seed=7).indices, ds.query(q, seed=7).indices
    assert np.array_equal(a, b2)
    assert not np.array_equal(a, ds.query(q, seed=8).indices)
    assert len(set(a.tolist())) == 200  # without replacement
    assert set(np.unique(ref.label[a.astype(np.int64)])) <= {0, 1}  # zero weights never drawn
    dogs = (ref.label[a.astype(np.int64)] == 1).mean()
    assert 0.6 < dogs < 0.9  # 3:1 weights over similar counts
    rep = ds.query("SELECT * WHERE label == 'fish' SAMPLE BY 1 REPLACE LIMIT 500", seed=1).indices
    assert len(rep) == 500 and (ref.label[rep.astype(np.int64)] == 3).all()
    with pytest.raises(ValueError, match="finite and >= 0"):
        ds.query("SELECT * SAMPLE BY ival LIMIT 5")


def test_where_skips_chunks_by_statistics_on_a_sorted_tensor(tmp_path):
    ds = gtn.dataset(str(tmp_path / "k.gtn"))
    ds.create_tensor("x", dtype="int64", chunk_size=8 * 1000)
    ds.create_tensor("y", dtype="float32", chunk_size=4 * 1000)
    x = np.arange(100_000, dtype=np.int64)
    ds.extend({"x": x, "y": x.astype(np.float32) / 10})
    ds.commit("sorted")
    v = ds.query("SELECT * WHERE x BETWEEN 41_000 AND 41_999".replace("_", ""))
    assert v.indices.tolist() == list(range(41000, 42000))
    assert v.stats["chunks_skipped"] >= 95 and v.stats["chunks_scanned"] <= 3
    assert v.stats["bytes_read"] <= 3 * 8000 + 3 * 4000
    # Both tensors' statistics: y > 9990 skips everything but the tail.
    w = ds.query("SELECT * WHERE y > 9990.0 AND x > 5")
    assert w.indices.tolist() == list(range(99901, 100000))
    assert w.stats["chunks_skipped"] >= 95
    # Updates keep the statistics true: a row moved far out of its chunk's old range.
    ds["x"][10] = 10**12
    assert ds.query("SELECT * WHERE x > 99999999").indices.tolist() == [10]
    assert ds.query("SELECT * WHERE x == 10").indices.tolist() == []


def test_saved_views_read_the_same_rows_after_later_commits_and_gc(tmp_path):
    path = str(tmp_path / "v.gtn")
    ds = make_dataset(path)
    ref = Ref()
    rng = np.random.default_rng(3)
    b = ref.batch(rng, 500)
    ds.extend(b)
    ref.extend(b)
    v = ds.query("SELECT * WHERE label == 'bird' ORDER BY ival DESC")
    with pytest.raises(ValueError, match="uncommitted"):
        ds.save_view("birds", v)
    first = ds.commit("first")
    v = ds.query("SELECT * WHERE label == 'bird' ORDER BY ival DESC")
    assert v.commit == first
    ds.save_view("birds", v, message="bird rows")
    want_ival = ref.ival[v.indices.astype(np.int64)]
    # Later: rows deleted in front, values changed, a new commit, gc.
    ds.delete_samples(list(range(50)))
    ds["ival"][0] = 999
    ds.commit("second")
    ds.gc()
    again = ds.load_view("birds")
    assert again.commit == first and np.array_equal(again.indices, v.indices)
    np.testing.assert_array_equal(again["ival"].numpy(), want_ival)
    assert again[0]["label"] == 2
    assert [x["name"] for x in ds.views()] == ["birds"] and ds.views()[0]["size"] == len(v)
    sub = again.query("SELECT * WHERE ival > 0")  # a view of a view, in view order
    np.testing.assert_array_equal(sub.indices, v.indices[want_ival > 0])
    ds.delete_view("birds")
    assert ds.views() == []
    with pytest.raises(FileNotFoundError, match="no view named 'birds'"):
        ds.load_view("birds")
    # From indices, then materialized into a new dataset.
    pick = ds.view([5, 3, 3, -1])
    m = pick.materialize(str(tmp_path / "m.gtn"))
    assert len(m) == 4 and m[1]["ival"] == m[2]["ival"] == ds[3]["ival"]
    assert m[3]["caption"] == ds[len(ds) - 1]["caption"]
    # As a branch: the view's rows become the branch's content; main stays checked out.
    birds = ds.query("SELECT * WHERE label == 'bird'")
    ds_len = len(ds)
    b = birds.materialize(branch="birds-only")
    assert ds.current_branch == "main" and len(ds) == ds_len
    assert len(b) == len(birds) and all(b[i]["label"] == 2 for i in range(len(b)))
    np.testing.assert_array_equal(b["ival"].numpy(), ds["ival"].numpy()[birds.indices.astype(np.int64)])
    with pytest.raises(ValueError, match="either"):
        birds.materialize()


def test_query_errors_say_where_and_what(tmp_path):
    ds = make_dataset(str(tmp_path / "e.gtn"))
    ds.extend(Ref().batch(np.random.default_rng(0), 10))
    cases = [
        ("SELECT * WHERE score >", "line 1, column 23"),
        ("SELECT * WHERE\n  scor > 1", "did you mean 'score'"),
        ("SELECT * WHERE label == 'cow'", "'cow' is not a class of tensor 'label'"),
        ("SELECT * WHERE cosine_sim(emb, ARRAY[1,2,3,4]) > 0", "did you mean 'cosine_similarity'"),
        ("SELECT * WHERE cosine_similarity(emb, ARRAY[1,2]) > 0", "tensor 'emb' (embedding, float32(4,))"),
        ("SELECT * WHERE caption > 3", "one is text"),
        ("SELECT * WHERE emb > 0", "wrap it in any() or all()"),
        ("SELECT * WHERE mean(caption) > 1", "mean() needs numbers, but tensor 'caption'"),
        ("SELECT * WHERE score", "WHERE needs a boolean"),
        ("SELECT * LIMIT -1", "whole number"),
        ("SELECT * SAMPLE BY score", "needs LIMIT"),
        ("SELECT * WHERE caption LIKE 5", "pattern"),
        ("SELECT * WHERE regexp_match(caption, '(')", "bad regular expression"),
        ("SELECT * WHERE predict_proba(model('nope.gtnm', emb), 1) > 0", "cannot load model"),
        ("SELECT * WHERE 'a", "unterminated string"),
    ]
    for q, msg in cases:
        with pytest.raises(ValueError) as e:
            ds.query(q)
        assert msg in str(e.value), (q, str(e.value))


def test_model_functions_run_a_compiled_model_inside_queries(tmp_path):
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    X, y = load_breast_cancer(return_X_y=True)
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    clf = LogisticRegression(max_iter=500).fit(X, y)
    m = gtn.ml.convert(clf)
    m.save(str(tmp_path / "q.gtnm"))
    ds = gtn.dataset(str(tmp_path / "bc.gtn"))
    ds.create_tensor("x", htype="embedding", dtype="float32")
    ds.create_tensor("y", htype="class_label", class_names=["malignant", "benign"])
    ds.extend({"x": X, "y": y})
    proba = m.predict_proba(X)[:, 1]
    v = ds.query("SELECT *, predict_proba(model('q.gtnm', x), 1) AS p WHERE predict_proba(model('q.gtnm', x), 1) > 0.9 "
                 "ORDER BY p DESC", model_dir=str(tmp_path))
    want = np.flatnonzero(proba > 0.9)
    assert set(v.indices.tolist()) == set(want.tolist())
    np.testing.assert_allclose(v.columns["p"], np.sort(proba[want])[::-1], rtol=1e-6)
    agree = ds.query(f"SELECT * WHERE model('{tmp_path}/q.gtnm', x) == y")
    assert len(agree) == int((m.predict(X) == y).sum())
    with pytest.raises(ValueError, match="takes 30 features"):
        ds.query(f"SELECT * WHERE model('{tmp_path}/q.gtnm', x[0:3]) > 0")


def test_query_on_real_data_iris_csv(tmp_path):
    """sklearn's bundled iris.csv, ingested, filtered and grouped like pandas does."""
    pd = pytest.importorskip("pandas")
    import sklearn
    csv = os.path.join(os.path.dirname(sklearn.__file__), "datasets", "data", "iris.csv")
    raw = pd.read_csv(csv, skiprows=1, header=None, names=["sl", "sw", "pl", "pw", "species"])
    ds = gtn.dataset(str(tmp_path / "iris.gtn"))
    for c in ["sl", "sw", "pl", "pw"]:
        ds.create_tensor(c, dtype="float64")
    ds.create_tensor("species", htype="class_label", class_names=["setosa", "versicolor", "virginica"])
    ds.extend({c: raw[c].to_numpy() for c in ["sl", "sw", "pl", "pw"]} | {"species": raw.species.to_numpy()})
    v = ds.query("SELECT * WHERE species == 'virginica' AND pl / pw > 2.5")
    want = np.flatnonzero((raw.species == 2) & (raw.pl / raw.pw > 2.5))
    np.testing.assert_array_equal(v.indices, want)
    g = ds.query("SELECT species, mean(sl) GROUP BY species")
    np.testing.assert_allclose(g.columns["mean(sl)"], raw.groupby("species").sl.mean().to_numpy(), rtol=1e-12)


def test_row_number_and_from_version(tmp_path):
    ds = make_dataset(str(tmp_path / "r.gtn"))
    ref = Ref()
    b = ref.batch(np.random.default_rng(4), 300)
    ds.extend(b)
    ref.extend(b)
    ds.commit("v1")
    ds.tag("v1")
    v = ds.query("SELECT row_number() AS rn WHERE ival > 0 ORDER BY ival DESC, row_number() LIMIT 20")
    np.testing.assert_array_equal(v.columns["rn"], v.indices.astype(np.int64))
    assert ds.query("SELECT * WHERE row_number() % 100 == 0").indices.tolist() == [0, 100, 200]
    view = ds.view([250, 10, 120])
    sub = view.query("SELECT row_number() AS rn WHERE row_number() >= 1")
    assert sub.indices.tolist() == [10, 120] and sub.columns["rn"].tolist() == [1, 2]
    # FROM ds@tag reads the tagged state, whatever happened since.
    ds.delete_samples(list(range(100)))
    ds["ival"][0] = 10**6
    ds.commit("v2")
    old = ds.query("SELECT * FROM ds@v1 WHERE ival > 40")
    assert old.indices.tolist() == np.flatnonzero(ref.ival > 40).tolist()
    assert np.array_equal(old["ival"].numpy(), ref.ival[ref.ival > 40])
    assert ds.query("SELECT * WHERE ival == 1000000").indices.tolist() == [0]
    with pytest.raises(FileNotFoundError):
        ds.query("SELECT * FROM ds@nope WHERE ival > 0")
