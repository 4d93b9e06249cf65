"""Version control from Python: commit, log, branch, checkout, tag, status, diff, reset,
merge, cherry_pick, gc, delete_samples (docs/versions.md)."""
import datetime
import os
import pickle
import re
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import gtn

HEX16 = re.compile(r"^[0-9a-f]{16}$")


def make(path, n=6):
    """A dataset of n rows: x = 0..n-1 (int64), t = "r0".."r{n-1}" (text)."""
    ds = gtn.dataset(path)
    ds.create_tensor("x", dtype="int64")
    ds.create_tensor("t", htype="text")
    ds.extend({"x": np.arange(n, dtype=np.int64), "t": [f"r{i}" for i in range(n)]})
    return ds


def xs(ds):
    return ds["x"].numpy().tolist()


def ts(ds):
    return [ds[i]["t"] for i in range(len(ds))]


def add(ds, *values):
    for v in values:
        ds.append({"x": v, "t": f"r{v}"})


def files_of(path):
    """Every file of the dataset but the reader registry."""
    out = set()
    for root, _, names in os.walk(path):
        if os.path.relpath(root, path).split(os.sep)[0] == "readers":
            continue
        out.update(os.path.join(root, n) for n in names)
    return out


def as_list(a):
    assert isinstance(a, np.ndarray) and a.dtype == np.uint64 and a.ndim == 1
    return a.tolist()


# --- commit and log ---

def test_commit_and_log(tmp_path, monkeypatch):
    monkeypatch.setenv("GTN_AUTHOR", "bob")
    ds = make(tmp_path / "ds", 5)
    assert ds.head_commit is None and ds.log() == []
    assert ds.has_uncommitted_changes
    before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)
    c1 = ds.commit("first", author="alice")
    assert HEX16.match(c1) and ds.head_commit == c1
    assert not ds.has_uncommitted_changes
    with pytest.raises(ValueError, match="nothing to commit"):
        ds.commit("again")
    time.sleep(0.01)
    add(ds, 5)
    assert ds.has_uncommitted_changes
    c2 = ds.commit("second")
    time.sleep(0.01)
    ds["x"][0] = 50
    c3 = ds.commit("third", author="carol")
    assert len({c1, c2, c3}) == 3
    log = ds.log()
    assert [c["id"] for c in log] == [c3, c2, c1]
    assert [c["parents"] for c in log] == [[c2], [c1], []]
    assert [c["message"] for c in log] == ["third", "second", "first"]
    assert [c["author"] for c in log] == ["carol", "bob", "alice"]  # bob: $GTN_AUTHOR
    assert [c["length"] for c in log] == [6, 6, 5]
    times = [c["time"] for c in log]
    assert all(isinstance(t, datetime.datetime) and t.utcoffset() == datetime.timedelta(0) for t in times)
    assert times[0] > times[1] > times[2] > before
    assert times[0] <= datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=5)
    assert [c["id"] for c in ds.log(c2)] == [c2, c1]
    assert [c["id"] for c in ds.log(c2[:6])] == [c2, c1]  # a unique prefix names a commit
    ds.close()
    # Commits are durable: a new handle sees them.
    ro = gtn.dataset(tmp_path / "ds", read_only=True)
    assert [c["id"] for c in ro.log()] == [c3, c2, c1] and ro.head_commit == c3


def test_author_from_open(tmp_path):
    make(tmp_path / "ds").close()
    ds = gtn.dataset(tmp_path / "ds", author="dora")
    c = ds.commit("by dora")
    assert ds.log()[0]["author"] == "dora" and ds.log()[0]["id"] == c


# --- branches ---

def test_branch_and_checkout_round_trip(tmp_path):
    ds = make(tmp_path / "ds", 4)
    base = ds.commit("base")
    main = ds.current_branch
    assert main and ds.branches == [main]
    ds.branch("dev")
    assert ds.current_branch == main  # branch() does not switch
    assert sorted(ds.branches) == sorted([main, "dev"])
    ds.checkout("dev")
    assert ds.current_branch == "dev" and ds.head_commit == base and not ds.read_only
    ds["x"][0] = 100
    add(ds, 7)
    dev1 = ds.commit("on dev")
    ds.checkout(main)
    assert xs(ds) == [0, 1, 2, 3] and ds.head_commit == base
    add(ds, 9)
    main1 = ds.commit("on main")
    ds.checkout("dev")
    assert xs(ds) == [100, 1, 2, 3, 7] and ts(ds)[-1] == "r7" and ds.head_commit == dev1
    ds.checkout(main)
    assert xs(ds) == [0, 1, 2, 3, 9] and ds.head_commit == main1
    ds.checkout("feature", create=True)
    assert ds.current_branch == "feature" and ds.head_commit == main1
    ds.close()
    dev = gtn.dataset(tmp_path / "ds", version="dev", read_only=True)
    assert xs(dev) == [100, 1, 2, 3, 7] and dev.current_branch == "dev"


def test_new_tensor_on_a_branch_stays_there(tmp_path):
    ds = make(tmp_path / "ds", 3)
    ds.commit("base")
    main = ds.current_branch
    ds.checkout("dev", create=True)
    ds.create_tensor("extra", htype="text")
    ds.rename_tensor("t", "text")
    ds.commit("schema on dev")
    assert list(ds.tensors) == ["x", "text", "extra"]
    ds.checkout(main)
    assert list(ds.tensors) == ["x", "t"]
    assert ds[0] == {"x": 0, "t": "r0"}
    with pytest.raises(KeyError):
        ds["extra"]


def test_checkout_of_a_tag_or_commit_is_read_only_past(tmp_path):
    ds = make(tmp_path / "ds", 3)
    c1 = ds.commit("c1")
    ds.tag("v1")
    assert ds.tags == {"v1": c1}
    ds["x"][1] = 11
    c2 = ds.commit("c2")
    main = ds.current_branch
    for target in ("v1", c1, c1[:8]):
        ds.checkout(target)
        assert ds.current_branch is None and ds.head_commit == c1
        assert xs(ds) == [0, 1, 2]
        for write in (lambda: add(ds, 5), lambda: ds["x"].__setitem__(0, 3), ds.pop,
                      lambda: ds.delete_samples(0), lambda: ds.commit("no"), lambda: ds.create_tensor("n")):
            with pytest.raises(ValueError):
                write()
        assert xs(ds) == [0, 1, 2]
        ds.checkout(main)
        assert not ds.read_only and ds.head_commit == c2 and xs(ds) == [0, 11, 2]
    ds.close()
    for version in ("v1", c1):
        old = gtn.dataset(tmp_path / "ds", version=version, read_only=True)
        assert xs(old) == [0, 1, 2] and old.head_commit == c1 and old.current_branch is None
    with pytest.raises(ValueError):
        gtn.dataset(tmp_path / "ds", version="v1")  # a writable open of a tag
    now = gtn.dataset(tmp_path / "ds")
    assert xs(now) == [0, 11, 2]


def test_a_detached_checkout_says_read_only(tmp_path):
    ds = make(tmp_path / "ds", 3)
    c1 = ds.commit("c1")
    ds.checkout(c1)
    assert ds.read_only


def test_pickle_carries_the_version(tmp_path):
    ds = make(tmp_path / "ds", 3)
    c1 = ds.commit("c1")
    ds["x"][0] = 7
    ds.commit("c2")
    main = ds.current_branch
    ds.checkout(c1)
    copy = pickle.loads(pickle.dumps(ds))
    assert copy.read_only and copy.head_commit == c1 and xs(copy) == [0, 1, 2]
    ds.checkout(main)
    ds.branch("dev")
    ds.checkout("dev")
    ds["x"][2] = 22
    ds.flush()
    copy = pickle.loads(pickle.dumps(ds))  # the branch, uncommitted changes included
    assert copy.read_only and copy.current_branch == "dev" and xs(copy) == [7, 1, 22]


# --- status, reset ---

def test_status_and_reset(tmp_path):
    ds = make(tmp_path / "ds", 5)
    ds.commit("base")
    st = ds.status()
    assert st["tensors"] == {} and as_list(st["rows_added"]) == [] and as_list(st["rows_deleted"]) == []
    ds["x"][1] = 10
    del ds[3]
    add(ds, 5)
    assert xs(ds) == [0, 10, 2, 4, 5]
    assert ds.has_uncommitted_changes
    st = ds.status()
    assert st["a"] == ds.head_commit and st["b"] is None
    assert as_list(st["rows_added"]) == [4] and as_list(st["rows_deleted"]) == [3]
    assert set(st["tensors"]) == {"x", "t"}
    x = st["tensors"]["x"]
    assert as_list(x["added"]) == [4] and as_list(x["updated"]) == [1] and as_list(x["deleted"]) == [3]
    assert x["schema_changes"] == [] and x["old_name"] is None
    t = st["tensors"]["t"]
    assert as_list(t["added"]) == [4] and as_list(t["updated"]) == [] and as_list(t["deleted"]) == [3]
    ds.reset()
    assert xs(ds) == [0, 1, 2, 3, 4] and ts(ds) == [f"r{i}" for i in range(5)]
    assert not ds.has_uncommitted_changes and ds.status()["tensors"] == {}
    ds.close()
    assert xs(gtn.dataset(tmp_path / "ds", read_only=True)) == [0, 1, 2, 3, 4]


def test_reset_moves_the_branch(tmp_path):
    ds = make(tmp_path / "ds", 3)
    c1 = ds.commit("c1")
    add(ds, 3)
    c2 = ds.commit("c2")
    add(ds, 4)
    ds.reset(c1)
    assert ds.head_commit == c1 and xs(ds) == [0, 1, 2] and not ds.has_uncommitted_changes
    assert [c["id"] for c in ds.log()] == [c1]
    ds.reset(c2)  # the commit still exists: move forward again
    assert ds.head_commit == c2 and xs(ds) == [0, 1, 2, 3]


# --- diff ---

def test_diff_updates_appends_pops_and_deletes(tmp_path):
    ds = make(tmp_path / "ds", 5)
    c1 = ds.commit("c1")
    ds["x"][[0, 2]] = [7, 8]
    ds.pop()                # row 4 of c1
    ds.delete_samples([1])  # row 1 of c1
    add(ds, 30, 40)
    assert xs(ds) == [7, 8, 3, 30, 40]
    c2 = ds.commit("c2")
    d = ds.diff(c1, c2)
    assert d["a"] == c1 and d["b"] == c2
    assert as_list(d["rows_added"]) == [3, 4] and as_list(d["rows_deleted"]) == [1, 4]
    x = d["tensors"]["x"]
    assert as_list(x["updated"]) == [0, 1]  # positions in b
    assert as_list(x["deleted"]) == [1, 4]  # positions in a
    assert as_list(x["added"]) == [3, 4]
    t = d["tensors"]["t"]
    assert as_list(t["updated"]) == [] and as_list(t["deleted"]) == [1, 4] and as_list(t["added"]) == [3, 4]
    back = ds.diff(c2, c1)  # the other way round
    assert as_list(back["rows_added"]) == [1, 4] and as_list(back["rows_deleted"]) == [3, 4]
    assert as_list(back["tensors"]["x"]["updated"]) == [0, 2]
    assert ds.diff(c1, c1)["tensors"] == {} and as_list(ds.diff(c2, c2)["rows_added"]) == []
    assert ds.diff("main" if ds.current_branch == "main" else ds.current_branch, c2)["tensors"] == {}
    # b omitted: the current state, uncommitted changes included
    ds["t"][2] = "changed"
    ds.flush()  # see test_diff_sees_unflushed_changes
    d = ds.diff(c2)
    assert d["b"] is None and list(d["tensors"]) == ["t"] and as_list(d["tensors"]["t"]["updated"]) == [2]


def test_diff_sees_unflushed_changes(tmp_path):
    ds = make(tmp_path / "ds", 3)
    c1 = ds.commit("c1")
    ds["t"][2] = "changed"
    assert list(ds.status()["tensors"]) == ["t"]
    assert list(ds.diff(c1)["tensors"]) == ["t"]


def test_diff_of_schema_changes(tmp_path):
    ds = make(tmp_path / "ds", 3)
    c1 = ds.commit("c1")
    ds.create_tensor("y", htype="text")
    ds.delete_tensor("t")
    ds.rename_tensor("x", "z")
    c2 = ds.commit("c2")
    d = ds.diff(c1, c2)
    assert set(d["tensors"]) == {"y", "t", "z"}
    assert "added" in d["tensors"]["y"]["schema_changes"]
    assert "deleted" in d["tensors"]["t"]["schema_changes"]
    z = d["tensors"]["z"]
    assert z["schema_changes"] == ["renamed"] and z["old_name"] == "x"
    assert as_list(z["updated"]) == [] and as_list(z["added"]) == [] and as_list(z["deleted"]) == []
    assert as_list(d["rows_added"]) == [] and as_list(d["rows_deleted"]) == []


# --- merge ---

def two_branches(path, n=6):
    """main and dev at one base commit; returns (ds, main name, base id)."""
    ds = make(path, n)
    base = ds.commit("base")
    main = ds.current_branch
    ds.branch("dev")
    return ds, main, base


def test_merge_fast_forward_and_up_to_date(tmp_path):
    ds, main, base = two_branches(tmp_path / "ds", 3)
    ds.checkout("dev")
    add(ds, 3)
    d1 = ds.commit("dev adds 3")
    ds.checkout(main)
    r = ds.merge("dev")
    assert r["fast_forward"] and not r["up_to_date"] and r["commit"] == d1 and r["conflicts"] == []
    assert ds.head_commit == d1 and xs(ds) == [0, 1, 2, 3]
    assert [c["id"] for c in ds.log()] == [d1, base]  # no merge commit
    r = ds.merge("dev")
    assert r["up_to_date"] and not r["fast_forward"] and ds.head_commit == d1


def test_three_way_merge_of_disjoint_changes(tmp_path):
    ds, main, base = two_branches(tmp_path / "ds", 6)
    ds["x"][1] = 100
    add(ds, 60)
    m1 = ds.commit("main: x[1], +60")
    ds.checkout("dev")
    ds["x"][4] = 400
    ds["t"][2] = "dev"
    add(ds, 70, 71)
    d1 = ds.commit("dev: x[4], t[2], +70 +71")
    ds.checkout(main)
    r = ds.merge("dev", message="merge dev")
    assert not r["fast_forward"] and not r["up_to_date"] and r["conflicts"] == []
    assert HEX16.match(r["commit"]) and r["commit"] == ds.head_commit
    assert r["rows_added"] == 2 and r["rows_deleted"] == 0 and r["samples_updated"] == 2
    head = ds.log()[0]
    assert head["parents"] == [m1, d1] and head["message"] == "merge dev" and head["length"] == 9
    # Both sides' changes; dev's appended rows after main's.
    assert xs(ds) == [0, 100, 2, 3, 400, 5, 60, 70, 71]
    assert ts(ds) == ["r0", "r1", "dev", "r3", "r4", "r5", "r60", "r70", "r71"]
    assert not ds.has_uncommitted_changes
    ds.checkout("dev")  # the merged branch did not move
    assert ds.head_commit == d1 and xs(ds) == [0, 1, 2, 3, 400, 5, 70, 71]
    ds.checkout(main)
    assert ds.merge("dev")["up_to_date"]


def test_merge_carries_deletions(tmp_path):
    ds, main, base = two_branches(tmp_path / "ds", 5)
    ds["x"][4] = 40
    ds.commit("main: x[4]")
    ds.checkout("dev")
    ds.delete_samples([1])
    ds.commit("dev: delete row 1")
    ds.checkout(main)
    r = ds.merge("dev")
    assert r["rows_deleted"] == 1 and r["conflicts"] == []
    assert xs(ds) == [0, 2, 3, 40] and ts(ds) == ["r0", "r2", "r3", "r4"]


def conflicting(path):
    """main and dev both changed x[2]; dev also deleted row 3, which main updated."""
    ds, main, base = two_branches(path, 5)
    ds["x"][2] = 30
    ds["x"][3] = 33
    m1 = ds.commit("main: x[2] = 30, x[3] = 33")
    ds.checkout("dev")
    ds["x"][2] = 20
    ds.delete_samples(3)
    d1 = ds.commit("dev: x[2] = 20, delete row 3")
    ds.checkout(main)
    return ds, m1, d1


def test_merge_conflicts_fail_and_change_nothing(tmp_path):
    ds, main, base = two_branches(tmp_path / "ds", 5)
    ds["x"][2] = 30
    ds["t"][4] = "main"
    m1 = ds.commit("main: x[2] = 30, t[4]")
    ds.checkout("dev")
    ds["x"][2] = 20
    ds["t"][4] = "dev"
    ds.commit("dev: x[2] = 20, t[4]")
    ds.checkout(main)
    with pytest.raises(gtn.MergeConflictError) as e:
        ds.merge("dev")
    assert isinstance(e.value, gtn.GTNError) and isinstance(e.value, ValueError)
    assert "2 conflict" in str(e.value) and "both updated" in str(e.value)
    conflicts = sorted(e.value.conflicts, key=lambda c: c["tensor"])
    assert [(c["tensor"], c["kind"], c["ours_index"], c["theirs_index"]) for c in conflicts] == [
        ("t", "both updated", 4, 4), ("x", "both updated", 2, 2)]
    assert all(isinstance(c["sample_id"], int) for c in conflicts)
    assert ds.head_commit == m1 and xs(ds) == [0, 1, 30, 3, 4] and ts(ds)[4] == "main"
    assert not ds.has_uncommitted_changes
    with pytest.raises(ValueError, match="'fail', 'ours', 'theirs'"):
        ds.merge("dev", policy="mine")
    assert ds.head_commit == m1


def test_merge_conflict_of_an_update_and_a_deletion(tmp_path):
    ds, main, base = two_branches(tmp_path / "ds", 5)
    ds["x"][3] = 33
    m1 = ds.commit("main: x[3] = 33")
    ds.checkout("dev")
    ds.delete_samples(3)
    ds.commit("dev: delete row 3")
    ds.checkout(main)
    with pytest.raises(gtn.MergeConflictError) as e:
        ds.merge("dev")
    [c] = e.value.conflicts
    assert c["kind"] == "updated here, deleted there" and c["ours_index"] == 3 and c["theirs_index"] is None
    assert ds.head_commit == m1 and xs(ds) == [0, 1, 2, 33, 4]
    ds.checkout("dev")  # and the other way round
    with pytest.raises(gtn.MergeConflictError) as e:
        ds.merge(main)
    [c] = e.value.conflicts
    assert c["kind"] == "deleted here, updated there" and c["ours_index"] is None and c["theirs_index"] == 3


def test_merge_reports_every_conflict_with_its_tensor(tmp_path):
    ds, m1, d1 = conflicting(tmp_path / "ds")
    with pytest.raises(gtn.MergeConflictError) as e:
        ds.merge("dev")
    conflicts = sorted(e.value.conflicts, key=lambda c: c["ours_index"])
    assert [(c["tensor"], c["kind"]) for c in conflicts] == [
        ("x", "both updated"), ("x", "updated here, deleted there")]


def test_merge_conflicts_ours_and_theirs(tmp_path):
    ds, m1, d1 = conflicting(tmp_path / "ds")
    r = ds.merge("dev", policy="ours")
    assert len(r["conflicts"]) == 2 and r["commit"] == ds.head_commit
    assert ds.log()[0]["parents"] == [m1, d1]
    assert xs(ds) == [0, 1, 30, 33, 4]  # ours: our value, and our update beats their delete
    ds.reset(m1)
    r = ds.merge("dev", policy="theirs")
    assert len(r["conflicts"]) == 2 and ds.log()[0]["parents"] == [m1, d1]
    assert xs(ds) == [0, 1, 20, 4]  # theirs: their value, and their delete


def test_merge_carries_a_new_tensor(tmp_path):
    ds, main, base = two_branches(tmp_path / "ds", 3)
    ds.checkout("dev")
    ds.create_tensor("note", htype="text")
    ds.append({"x": 10, "t": "r10", "note": "dev row"})
    ds["note"][0] = "dev note"
    ds.commit("dev: note")
    ds.checkout(main)
    add(ds, 20)
    ds.commit("main: +20")
    r = ds.merge("dev")
    assert r["conflicts"] == [] and not r["fast_forward"]
    assert list(ds.tensors) == ["x", "t", "note"]
    assert xs(ds) == [0, 1, 2, 20, 10]
    # main's row 20 never had a note: it reads as an empty sample.
    assert [ds[i]["note"] for i in range(5)] == ["dev note", "", "", "", "dev row"]


def test_merge_of_unrelated_histories_is_refused(tmp_path):
    # The API never makes a second root (branching needs a commit), so graft one in as a
    # fetch from another dataset would: its manifests, chunks and a ref (docs/format.md).
    import shutil
    for name, v in (("a", 1), ("b", 2)):
        with gtn.dataset(tmp_path / name) as d:
            d.create_tensor("x", dtype="int64")
            d.append({"x": v})
            d.commit(f"root {name}")
    a, b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(b / "chunks", a / "chunks", dirs_exist_ok=True)
    shutil.copytree(b / "versions", a / "versions", dirs_exist_ok=True)
    shutil.copy(b / "refs" / "heads" / "main", a / "refs" / "heads" / "other")
    ds = gtn.dataset(a)
    head = ds.head_commit
    assert [c["message"] for c in ds.log("other")] == ["root b"]
    with pytest.raises(ValueError, match="unrelated"):
        ds.merge("other")
    assert ds.head_commit == head and xs(ds) == [1] and not ds.has_uncommitted_changes


def test_merge_needs_a_clean_branch_and_a_known_source(tmp_path):
    ds, main, base = two_branches(tmp_path / "ds", 3)
    ds.checkout("dev")
    add(ds, 3)
    ds.commit("dev")
    ds.checkout(main)
    add(ds, 9)
    with pytest.raises(ValueError, match="uncommitted"):
        ds.merge("dev")
    ds.reset()
    with pytest.raises(FileNotFoundError, match="nope"):
        ds.merge("nope")


def test_cherry_pick(tmp_path):
    ds, main, base = two_branches(tmp_path / "ds", 3)
    ds.checkout("dev")
    ds["x"][0] = 9
    ds.commit("dev: x[0] = 9")
    add(ds, 77)
    d2 = ds.commit("dev: +77")
    ds.checkout(main)
    ds["t"][1] = "main"
    m1 = ds.commit("main: t[1]")
    picked = ds.cherry_pick(d2)
    assert HEX16.match(picked) and picked != d2 and ds.head_commit == picked
    assert ds.log()[0]["parents"] == [m1]
    assert xs(ds) == [0, 1, 2, 77]  # d2's append, not d1's update
    assert ts(ds) == ["r0", "main", "r2", "r77"]
    with pytest.raises(FileNotFoundError):
        ds.cherry_pick("0123456789abcdef")


# --- delete_samples ---

def test_delete_samples_and_del(tmp_path):
    ds = make(tmp_path / "ds", 10)
    del ds[0]
    assert xs(ds) == list(range(1, 10))
    del ds[-1]
    assert xs(ds) == list(range(1, 9))
    del ds[[0, 2]]
    assert xs(ds) == [2, 4, 5, 6, 7, 8]
    del ds[1:3]
    assert xs(ds) == [2, 6, 7, 8]
    ds.delete_samples(np.array([3, -4]))
    assert xs(ds) == [6, 7]
    assert ts(ds) == ["r6", "r7"]
    ds.delete_samples([1, 1])  # repeats allowed
    assert xs(ds) == [6]
    with pytest.raises(IndexError):
        ds.delete_samples([5])
    with pytest.raises(IndexError):
        del ds[-2]
    with pytest.raises(TypeError):
        del ds["x"]
    assert xs(ds) == [6]
    ds.close()
    assert xs(gtn.dataset(tmp_path / "ds", read_only=True)) == [6]


def test_compact_keeps_the_data(tmp_path):
    ds = make(tmp_path / "ds", 200)
    ds.commit("base")
    for i in range(0, 200, 3):
        ds["x"][i] = -i
    del ds[10:150:2]
    expected = xs(ds)
    stats = ds.compact()
    assert set(stats) == {"samples_rewritten", "entries_before", "entries_after"}
    assert stats["entries_after"] <= stats["entries_before"]
    assert xs(ds) == expected
    ds.close()
    assert xs(gtn.dataset(tmp_path / "ds", read_only=True)) == expected and gtn.fsck(str(tmp_path / "ds")) == []


# --- gc ---

def big(ds, n, value):
    for k in range(n):
        ds.append({"x": value + k, "t": "y" * 20000})


def test_gc_deletes_what_a_deleted_branch_held_and_keeps_tags(tmp_path):
    path = tmp_path / "ds"
    ds = make(path, 3)
    ds.commit("base")
    main = ds.current_branch
    ds.checkout("tmp", create=True)
    big(ds, 40, 1000)
    ds.commit("tmp: 40 big rows")
    ds.checkout(main)
    ds.checkout("kept", create=True)
    big(ds, 40, 2000)
    ds.commit("kept: 40 rows")
    ds.tag("keep")
    ds.checkout(main)
    ds.delete_branch("tmp")
    ds.delete_branch("kept")
    assert ds.branches == [main]
    files_before = files_of(path)
    stats = ds.gc()
    files_after = files_of(path)
    assert files_after < files_before
    assert stats["files_deleted"] >= 1 and stats["bytes_freed"] > 0
    assert stats["files_kept_for_readers"] == 0
    assert xs(ds) == [0, 1, 2]
    again = ds.gc()
    assert again["files_deleted"] == 0 and files_of(path) == files_after
    ds.close()
    assert gtn.fsck(str(path)) == []
    # The tag keeps the commit of the deleted branch "kept" readable.
    tagged = gtn.dataset(path, version="keep", read_only=True)
    assert xs(tagged) == [0, 1, 2] + list(range(2000, 2040))
    assert tagged[42]["t"] == "y" * 20000


READER = textwrap.dedent("""
    import json, sys
    import gtn
    ds = gtn.dataset(sys.argv[1], version=sys.argv[2], read_only=True)
    print("ready", flush=True)
    sys.stdin.readline()
    print(json.dumps([[int(ds[i]["x"]), ds[i]["t"]] for i in range(len(ds))]), flush=True)
""")


def test_gc_keeps_a_commit_an_open_reader_reads(tmp_path):
    path = tmp_path / "ds"
    ds = make(path, 3)
    ds.commit("base")
    main = ds.current_branch
    ds.checkout("old", create=True)
    big(ds, 30, 500)
    old = ds.commit("old: 30 big rows")
    ds.checkout(main)
    reader = subprocess.Popen([sys.executable, "-c", READER, str(path), old], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "ready", reader.stderr.read()
        ds.delete_branch("old")
        before = files_of(path)
        assert ds.gc()["files_kept_for_readers"] >= 1
        assert files_of(path) == before
        reader.stdin.write("go\n")
        reader.stdin.flush()
        out, err = reader.communicate(timeout=120)
        assert reader.returncode == 0, err
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()
    rows = __import__("json").loads(out)
    assert [r[0] for r in rows] == [0, 1, 2] + list(range(500, 530))
    assert all(r[1] == "y" * 20000 for r in rows[3:])
    # Once the reader is gone, its files go too.
    before = files_of(path)
    stats = ds.gc()
    assert stats["files_deleted"] >= 1 and stats["files_kept_for_readers"] == 0
    assert files_of(path) < before
    with pytest.raises(FileNotFoundError):
        gtn.dataset(path, version=old, read_only=True)


def test_gc_counts_files_kept_for_readers(tmp_path):
    path = tmp_path / "ds"
    ds = make(path, 3)
    ds.commit("base")
    main = ds.current_branch
    ds.checkout("old", create=True)
    big(ds, 30, 500)
    old = ds.commit("old")
    ds.checkout(main)
    reader = gtn.dataset(path, version=old, read_only=True)
    ds.delete_branch("old")
    assert ds.gc()["files_kept_for_readers"] >= 1
    assert len(reader) == 33


# --- bad input ---

@pytest.mark.parametrize("name", ["", "a..b", "-x", "a b", "x/", "a\0b", "x~1", "a:b", "a^b"])
def test_invalid_branch_and_tag_names(tmp_path, name):
    ds = make(tmp_path / "ds", 2)
    ds.commit("c")
    with pytest.raises(ValueError):
        ds.branch(name)
    with pytest.raises(ValueError):
        ds.tag(name)
    with pytest.raises(ValueError):
        ds.checkout(name, create=True)
    assert len(ds.branches) == 1 and ds.tags == {}


def test_unknown_names(tmp_path):
    ds = make(tmp_path / "ds", 2)
    c = ds.commit("c")
    for call in (lambda: ds.checkout("nope"), lambda: ds.log("nope"), lambda: ds.diff("nope"),
                 lambda: ds.diff(c, "nope"), lambda: ds.branch("b", "nope"), lambda: ds.tag("t", "nope"),
                 lambda: ds.reset("nope"), lambda: ds.delete_branch("nope"), lambda: ds.delete_tag("nope")):
        with pytest.raises(FileNotFoundError, match="nope"):
            call()
    with pytest.raises(FileNotFoundError):
        ds.checkout("fedcba9876543210")  # a well-formed commit id that does not exist
    ds.close()
    with pytest.raises(FileNotFoundError, match="nope"):
        gtn.dataset(tmp_path / "ds", version="nope", read_only=True)
    with pytest.raises(TypeError):
        gtn.dataset(tmp_path / "ds", version=3)


def test_checkout_with_uncommitted_changes(tmp_path):
    ds = make(tmp_path / "ds", 3)
    ds.commit("c")
    main = ds.current_branch
    ds.branch("dev")
    ds["x"][0] = 42
    with pytest.raises(ValueError, match="uncommitted"):
        ds.checkout("dev")
    assert ds.current_branch == main and xs(ds) == [42, 1, 2]
    ds.checkout("dev", force=True)
    assert ds.current_branch == "dev" and xs(ds) == [0, 1, 2] and not ds.has_uncommitted_changes
    ds.checkout(main)  # the uncommitted change stayed on main
    assert xs(ds) == [42, 1, 2] and ds.has_uncommitted_changes


def test_refusals(tmp_path):
    ds = make(tmp_path / "ds", 3)
    c = ds.commit("c")
    main = ds.current_branch
    with pytest.raises(ValueError, match=main):
        ds.delete_branch(main)  # the checked-out branch
    ds.tag("v1")
    with pytest.raises(FileExistsError, match="v1"):
        ds.tag("v1")
    ds.branch("dev")
    with pytest.raises(FileExistsError, match="dev"):
        ds.branch("dev")
    with pytest.raises(FileExistsError, match="dev"):
        ds.checkout("dev", create=True)
    ds.delete_tag("v1")
    assert ds.tags == {}
    ds.tag("v1", c)  # a deleted tag's name is free again
    assert ds.tags == {"v1": c}
    assert sorted(ds.branches) == sorted([main, "dev"])


def test_second_writer_is_locked(tmp_path):
    ds = make(tmp_path / "ds", 3)
    ds.commit("c")
    ds.branch("dev")
    with pytest.raises(gtn.LockedError):
        gtn.dataset(tmp_path / "ds")
    with pytest.raises(gtn.LockedError):
        gtn.dataset(tmp_path / "ds", version="dev")  # one writer per dataset, whatever the branch
    ro = gtn.dataset(tmp_path / "ds", version="dev", read_only=True)
    assert xs(ro) == [0, 1, 2]
    ds.close()
    gtn.dataset(tmp_path / "ds", version="dev").close()


def test_merge_conflict_error_is_exported():
    assert gtn.MergeConflictError is gtn.dataset.__globals__["MergeConflictError"]
    assert issubclass(gtn.MergeConflictError, gtn.GTNError) and issubclass(gtn.MergeConflictError, ValueError)
    assert "MergeConflictError" in gtn.__all__
