"""Views: rows of one dataset state, from a query or from indices (docs/query.md).

    v = ds.query("SELECT * WHERE labels == 'cat' AND score > 0.5 ORDER BY score DESC LIMIT 100")
    len(v); v[0]; v["images"][0:8].numpy(); v.indices
    v.query("SELECT * WHERE contains(caption, 'grass')")     # a view of a view
    ds.save_view("good-cats", v); ds.load_view("good-cats")  # reads the same rows later
    v.materialize("cats.gtn")                                 # a new dataset of just these rows

A view is bound to the commit its query ran on: once the dataset moves on (new commits,
uncommitted changes), the view reads that commit, opened read-only. A view of uncommitted
changes reads the live dataset and cannot be saved until they are committed.
"""
from __future__ import annotations

import os

import numpy as np

from gtn import _core

__all__ = ["View", "query_functions"]


def query_functions():
    """The query language's functions: name -> signature."""
    return dict(_core._query_functions())


def _rows(indices, length):
    rows = np.asarray(indices)
    if rows.dtype == bool:
        if rows.shape != (length,):
            raise IndexError(f"boolean index of shape {rows.shape} does not match {length} rows")
        rows = np.flatnonzero(rows)
    if rows.size and rows.dtype.kind not in "iu":
        raise IndexError(f"row indices are integers, got {rows.dtype}")
    rows = rows.astype(np.int64).ravel()
    if rows.size and (rows.min() < -length or rows.max() >= length):
        bad = rows[(rows < -length) | (rows >= length)][0]
        raise IndexError(f"row {int(bad)} is out of range for {length} rows")
    rows = np.where(rows < 0, rows + length, rows)
    return np.ascontiguousarray(rows, dtype=np.uint64)


class View:
    """Rows of a dataset state: ``len(v)``, ``v[i]`` (a sample dict), ``v[a:b]`` /
    ``v[[i, j]]`` (a smaller view), ``v["tensor"]`` (a column: ``.numpy()``, indexing),
    iteration, ``v.query(...)``, ``v.pytorch(...)``, ``v.summary()``, ``v.materialize(...)``.

    Attributes: ``indices`` (uint64 row positions in the state, in view order), ``commit``,
    ``query_text``, ``columns`` (computed SELECT columns: name -> numpy array, one row per
    view row; for grouped queries, one row per group), ``groups`` (GROUP BY: a list of
    ``(key, View)``), ``stats`` (what the query read: rows scanned, chunks skipped, bytes).
    """

    def __init__(self, dataset, indices, commit=None, query="", uncommitted=None, columns=None, groups=None,
                 stats=None, version=None, name=None):
        self._ds = dataset
        self.indices = np.ascontiguousarray(indices, dtype=np.uint64)
        self.indices.setflags(write=False)
        self.commit = commit if commit is not None else dataset.head_commit
        self.uncommitted = dataset.has_uncommitted_changes if uncommitted is None else uncommitted
        self.query_text = query
        self.columns = dict(columns or {})
        self.groups = groups or []
        self.stats = stats or {}
        self.version = version
        self.name = name
        self._snapshot = None

    # --- the state the rows are positions in ---
    def _source(self):
        """The dataset to read: the live one while it is at this view's commit, else the
        commit opened read-only (kept open by the view)."""
        ds = self._ds
        if self.version:
            target = self.commit or self.version
        elif self.uncommitted or not self.commit:
            return ds
        elif ds.head_commit == self.commit and not ds.has_uncommitted_changes:
            return ds
        else:
            target = self.commit
        if self._snapshot is None:
            from gtn.dataset import Dataset
            self._snapshot = Dataset(ds.path, read_only=True, version=target)
        return self._snapshot

    @property
    def dataset(self):
        return self._ds

    def __len__(self):
        return int(self.indices.size)

    def __iter__(self):
        src = self._source()
        for r in self.indices:
            yield src._sample(int(r))

    def __getitem__(self, key):
        if isinstance(key, str):
            src = self._source()
            if key not in src._tensor_names():
                raise KeyError(f"no tensor named {key!r} (tensors: {', '.join(src._tensor_names())})")
            return ViewTensor(self, key)
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            n = len(self)
            i = int(key)
            if not -n <= i < n:
                raise IndexError(f"view index {i} out of range for {n} rows")
            return self._source()._sample(int(self.indices[i % n]))
        if isinstance(key, slice):
            return self._sub(self.indices[key])
        if isinstance(key, (list, tuple, np.ndarray, range)):
            return self._sub(self.indices[_rows(key, len(self)).astype(np.int64)])
        raise TypeError(f"view indices are an int, a slice, a list or array of ints, or a tensor name; "
                        f"got {key!r} of type {type(key).__name__}")

    def _sub(self, rows):
        return View(self._ds, rows, commit=self.commit, query=self.query_text, uncommitted=self.uncommitted,
                    version=self.version)

    def numpy(self, tensor):
        """The tensor's values at the view's rows, stacked (a list when shapes differ or for text)."""
        return self[tensor].numpy()

    def batches(self, batch_size, tensors=None):
        """Yields dicts tensor name -> values for ``batch_size`` rows at a time."""
        src = self._source()
        names = tensors or src._tensor_names()
        for b in range(0, len(self), batch_size):
            idx = [int(i) for i in self.indices[b:b + batch_size]]
            yield {t: src._read_many(t, idx) for t in names}

    # --- queries, summaries, loaders ---
    def query(self, text, seed=0, n_threads=0, model_dir=None):
        """Runs a query over this view's rows (in view order); returns a new view."""
        if "@" in text and " FROM " in f" {text.upper()} ":
            raise ValueError("a query over a view reads the view's state; FROM ...@version is for datasets")
        return _run(self._source(), text, rows=self.indices, seed=seed, n_threads=n_threads, model_dir=model_dir,
                    parent=self)

    def summary(self, **kwargs):
        """The dataset summary (``gtn.Dataset.summary``) of this view's rows."""
        return self._source().summary(rows=self.indices, **kwargs)

    def pytorch(self, batch_size=1, shuffle=False, num_workers=0, tensors=None, transform=None, drop_last=False,
                seed=None, **kwargs):
        """A ``torch.utils.data.DataLoader`` over the view's rows (batches: dicts tensor name ->
        torch tensor). Workers reopen the view's commit read-only."""
        import torch
        from gtn.pytorch import collate
        ds = _ViewTorchDataset(self, tensors=tensors, transform=transform)
        gen = None
        if shuffle:
            gen = torch.Generator()
            gen.manual_seed(int(np.random.SeedSequence().entropy % (1 << 63)) if seed is None else int(seed))
        return torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=shuffle, num_workers=num_workers,
                                           drop_last=drop_last, generator=gen,
                                           collate_fn=None if transform is not None else collate, **kwargs)

    # --- saving ---
    def save(self, name, message=""):
        """Saves this view in its dataset under ``name`` (``Dataset.save_view``)."""
        self._ds.save_view(name, self, message=message)
        self.name = name
        return self

    def materialize(self, path=None, branch=None, tensors=None, overwrite=False, batch_size=4096, commit=None):
        """Writes the view's rows, in view order, into fresh contiguous chunks (same
        tensors, htypes, dtypes, compressions and chunk sizes), so that reading them is as
        fast as reading any dataset of that size. Exactly one of:

        - ``path``: a new dataset there (``commit``: a message to commit it with); returns
          it, writable.
        - ``branch``: a new branch of this dataset, started at the view's commit, whose
          content becomes the view's rows, committed (``commit`` or "materialize view");
          the checked-out branch stays as it was. Returns the branch opened read-only.
        """
        from gtn.dataset import Dataset, dataset as open_dataset
        if (path is None) == (branch is None):
            raise ValueError("materialize writes either a new dataset (path=...) or a new branch (branch=...)")
        src = self._source()
        names = list(tensors or src._tensor_names())
        if path is not None:
            out = open_dataset(path, overwrite=overwrite)
            if len(out) or out._tensor_names():
                raise ValueError(f"{path} already holds a dataset; pass overwrite=True to replace it")
            for t in names:
                info = src._info(t)
                out.create_tensor(t, htype=info["htype"], dtype=info["dtype"],
                                  sample_compression=info["sample_compression"],
                                  chunk_compression=info["chunk_compression"],
                                  chunk_size=info["chunk_size"], class_names=info["class_names"] or None)
            self._copy_rows(src, out, names, batch_size)
            out.flush()
            if commit:
                out.commit(commit)
            return out
        ds = self._ds
        if tensors is not None:
            raise ValueError("a materialized branch keeps every tensor (tensors= is for a new dataset)")
        if self.uncommitted or not self.commit:
            raise ValueError("the view reads uncommitted changes; commit them first, then materialize it as a branch")
        if ds.read_only or ds.has_uncommitted_changes:
            raise ValueError("materializing as a branch needs a writable dataset without uncommitted changes")
        back = ds.current_branch or None
        ds.branch(branch, target=self.commit)
        ds.checkout(branch)
        try:
            ds.truncate(0)
            self._copy_rows(src if src is not ds else Dataset(ds.path, read_only=True, version=self.commit), ds,
                            names, batch_size)
            ds.commit(commit or f"materialize view ({len(self)} rows of {self.commit})")
        finally:
            if back:
                ds.checkout(back, force=True)
        return Dataset(ds.path, read_only=True, version=branch)

    def _copy_rows(self, src, out, names, batch_size):
        rows = self.indices
        for b in range(0, len(rows), batch_size):
            idx = [int(i) for i in rows[b:b + batch_size]]
            out.extend({t: src._read_many(t, idx) for t in names})

    def __repr__(self):
        what = f"query={self.query_text!r}" if self.query_text else "from indices"
        at = f"commit {self.commit}" if self.commit else "uncommitted state"
        return f"gtn.View({len(self)} rows of {self._ds.path!r} at {at}, {what})"


class ViewTensor:
    """One tensor of a view: ``vt[i]``, ``vt[a:b]``, ``vt.numpy()``."""

    def __init__(self, view, name):
        self._view = view
        self.name = name

    def __len__(self):
        return len(self._view)

    def numpy(self):
        return self._view._source()._read_many(self.name, [int(i) for i in self._view.indices])

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            n = len(self._view)
            i = int(key)
            if not -n <= i < n:
                raise IndexError(f"view index {i} out of range for {n} rows")
            return self._view._source()._read(self.name, int(self._view.indices[i % n]))
        return ViewTensor(self._view[key], self.name).numpy()

    def __repr__(self):
        return f"gtn.ViewTensor({self.name!r}, {len(self)} rows)"


def _run(ds, text, rows=None, seed=0, n_threads=0, model_dir=None, parent=None):
    if not isinstance(text, str):
        raise TypeError(f"a query is a str, not {type(text).__name__}")
    r = _core._query(ds, text, rows=rows, seed=int(seed), n_threads=int(n_threads),
                     model_dir=os.fspath(model_dir) if model_dir else "")
    base = parent._ds if parent is not None else ds
    commit = parent.commit if parent is not None else r["commit"]
    uncommitted = parent.uncommitted if parent is not None else r["uncommitted"]
    version = parent.version if parent is not None else (r["version"] or None)
    columns = {name: values for name, tensor, values in r["columns"] if values is not None}
    view = View(base, r["rows"], commit=commit, query=text, uncommitted=uncommitted, columns=columns,
                stats=r["stats"], version=version)
    offs = r["group_offsets"]
    if offs:
        view.groups = [(key, view._sub(view.indices[offs[g]:offs[g + 1]])) for g, key in enumerate(r["group_keys"])]
    return view


class _ViewTorchDataset:
    """A map-style torch dataset over a view's rows (pickles as path, commit and rows)."""

    def __init__(self, view, tensors=None, transform=None):
        from gtn.pytorch import TorchDataset
        src = view._source()
        self._inner = TorchDataset(src, tensors=tensors, transform=transform)
        self.rows = [int(i) for i in view.indices]

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        return self._inner[self.rows[i]]

    def __getitems__(self, indices):
        return self._inner.__getitems__([self.rows[i] for i in indices])
