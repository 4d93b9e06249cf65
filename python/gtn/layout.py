"""Access traces and layout plans (docs/layout.md).

    with ds.trace() as t:             # record how a job reads the dataset
        for batch in loader: ...
    print(t.summary()["text"])
    t.save("job.gtntrace")
    plan = ds.layout_plan("workload", trace=t)
    print(plan)                       # per tensor: layout now and planned, why, predicted cost
    ds.rechunk(strategy="workload", trace=t)
"""
from __future__ import annotations

import json
import sys

from gtn import _core

__all__ = ["Trace", "LayoutPlan", "load_trace", "parse_bytes"]


class Trace:
    """An access trace: the reads made through the datasets it is attached to. ``len(t)``
    is its number of events (runs of rows of one tensor read by one call)."""

    def __init__(self, core=None, dataset=None):
        self._core = core if core is not None else _core.AccessTrace()
        self._dataset = dataset

    def __len__(self):
        return len(self._core)

    def __repr__(self):
        return f"gtn.layout.Trace({len(self)} events, tensors {self._core.tensor_names()})"

    def summary(self, dataset=None):
        """What the trace says about the workload: a dict with calls, rows read, re-read
        fraction, tensors read together, sequential/contiguous fractions, batch sizes,
        readers, and (with the dataset) class and graph locality; ``["text"]`` is a report."""
        ds = dataset if dataset is not None else self._dataset
        if ds is not None and getattr(ds, "closed", False):
            ds = None
        return self._core.summary(ds)

    def events(self):
        """Columns of the events: time_ns, call, begin, rows, tensor, thread, process."""
        return self._core.events()

    def tensor_names(self):
        return self._core.tensor_names()

    def save(self, path):
        """Writes the trace file (docs/layout.md, "Trace file format")."""
        self._core.save(str(path))

    def merge(self, other):
        """Adds another trace's events."""
        self._core.merge(other._core)


def load_trace(path):
    """Loads a trace file; a directory or a prefix merges every ``*.gtntrace`` file in it
    (the per-process files ``$GTN_TRACE`` and ``gtn trace`` write)."""
    return Trace(_core.load_trace(str(path)))


class LayoutPlan:
    """A layout plan: ``print(plan)`` shows per tensor the layout now and planned, why,
    and the predicted costs; ``plan.to_dict()`` has every number."""

    def __init__(self, core):
        self._core = core

    @property
    def strategy(self):
        return self._core.strategy

    @property
    def order(self):
        """The new row order (row i of the result is row order[i] now), or None."""
        o = self._core.order
        return list(o) if len(o) else None

    @property
    def groups(self):
        return [list(g) for g in self._core.groups]

    def to_dict(self):
        return json.loads(self._core.to_json())

    @property
    def tensors(self):
        """Per tensor: name, current and planned layout, why, statistics and costs."""
        return self.to_dict()["tensors"]

    @property
    def predicted(self):
        """The predicted cost of the current layout and of the plan (seconds, bytes)."""
        d = self.to_dict()
        return {"current": d["current_cost"], "planned": d["planned_cost"]}

    def rechunk_args(self):
        """The arguments of Dataset.rechunk that apply the plan."""
        return self._core._rechunk_args()

    def __str__(self):
        return self._core.explain()

    def __repr__(self):
        return self._core.explain()


_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1 << 10, "m": 1000**2, "mb": 1000**2, "mib": 1 << 20,
          "g": 1000**3, "gb": 1000**3, "gib": 1 << 30}


def parse_bytes(value):
    """16 MiB as 16777216: an int, or a string such as "16MiB", "512 KiB", "2GB"."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value <= 0:
            raise ValueError(f"a byte size must be > 0, got {value}")
        return value
    s = str(value).strip().lower().replace(" ", "")
    num = s.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = s[len(num):]
    if unit not in _UNITS or not num:
        raise ValueError(f"cannot read {value!r} as a byte size; expected e.g. 16777216, '16MiB', '512KiB', '2GB'")
    n = int(float(num) * _UNITS[unit])
    if n <= 0:
        raise ValueError(f"a byte size must be > 0, got {value!r}")
    return n


class _Progress:
    """progress(done, total) for rechunk: tqdm when installed, else a bar on stderr."""

    def __init__(self, label):
        self.label = label
        self.bar = None
        self.last = -1
        try:
            from tqdm import tqdm
            self.bar = tqdm(total=0, unit="B", unit_scale=True, desc=label)
        except ImportError:
            self.bar = None

    def __call__(self, done, total):
        if self.bar is not None:
            self.bar.total = total
            self.bar.n = done
            self.bar.refresh()
            return
        pct = int(100 * done / total) if total else 100
        if pct != self.last:
            self.last = pct
            filled = pct * 30 // 100
            sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {pct:3d}%")
            sys.stderr.flush()

    def close(self):
        if self.bar is not None:
            self.bar.close()
        elif self.last >= 0:
            sys.stderr.write("\n")
            sys.stderr.flush()
