"""PyTorch loading for GTN datasets: ``ds.pytorch(...)`` and ``gtn.pytorch.TorchDataset``.

    loader = ds.pytorch(batch_size=256, shuffle=True, num_workers=2, seed=0)
    for epoch in range(3):
        for batch in loader:          # dict: tensor name -> torch.Tensor (text: list of str)
            ...

The loader is a ``torch.utils.data.DataLoader`` over a map-style dataset
(:class:`TorchDataset`) driven by a batch sampler (:class:`ChunkBatchSampler`): the main
process decides every batch's sample indices, the workers read a whole batch with one
batch read per tensor (the C++ gather behind ``ds["t"][indices].numpy()``, which decodes
straight into one new stacked array) and hand it to torch without a further copy. With
``num_workers=0`` (and no ``pin_memory``) the loader reads the sampler's batches itself,
without the DataLoader's per-batch machinery; the batches are the same.

- Workers reopen the dataset read-only by its path (a :class:`TorchDataset` pickles as the
  path and its options), so the "fork" and "spawn" start methods both work.
- Shuffling is chunk-local (see :func:`epoch_order` for the exact rule) and depends only on
  ``(seed, epoch)``: the same seed gives the same batches for any ``num_workers``.
- ``state_dict()`` / ``load_state_dict()`` resume mid-epoch at the next batch;
  ``set_epoch(e)`` selects the shuffle of epoch ``e`` (a completed pass advances it too).
- Batches are dicts of writable tensors; torch never sees a read-only numpy array, so no
  "non-writable" warning.

See docs/pytorch.md.
"""
from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader
from torch.utils.data import Dataset as _TorchMapDataset
from torch.utils.data import Sampler
from torch.utils.data import default_collate

from gtn import _core

__all__ = ["Loader", "TorchDataset", "ChunkBatchSampler", "SampleList", "collate", "epoch_order",
           "block_size_of"]

# Default shuffle window: at least this many blocks, and at least this many batches' worth
# of samples (see epoch_order).
_MIN_WINDOW_BLOCKS = 8
_MIN_WINDOW_BATCHES = 4


# --- reading ---------------------------------------------------------------------------

def _open_read_only(path, version=None):
    from gtn.dataset import Dataset  # deferred: gtn imports this module lazily
    return Dataset(path, read_only=True, version=version)


def _writable_tensor(a):
    """A torch tensor of numpy array ``a`` sharing its memory when it is writable; a
    read-only view (a zero-copy view of stored bytes) is copied once."""
    if not a.flags.writeable:
        a = a.copy()
    return torch.from_numpy(a)


def _to_torch(col):
    """One tensor's batch as a collate-style value: a stacked numpy array becomes a tensor
    sharing its memory; a list (text, json, bytes or samples of different shapes) stays a
    list, numeric items becoming tensors."""
    if isinstance(col, np.ndarray):
        return _writable_tensor(col)
    if col and isinstance(col[0], np.ndarray):
        return [_writable_tensor(a) for a in col]
    return col


def _writable_numpy(v):
    if isinstance(v, np.ndarray) and not v.flags.writeable:
        return v.copy()
    return v


class SampleList(Sequence):
    """The samples of one batch as :meth:`TorchDataset.__getitems__` returns them: a
    sequence of per-sample dicts (views into the batch, built on access) that also holds the
    batch itself. :func:`collate` returns that batch as it is; ``default_collate`` stacks the
    views again (correct, but a second copy)."""

    __slots__ = ("batch", "_n")

    def __init__(self, batch, n):
        self.batch = batch
        self._n = n

    def __len__(self):
        return self._n

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self[j] for j in range(*k.indices(self._n))]
        if k < 0:
            k += self._n
        if not 0 <= k < self._n:
            raise IndexError(k)
        return {name: col[k] for name, col in self.batch.items()}


def collate(samples):
    """``collate_fn`` for :class:`TorchDataset`: a :class:`SampleList` gives its batch
    without copying; anything else goes to ``torch.utils.data.default_collate``."""
    if isinstance(samples, SampleList):
        return samples.batch
    return default_collate(samples)


def _first(batch):
    """``collate_fn`` of the DataLoader that :class:`Loader` drives: the dataset already
    returned the collated batch."""
    return batch


class TorchDataset(_TorchMapDataset):
    """A map-style ``torch.utils.data.Dataset`` over a GTN dataset (a ``gtn.Dataset`` or a
    path), opened read-only by path in every process that reads.

    - ``td[i]``: sample ``i`` as a dict tensor name -> torch tensor (text: str, json: the
      parsed object, bytes: bytes); or ``transform(sample)`` where ``sample`` holds writable
      numpy arrays.
    - ``td.__getitems__(indices)`` (called by ``DataLoader`` with a batch of indices): one
      batch read per tensor; without ``transform`` a :class:`SampleList` whose ``.batch`` is
      the collated batch (pass ``collate_fn=gtn.pytorch.collate`` to take it as it is),
      with ``transform`` the list of transformed samples.

    ``tensors`` picks (and orders) the tensors read; ``return_index`` adds an ``"index"``
    entry (int64) with each sample's index. Pickles as its path and options: workers reopen
    the dataset, whichever the start method.
    """

    def __init__(self, dataset, tensors=None, transform=None, return_index=False):
        if isinstance(dataset, (str, os.PathLike)):
            self.path = os.fspath(dataset)
            self.version = None
            self._ds = None
        else:
            self.path = dataset.path
            self.version = dataset._version()  # workers read the same branch or commit
            if dataset.read_only:
                self._ds = dataset  # already safe to read from any thread of this process
            else:
                if dataset.current_branch:  # a detached checkout (a commit) has nothing to flush
                    dataset.flush()  # readers see the last flushed version
                self._ds = None
        self._pid = os.getpid()
        names = self._dataset()._tensor_names()
        if tensors is None:
            tensors = list(names)
        elif isinstance(tensors, str):
            tensors = [tensors]
        else:
            tensors = list(tensors)
        unknown = [t for t in tensors if t not in names]
        if unknown:
            raise KeyError(f"no tensor(s) {unknown} in {self.path} (tensors: {', '.join(names) or 'none'})")
        if not tensors:
            raise ValueError("tensors: pick at least one tensor")
        if return_index and "index" in tensors:
            raise ValueError("return_index adds an 'index' entry, but the dataset has a tensor named 'index'")
        self.tensors = tensors
        self.transform = transform
        self.return_index = bool(return_index)

    # Pickled as the path and the options: the open dataset stays in its process.
    def __getstate__(self):
        return {"path": self.path, "version": self.version, "tensors": self.tensors, "transform": self.transform,
                "return_index": self.return_index}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._ds = None
        self._pid = None

    def _dataset(self):
        """The read-only dataset of this process, opened on first use after a fork or an
        unpickling (a dataset object is never shared across processes)."""
        if self._ds is None or self._pid != os.getpid():
            self._ds = _open_read_only(self.path, getattr(self, "version", None))
            self._pid = os.getpid()
        return self._ds

    def __len__(self):
        return len(self._dataset())

    def __repr__(self):
        return f"gtn.pytorch.TorchDataset({self.path!r}, tensors={self.tensors})"

    def read_batch(self, indices):
        """Tensor name -> the batch as GTN reads it: a stacked numpy array (a new, writable
        array) or a list. ``indices``: a list of ints, or a ``range`` (read as a range)."""
        ds = self._dataset()
        if isinstance(indices, range) and indices.step == 1:
            a, b = indices.start, indices.stop
            with _core._TraceCall():  # one batch in an access trace
                cols = {t: ds._read_range(t, a, b) for t in self.tensors}
            if self.return_index:
                cols["index"] = np.arange(a, b, dtype=np.int64)
            return cols
        if not isinstance(indices, list):
            indices = [int(i) for i in indices]
        with _core._TraceCall():
            cols = {t: ds._read_many(t, indices) for t in self.tensors}
        if self.return_index:
            n = len(ds)
            cols["index"] = np.array([i + n if i < 0 else i for i in indices], dtype=np.int64)
        return cols

    def __getitem__(self, index):
        if not isinstance(index, (int, np.integer)):
            raise TypeError(f"TorchDataset indices are int, not {type(index).__name__}; "
                            f"batches go through __getitems__")
        ds = self._dataset()
        index = int(index)
        sample = {t: ds._read(t, index) for t in self.tensors}
        if self.return_index:
            sample["index"] = np.array(index + len(ds) if index < 0 else index, dtype=np.int64)
        if self.transform is not None:
            return self.transform({k: _writable_numpy(v) for k, v in sample.items()})
        return {k: (_writable_tensor(v) if isinstance(v, np.ndarray) else v) for k, v in sample.items()}

    def __getitems__(self, indices):
        cols = self.read_batch(indices)
        n = len(indices)
        if self.transform is None:
            return SampleList({k: _to_torch(v) for k, v in cols.items()}, n)
        cols = {k: (v if isinstance(v, np.ndarray) else [_writable_numpy(x) for x in v]) for k, v in cols.items()}
        return [self.transform({k: v[j] for k, v in cols.items()}) for j in range(n)]


class _LoaderDataset(TorchDataset):
    """The dataset a :class:`Loader` gives its DataLoader (``batch_size=None``): an index
    is a whole batch (a list of ints or a range), and the result is the finished batch."""

    def __init__(self, dataset, tensors, transform, return_index, collate_fn, batch_transform):
        super().__init__(dataset, tensors=tensors, transform=transform, return_index=return_index)
        self.collate_fn = collate_fn
        self.batch_transform = batch_transform

    def __getstate__(self):
        state = super().__getstate__()
        state.update(collate_fn=self.collate_fn, batch_transform=self.batch_transform)
        return state

    def __getitem__(self, indices):
        if isinstance(indices, (int, np.integer)):
            return super().__getitem__(indices)
        if self.transform is None:
            batch = {k: _to_torch(v) for k, v in self.read_batch(indices).items()}
        else:
            batch = (self.collate_fn or default_collate)(self.__getitems__(indices))
        if self.batch_transform is not None:
            batch = self.batch_transform(batch)
        return batch


# --- order -----------------------------------------------------------------------------

def block_size_of(dataset, tensors=None):
    """Samples per chunk of the most finely chunked tensor among ``tensors`` (default: all):
    ``ceil(length / num_chunks)`` from ``ds[t].info``, at least 1."""
    names = dataset._tensor_names() if tensors is None else tensors
    n = len(dataset)
    chunks = max([dataset._tensor_info(t)["num_chunks"] for t in names] or [1])
    return max(1, math.ceil(n / max(1, chunks)))


def epoch_order(n, block_size, window, seed, epoch):
    """The shuffled order of samples ``0..n-1`` for ``(seed, epoch)``, as an int64 array.

    1. Cut ``0..n-1`` into blocks of ``block_size`` consecutive indices (the last may be
       shorter): a block is about one chunk of the most finely chunked tensor.
    2. Permute the blocks.
    3. Group the permuted blocks into windows of ``window`` consecutive blocks (the last
       may hold fewer) and permute the indices within each window.
    4. Concatenate the windows.

    The random generator is numpy's PCG64 seeded with ``SeedSequence([seed, epoch])``.
    So a stretch of the order touches about ``window`` chunks per tensor, each chunk's
    samples are read close together in time (while it is in the chunk cache), and every
    sample appears exactly once."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), int(epoch)])))
    block_size = max(1, int(block_size))
    window = max(1, int(window))
    num_blocks = -(-n // block_size)
    blocks = rng.permutation(num_blocks)
    starts = blocks * block_size
    lengths = np.minimum(starts + block_size, n) - starts
    # Indices of the blocks in their permuted order, without a Python loop.
    offsets = np.repeat(np.cumsum(lengths) - lengths, lengths)
    order = np.repeat(starts, lengths) + (np.arange(n, dtype=np.int64) - offsets)
    ends = np.cumsum(lengths)  # the short last block may sit anywhere after step 2
    bounds = [0] + ends[window - 1::window].tolist()
    if bounds[-1] != n:
        bounds.append(n)
    for a, b in zip(bounds[:-1], bounds[1:]):
        rng.shuffle(order[a:b])
    return order.astype(np.int64, copy=False)


class ChunkBatchSampler(Sampler):
    """Batches of sample indices for a ``DataLoader``: ``batch_sampler=`` with
    :class:`TorchDataset` (and ``collate_fn=gtn.pytorch.collate``), or the sampler of
    :class:`Loader`.

    Without ``shuffle`` batch ``k`` is ``range(k * batch_size, ...)``. With it, the order is
    :func:`epoch_order` of ``(seed, epoch)`` cut into batches, and each batch's indices are
    sorted ascending (which samples form a batch is random; their order inside it does
    not matter for training, and ascending order reads each chunk once, front to back).
    ``drop_last`` drops the last, incomplete batch. ``start`` skips that many batches of
    the epoch (resumption); ``set_epoch`` selects the shuffle.

    ``window`` (blocks per shuffle window) defaults to ``max(8, ceil(4 * batch_size /
    block_size))``: at least 8 chunks, and at least 4 batches' worth of samples.
    """

    def __init__(self, num_samples, batch_size, shuffle=False, drop_last=False, seed=0,
                 block_size=1, window=None):
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.num_samples = int(num_samples)
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = int(seed)
        self.block_size = max(1, int(block_size))
        if window is None:
            window = max(_MIN_WINDOW_BLOCKS, math.ceil(_MIN_WINDOW_BATCHES * self.batch_size / self.block_size))
        self.window = max(1, int(window))
        self.epoch = 0
        self.start = 0

    def set_epoch(self, epoch):
        self.epoch = int(epoch)

    def __len__(self):
        if self.drop_last:
            return self.num_samples // self.batch_size
        return -(-self.num_samples // self.batch_size)

    def batches(self, epoch=None, start=0):
        """The batches of ``epoch`` (default: the current one) from batch ``start`` on."""
        epoch = self.epoch if epoch is None else epoch
        n, bs = self.num_samples, self.batch_size
        total = len(self)
        if not self.shuffle:
            return [range(k * bs, min(n, (k + 1) * bs)) for k in range(start, total)]
        order = epoch_order(n, self.block_size, self.window, self.seed, epoch)
        full = n // bs
        out = []
        if start < full:
            out.extend(np.sort(order[start * bs:full * bs].reshape(-1, bs), axis=1).tolist())
        if total > full and start <= full:
            out.append(np.sort(order[full * bs:]).tolist())
        return out

    def __iter__(self):
        # Reads epoch and start now, not when the DataLoader first asks for a batch.
        return iter(self.batches(self.epoch, self.start))


# --- the loader ------------------------------------------------------------------------

class Loader:
    """What ``ds.pytorch(...)`` returns: iterate it for batches (dicts tensor name -> torch
    tensor; text, json and bytes tensors give lists; samples of different shapes give a list
    of tensors).

    Arguments are those of ``torch.utils.data.DataLoader`` where they exist
    (``batch_size``, ``shuffle``, ``num_workers``, ``drop_last``, ``pin_memory``,
    ``prefetch_factor``, ``persistent_workers``, ``timeout``, ``worker_init_fn``,
    ``multiprocessing_context``), plus:

    - ``tensors``: the tensors to read (default: all), in this order.
    - ``transform``: applied to each sample (a dict of writable numpy arrays / str / objects)
      in the workers; the results go through ``collate_fn`` (default ``default_collate``).
    - ``batch_transform``: applied to each finished batch in the workers.
    - ``seed``: the shuffle's seed (``None``: drawn once, kept in ``state_dict()``).
    - ``return_index``: add ``"index"``, the int64 sample indices of the batch.
    - ``block_size``, ``shuffle_window``: the shuffle's blocks and window (see
      :func:`epoch_order`; default: samples per chunk from ``ds[t].info``, and
      ``max(8, ceil(4 * batch_size / block_size))`` blocks).

    ``len(loader)`` is the number of batches of an epoch. Each ``iter(loader)`` runs the
    current epoch from its start, or from the position that ``load_state_dict`` restored;
    when a pass completes the epoch advances by one (``set_epoch`` sets it).
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, num_workers=0, transform=None,
                 tensors=None, drop_last=False, seed=None, *, batch_transform=None, collate_fn=None,
                 return_index=False, block_size=None, shuffle_window=None, pin_memory=False,
                 prefetch_factor=None, persistent_workers=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None):
        self.dataset = _LoaderDataset(dataset, tensors, transform, return_index, collate_fn, batch_transform)
        ds = self.dataset._dataset()
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (1 << 63))
        if block_size is None:
            block_size = block_size_of(ds, self.dataset.tensors)
        self.sampler = ChunkBatchSampler(len(ds), batch_size, shuffle=shuffle, drop_last=drop_last,
                                         seed=seed, block_size=block_size, window=shuffle_window)
        self._generator = torch.Generator()
        self.dataloader = DataLoader(
            self.dataset, batch_size=None, sampler=self.sampler, num_workers=num_workers,
            collate_fn=_first, pin_memory=pin_memory, timeout=timeout, worker_init_fn=worker_init_fn,
            multiprocessing_context=multiprocessing_context, generator=self._generator,
            prefetch_factor=prefetch_factor if num_workers > 0 else None,
            persistent_workers=persistent_workers and num_workers > 0)
        self._in_process = num_workers == 0 and not pin_memory
        self._position = 0       # batches of the current epoch handed out
        self._resume_at = 0      # where the next iter() starts

    @property
    def batch_size(self):
        return self.sampler.batch_size

    @property
    def seed(self):
        return self.sampler.seed

    @property
    def epoch(self):
        return self.sampler.epoch

    @property
    def num_workers(self):
        return self.dataloader.num_workers

    def __len__(self):
        return len(self.sampler)

    def set_epoch(self, epoch):
        """Selects the shuffle of ``epoch``; the next ``iter()`` runs it from its start."""
        self.sampler.set_epoch(epoch)
        self._position = 0
        self._resume_at = 0

    def state_dict(self):
        """Where the loader stands: the next batch it hands out is batch ``batch`` of epoch
        ``epoch`` (plus what is needed to check that a restored loader is the same)."""
        return {"epoch": self.sampler.epoch, "batch": self._position, "seed": self.sampler.seed,
                "num_samples": self.sampler.num_samples, "batch_size": self.sampler.batch_size,
                "shuffle": self.sampler.shuffle, "drop_last": self.sampler.drop_last,
                "block_size": self.sampler.block_size, "window": self.sampler.window}

    def load_state_dict(self, state):
        """Restores ``state_dict()``: the next ``iter()`` continues at that batch. The
        dataset, batch size, shuffle and drop_last must be those of the saved loader."""
        s = self.sampler
        mine = {"num_samples": s.num_samples, "batch_size": s.batch_size, "shuffle": s.shuffle,
                "drop_last": s.drop_last}
        diff = {k: (state[k], v) for k, v in mine.items() if k in state and state[k] != v}
        if diff:
            detail = ", ".join(f"{k}: saved {a}, here {b}" for k, (a, b) in diff.items())
            raise ValueError(f"load_state_dict: the saved loader differs ({detail})")
        s.seed = int(state["seed"])
        s.block_size = int(state.get("block_size", s.block_size))
        s.window = int(state.get("window", s.window))
        s.epoch = int(state["epoch"])
        batch = int(state["batch"])
        if not 0 <= batch <= len(s):
            raise ValueError(f"load_state_dict: batch {batch} is outside the epoch's {len(s)} batches")
        self._position = batch
        self._resume_at = batch

    def __iter__(self):
        s = self.sampler
        total = len(s)
        start = self._resume_at
        self._resume_at = 0
        if start >= total:  # a state saved after the epoch's last batch
            s.epoch += 1
            start = 0
        s.start = start
        self._position = start
        # Worker seeds depend on (seed, epoch) only, so random transforms repeat too.
        self._generator.manual_seed(hash((s.seed, s.epoch)) & ((1 << 63) - 1))
        if self._in_process:
            # No worker, nothing to pin: the DataLoader would only call dataset[indices]
            # for each batch of the sampler; do that directly, without its per-batch costs.
            it = map(self.dataset.__getitem__, s.batches(s.epoch, start))
        else:
            it = iter(self.dataloader)
        s.start = 0
        return self._run(it, total)

    def _run(self, it, total):
        s = self.sampler
        try:
            for batch in it:
                self._position += 1
                if self._position >= total:
                    s.epoch += 1
                    self._position = 0
                yield batch
        finally:
            del it

    def __repr__(self):
        return (f"gtn.pytorch.Loader({self.dataset.path!r}, tensors={self.dataset.tensors}, "
                f"batch_size={self.batch_size}, shuffle={self.sampler.shuffle}, "
                f"num_workers={self.num_workers}, epoch={self.epoch})")
