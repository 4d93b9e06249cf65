"""Read-only datasets read from several threads and several processes at once."""
import multiprocessing as mp
import threading

import numpy as np

import gtn

N = 300


def build(path):
    with gtn.dataset(path) as ds:
        ds.create_tensor("x", dtype="int64")
        ds.create_tensor("v", dtype="float32")
        ds.create_tensor("t", htype="text")
        ds.extend({"x": np.arange(N, dtype=np.int64), "v": np.arange(N * 300, dtype=np.float32).reshape(N, 300),
                   "t": [f"row {i}" for i in range(N)]})


def check_all(path, seed):
    ds = gtn.dataset(path, read_only=True)
    rng = np.random.default_rng(seed)
    for i in rng.integers(0, N, size=400):
        s = ds[int(i)]
        assert s["x"] == i and s["t"] == f"row {i}" and s["v"][0] == i * 300
    idx = rng.integers(0, N, size=64)
    b = ds[idx]
    assert np.array_equal(b["x"], idx) and np.array_equal(b["v"][:, 1], idx * 300 + 1)
    return True


def test_many_threads_read_one_dataset(tmp_path):
    build(tmp_path / "ds")
    ds = gtn.dataset(tmp_path / "ds", read_only=True)
    errors = []

    def worker(seed):
        try:
            rng = np.random.default_rng(seed)
            for _ in range(50):
                idx = rng.integers(0, N, size=32)
                b = ds[idx]
                assert np.array_equal(b["x"], idx)
                assert b["t"] == [f"row {i}" for i in idx]
                assert ds[int(idx[0])]["v"][299] == idx[0] * 300 + 299
        except Exception as e:  # noqa: BLE001 (reported to the main thread)
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_many_processes_read_one_dataset(tmp_path):
    build(tmp_path / "ds")
    writer = gtn.dataset(tmp_path / "ds")  # a writer holding the lock does not stop readers
    with mp.get_context("spawn").Pool(3) as pool:
        assert all(pool.starmap(check_all, [(str(tmp_path / "ds"), s) for s in range(6)]))
    writer.close()
