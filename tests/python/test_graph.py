"""gtn.graph: OGB raw-format ingest, whole-graph loading, PyG/DGL export, and the
neighbour sampler, checked against numpy/pandas references on a SYNTHETIC OGB-format graph
written by bench/ogb_synth.py (the tiny preset)."""
import gzip
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

import gtn
import gtn.graph as gg

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("ogb_synth", ROOT / "bench" / "ogb_synth.py")
ogb_synth = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ogb_synth)


@pytest.fixture(scope="module")
def ogb_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("ogb") / "tiny"
    ogb_synth.generate(str(out), **ogb_synth.PRESETS["tiny"], seed=3, preset="tiny")
    return out


def read_raw(ogb_dir):
    """The raw files read the way OGB's read_csv_graph_raw and NodePropPredDataset do."""
    raw = ogb_dir / "raw"
    edge = pd.read_csv(raw / "edge.csv.gz", compression="gzip", header=None).values.T.astype(np.int64)
    x = pd.read_csv(raw / "node-feat.csv.gz", compression="gzip", header=None).values.astype(np.float32)
    y = pd.read_csv(raw / "node-label.csv.gz", compression="gzip", header=None).values[:, 0].astype(np.int64)
    n = int(pd.read_csv(raw / "num-node-list.csv.gz", compression="gzip", header=None).values[0, 0])
    split = {k: pd.read_csv(ogb_dir / "split" / "time" / f"{k}.csv.gz", compression="gzip", header=None).values.T[0]
             for k in ("train", "valid", "test")}
    return n, edge, x, y, split


def reference_csr(n, src, dst):
    order = np.lexsort((dst, src))
    indptr = np.concatenate([[0], np.cumsum(np.bincount(src, minlength=n))])
    return indptr, dst[order]


def test_from_ogb_matches_ogbs_own_reader(ogb_dir, tmp_path):
    ds = gg.from_ogb(ogb_dir, tmp_path / "g")
    n, edge, x, y, split = read_raw(ogb_dir)
    assert len(ds) == n
    g = gg.load(ds)
    indptr, indices = reference_csr(n, edge[0], edge[1])
    np.testing.assert_array_equal(g.indptr, indptr)
    np.testing.assert_array_equal(g.indices, indices)
    np.testing.assert_array_equal(g.x, x)
    np.testing.assert_array_equal(g.y, y)
    for k, mask in (("train", g.train_mask), ("valid", g.valid_mask), ("test", g.test_mask)):
        np.testing.assert_array_equal(np.flatnonzero(mask), np.sort(split[k]))
    assert g.indices_zero_copy and g.x_zero_copy  # one 8 MiB chunk holds each tensor
    assert len(ds.log()) == 1
    year = pd.read_csv(ogb_dir / "raw" / "node_year.csv.gz", compression="gzip", header=None).values[:, 0]
    np.testing.assert_array_equal(ds["node_year"].numpy().reshape(-1), year)


def test_small_chunks_and_undirected_and_csc(ogb_dir, tmp_path):
    report = gg.ingest_ogb(ogb_dir, tmp_path / "u", to_undirected=True, csc=True, int32_ids=True,
                           chunk_bytes=4096, chunk_compression="lz4")
    n, edge, x, _, _ = read_raw(ogb_dir)
    pairs = np.unique(np.concatenate([edge.T, edge[::-1].T]), axis=0)
    assert report["stored_edges"] == len(pairs)
    g = gg.load(tmp_path / "u")
    assert not g.indices_zero_copy and not g.x_zero_copy and g.indices.dtype == np.int32
    indptr, indices = reference_csr(n, pairs[:, 0], pairs[:, 1])
    np.testing.assert_array_equal(g.indptr, indptr)
    np.testing.assert_array_equal(g.indices, indices)
    np.testing.assert_array_equal(g.x, x)
    # The arrays go straight back into a dataset (numpy's canonical int64 descriptor).
    copy = gtn.dataset(tmp_path / "copy")
    copy.create_tensor("y", htype="class_label")
    copy.extend({"y": gg.load(tmp_path / "u").y[::-1].copy()})
    np.testing.assert_array_equal(copy["y"].numpy().reshape(-1), gg.load(tmp_path / "u").y[::-1])
    c = gg.load(tmp_path / "u", neighbors="in_neighbors", x=None, y=None, split=None)
    np.testing.assert_array_equal(c.indices, indices)  # undirected: CSC == CSR
    assert c.x is None


def test_as_torch_shares_memory(ogb_dir, tmp_path):
    gg.ingest_ogb(ogb_dir, tmp_path / "g")
    ds = gtn.dataset(tmp_path / "g", read_only=True)
    g = gg.load(ds, as_torch=True)
    ref = gg.load(ds)
    assert isinstance(g.indptr, torch.Tensor) and g.x.dtype == torch.float32
    np.testing.assert_array_equal(g.x.numpy(), ref.x)
    assert g.x_zero_copy and g.indices_zero_copy
    assert g.train_mask.dtype == torch.bool


def write_gz(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as f:
        f.write(text)


def small_ogb(root):
    write_gz(root / "raw/num-node-list.csv.gz", "4\n")
    write_gz(root / "raw/edge.csv.gz", "0,1\n1,2\n2,3\n")
    write_gz(root / "raw/node-label.csv.gz", "0\n1\n0\n1\n")


def test_errors_name_file_and_line(tmp_path):
    small_ogb(tmp_path / "s")
    write_gz(tmp_path / "s/raw/edge.csv.gz", "0,1\n1,9\n")
    with pytest.raises(ValueError, match=r"edge.csv.gz:2: node id 9 is outside \[0, 4\)"):
        gg.ingest_ogb(tmp_path / "s", tmp_path / "d")
    assert not (tmp_path / "d").exists()  # nothing left behind
    write_gz(tmp_path / "s/raw/edge.csv.gz", "0,1\n1;2\n")
    with pytest.raises(ValueError, match=r"edge.csv.gz:2: field 1 is '1;2', expected an integer"):
        gg.ingest_ogb(tmp_path / "s", tmp_path / "d")
    (tmp_path / "s/raw/edge.csv.gz").unlink()
    with pytest.raises(FileNotFoundError, match=r"missing file .*edge.csv.gz"):
        gg.ingest_ogb(tmp_path / "s", tmp_path / "d")
    with pytest.raises(FileNotFoundError, match=r"no raw/ folder"):
        gg.ingest_ogb(tmp_path / "nothing", tmp_path / "d")
    small_ogb(tmp_path / "s")
    write_gz(tmp_path / "s/raw/node-label.csv.gz", "0\n1\n\n1\n")
    with pytest.raises(ValueError, match=r"node-label.csv.gz:3: empty line"):
        gg.ingest_ogb(tmp_path / "s", tmp_path / "d")


def test_cli_ingest_ogb(ogb_dir, tmp_path):
    cli = os.environ.get("GTN_CLI", "gtn")
    r = subprocess.run([cli, "graph", "ingest-ogb", str(ogb_dir), str(tmp_path / "c"), "--undirected", "-q"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "nodes 2000" in r.stdout and "split 'time': train 1100, valid 360, test 540" in r.stdout
    small_ogb(tmp_path / "s")
    write_gz(tmp_path / "s/raw/edge.csv.gz", "0,1\n-1,2\n")
    r = subprocess.run([cli, "graph", "ingest-ogb", str(tmp_path / "s"), str(tmp_path / "e")],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "edge.csv.gz:2: node id -1 is outside [0, 4)" in r.stderr
    assert not (tmp_path / "e").exists()


def test_to_pyg(ogb_dir, tmp_path):
    from torch_geometric.data import Data
    gg.ingest_ogb(ogb_dir, tmp_path / "g")
    data = gg.to_pyg(tmp_path / "g")
    assert isinstance(data, Data)
    n, edge, x, y, split = read_raw(ogb_dir)
    assert data.num_nodes == n
    got = data.edge_index.numpy()
    order = np.lexsort((edge[1], edge[0]))
    np.testing.assert_array_equal(got, edge[:, order])
    np.testing.assert_array_equal(data.x.numpy(), x)
    np.testing.assert_array_equal(data.y.numpy(), y)
    assert int(data.train_mask.sum()) == len(split["train"]) and int(data.test_mask.sum()) == len(split["test"])
    data.validate(raise_on_error=True)


def test_dgl_args(ogb_dir, tmp_path):
    import scipy.sparse as sp
    gg.ingest_ogb(ogb_dir, tmp_path / "g")
    a = gg.dgl_args(tmp_path / "g")
    kind, (indptr, indices, eids) = a.graph_data
    assert kind == "csr" and a.num_nodes == 2000
    assert indptr.dtype == indices.dtype == eids.dtype == torch.int64
    n, edge, x, y, _ = read_raw(ogb_dir)
    m = sp.csr_matrix((np.ones(len(indices)), indices.numpy(), indptr.numpy()), shape=(n, n))
    ref = sp.csr_matrix((np.ones(edge.shape[1]), (edge[0], edge[1])), shape=(n, n))
    assert (m != ref).nnz == 0
    np.testing.assert_array_equal(eids.numpy(), np.arange(len(indices)))
    assert set(a.ndata) == {"feat", "label", "train_mask", "val_mask", "test_mask"}
    np.testing.assert_array_equal(a.ndata["feat"].numpy(), x)
    try:
        import dgl  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="dgl_args"):
            gg.to_dgl(tmp_path / "g")
    else:
        g = gg.to_dgl(tmp_path / "g")
        assert g.num_nodes() == n and g.num_edges() == edge.shape[1]


# --- sampler ---

def check_batch(b, indptr, indices, x, y, fanouts):
    n_id = np.asarray(b.n_id)
    assert len(np.unique(n_id)) == len(n_id)
    assert b.hop_nodes[0] == b.batch_size
    for hop, blk in enumerate(b.blocks):
        assert blk["num_dst"] == b.hop_nodes[hop] and blk["num_src"] == b.hop_nodes[hop + 1]
        bp, bi = np.asarray(blk["indptr"]), np.asarray(blk["indices"])
        assert len(bp) == blk["num_dst"] + 1 and bi.max(initial=0) < blk["num_src"]
        for d in range(blk["num_dst"]):
            v = n_id[d]
            nbrs = indices[indptr[v]:indptr[v + 1]]
            got = n_id[bi[bp[d]:bp[d + 1]]]
            assert len(got) == min(len(nbrs), fanouts[hop])
            assert len(np.unique(got)) == len(got)
            assert np.isin(got, nbrs).all()  # every sampled edge exists
            if len(nbrs) <= fanouts[hop]:
                np.testing.assert_array_equal(got, nbrs)  # all neighbours when degree <= fanout
    np.testing.assert_array_equal(np.asarray(b.x), x[n_id])
    np.testing.assert_array_equal(np.asarray(b.y), y[n_id[:b.batch_size]])


def test_neighbor_loader_against_numpy_reference(ogb_dir, tmp_path):
    gg.ingest_ogb(ogb_dir, tmp_path / "g", chunk_bytes=16 << 10)  # many chunks
    ref = gg.load(tmp_path / "g")
    fanouts = [5, 3, 2]
    for preload in (False, True):
        loader = gg.NeighborLoader(tmp_path / "g", fanouts, batch_size=128, seed=1, input_nodes="train",
                                   preload_csr=preload, as_torch=False)
        seen = []
        for b in loader:
            check_batch(b, ref.indptr, ref.indices, ref.x, ref.y, fanouts)
            seen.append(np.asarray(b.n_id[:b.batch_size]))
        seen = np.concatenate(seen)
        assert len(seen) == ref.train_mask.sum()
        np.testing.assert_array_equal(np.sort(seen), np.flatnonzero(ref.train_mask))
    # The preloaded CSR samples exactly what the dataset reads give.
    a = gg.NeighborLoader(tmp_path / "g", fanouts, batch_size=100, seed=4, as_torch=False).batches()[3]
    b = gg.NeighborLoader(tmp_path / "g", fanouts, batch_size=100, seed=4, as_torch=False,
                          preload_csr=True).batches()[3]
    np.testing.assert_array_equal(a.n_id, b.n_id)


def test_neighbor_loader_workers_yield_the_same_torch_batches(ogb_dir, tmp_path):
    gg.ingest_ogb(ogb_dir, tmp_path / "g")
    ds = gtn.dataset(tmp_path / "g", read_only=True)
    mask = gg.load(ds).valid_mask
    one = list(gg.NeighborLoader(ds, [4, 4], batch_size=64, seed=7, input_nodes=mask))
    two = list(gg.NeighborLoader(ds, [4, 4], batch_size=64, seed=7, input_nodes=mask, num_workers=2))
    assert len(one) == len(two) == -(-int(mask.sum()) // 64)
    for p, q in zip(one, two):
        assert isinstance(q.x, torch.Tensor) and q.n_id.dtype == torch.int64
        assert torch.equal(p.n_id, q.n_id) and torch.equal(p.x, q.x) and torch.equal(p.y, q.y)
        for bp, bq in zip(p.blocks, q.blocks):
            assert torch.equal(bp["indices"], bq["indices"])
        ei, (n_src, n_dst) = q.adjs()[-1]
        assert n_dst == q.batch_size and ei.shape[0] == 2
    # The next epoch reshuffles; a loader with another seed samples differently.
    loader = gg.NeighborLoader(ds, [4, 4], batch_size=64, seed=7, input_nodes=mask)
    e0, e1 = next(iter(loader)), next(iter(loader))
    assert torch.equal(e0.n_id, one[0].n_id) and not torch.equal(e1.n_id[:64], e0.n_id[:64])


def test_loader_rejects_bad_arguments(ogb_dir, tmp_path):
    gg.ingest_ogb(ogb_dir, tmp_path / "g")
    with pytest.raises(ValueError, match="fanouts"):
        gg.NeighborLoader(tmp_path / "g", [])
    with pytest.raises(ValueError, match="not a split"):
        gg.NeighborLoader(tmp_path / "g", [2], input_nodes="training")
    with pytest.raises(ValueError, match=r"ids must lie in \[0, 2000\)"):
        gg.NeighborLoader(tmp_path / "g", [2], input_nodes=[5, 2000])
    with pytest.raises(ValueError, match="is not a fanout"):
        next(iter(gg.NeighborLoader(tmp_path / "g", [2, 0])))


def star_dataset(path, degree):
    """Node 0 linked to nodes 1..degree; x = node id."""
    ds = gtn.dataset(path)
    ds.create_tensor("neighbors", htype="neighbors")
    ds.create_tensor("x", dtype="float32")
    rows = [np.arange(1, degree + 1, dtype=np.int64)] + [np.array([0], dtype=np.int64)] * degree
    ds.extend({"neighbors": rows, "x": np.arange(degree + 1, dtype=np.float32)[:, None]})
    ds.commit("star")
    return ds


def test_sampled_neighbours_are_uniform(tmp_path):
    star_dataset(tmp_path / "s", 40)
    s = gtn._core._NeighborSampler(str(tmp_path / "s"), "", [5], "neighbors", "x", "", False)
    counts = np.zeros(41)
    pair = np.zeros((41, 41))
    draws = 4000
    for seed in range(draws):
        got = s.sample(np.array([0]), seed)["n_id"][1:]
        assert len(got) == 5
        counts[got] += 1
        pair[got[0], got[1]] += 1
    # Each neighbour appears 4000 * 5 / 40 = 500 times in expectation (fixed seeds: the
    # statistic is the same on every run).
    chi = stats.chisquare(counts[1:])
    assert chi.pvalue > 1e-3, chi
    assert counts[1:].min() > 400 and counts[1:].max() < 600


def permuted_copy(src_path, dst_path, perm):
    """The graph of src with row i of the copy = row perm[i] of src, neighbour ids remapped."""
    g = gg.load(src_path)
    inv = np.empty_like(perm)
    inv[perm] = np.arange(len(perm))
    ds = gtn.dataset(dst_path)
    ds.create_tensor("neighbors", htype="neighbors")
    ds.create_tensor("x", dtype="float32")
    rows = [np.sort(inv[g.indices[g.indptr[v]:g.indptr[v + 1]]]) for v in perm]
    ds.extend({"neighbors": rows, "x": np.ascontiguousarray(g.x[perm])})
    ds.commit("permuted")
    return inv


def test_reordered_layout_samples_the_same_distribution(ogb_dir, tmp_path):
    gg.ingest_ogb(ogb_dir, tmp_path / "g", chunk_bytes=16 << 10)
    perm = np.random.default_rng(5).permutation(2000)
    inv = permuted_copy(tmp_path / "g", tmp_path / "p", perm)
    ref = gg.load(tmp_path / "g")
    deg = np.diff(ref.indptr)
    seeds = np.argsort(-deg)[:3]  # high-degree nodes: real choice at both hops
    fan = [4, 3]
    a = gtn._core._NeighborSampler(str(tmp_path / "g"), "", fan, "neighbors", "x", "", False)
    b = gtn._core._NeighborSampler(str(tmp_path / "p"), "", fan, "neighbors", "x", "", False)
    draws = 1500
    ca, cb = np.zeros(2000), np.zeros(2000)
    for seed in range(draws):
        ra = a.sample(seeds, seed)
        rb = b.sample(inv[seeds], 10_000 + seed)
        na, nb = ra["n_id"], perm[rb["n_id"]]  # map the copy's ids back
        assert set(nb[:3]) == set(seeds)
        np.testing.assert_array_equal(ra["x"], ref.x[na])
        np.testing.assert_array_equal(rb["x"], ref.x[nb])
        ca[na[3:]] += 1
        cb[nb[3:]] += 1
    keep = (ca + cb) >= 10  # chi-square needs expected counts of at least ~5 per cell
    table = np.stack([ca[keep], cb[keep]])
    chi2, p, dof, _ = stats.chi2_contingency(table)
    assert dof > 50 and p > 1e-3, (chi2, p, dof)
