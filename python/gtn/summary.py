"""Summaries: per-tensor statistics of a dataset or of a view's rows (docs/summary.md).

    s = ds.summary()
    s["tensors"]["labels"]["class_counts"]   # {"cat": 50, "dog": 48, ...}
    print(s)                                 # readable text
    s.plot("summary.png")                    # the distributions, drawn
"""
import copy
import html
import json
import os
from collections.abc import Mapping

import numpy as np

from gtn import _core


class Summary(Mapping):
    """What ``ds.summary()`` returns: a read-only mapping of the summary's fields
    (``s["tensors"][name]["values"]["mean"]``, see docs/summary.md), printable as text,
    drawable with :meth:`plot`."""

    def __init__(self, core):
        self._core = core
        self._dict = json.loads(core.to_json())

    def __getitem__(self, key):
        return self._dict[key]

    def __iter__(self):
        return iter(self._dict)

    def __len__(self):
        return len(self._dict)

    def to_dict(self):
        """A deep copy of the summary as plain dicts, lists and numbers (JSON-ready)."""
        return copy.deepcopy(self._dict)

    def to_json(self, indent=2):
        return json.dumps(self._dict, indent=indent)

    def plot(self, path):
        """Draws the distributions (value histograms, class counts, text lengths, sample
        and chunk sizes) as a grid of panels into the PNG file ``path``; returns ``path``."""
        self._core.plot(os.fspath(path))
        return path

    def __str__(self):
        return self._core.to_text()

    def __repr__(self):
        return self._core.to_text()

    def _repr_html_(self):
        return "<pre>" + html.escape(self._core.to_text()) + "</pre>"


def summarize(dataset, rows=None, tensors=None, threads=None, bins=32):
    """The Summary of ``dataset``: every row, or the positions ``rows`` (a view's rows, in any
    order, repeats counted each time); ``tensors`` limits it to those tensors."""
    if rows is not None:
        rows = np.asarray(rows)
        if rows.ndim != 1 or not (rows.size == 0 or np.issubdtype(rows.dtype, np.integer)):
            raise TypeError(f"rows are a 1-d sequence of row positions (ints), got an array of dtype {rows.dtype} "
                            f"and shape {rows.shape}")
        if rows.dtype == np.uint64 and rows.size and rows.max() > np.iinfo(np.int64).max:
            raise IndexError(f"row {int(rows.max())} out of range for dataset of {len(dataset)} rows")
        rows = np.ascontiguousarray(rows, dtype=np.int64)
    if tensors is not None:
        tensors = [tensors] if isinstance(tensors, str) else list(tensors)
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 0):
        raise ValueError(f"threads is a number of reader threads (0 or None: every core), got {threads!r}")
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValueError(f"bins is the largest number of histogram bins (at least 1), got {bins!r}")
    return Summary(_core.summarize(dataset, rows=rows, tensors=tensors, threads=threads or 0, bins=bins))
