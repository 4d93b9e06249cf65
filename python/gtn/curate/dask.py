"""Dedup on a Dask cluster: the row hashing and the candidate verification run as Dask
tasks; candidate generation, union-find, the keep policy and the writes run where
``dedup`` is called. Workers open the dataset read-only at its head commit from a folder
every worker can read (a shared file system), so the result equals a single-process run.

    from dask.distributed import Client
    from gtn.curate.dask import DaskExecutor
    client = Client("tcp://scheduler:8786")
    gtn.curate.dedup(ds, executor=DaskExecutor(client))
"""
from __future__ import annotations

import os

import numpy as np

from gtn import _core


def _hash_part(path, version, opts, begin, end):
    return _core.curate_hash_part(path, version, opts, begin, end)


def _verify_part(path, version, opts, pairs):
    return _core.curate_verify_part(path, version, opts, pairs)


class DaskExecutor:
    """Runs dedup's hashing and verification on ``client``'s workers.

    ``rows_per_task``: rows hashed per task; ``pairs_per_task``: candidate pairs verified
    per task. ``threads``: threads each task uses (default 1: Dask runs one task per
    worker thread)."""

    def __init__(self, client, rows_per_task=50_000, pairs_per_task=200_000, threads=1):
        self.client = client
        self.rows_per_task = int(rows_per_task)
        self.pairs_per_task = int(pairs_per_task)
        self.threads = int(threads)

    def hooks(self, dataset, opts):
        if dataset.has_uncommitted_changes:
            raise ValueError("dedup on Dask reads the dataset's head commit on every worker; commit first "
                             "(ds.commit(...))")
        path = os.path.abspath(dataset.path)
        version = dataset.head_commit
        if not version:
            raise ValueError("dedup on Dask needs a committed dataset (ds.commit(...))")
        task_opts = dict(opts, threads=self.threads, write=False, commit="", index="")
        client = self.client

        def hash_rows(begin, end):
            bounds = list(range(begin, end, self.rows_per_task)) + [end]
            futures = [client.submit(_hash_part, path, version, task_opts, a, b, pure=False)
                       for a, b in zip(bounds[:-1], bounds[1:])]
            return client.gather(futures)

        def verify(pairs):
            pairs = np.asarray(pairs, dtype=np.uint64)
            if len(pairs) == 0:
                return np.zeros(0, dtype=np.float64)
            chunks = [pairs[i:i + self.pairs_per_task] for i in range(0, len(pairs), self.pairs_per_task)]
            futures = [client.submit(_verify_part, path, version, task_opts, c, pure=False) for c in chunks]
            return np.concatenate(client.gather(futures))

        return hash_rows, verify
