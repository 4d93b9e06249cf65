"""Graph datasets (docs/graph.md): rows are nodes.

Schema: ``x`` node features, ``y`` node labels (class_label), ``split`` (class_label:
train, valid, test, none), ``neighbors`` (htype neighbors: node i's out-neighbours, the CSR
row of the edge index), optional ``in_neighbors`` (the CSC) and ``edge_attr``
(htype edge_feature, aligned with ``neighbors``).

- :func:`from_ogb` ingests an OGB node-property dataset from its raw on-disk files.
- :func:`load` returns the whole graph as numpy arrays or torch tensors (CSR, x, y, masks).
- :func:`to_pyg` / :func:`to_dgl` / :func:`dgl_args` hand it to PyTorch Geometric / DGL.
- :class:`NeighborLoader` samples GraphSAGE-style mini-batches in C++, in DataLoader workers.
"""
import os
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np

from gtn import _core
from gtn.dataset import Dataset, dataset as _open_dataset

__all__ = ["from_ogb", "ingest_ogb", "load", "Graph", "to_pyg", "to_dgl", "dgl_args", "DGLArgs", "NeighborLoader",
           "MiniBatch", "SPLITS"]

SPLITS = ("train", "valid", "test", "none")


def ingest_ogb(src, dst, split=None, to_undirected=False, csc=False, int32_ids=False, chunk_bytes=8 << 20,
               chunk_compression="none", message=None, progress=False):
    """Ingests the OGB node-property dataset unpacked at ``src`` (its ``raw/`` and
    ``split/<name>/`` folders) into a new dataset at ``dst`` as one commit, and returns the
    report (nodes, edges, features, classes, split sizes, tensors, commit).

    ``split``: the folder under ``split/`` (default: the only one). ``to_undirected`` adds
    reverse edges and merges duplicates; ``csc`` also writes ``in_neighbors``;
    ``int32_ids`` stores neighbour ids as int32. ``chunk_bytes`` and ``chunk_compression``
    set every tensor's layout (default: 8 MiB uncompressed chunks). Errors name the file
    and line; nothing is left at ``dst`` when the ingest fails.
    """
    src, dst = os.fspath(src), os.fspath(dst)
    if os.path.exists(dst):
        raise FileExistsError(f"{dst} exists; from_ogb writes a new dataset")
    callback = None
    if progress is True:
        def callback(stage, done, total, _last=[None]):  # noqa: B006 (one line per stage)
            if stage != _last[0]:
                print(f"  {stage}", flush=True)
                _last[0] = stage
    elif callable(progress):
        callback = progress
    return _core._graph_ingest_ogb(src, dst, split=split or "", to_undirected=bool(to_undirected), csc=bool(csc),
                                   int32_ids=bool(int32_ids), chunk_bytes=int(chunk_bytes),
                                   chunk_compression=str(chunk_compression), message=message or "",
                                   progress=callback)


def from_ogb(src, dst, **options):
    """:func:`ingest_ogb`, then opens the new dataset (read-only) and returns it."""
    ingest_ogb(src, dst, **options)
    return _open_dataset(dst, read_only=True)


def _as_dataset(ds):
    if isinstance(ds, Dataset):
        return ds
    if isinstance(ds, (str, bytes, os.PathLike)):
        return _open_dataset(ds, read_only=True, create=False)
    raise TypeError(f"expected a gtn.Dataset or a dataset path, not {type(ds).__name__}")


@dataclass
class Graph:
    """A whole graph in memory. ``indptr``/``indices`` are the CSR of ``neighbors``
    (out-neighbours); ``split`` holds class ids of :data:`SPLITS`; the masks derive from it.
    ``indices_zero_copy``/``x_zero_copy`` say whether the arrays view the dataset's chunks."""
    num_nodes: int
    indptr: object
    indices: object
    x: object = None
    y: object = None
    split: object = None
    train_mask: object = None
    valid_mask: object = None
    test_mask: object = None
    indices_zero_copy: bool = False
    x_zero_copy: bool = False

    @property
    def num_edges(self):
        return int(self.indices.shape[0])

    def edge_index(self):
        """The COO edge index (2, E), row 0 = source, row 1 = neighbour (a new array)."""
        deg = np.diff(np.asarray(self.indptr))
        src = np.repeat(np.arange(self.num_nodes, dtype=np.int64), deg)
        out = np.stack([src, np.asarray(self.indices).astype(np.int64, copy=False)])
        return _like(out, self.indptr)


def _like(arr, ref):
    if type(ref).__module__.startswith("torch"):
        import torch
        return torch.from_numpy(arr)
    return arr


def _np(a):
    """The array with numpy's canonical descriptor of its dtype (the C++ side builds int64
    arrays as 'long long', which numpy-typed C APIs, e.g. Dataset.extend, refuse)."""
    return None if a is None else a.view(np.dtype(a.dtype.str))  # (kept: numpy-typed consumers compare type codes)


def load(ds, as_torch=False, neighbors="neighbors", x="x", y="y", split="split"):
    """The whole graph of ``ds`` (a gtn.Dataset or a path) as a :class:`Graph` of numpy
    arrays, or of torch tensors sharing their memory with ``as_torch=True``. Arrays view the
    dataset's chunk memory where a tensor lies in one uncompressed chunk, else are one copy.
    A tensor name set to None (or absent from the dataset) is not loaded."""
    d = _as_dataset(ds)
    r = _core._graph_load_csr(d, neighbors=neighbors, x=x or "", y=y or "", split=split or "")
    for k in ("indptr", "indices", "x", "y", "split"):
        r[k] = _np(r[k])
    sp = r["split"]
    masks = [None, None, None] if sp is None else [sp == k for k in range(3)]
    g = Graph(num_nodes=int(r["num_nodes"]), indptr=r["indptr"], indices=r["indices"], x=r["x"], y=r["y"], split=sp,
              train_mask=masks[0], valid_mask=masks[1], test_mask=masks[2],
              indices_zero_copy=bool(r["indices_zero_copy"]), x_zero_copy=bool(r["x_zero_copy"]))
    if as_torch:
        import torch
        for name in ("indptr", "indices", "x", "y", "split", "train_mask", "valid_mask", "test_mask"):
            v = getattr(g, name)
            if v is not None:
                setattr(g, name, _torch_from(v))
    return g


def _torch_from(a):
    import warnings

    import torch
    with warnings.catch_warnings():
        # Views of read-only chunk memory: torch cannot mark a tensor read-only and warns;
        # the tensors share the chunk memory and must not be written to.
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(a)


def to_pyg(ds, **load_options):
    """A ``torch_geometric.data.Data`` with ``x``, ``y``, ``edge_index`` (2, E) (built from
    the CSR: the one copy PyG's COO layout needs), ``train_mask``/``val_mask``/``test_mask``
    and ``num_nodes``. ``x`` and ``y`` share memory with the arrays :func:`load` returns."""
    from torch_geometric.data import Data
    g = load(ds, as_torch=True, **load_options)
    data = Data(edge_index=g.edge_index(), num_nodes=g.num_nodes)
    if g.x is not None:
        data.x = g.x
    if g.y is not None:
        data.y = g.y
    if g.split is not None:
        data.train_mask, data.val_mask, data.test_mask = g.train_mask, g.valid_mask, g.test_mask
    return data


@dataclass
class DGLArgs:
    """Exactly what ``dgl.graph`` takes for the graph, plus the node data:
    ``g = dgl.graph(args.graph_data, num_nodes=args.num_nodes); g.ndata.update(args.ndata)``.
    ``graph_data`` is ``('csr', (indptr, indices, edge_ids))``: rows are source nodes."""
    graph_data: tuple
    num_nodes: int
    ndata: dict = field(default_factory=dict)

    def build(self):
        import dgl
        g = dgl.graph(self.graph_data, num_nodes=self.num_nodes)
        g.ndata.update(self.ndata)
        return g


def dgl_args(ds, **load_options):
    """The arguments of ``dgl.graph`` for the dataset's graph (torch tensors, no copy of the
    CSR beyond :func:`load`'s) and its node data (``feat``, ``label``, ``train_mask``,
    ``val_mask``, ``test_mask``, DGL's usual names)."""
    import torch
    g = load(ds, as_torch=True, **load_options)
    indices = g.indices if g.indices.dtype == torch.int64 else g.indices.to(torch.int64)
    eids = torch.arange(g.num_edges, dtype=torch.int64)
    ndata = {}
    if g.x is not None:
        ndata["feat"] = g.x
    if g.y is not None:
        ndata["label"] = g.y
    if g.split is not None:
        ndata.update(train_mask=g.train_mask, val_mask=g.valid_mask, test_mask=g.test_mask)
    return DGLArgs(graph_data=("csr", (g.indptr, indices, eids)), num_nodes=g.num_nodes, ndata=ndata)


def to_dgl(ds, **load_options):
    """A ``dgl.DGLGraph`` of the dataset (needs the ``dgl`` package; :func:`dgl_args` gives
    the same arguments without it)."""
    try:
        import dgl  # noqa: F401
    except ImportError as e:
        raise ImportError("to_dgl needs the dgl package; gtn.graph.dgl_args(ds) returns the arguments of "
                          "dgl.graph(...) and the node data without it") from e
    return dgl_args(ds, **load_options).build()


# --- mini-batch neighbour sampling ---

@dataclass
class MiniBatch:
    """One sampled mini-batch. ``n_id``: every node touched, the ``batch_size`` seeds
    first; ``x``: their features; ``y``: the seeds' labels. ``blocks[l]`` is hop l from the
    seeds outwards: a CSR (``indptr`` over its ``num_dst`` destination nodes = the first
    ``num_dst`` of ``n_id``, ``indices`` = local ids of source nodes among the first
    ``num_src``). A GNN runs ``reversed(blocks)`` (DGL's MFG order)."""
    n_id: object
    batch_size: int
    x: object
    y: object
    blocks: list
    hop_nodes: list

    def adjs(self):
        """PyG NeighborSampler-style ``[(edge_index, (num_src, num_dst)), ...]``, outermost
        hop first: ``edge_index[0]`` local source ids, ``edge_index[1]`` local destination ids."""
        out = []
        for b in reversed(self.blocks):
            indptr, indices = b["indptr"], b["indices"]
            if type(indptr).__module__.startswith("torch"):
                import torch
                deg = indptr[1:] - indptr[:-1]
                dst = torch.repeat_interleave(torch.arange(b["num_dst"], dtype=torch.int64), deg)
                ei = torch.stack([indices, dst])
            else:
                dst = np.repeat(np.arange(b["num_dst"], dtype=np.int64), np.diff(indptr))
                ei = np.stack([indices, dst])
            out.append((ei, (b["num_src"], b["num_dst"])))
        return out


def _to_minibatch(r, batch_size, as_torch):
    blocks = [dict(b, indptr=_np(b["indptr"]), indices=_np(b["indices"])) for b in r["blocks"]]
    x, y, n_id = _np(r["x"]), _np(r["y"]), _np(r["n_id"])
    if as_torch:
        import torch
        conv = torch.from_numpy
        n_id = conv(n_id)
        x = conv(x) if x is not None else None
        y = conv(y) if y is not None else None
        blocks = [dict(b, indptr=conv(b["indptr"]), indices=conv(b["indices"])) for b in blocks]
    return MiniBatch(n_id=n_id, batch_size=batch_size, x=x, y=y, blocks=blocks, hop_nodes=list(r["hop_nodes"]))


class _Sampler:
    """A C++ sampler over this process's own read-only handle (reopened after a fork)."""

    def __init__(self, path, version, fanouts, neighbors, x, y, preload_csr):
        self.args = (path, version, list(fanouts), neighbors, x or "", y or "", bool(preload_csr))
        self._s = None
        self._pid = None

    def __getstate__(self):
        return {"args": self.args}

    def __setstate__(self, state):
        self.args = state["args"]
        self._s = None
        self._pid = None

    def get(self):
        if self._s is None or self._pid != os.getpid():
            self._s = _core._NeighborSampler(*self.args)
            self._pid = os.getpid()
        return self._s


def _batch_seed(seed, epoch, index):
    return ((int(seed) * 1_000_003 + int(epoch)) * 1_000_033 + int(index)) & 0xFFFFFFFFFFFFFFFF


class _Batches:
    """Map-style dataset of one epoch's batches (batch i -> a MiniBatch)."""

    def __init__(self, sampler, order, batch_size, seed, epoch, as_torch):
        self.sampler, self.order, self.batch_size = sampler, order, batch_size
        self.seed, self.epoch, self.as_torch = seed, epoch, as_torch

    def __len__(self):
        return (len(self.order) + self.batch_size - 1) // self.batch_size

    def __getitem__(self, i):
        seeds = np.ascontiguousarray(self.order[i * self.batch_size:(i + 1) * self.batch_size], dtype=np.int64)
        r = self.sampler.get().sample(seeds, _batch_seed(self.seed, self.epoch, i))
        return _to_minibatch(r, len(seeds), self.as_torch)


class NeighborLoader:
    """GraphSAGE-style mini-batches of a graph dataset: each batch takes ``batch_size`` seed
    nodes from ``input_nodes`` and samples, hop by hop, ``fanouts[l]`` neighbours per node
    (all of them when a node has fewer; uniformly without replacement otherwise), in C++
    without the GIL, then gathers ``x`` of every node touched and ``y`` of the seeds.

    ``ds``: a gtn.Dataset or a path (each worker opens it read-only at the same version).
    ``input_nodes``: None (every node), "train"/"valid"/"test" (from ``split``), a boolean
    mask or node ids. ``num_workers`` > 0 runs a ``torch.utils.data.DataLoader`` with that many
    worker processes. Batches are deterministic for (``seed``, epoch, batch index), whatever
    the number of workers; each ``iter()`` starts the next epoch (``set_epoch`` to choose).
    ``preload_csr`` loads the whole CSR once per process instead of reading ``neighbors``
    rows from the dataset. ``as_torch=False`` yields numpy arrays (``num_workers`` must be 0).
    """

    def __init__(self, ds, fanouts, batch_size=1024, shuffle=True, seed=0, num_workers=0, input_nodes=None,
                 drop_last=False, neighbors="neighbors", x="x", y="y", preload_csr=False, as_torch=True,
                 multiprocessing_context=None, persistent_workers=False, prefetch_factor=None):
        d = _as_dataset(ds)
        self.path = d.path
        self.version = d._version() or ""
        self.fanouts = [int(f) for f in fanouts]
        if not self.fanouts:
            raise ValueError("fanouts: give at least one hop, e.g. [15, 10, 5]")
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size = int(batch_size)
        self.shuffle, self.seed, self.drop_last = bool(shuffle), int(seed), bool(drop_last)
        self.num_workers = int(num_workers)
        self.as_torch = bool(as_torch)
        if self.num_workers and not self.as_torch:
            raise ValueError("num_workers > 0 runs a torch DataLoader: use as_torch=True")
        self.input_nodes = self._input_nodes(d, input_nodes, split_tensor="split")
        self.epoch = 0
        self._sampler = _Sampler(self.path, self.version, self.fanouts, neighbors, x, y, preload_csr)
        self._loader_options = dict(multiprocessing_context=multiprocessing_context,
                                    persistent_workers=persistent_workers and self.num_workers > 0)
        if prefetch_factor is not None:
            self._loader_options["prefetch_factor"] = prefetch_factor

    @staticmethod
    def _input_nodes(d, input_nodes, split_tensor):
        n = len(d)
        if input_nodes is None:
            return np.arange(n, dtype=np.int64)
        if isinstance(input_nodes, str):
            if input_nodes not in SPLITS[:3]:
                raise ValueError(f"input_nodes: {input_nodes!r} is not a split; expected one of train, valid, test")
            split = d[split_tensor].numpy().reshape(-1)
            return np.flatnonzero(split == SPLITS.index(input_nodes)).astype(np.int64)
        a = np.asarray(input_nodes.numpy() if hasattr(input_nodes, "numpy") else input_nodes)
        if a.dtype == np.bool_:
            if a.shape != (n,):
                raise ValueError(f"input_nodes: a mask needs one entry per node ({n}), got shape {a.shape}")
            return np.flatnonzero(a).astype(np.int64)
        if a.ndim != 1 or not np.issubdtype(a.dtype, np.integer):
            raise ValueError("input_nodes: expected None, a split name, a boolean mask or 1-d integer node ids")
        a = a.astype(np.int64)
        if a.size and (a.min() < 0 or a.max() >= n):
            raise ValueError(f"input_nodes: ids must lie in [0, {n})")
        if np.unique(a).size != a.size:
            raise ValueError("input_nodes: node ids repeat")
        return a

    def set_epoch(self, epoch):
        self.epoch = int(epoch)

    def __len__(self):
        n = len(self.input_nodes)
        return n // self.batch_size if self.drop_last else (n + self.batch_size - 1) // self.batch_size

    def _order(self, epoch):
        order = self.input_nodes
        if self.shuffle:
            order = np.random.default_rng([self.seed, epoch]).permutation(order)
        if self.drop_last:
            order = order[:len(self) * self.batch_size]
        return order

    def batches(self, epoch=None):
        """The map-style dataset of one epoch's batches (``len``, ``[i]``)."""
        epoch = self.epoch if epoch is None else int(epoch)
        return _Batches(self._sampler, self._order(epoch), self.batch_size, self.seed, epoch, self.as_torch)

    def __iter__(self):
        batches = self.batches()
        self.epoch += 1
        if self.num_workers == 0:
            return (batches[i] for i in range(len(batches)))
        import torch.utils.data
        loader = torch.utils.data.DataLoader(batches, batch_size=None, shuffle=False,
                                             num_workers=self.num_workers, collate_fn=_identity,
                                             **self._loader_options)
        return iter(loader)


def _identity(x):
    return x
