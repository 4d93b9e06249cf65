"""GTN-F datasets from Python: ``gtn.dataset(path)``.

    ds = gtn.dataset("/tmp/ds")                       # open, or create when missing
    ds.create_tensor("images", htype="image", sample_compression="jpeg")
    ds.create_tensor("labels", htype="class_label", class_names=["cat", "dog"])
    ds.append({"images": np.zeros((64, 64, 3), np.uint8), "labels": 1})
    ds.flush()
    ds[0]                 # {"images": array(...), "labels": array(1)}
    ds["images"][0].numpy()

Values read back: numeric tensors give numpy arrays (arrays over 1 KiB are read-only views
of the stored bytes; ``.copy()`` them to modify), text gives ``str``, bytes gives ``bytes``
and json gives the parsed object (``json.loads``). Values written are converted to the
tensor's dtype with numpy's ``same_kind`` rule (float -> int is refused); Python ints may
go into any integer dtype whose range holds them.
"""
from __future__ import annotations

import datetime
import json
import operator
import os
import shutil

import numpy as np

from gtn import _core
from gtn.summary import summarize

__all__ = ["Dataset", "Tensor", "TensorSample", "TensorBatch", "dataset", "MergeConflictError"]

MergeConflictError = _core.MergeConflictError

_MERGE_POLICIES = ("fail", "ours", "theirs")
_CONFLICTS_IN_MESSAGE = 5


def dataset(path, read_only=False, create=True, verify_checksums=True, overwrite=False, version=None,
            author=None):
    """Opens the dataset at ``path``; creates an empty one when missing unless
    ``read_only`` (open only, never write) or ``create=False``.

    ``version`` opens a branch (writable unless ``read_only``), or a tag or commit id (a
    snapshot of the past: pass ``read_only=True``, a writable open of one is refused).
    ``None``: the branch the dataset names as head. ``author`` is recorded in the commits made through this
    handle (default: $GTN_AUTHOR, else $USER). docs/versions.md explains version control.

    A dataset is created only in a new or empty folder: a folder holding other files is
    refused (``ValueError``), never turned into a dataset. ``overwrite=True`` deletes an
    existing GTN dataset at ``path`` first and starts an empty one; it never deletes a
    folder that is not a GTN dataset."""
    path = os.fspath(path)
    if overwrite:
        if read_only:
            raise ValueError("overwrite=True deletes the dataset; it cannot be combined with read_only=True")
        _remove_dataset(path)
    return Dataset(path, read_only=read_only, create=create, verify_checksums=verify_checksums,
                   version=version, author=author)


def _reopen_read_only(path, version=None):
    return Dataset(path, read_only=True, version=version)


def _target(value, what="target"):
    """A branch, tag or commit name for the bindings ("" = not given)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"{what} is a str (a branch, a tag or a commit id), not {type(value).__name__}")
    return value


def _time(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)


def _remove_dataset(path):
    """Deletes the GTN dataset at ``path`` (a folder with gtn.json); no-op when missing."""
    if not os.path.lexists(path):
        return
    if not os.path.isdir(path) or not os.path.isfile(os.path.join(path, "gtn.json")):
        if os.path.isdir(path) and not os.listdir(path):
            return
        raise ValueError(f"overwrite=True replaces only a GTN dataset; {path} is not one (no gtn.json), "
                         f"so nothing was deleted")
    # Take the writer lock first: never delete a dataset another process is writing.
    probe = Dataset(path, read_only=False, create=False)
    probe.close()
    shutil.rmtree(path)


def _to_index_list(key, length):
    if isinstance(key, np.ndarray):
        if key.dtype == bool:
            if key.shape != (length,):
                raise IndexError(f"boolean index of shape {key.shape} does not match {length} samples")
            return np.flatnonzero(key).tolist()
        if key.dtype.kind not in "iu":
            raise IndexError(f"index arrays must be integers, got {key.dtype}")
        return key.astype(np.int64).ravel().tolist()
    return [operator.index(i) for i in key]


class Dataset(_core.Dataset):
    """A GTN dataset: named tensors of equal length; ``ds[i]`` is sample i of every tensor.

    ``ds[i]`` with an int is handled in C++ (``_core.Dataset.__getitem__``); every other
    key comes to ``_getitem``. ``len(ds)``, ``ds.path``, ``ds.read_only`` and ``ds.closed``
    come from the C++ base class too.
    """

    def __init__(self, path, read_only=False, create=True, verify_checksums=True, version=None, author=None):
        if not isinstance(path, (str, bytes, os.PathLike)):
            raise TypeError(f"a dataset path is a str or os.PathLike, not {type(path).__name__}")
        path = os.fsdecode(os.fspath(path))
        super().__init__(path, read_only=read_only, create_if_missing=create,
                         verify_checksums=verify_checksums, version=_target(version, "version"),
                         author=_target(author, "author"))

    # --- reading ---
    def _getitem(self, key):
        if isinstance(key, str):
            names = self._tensor_names()
            if key not in names:
                raise KeyError(f"no tensor named {key!r} (tensors: {', '.join(names) or 'none'})")
            return Tensor(self, key)
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if step == 1:
                return self._range(start, max(start, stop))
            return self._batch(list(range(start, stop, step)))
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            return self._sample(int(key))
        if isinstance(key, (list, tuple, np.ndarray, range)):
            return self._batch(_to_index_list(key, len(self)))
        raise TypeError(f"dataset indices are an int, a slice, a list or array of ints, or a tensor name; "
                        f"got {key!r} of type {type(key).__name__}")

    def __iter__(self):
        for i in range(len(self)):
            yield self._sample(i)

    @property
    def tensors(self):
        """Tensor name -> Tensor, in creation order."""
        return {name: Tensor(self, name) for name in self._tensor_names()}

    def summary(self, tensors=None, rows=None, threads=None, bins=32):
        """Statistics of every tensor (or of ``tensors``): dtype, shapes, value statistics,
        class counts, text lengths, bytes and chunks, over every row or over ``rows`` (a
        view's row positions). Returns a :class:`gtn.Summary` (a mapping; ``print(s)``
        shows it as text, ``s.plot("f.png")`` draws it). See docs/summary.md."""
        return summarize(self, rows=rows, tensors=tensors, threads=threads, bins=bins)

    # --- writing ---
    def create_tensor(self, name, htype="generic", dtype=None, sample_compression=None,
                      chunk_compression=None, chunk_size=None, class_names=None):
        """Adds a tensor. Unset options take the htype's defaults (image: uint8,
        embedding: float32, class_label: int64, text/json: text)."""
        if dtype is not None and not isinstance(dtype, str):
            dtype = np.dtype(dtype).name
        if chunk_size is not None:
            if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size <= 0:
                raise ValueError(f"chunk_size is a positive number of bytes (the target size of one chunk), "
                                 f"got {chunk_size!r}")
            chunk_size = int(chunk_size)
        self._create_tensor(name, htype=htype, dtype=dtype,
                                 sample_compression=sample_compression or "none",
                                 chunk_compression=chunk_compression or "none",
                                 chunk_size=chunk_size, class_names=list(class_names or []))
        return Tensor(self, name)

    def append(self, sample):
        """Appends one sample: a dict with a value for every tensor."""
        self._check_keys(sample)
        self._append({name: _convert(self._tensor_types(name), value) for name, value in sample.items()})

    def extend(self, batch):
        """Appends a batch: a dict of tensor name -> list of values, or a numpy array whose
        first axis is the batch.

        Numpy arrays, lists of same-shape values (stacked here) and lists of str or bytes
        reach C++ as one buffer per tensor; only ragged lists go sample by sample."""
        self._check_keys(batch)
        out = {}
        lengths = set()
        for name, values in batch.items():
            types = self._tensor_types(name)
            if not isinstance(values, (list, tuple, np.ndarray)) or (isinstance(values, np.ndarray)
                                                                      and values.ndim == 0):
                raise TypeError(f"extend: tensor '{name}' needs a list or an array of values (one per sample), "
                                f"got {type(values).__name__}; use append() for one sample")
            if isinstance(values, tuple):
                values = list(values)
            if types["htype"] == "class_label" and _has_strings(values):
                values = _label_indices(types, values)
            if types["dtype"] in ("text", "bytes"):
                out[name] = values if _plain_strings(types, values) else [_convert(types, v) for v in values]
            elif isinstance(values, np.ndarray):
                out[name] = _convert_array(types, values, batch=True)
            else:
                out[name] = _stack([_convert(types, v) for v in values])
            lengths.add(len(out[name]))
        if len(lengths) > 1:
            detail = ", ".join(f"{n}: {len(v)}" for n, v in out.items())
            raise ValueError(f"extend: every tensor needs the same number of samples, got {detail}")
        self._extend(out)

    def pop(self):
        """Removes the last sample of every tensor."""
        self._pop()

    def delete_samples(self, indices):
        """Deletes the samples at ``indices`` (an int, or a sequence or array of ints;
        negative ones count from the end) from every tensor; later samples move up. Also
        ``del ds[i]``, ``del ds[[i, j]]`` and ``del ds[a:b]``."""
        if isinstance(indices, (int, np.integer)) and not isinstance(indices, bool):
            indices = [int(indices)]
        elif isinstance(indices, (list, tuple, np.ndarray, range)):
            indices = _to_index_list(indices, len(self))
        else:
            raise TypeError(f"delete_samples takes an int or a sequence of ints, not {type(indices).__name__}")
        self._delete_samples(indices)

    def __delitem__(self, key):
        if isinstance(key, slice):
            self.delete_samples(range(*key.indices(len(self))))
        elif isinstance(key, str):
            raise TypeError(f"del ds[{key!r}]: delete a tensor with ds.delete_tensor({key!r})")
        else:
            self.delete_samples(key)

    def truncate(self, length):
        """Keeps the first ``length`` samples of every tensor."""
        self._truncate(operator.index(length))

    def delete_tensor(self, name):
        """Removes a tensor (its values are no longer part of the dataset)."""
        self._delete_tensor(name)

    def rename_tensor(self, name, new_name):
        """Renames a tensor; no data moves."""
        self._rename_tensor(name, new_name)

    def flush(self):
        """Makes every write so far durable."""
        self._flush()

    def close(self):
        """Flushes (when writable) and releases the dataset and its writer lock."""
        if not self.closed:
            self._close()

    def __reduce__(self):
        """Pickles as its path and version (for multiprocessing, e.g. DataLoader workers
        under "spawn"): the copy reopens the dataset read-only, at the same branch, or at
        the same commit when a tag or commit is checked out. A writable dataset is flushed
        first so that the copy sees every write so far; the writer keeps its lock."""
        if self.closed:
            raise ValueError(f"cannot pickle the closed dataset {self.path}")
        if not self.read_only and self._current_branch():  # a detached checkout has nothing to flush
            self.flush()
        return (_reopen_read_only, (self.path, self._version()))

    def _version(self):
        """What reopens this state: the branch, or the commit of a detached checkout."""
        return self._current_branch() or self._head_commit()

    # --- version control (docs/versions.md) ---
    def commit(self, message, author=None):
        """Freezes the current branch's state as a commit; returns its id (16 hex digits).
        ``ValueError`` when nothing changed since the last commit."""
        if not isinstance(message, str):
            raise TypeError(f"a commit message is a str, not {type(message).__name__}")
        return self._commit(message, _target(author, "author"))

    def log(self, target=None):
        """The commits reachable from ``target`` (a branch, tag or commit; default: the
        current state), newest first: dicts with id, parents, message, author, time (a UTC
        datetime) and length (rows)."""
        out = []
        for c in self._log(_target(target)):
            c["time"] = _time(c.pop("time_ms"))
            out.append(c)
        return out

    def branch(self, name, target=None):
        """Creates branch ``name`` at ``target`` (default: the current commit); the checked-out
        branch stays as it is."""
        self._branch(_target(name, "a branch name"), _target(target))

    def checkout(self, target, create=False, force=False):
        """Switches to branch ``target`` (writable), or to a tag or commit (read-only until a
        branch is checked out). ``create=True`` creates the branch at the current commit
        first. Refused with uncommitted changes unless ``force`` (they stay on their branch)."""
        self._checkout(_target(target), create=bool(create), force=bool(force))

    def delete_branch(self, name):
        self._delete_branch(_target(name, "a branch name"))

    def tag(self, name, target=None):
        """Names commit ``target`` (default: the current commit). Tags never move."""
        self._tag(_target(name, "a tag name"), _target(target))

    def delete_tag(self, name):
        self._delete_tag(_target(name, "a tag name"))

    @property
    def branches(self):
        """The branch names."""
        return list(self._branches())

    @property
    def tags(self):
        """Tag name -> commit id."""
        return dict(self._tags())

    @property
    def current_branch(self):
        """The checked-out branch; None when a tag or commit is checked out."""
        return self._current_branch()

    @property
    def head_commit(self):
        """The commit the current state is, or is based on; None before the first commit."""
        return self._head_commit()

    @property
    def has_uncommitted_changes(self):
        return self._has_uncommitted_changes()

    def status(self):
        """The uncommitted changes: ``diff(head_commit)`` to the current state (see diff)."""
        return self._status()

    def diff(self, a, b=None):
        """What changed from ``a`` to ``b`` (default: the current state), matched by sample
        id: {"a", "b", "rows_added", "rows_deleted", "tensors": {name: {"old_name",
        "schema_changes", "detail", "added", "updated", "deleted"}}}. Index arrays are
        numpy uint64: added and updated are positions in b, deleted in a. Only the tensors
        that changed are listed."""
        return self._diff(_target(a), _target(b))

    def reset(self, target=None):
        """Drops the uncommitted changes; with ``target``, also moves the current branch
        there (git reset --hard)."""
        self._reset(_target(target))

    def merge(self, source, policy="fail", message=None):
        """Three-way merge of branch or commit ``source`` into the current branch, which
        must have no uncommitted changes. ``policy`` settles samples both sides changed:
        "fail" (raise MergeConflictError, change nothing), "ours" or "theirs". Returns
        {"commit", "fast_forward", "up_to_date", "conflicts", "rows_added",
        "rows_deleted", "samples_updated"}."""
        if not isinstance(policy, str) or policy not in _MERGE_POLICIES:
            raise ValueError(f"merge policy must be one of {', '.join(map(repr, _MERGE_POLICIES))}, got {policy!r}")
        if message is not None and not isinstance(message, str):
            raise TypeError(f"a merge message is a str, not {type(message).__name__}")
        result = self._merge(_target(source, "source"), policy, message or "")
        if result["commit"] is None and result["conflicts"]:
            conflicts = result["conflicts"]
            shown = "; ".join(f"{c['tensor']} sample {c['sample_id']} ({c['kind']}, ours {c['ours_index']}, "
                              f"theirs {c['theirs_index']})" for c in conflicts[:_CONFLICTS_IN_MESSAGE])
            more = f"; and {len(conflicts) - _CONFLICTS_IN_MESSAGE} more" \
                if len(conflicts) > _CONFLICTS_IN_MESSAGE else ""
            err = MergeConflictError(f"merge of {source!r}: {len(conflicts)} conflict(s), nothing changed "
                                     f"(policy='ours' or 'theirs' settles them): {shown}{more}")
            err.conflicts = conflicts
            raise err
        return result

    def cherry_pick(self, target):
        """Applies what commit ``target`` changed (relative to its first parent) to the
        current branch and commits it; returns the new commit's id."""
        return self._cherry_pick(_target(target))

    def gc(self):
        """Deletes the files no branch, tag, reachable commit or open reader needs:
        {"files_deleted", "bytes_freed", "files_kept_for_readers", "versions_deleted"}."""
        return self._gc()

    def expire_history(self, keep_from="HEAD"):
        """Cuts the history before commit ``keep_from`` (a branch, tag or commit id): it then
        reads as a root commit, and gc() deletes what only its ancestors needed, such as the
        old layout after a rechunk. Commits another branch, tag, saved view or open reader
        reaches stay. Cannot be undone. Returns gc()'s statistics."""
        return self._expire_history(_target(keep_from))

    def compact(self):
        """Rewrites runs of small chunk slices of the current state into full chunks:
        {"samples_rewritten", "entries_before", "entries_after"}."""
        return self._compact()

    # --- layout: access traces, layout plans, rechunk (docs/layout.md) ---

    def trace(self):
        """A context manager that records every read of this dataset into an access trace:
        ``with ds.trace() as t: ...``; then ``t.summary()``, ``t.save(path)``, or
        ``ds.rechunk(strategy="workload", trace=t)``."""
        from gtn.layout import Trace
        ds = self

        class _Recording:
            def __enter__(self):
                self.trace = Trace(dataset=ds)
                _core._set_access_trace(ds, self.trace._core)
                return self.trace

            def __exit__(self, *exc):
                if not ds.closed:
                    _core._set_access_trace(ds, None)
                return False

        return _Recording()

    def layout_plan(self, strategy="data", trace=None, tensors=None, *, read_bandwidth=None, reorder=True,
                    order_tensor="orig_index"):
        """The layout the planner chooses (``strategy`` "data": from the data itself;
        "workload": for the reads of ``trace``, a Trace or a trace file path) and its
        predicted cost against the current layout. ``print()`` it for the table."""
        from gtn.layout import LayoutPlan, Trace, load_trace, parse_bytes
        if strategy not in ("data", "workload"):
            raise ValueError(f"unknown layout strategy {strategy!r}; expected 'data' or 'workload'")
        if isinstance(trace, (str, os.PathLike)):
            trace = load_trace(trace)
        if trace is not None and not isinstance(trace, Trace):
            raise TypeError(f"trace must be a gtn.layout.Trace or a trace file path, not {type(trace).__name__}")
        if strategy == "workload" and trace is None:
            raise ValueError("the workload strategy needs a trace: record one with `with ds.trace() as t:` or "
                             "`gtn trace`, and pass trace=t")
        if isinstance(tensors, str):
            tensors = [tensors]
        bw = float(parse_bytes(read_bandwidth)) if read_bandwidth is not None else 0.0
        core = _core._layout_plan(self, strategy, trace._core if trace is not None else None, list(tensors or []),
                                  bw, 0, bool(reorder), order_tensor)
        return LayoutPlan(core)

    def rechunk(self, tensors=None, chunk_bytes=None, strategy=None, trace=None, *, sample_compression=None,
                chunk_compression=None, order=None, order_tensor=None, max_memory=256 << 20, progress=False,
                message=None):
        """Rewrites the chunks of ``tensors`` (default: every tensor) as a new commit: new
        chunk size (``chunk_bytes``: an int or "16MiB"), compressions ("none", "lz4",
        "zstd", "zstd:9", ...), and/or a row ``order`` (row i of the result is row order[i]
        now; ``order_tensor`` keeps the old positions). ``strategy`` "data" or "workload"
        (with ``trace``) takes the layout from the planner; explicit arguments win over
        the plan. Streams within ``max_memory`` bytes; ``progress=True`` draws a bar.
        Returns the statistics (tensors, rows, chunks before/after, bytes, commit)."""
        from gtn.layout import _Progress, parse_bytes
        if isinstance(tensors, str):
            tensors = [tensors]
        names = list(self._tensor_names())
        for t in tensors or []:
            if t not in names:
                raise KeyError(f"no tensor {t!r}; the tensors are {names}")
        layouts = {}
        plan_order, plan_order_tensor, plan_message = None, "", ""
        if strategy is not None:
            plan = self.layout_plan(strategy, trace=trace, tensors=tensors)
            args = plan.rechunk_args()
            layouts = {k: dict(v) for k, v in args["layouts"].items()}
            plan_order, plan_order_tensor, plan_message = args["order"], args["order_tensor"], args["message"]
        elif trace is not None:
            raise ValueError("trace= is used by strategy='workload'; pass strategy='workload' too")
        targets = tensors if tensors is not None else ([] if strategy is not None else names)
        if strategy is not None and tensors is None and (chunk_bytes or sample_compression or chunk_compression):
            targets = names

        def codec(value, what):
            name, _, level = str(value).partition(":")
            name = name.strip().lower()
            if name not in ("none", "lz4", "zstd", "jpeg", "jpg", "png"):
                raise ValueError(f"unknown {what} {value!r}; expected none, lz4, zstd[:level], jpeg or png")
            if level and not level.strip().isdigit():
                raise ValueError(f"bad level in {what} {value!r}; expected e.g. 'zstd:9'")
            return name, (int(level) if level else None)

        for t in targets:
            layout = layouts.setdefault(t, {})
            if chunk_bytes is not None:
                layout["chunk_bytes"] = parse_bytes(chunk_bytes)
            if sample_compression is not None:
                layout["sample_compression"], level = codec(sample_compression, "sample_compression")
                if level is not None:
                    layout["compression_level"] = level
            if chunk_compression is not None:
                layout["chunk_compression"], level = codec(chunk_compression, "chunk_compression")
                if level is not None:
                    layout["compression_level"] = level
        if order is not None:
            order = np.asarray(order)
        elif plan_order is not None:
            order = np.asarray(plan_order, dtype=np.uint64)
        if order_tensor is None:
            order_tensor = plan_order_tensor if plan_order is not None and order is not None else ""
        if not hasattr(_core.Dataset, "rechunk"):
            raise _core.UnsupportedError("this build of gtn has no Dataset.rechunk")
        bar = _Progress(f"rechunk {self.path}") if progress is True else None
        callback = bar if bar is not None else (progress if callable(progress) else None)
        try:
            return _core.Dataset.rechunk(self, layouts, order, order_tensor, int(parse_bytes(max_memory)), callback,
                                         message if message is not None else plan_message)
        finally:
            if bar is not None:
                bar.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        return False

    def __repr__(self):
        if self.closed:
            return f"gtn.Dataset({self.path!r}, closed)"
        branch = self._current_branch()
        at = f"branch={branch!r}" if branch else f"commit={self._head_commit()!r}"
        return f"gtn.Dataset({self.path!r}, {at}, tensors={self._tensor_names()}, samples={len(self)})"

    # --- helpers ---
    def _info(self, name):
        return self._tensor_info(name)

    def _check_keys(self, sample):
        if not isinstance(sample, dict):
            raise TypeError(f"expected a dict of tensor name -> value, got {type(sample).__name__}")
        names = self._tensor_names()
        unknown = [k for k in sample if k not in names]
        if unknown:
            raise KeyError(f"unknown tensor(s) {unknown}; the dataset has {names}")
        missing = [n for n in names if n not in sample]
        if missing:
            raise ValueError(f"missing tensor(s) {missing}: every tensor needs a value")

    # --- queries and views (docs/query.md) ---
    def query(self, text, seed=0, n_threads=0, model_dir=None):
        """Runs a query (``SELECT ... WHERE ... ORDER BY ... LIMIT ...``, docs/query.md) on the
        current state (or the version its FROM names) and returns a :class:`gtn.View`.
        ``seed`` drives SAMPLE BY; ``model_dir`` is where model('file.gtnm', ...) looks."""
        from gtn.view import _run
        return _run(self, text, seed=seed, n_threads=n_threads, model_dir=model_dir)

    def view(self, indices):
        """A :class:`gtn.View` of the given rows (ints, negative from the end, or a boolean
        mask) of the current state."""
        from gtn.view import View, _rows
        return View(self, _rows(indices, len(self)))

    def save_view(self, name, view, message=""):
        """Saves ``view`` under ``name`` in this dataset: its commit, query and rows, so that
        ``load_view(name)`` reads the same rows after later commits (and gc keeps that
        commit). A view of uncommitted changes is refused: commit first."""
        from gtn.view import View
        if not isinstance(view, View):
            raise TypeError(f"save_view takes a gtn.View (from ds.query or ds.view), not {type(view).__name__}")
        if view.uncommitted or not view.commit:
            raise ValueError(f"view {name!r} reads uncommitted changes; commit them first (ds.commit(...)) "
                             f"and run the query again")
        _core._save_view(self, name, view.commit, view.query_text, view.indices, message)

    def load_view(self, name):
        """The saved view ``name`` (reads the rows of the commit it was saved at)."""
        from gtn.view import View
        r = _core._load_view(self, name)
        return View(self, r["rows"], commit=r["commit"], query=r["query"], uncommitted=False,
                    version=r["commit"], name=name)

    def views(self):
        """Saved views: a list of dicts (name, commit, query, message, time_ms, size)."""
        return _core._views(self)

    def delete_view(self, name):
        _core._delete_view(self, name)

    def pytorch(self, batch_size=1, shuffle=False, num_workers=0, transform=None, tensors=None,
                drop_last=False, seed=None, **kwargs):
        """A PyTorch loader over this dataset (``gtn.pytorch.Loader``; needs torch): batches
        are dicts tensor name -> torch tensor, text as lists of str. Workers reopen the
        dataset read-only by path (a writable dataset is flushed first). Other keyword
        arguments (batch_transform, return_index, pin_memory, multiprocessing_context, ...)
        are documented in docs/pytorch.md."""
        from gtn.pytorch import Loader
        return Loader(self, batch_size=batch_size, shuffle=shuffle, num_workers=num_workers,
                      transform=transform, tensors=tensors, drop_last=drop_last, seed=seed, **kwargs)


class Tensor:
    """One tensor of a dataset: ``t[i]``, ``t[a:b]``, ``t[[i, j]]`` and ``t[i] = value``."""

    __slots__ = ("_ds", "name")

    def __init__(self, ds, name):
        self._ds = ds
        self.name = name

    @property
    def info(self):
        """htype, dtype, compression, class_names, length, chunks, bytes, min/max shape."""
        return self._ds._info(self.name)

    @property
    def htype(self):
        return self._ds._tensor_types(self.name)["htype"]

    @property
    def dtype(self):
        return self._ds._tensor_types(self.name)["dtype"]

    @property
    def class_names(self):
        return list(self._ds._tensor_types(self.name)["class_names"])

    def __len__(self):
        return len(self._ds)

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            return TensorSample(self, int(key))
        if isinstance(key, slice):
            return TensorBatch(self, key)
        if isinstance(key, (list, tuple, np.ndarray, range)):
            return TensorBatch(self, _to_index_list(key, len(self)))
        raise TypeError(f"tensor indices are int, slice or list of ints, not {type(key).__name__}")

    def __setitem__(self, key, value):
        """``t[i] = v``; ``t[a:b] = values`` and ``t[[i, j]] = values`` in one call (every
        value is checked before anything is written)."""
        types = self._ds._tensor_types(self.name)
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            self._ds._update(self.name, int(key), _convert(types, value))
            return
        length = len(self._ds)
        if isinstance(key, slice):
            indices = list(range(*key.indices(length)))
        elif isinstance(key, (list, tuple, np.ndarray, range)):
            indices = _to_index_list(key, length)
        else:
            raise TypeError(f"tensor indices are an int, a slice or a list of ints, not {type(key).__name__}")
        if isinstance(value, np.ndarray) and value.ndim >= 1 and types["dtype"] not in ("text", "bytes"):
            values = [_convert(types, v) for v in value]
        elif isinstance(value, (list, tuple)):
            values = [_convert(types, v) for v in value]
        else:
            raise TypeError(f"t[{key!r}] = ... needs a list or an array with one value per index, "
                            f"got {type(value).__name__}")
        if len(values) != len(indices):
            raise ValueError(f"t[{key!r}] = ...: {len(indices)} indices but {len(values)} values")
        self._ds._update_many(self.name, indices, values)

    def numpy(self):
        """Every sample: stacked when shapes agree, else a list."""
        return self._ds._read_range(self.name, 0, len(self._ds))

    def __repr__(self):
        info = self._ds._tensor_types(self.name)
        return f"gtn.Tensor({self.name!r}, htype={info['htype']!r}, dtype={info['dtype']!r}, length={len(self)})"


class TensorSample:
    """Sample i of one tensor; ``.numpy()`` reads it."""

    __slots__ = ("_tensor", "index")

    def __init__(self, tensor, index):
        self._tensor = tensor
        self.index = index

    def numpy(self):
        return self._tensor._ds._read(self._tensor.name, self.index)

    def __repr__(self):
        return f"gtn.TensorSample({self._tensor.name!r}, {self.index})"


class TensorBatch:
    """Several samples of one tensor; ``.numpy()`` gives a stacked array when the shapes
    agree, else a list."""

    __slots__ = ("_tensor", "_key")

    def __init__(self, tensor, key):
        self._tensor = tensor
        self._key = key

    def numpy(self):
        core = self._tensor._ds
        name = self._tensor.name
        if isinstance(self._key, slice):
            start, stop, step = self._key.indices(len(self._tensor._ds))
            if step == 1:
                return core._read_range(name, start, max(start, stop))
            return core._read_many(name, list(range(start, stop, step)))
        return core._read_many(name, self._key)

    def __repr__(self):
        return f"gtn.TensorBatch({self._tensor.name!r}, {self._key!r})"


# --- conversion of Python values to a tensor's dtype ---

def _c_order(arr):
    # np.ascontiguousarray would turn a 0-d array into a 1-d one.
    return arr if arr.flags.c_contiguous else arr.copy(order="C")


def _convert(info, value):
    dtype = info["dtype"]
    if info["htype"] == "class_label" and _has_strings(value):
        value = _label_indices(info, value)
    if dtype == "text":
        if info["htype"] == "json":
            return json.dumps(value)
        if isinstance(value, np.str_):
            value = str(value)
        if not isinstance(value, str):
            raise ValueError(f"tensor '{info['name']}' holds text; expected a str, got {type(value).__name__}")
        return value
    if dtype == "bytes":
        if isinstance(value, (bytearray, memoryview)):
            value = bytes(value)
        if not isinstance(value, bytes):
            raise ValueError(f"tensor '{info['name']}' holds bytes; expected bytes, got {type(value).__name__}")
        return value
    return _convert_array(info, value, batch=False)


def _has_strings(value):
    if isinstance(value, (str, np.str_)):
        return True
    if isinstance(value, (list, tuple)):
        return any(isinstance(v, (str, np.str_)) for v in value)
    return isinstance(value, np.ndarray) and value.dtype.kind in "US"


def _label_indices(info, value):
    """Class names -> their indices in the tensor's class_names."""
    names = info["class_names"]
    lookup = {n: i for i, n in enumerate(names)}

    def one(v):
        if isinstance(v, (str, np.str_)):
            if str(v) not in lookup:
                raise ValueError(f"tensor '{info['name']}': class {str(v)!r} is not one of its class_names "
                                 f"{list(names)}")
            return lookup[str(v)]
        return v

    if isinstance(value, (str, np.str_)):
        return np.int64(one(value))
    return [one(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]


def _plain_strings(types, values):
    """True when `values` is a list the bindings take as it is: str for a text tensor,
    bytes for a bytes tensor (json values go through json.dumps)."""
    if not isinstance(values, list) or types["htype"] == "json":
        return False
    kind = str if types["dtype"] == "text" else bytes
    return all(isinstance(v, kind) for v in values)


def _stack(arrays):
    """One array with a batch axis when every sample has the same shape, else the list."""
    if arrays and all(a.shape == arrays[0].shape for a in arrays):
        return np.stack(arrays)
    return arrays


def _convert_array(info, value, batch):
    target = np.dtype(info["dtype"])
    name = info["name"]
    if isinstance(value, (np.ndarray, np.generic)):
        arr = np.asarray(value)
        if arr.dtype != target:
            if not np.can_cast(arr.dtype, target, casting="same_kind"):
                raise ValueError(f"tensor '{name}' holds {target}; cannot convert {arr.dtype} to it "
                                 f"(numpy 'same_kind' casting); convert explicitly with .astype()")
            arr = arr.astype(target)
        return _c_order(arr)
    # Python scalars and (nested) lists.
    try:
        arr = np.asarray(value)
    except ValueError as e:
        raise ValueError(f"tensor '{name}': cannot make an array of the given value ({e})") from None
    if arr.size == 0 and arr.dtype == np.float64 and not isinstance(value, np.ndarray):
        return _c_order(arr.astype(target))  # [] has no dtype of its own
    if arr.dtype == object or arr.dtype.kind in "USV":
        raise ValueError(f"tensor '{name}' holds {target}; got a value of type {type(value).__name__} "
                         f"that is not numeric (or nested lists of unequal lengths)")
    if arr.dtype.kind in "iu" and target.kind in "iu":
        if arr.size:
            lo, hi = np.iinfo(target).min, np.iinfo(target).max
            if int(arr.min()) < lo or int(arr.max()) > hi:
                raise ValueError(f"tensor '{name}' holds {target}; value out of its range [{lo}, {hi}]")
        return _c_order(arr.astype(target))
    if arr.dtype != target and not np.can_cast(arr.dtype, target, casting="same_kind"):
        raise ValueError(f"tensor '{name}' holds {target}; cannot convert {arr.dtype} to it "
                         f"(numpy 'same_kind' casting)")
    return _c_order(arr.astype(target))
