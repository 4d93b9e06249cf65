"""gtn.pytorch: ds.pytorch(...) and the map-style TorchDataset adapter."""
import pickle
import warnings

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, default_collate

import gtn
from gtn.pytorch import ChunkBatchSampler, Loader, SampleList, TorchDataset, collate, epoch_order

N = 300
IMG = (24, 24, 3)  # 1728 bytes: single-sample reads of it are read-only views


def _make(path, n=N):
    rng = np.random.default_rng(7)
    data = {
        "images": rng.integers(0, 256, size=(n,) + IMG, dtype=np.uint8),
        "labels": (np.arange(n) % 5).astype(np.int64),
        "caption": [f"sample {i} " + "w" * (i % 13) for i in range(n)],
        "emb": rng.standard_normal((n, 8)).astype(np.float32),
        "meta": [{"i": i, "odd": bool(i % 2)} for i in range(n)],
        # ragged: i % 7 + 1 rows of 128 floats (>= 512 bytes), so some are views
        "ragged": [np.full((i % 7 + 1, 128), i, np.float32) for i in range(n)],
    }
    with gtn.dataset(path) as ds:
        ds.create_tensor("images", htype="image", chunk_size=16 << 10)   # ~9 samples a chunk
        ds.create_tensor("labels", htype="class_label", class_names=list("abcde"))
        ds.create_tensor("caption", htype="text")
        ds.create_tensor("emb", htype="embedding")
        ds.create_tensor("meta", htype="json")
        ds.create_tensor("ragged", dtype="float32", chunk_size=32 << 10)
        ds.extend(data)
    return data


@pytest.fixture(scope="module")
def data_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("torch") / "ds"
    data = _make(path)
    return str(path), data


def _indices(loader):
    return [b["index"].tolist() for b in loader]


def _flat(batches):
    return [i for b in batches for i in b]


# --- batches ---------------------------------------------------------------------------

def test_batch_values_match_the_dataset(data_path):
    path, data = data_path
    ds = gtn.dataset(path, read_only=True)
    loader = ds.pytorch(batch_size=32, shuffle=True, seed=3, return_index=True)
    assert isinstance(loader, Loader) and len(loader) == 10
    seen = 0
    for b in loader:
        idx = b["index"].numpy()
        assert set(b) == {"images", "labels", "caption", "emb", "meta", "ragged", "index"}
        assert b["images"].dtype == torch.uint8 and b["images"].shape == (len(idx),) + IMG
        np.testing.assert_array_equal(b["images"].numpy(), data["images"][idx])
        assert b["labels"].dtype == torch.int64
        np.testing.assert_array_equal(b["labels"].numpy(), data["labels"][idx])
        assert b["emb"].dtype == torch.float32
        np.testing.assert_array_equal(b["emb"].numpy(), data["emb"][idx])
        assert b["caption"] == [data["caption"][i] for i in idx]
        assert b["meta"] == [data["meta"][i] for i in idx]
        assert isinstance(b["ragged"], list) and all(isinstance(t, torch.Tensor) for t in b["ragged"])
        for t, i in zip(b["ragged"], idx):
            np.testing.assert_array_equal(t.numpy(), data["ragged"][i])
        seen += len(idx)
    assert seen == N


def test_tensors_pick_and_order(data_path):
    path, data = data_path
    loader = gtn.dataset(path, read_only=True).pytorch(batch_size=50, tensors=["caption", "labels"])
    first = next(iter(loader))
    assert list(first) == ["caption", "labels"]
    assert first["caption"] == data["caption"][:50]
    with pytest.raises(KeyError, match="nope"):
        gtn.dataset(path, read_only=True).pytorch(tensors=["labels", "nope"])


def test_unshuffled_batches_are_ranges_in_order(data_path):
    path, _ = data_path
    loader = Loader(path, batch_size=64, return_index=True, tensors=["labels"])
    batches = _indices(loader)
    assert batches == [list(range(a, min(a + 64, N))) for a in range(0, N, 64)]
    assert [list(r) for r in loader.sampler] == batches
    # in-process, the loader reads the sampler's batches itself; its DataLoader agrees
    assert [b["index"].tolist() for b in loader.dataloader] == batches


# --- each sample once, any workers -----------------------------------------------------

@pytest.mark.parametrize("num_workers", [0, 2])
@pytest.mark.parametrize("drop_last", [False, True])
def test_each_sample_exactly_once_per_epoch(data_path, num_workers, drop_last):
    path, _ = data_path
    loader = Loader(path, batch_size=32, shuffle=True, num_workers=num_workers, drop_last=drop_last,
                    seed=11, return_index=True, tensors=["labels"])
    for _ in range(2):  # two epochs, two different orders
        batches = _indices(loader)
        got = _flat(batches)
        assert len(got) == len(set(got))
        if drop_last:
            assert len(batches) == len(loader) == N // 32
            assert all(len(b) == 32 for b in batches)
            assert len(got) == (N // 32) * 32
        else:
            assert len(batches) == len(loader) == -(-N // 32)
            assert sorted(got) == list(range(N))
    assert loader.epoch == 2


def test_same_seed_same_order_for_any_num_workers(data_path):
    path, _ = data_path
    kw = dict(batch_size=40, shuffle=True, seed=5, return_index=True, tensors=["labels"])
    a = Loader(path, num_workers=0, **kw)
    b = Loader(path, num_workers=2, **kw)
    ea0, ea1 = _indices(a), _indices(a)
    eb0, eb1 = _indices(b), _indices(b)
    assert ea0 == eb0 and ea1 == eb1
    assert ea0 != ea1  # the next epoch reshuffles
    c = Loader(path, num_workers=0, **{**kw, "seed": 6})
    assert _indices(c) != ea0
    # set_epoch picks an epoch's shuffle directly
    a.set_epoch(1)
    assert _indices(a) == ea1
    a.set_epoch(0)
    assert _indices(a) == ea0


def test_seed_none_is_drawn_once_and_kept(data_path):
    path, _ = data_path
    a = Loader(path, batch_size=50, shuffle=True, return_index=True, tensors=["labels"])
    first = _indices(a)
    b = Loader(path, batch_size=50, shuffle=True, return_index=True, tensors=["labels"])
    b.load_state_dict({**a.state_dict(), "epoch": 0, "batch": 0})
    assert _indices(b) == first


# --- chunk-local shuffle ---------------------------------------------------------------

def test_epoch_order_follows_the_documented_rule():
    n, block, window = 103, 10, 3
    order = epoch_order(n, block, window, seed=1, epoch=0)
    assert sorted(order.tolist()) == list(range(n))
    assert order.tolist() != list(range(n))
    np.testing.assert_array_equal(order, epoch_order(n, block, window, seed=1, epoch=0))
    assert order.tolist() != epoch_order(n, block, window, seed=1, epoch=1).tolist()
    # Reproduce the rule: blocks permuted, windows of 3 permuted blocks, shuffled inside.
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([1, 0])))
    blocks = rng.permutation(11)
    pos = 0
    for w in range(0, 11, window):
        members = [b for b in blocks[w:w + window]]
        expect = sorted(i for b in members for i in range(b * block, min(n, (b + 1) * block)))
        got = order[pos:pos + len(expect)]
        assert sorted(got.tolist()) == expect  # a window is exactly its blocks
        pos += len(expect)
    assert pos == n


def test_shuffled_batches_are_chunk_local(data_path):
    path, _ = data_path
    ds = gtn.dataset(path, read_only=True)
    info = ds["images"].info
    block = -(-N // info["num_chunks"])
    loader = Loader(ds, batch_size=16, shuffle=True, seed=2, return_index=True, tensors=["images"])
    assert loader.sampler.block_size == block
    window = loader.sampler.window
    assert window == max(8, -(-4 * 16 // block))
    for b in _indices(loader):
        assert b == sorted(b)  # each batch reads its chunks front to back
        # a batch lies in at most two consecutive windows: 2 * window blocks
        assert len({i // block for i in b}) <= 2 * window
    # with a window smaller than the dataset, batches come from few blocks: a full shuffle
    # would spread them over more
    small = Loader(ds, batch_size=16, shuffle=True, seed=2, return_index=True, tensors=["images"],
                   shuffle_window=2)
    assert max(len({i // block for i in b}) for b in _indices(small)) <= 4
    rng = np.random.default_rng(0)
    full = rng.permutation(N)[:16 * (N // 16)].reshape(-1, 16)
    assert np.mean([len(set(b // block)) for b in full]) > 6


def test_the_sampler_works_in_a_plain_dataloader(data_path):
    path, data = data_path
    td = TorchDataset(path, tensors=["labels", "caption"], return_index=True)
    sampler = ChunkBatchSampler(len(td), 25, shuffle=True, seed=4, block_size=10)
    dl = DataLoader(td, batch_sampler=sampler, collate_fn=collate)
    got = []
    for b in dl:
        idx = b["index"].tolist()
        assert b["caption"] == [data["caption"][i] for i in idx]
        got += idx
    assert sorted(got) == list(range(N))


# --- resume ----------------------------------------------------------------------------

@pytest.mark.parametrize("num_workers", [0, 2])
def test_resume_mid_epoch(data_path, num_workers):
    path, _ = data_path
    kw = dict(batch_size=32, shuffle=True, seed=9, return_index=True, tensors=["labels"],
              num_workers=num_workers)
    full = Loader(path, **kw)
    epoch0, epoch1 = _indices(full), _indices(full)

    run = Loader(path, **kw)
    it = iter(run)
    head = [next(it)["index"].tolist() for _ in range(4)]
    state = run.state_dict()
    del it  # the run stops here (workers shut down)
    assert state["epoch"] == 0 and state["batch"] == 4
    assert head == epoch0[:4]

    resumed = Loader(path, **{**kw, "seed": 123})  # the seed comes from the state
    resumed.load_state_dict(pickle.loads(pickle.dumps(state)))
    assert _indices(resumed) == epoch0[4:]
    assert resumed.epoch == 1 and resumed.state_dict()["batch"] == 0
    assert _indices(resumed) == epoch1


def test_state_after_the_last_batch_and_mismatch(data_path):
    path, _ = data_path
    loader = Loader(path, batch_size=100, shuffle=True, seed=1, return_index=True, tensors=["labels"])
    states = []
    for _ in loader:
        states.append(loader.state_dict())
    assert [(s["epoch"], s["batch"]) for s in states] == [(0, 1), (0, 2), (1, 0)]
    with pytest.raises(ValueError, match="batch_size"):
        Loader(path, batch_size=50, shuffle=True).load_state_dict(states[0])
    with pytest.raises(ValueError, match="outside"):
        loader.load_state_dict({**states[0], "batch": 99})


# --- processes -------------------------------------------------------------------------

def test_pickles_as_its_path(data_path):
    path, data = data_path
    td = TorchDataset(gtn.dataset(path, read_only=True), tensors=["images"])
    blob = pickle.dumps(td)
    assert len(blob) < 1000 and path.encode() in blob
    back = pickle.loads(blob)
    assert back._ds is None and back.path == path
    np.testing.assert_array_equal(back[7]["images"].numpy(), data["images"][7])


@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_fork_and_spawn_workers_reopen_by_path(data_path, context):
    path, data = data_path
    ds = gtn.dataset(path, read_only=True)
    kw = dict(batch_size=64, shuffle=True, seed=21, return_index=True, tensors=["images", "caption"])
    expect = _indices(ds.pytorch(**kw))
    loader = ds.pytorch(num_workers=2, multiprocessing_context=context, **kw)
    got = []
    for b in loader:
        idx = b["index"].numpy()
        np.testing.assert_array_equal(b["images"].numpy(), data["images"][idx])
        assert b["caption"] == [data["caption"][i] for i in idx]
        got.append(idx.tolist())
    assert got == expect


def test_a_writable_dataset_is_flushed_and_keeps_its_lock(tmp_path):
    ds = gtn.dataset(tmp_path / "w")
    ds.create_tensor("x", dtype="int64")
    ds.extend({"x": np.arange(10)})  # not flushed yet
    loader = ds.pytorch(batch_size=4)
    assert torch.cat([b["x"] for b in loader]).tolist() == list(range(10))
    ds.append({"x": 10})  # still the writer
    ds.flush()
    with pytest.raises(gtn.LockedError):
        gtn.dataset(tmp_path / "w")


# --- writable tensors, one copy ---------------------------------------------------------

def test_no_non_writable_warning_and_tensors_are_writable(data_path):
    path, _ = data_path
    ds = gtn.dataset(path, read_only=True)
    assert not ds[0]["images"].flags.writeable  # GTN hands out read-only views
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for num_workers in (0, 2):
            for b in ds.pytorch(batch_size=64, shuffle=True, seed=0, num_workers=num_workers):
                b["images"] += 1
                b["ragged"][0] += 1
        td = TorchDataset(ds)
        s = td[3]
        s["images"] += 1
        s["ragged"] += 1
        for b in DataLoader(td, batch_size=16, collate_fn=collate):
            b["images"] += 1
        plain = TorchDataset(ds, tensors=["images", "labels", "caption"])
        for b in DataLoader(plain, batch_size=16):
            b["images"] += 1  # default_collate stacks the views: correct, no warning
        t = TorchDataset(ds, transform=lambda s: {"img": torch.from_numpy(s["images"]),
                                                  "r": torch.from_numpy(s["ragged"]).sum()})
        for b in DataLoader(t, batch_size=8):
            b["img"] += 1


def test_batches_are_handed_to_torch_without_a_second_copy(data_path):
    path, _ = data_path
    td = TorchDataset(path, tensors=["images", "ragged"])
    cols = td.read_batch([5, 1, 2])
    assert cols["images"].flags.writeable  # the batch read decodes into a new array
    from gtn.pytorch import _to_torch
    t = _to_torch(cols["images"])
    assert np.shares_memory(t.numpy(), cols["images"])  # torch.from_numpy: no copy
    views = [a for a in cols["ragged"] if not a.flags.writeable]
    assert views  # ragged samples over 1 KiB are read-only views: copied once
    samples = td.__getitems__([5, 1, 2])
    assert isinstance(samples, SampleList) and len(samples) == 3
    batch = collate(samples)
    assert batch is samples.batch
    assert samples[1]["images"].data_ptr() == batch["images"][1].data_ptr()
    plain = TorchDataset(path, tensors=["images", "labels"]).__getitems__([5, 1, 2])
    restacked = default_collate(plain)  # correct too, at the cost of a second copy
    assert torch.equal(restacked["images"], batch["images"])
    assert restacked["labels"].tolist() == [0, 1, 2]


# --- transforms and the map-style adapter ----------------------------------------------

def _double_label(sample):
    return {"label2": sample["labels"] * 2, "text": sample["caption"].upper()}


def _add_count(batch):
    batch["n"] = len(batch["text"])
    return batch


@pytest.mark.parametrize("num_workers", [0, 2])
def test_transform_and_batch_transform(data_path, num_workers):
    path, data = data_path
    loader = Loader(path, batch_size=30, num_workers=num_workers, tensors=["labels", "caption"],
                    transform=_double_label, batch_transform=_add_count)
    b = next(iter(loader))
    assert set(b) == {"label2", "text", "n"}
    assert b["label2"].tolist() == (data["labels"][:30] * 2).tolist()
    assert b["text"] == [c.upper() for c in data["caption"][:30]]
    assert b["n"] == 30


def test_map_style_adapter(data_path):
    path, data = data_path
    td = TorchDataset(path, tensors=["images", "labels", "caption"])
    assert len(td) == N
    s = td[-1]
    assert s["caption"] == data["caption"][-1] and int(s["labels"]) == int(data["labels"][-1])
    with pytest.raises(TypeError):
        td["images"]
    torch.manual_seed(0)
    got = []
    for b in DataLoader(td, batch_size=64, shuffle=True, num_workers=2, collate_fn=collate):
        assert b["images"].shape[1:] == IMG
        got += b["caption"]
    assert sorted(got) == sorted(data["caption"])


# --- real data -------------------------------------------------------------------------

def test_sklearn_digits_images_and_texts(tmp_path):
    from sklearn.datasets import load_digits
    digits = load_digits()
    images = digits.images.astype(np.uint8)  # 1797 8x8 images, values 0..16
    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    texts = [f"a handwritten {words[t]}" for t in digits.target]
    with gtn.dataset(tmp_path / "digits") as ds:
        ds.create_tensor("images", htype="image", chunk_size=4096)
        ds.create_tensor("labels", htype="class_label", class_names=words)
        ds.create_tensor("text", htype="text")
        ds.extend({"images": images, "labels": digits.target.astype(np.int64), "text": texts})
    ds = gtn.dataset(tmp_path / "digits", read_only=True)
    loader = ds.pytorch(batch_size=128, shuffle=True, num_workers=2, seed=0, drop_last=True,
                        return_index=True)
    total = 0
    seen = set()
    for b in loader:
        idx = b["index"].numpy()
        assert b["images"].shape == (128, 8, 8)
        np.testing.assert_array_equal(b["images"].numpy(), images[idx])
        np.testing.assert_array_equal(b["labels"].numpy(), digits.target[idx])
        assert b["text"] == [texts[i] for i in idx]
        assert all(words[int(l)] in t for l, t in zip(b["labels"], b["text"]))
        seen.update(idx.tolist())
        total += len(idx)
    assert total == len(seen) == (1797 // 128) * 128
    # a tiny linear model learns from the batches
    torch.manual_seed(0)
    model = torch.nn.Linear(64, 10)
    loader0 = ds.pytorch(batch_size=64, shuffle=True, seed=1, tensors=["images", "labels"])
    for _ in range(3):
        for b in loader0:
            x = b["images"].reshape(len(b["labels"]), -1).float() / 16
            loss = torch.nn.functional.cross_entropy(model(x), b["labels"])
            model.zero_grad()
            loss.backward()
            with torch.no_grad():  # plain SGD
                for p in model.parameters():
                    p -= 0.05 * p.grad
    x = torch.from_numpy(images.reshape(len(images), -1)).float() / 16
    acc = (model(x).argmax(1).numpy() == digits.target).mean()
    assert acc > 0.8
