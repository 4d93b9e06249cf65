"""The version control verbs of the gtn CLI, run as subprocesses (GTN_CLI, else `gtn` on
PATH): commit, log, branch, checkout, tag, status, diff, reset, merge, cherry-pick, gc."""
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

import gtn

GTN_CLI = os.environ.get("GTN_CLI") or shutil.which("gtn")
HEX16 = re.compile(r"^[0-9a-f]{16}$")


def run(*args, ok=True, env=None):
    assert GTN_CLI, "set GTN_CLI to the gtn binary or put gtn on PATH"
    p = subprocess.run([GTN_CLI, *map(str, args)], capture_output=True, text=True, timeout=300,
                       env={**os.environ, **(env or {})})
    if ok:
        assert p.returncode == 0, p.stderr
    else:
        assert p.returncode == 1, (p.stdout, p.stderr)
        lines = p.stderr.strip().splitlines()
        assert lines and lines[-1].startswith("gtn: error: "), p.stderr
    return p


@pytest.fixture
def ds_path(tmp_path):
    """A dataset of 4 rows (x = 0..3, t = "r0".."r3"), uncommitted."""
    path = tmp_path / "ds"
    with gtn.dataset(path) as ds:
        ds.create_tensor("x", dtype="int64")
        ds.create_tensor("t", htype="text")
        ds.extend({"x": np.arange(4, dtype=np.int64), "t": [f"r{i}" for i in range(4)]})
    return path


def edit(path, fn):
    """Changes the dataset from Python (closing it, so the CLI may write next)."""
    with gtn.dataset(path) as ds:
        fn(ds)


def read_x(path, version=None):
    ds = gtn.dataset(path, read_only=True, version=version)
    return ds["x"].numpy().tolist()


def current(path):
    return gtn.dataset(path, read_only=True).current_branch


def test_commit_log_and_status(ds_path):
    p = run("status", ds_path)
    assert "no commits yet" in p.stdout and "changes not committed" in p.stdout
    assert "tensor x: 4 added, 0 updated, 0 deleted" in p.stdout
    c1 = run("commit", ds_path, "-m", "first rows", "--author", "ann").stdout.strip()
    assert HEX16.match(c1)
    p = run("status", ds_path)
    assert f"On branch {current(ds_path)}" in p.stdout and "nothing to commit" in p.stdout and c1 in p.stdout
    edit(ds_path, lambda ds: ds["x"].__setitem__(1, 10))
    edit(ds_path, lambda ds: ds.append({"x": 4, "t": "r4"}))
    p = run("status", ds_path, "--indices")
    assert "tensor x: 1 added, 1 updated, 0 deleted" in p.stdout
    assert "tensor t: 1 added, 0 updated, 0 deleted" in p.stdout
    assert "updated: 1" in p.stdout and "added: 4" in p.stdout
    p = run("commit", ds_path, "-m", "second", env={"GTN_AUTHOR": "ben"})
    c2 = p.stdout.strip()
    p = run("log", ds_path)
    assert p.stdout.index(f"commit {c2}") < p.stdout.index(f"commit {c1}")
    assert "Author: ben" in p.stdout and "Author: ann" in p.stdout
    assert "    first rows" in p.stdout and "Rows:   5" in p.stdout and "UTC" in p.stdout
    lines = run("log", ds_path, "--oneline").stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(c2) and lines[0].endswith(" second") and "HEAD -> " in lines[0]
    assert lines[1].startswith(c1) and lines[1].endswith(" first rows")
    assert run("log", ds_path, c1, "--oneline").stdout.splitlines() == [f"{c1} first rows"]
    p = run("commit", ds_path, "-m", "nothing", ok=False)
    assert "nothing to commit" in p.stderr


def test_branch_checkout_and_tag(ds_path):
    c1 = run("commit", ds_path, "-m", "c1").stdout.strip()
    main = current(ds_path)
    run("branch", ds_path, "dev")
    lines = run("branch", ds_path).stdout.splitlines()
    assert sorted(lines) == sorted([f"* {main}", "  dev"])
    p = run("checkout", ds_path, "dev")
    assert "switched to branch dev" in p.stdout and current(ds_path) == "dev"
    assert "* dev" in run("branch", ds_path).stdout.splitlines()
    edit(ds_path, lambda ds: ds.append({"x": 40, "t": "dev"}))
    c2 = run("commit", ds_path, "-m", "dev row").stdout.strip()
    run("checkout", ds_path, main)
    assert read_x(ds_path) == [0, 1, 2, 3] and read_x(ds_path, "dev") == [0, 1, 2, 3, 40]
    run("checkout", ds_path, "-b", "feature")
    assert current(ds_path) == "feature"
    run("checkout", ds_path, main)
    # tags
    p = run("tag", ds_path, "v1", "dev")
    assert f"tagged {c2} as v1" in p.stdout
    run("tag", ds_path, "v0", c1)
    assert run("tag", ds_path).stdout.splitlines() == [f"v0 {c1}", f"v1 {c2}"]
    assert "tag: v1" in run("log", ds_path, "dev", "--oneline").stdout
    assert "v1" in run("tag", ds_path, "v1", ok=False).stderr
    run("tag", ds_path, "-d", "v0")
    assert run("tag", ds_path).stdout.splitlines() == [f"v1 {c2}"]
    # the dataset stays on a branch between commands: tags and commits are read with --version
    p = run("checkout", ds_path, "v1", ok=False)
    assert "not a branch" in p.stderr and "--version v1" in p.stderr
    assert current(ds_path) == main
    assert "nope" in run("checkout", ds_path, "nope", ok=False).stderr
    # branch -d
    run("branch", ds_path, "-d", "feature")
    assert "feature" not in run("branch", ds_path).stdout
    assert main in run("branch", ds_path, "-d", main, ok=False).stderr
    assert "nope" in run("branch", ds_path, "-d", "nope", ok=False).stderr
    assert run("branch", ds_path, "a..b", ok=False).stderr
    assert "nope" in run("checkout", ds_path, "nope", ok=False).stderr


def test_info_and_show_read_a_version(ds_path):
    c1 = run("commit", ds_path, "-m", "c1").stdout.strip()
    edit(ds_path, lambda ds: ds["x"].__setitem__(2, 99))
    run("commit", ds_path, "-m", "c2")
    assert "[99]" in run("show", ds_path, "2", "-t", "x").stdout
    assert "[2]" in run("show", ds_path, "2", "--version", c1, "-t", "x").stdout
    assert "[99]" not in run("show", ds_path, "2", "--version", c1, "-t", "x").stdout
    assert "x" in run("info", ds_path, "--version", c1).stdout
    assert "nope" in run("info", ds_path, "--version", "nope", ok=False).stderr


def test_checkout_refuses_uncommitted_changes_without_force(ds_path):
    run("commit", ds_path, "-m", "c1")
    main = current(ds_path)
    run("branch", ds_path, "dev")
    edit(ds_path, lambda ds: ds["x"].__setitem__(0, 7))
    assert "uncommitted" in run("checkout", ds_path, "dev", ok=False).stderr
    assert current(ds_path) == main
    run("checkout", ds_path, "dev", "--force")
    assert current(ds_path) == "dev" and read_x(ds_path) == [0, 1, 2, 3]
    run("checkout", ds_path, main)
    assert read_x(ds_path) == [7, 1, 2, 3]
    run("reset", ds_path)
    assert read_x(ds_path) == [0, 1, 2, 3] and "nothing to commit" in run("status", ds_path).stdout


def test_diff(ds_path):
    c1 = run("commit", ds_path, "-m", "c1").stdout.strip()

    def change(ds):
        ds["x"][0] = 5
        ds.delete_samples([2])
        ds.append({"x": 9, "t": "r9"})
        ds.create_tensor("y", htype="text")
        ds.rename_tensor("t", "text")

    edit(ds_path, change)
    c2 = run("commit", ds_path, "-m", "c2").stdout.strip()
    p = run("diff", ds_path, c1, c2)
    assert p.stdout.splitlines()[0] == f"diff {c1} {c2}"
    assert "rows: 1 added, 1 deleted" in p.stdout
    assert "tensor x: 1 added, 1 updated, 1 deleted" in p.stdout
    assert "schema: renamed (from 't')" in p.stdout
    assert re.search(r"tensor y: .*\n    schema: added", p.stdout)
    assert "updated: 0" not in p.stdout
    p = run("diff", ds_path, c1, c2, "--indices")
    block = p.stdout[p.stdout.index("tensor x"):]
    assert "added: 3" in block and "updated: 0" in block and "deleted: 2" in block
    assert "no changes" in run("diff", ds_path, c2).stdout  # against the checked-out state
    assert "nope" in run("diff", ds_path, "nope", ok=False).stderr


def test_merge_and_log_graph(ds_path):
    base = run("commit", ds_path, "-m", "base").stdout.strip()
    main = current(ds_path)
    run("checkout", ds_path, "-b", "dev")
    edit(ds_path, lambda ds: ds["x"].__setitem__(3, 30))
    d1 = run("commit", ds_path, "-m", "dev one").stdout.strip()
    edit(ds_path, lambda ds: ds.append({"x": 50, "t": "dev"}))
    d2 = run("commit", ds_path, "-m", "dev two").stdout.strip()
    run("checkout", ds_path, main)
    edit(ds_path, lambda ds: ds["x"].__setitem__(0, 100))
    m1 = run("commit", ds_path, "-m", "main one").stdout.strip()
    p = run("merge", ds_path, "dev", "-m", "merge dev")
    merge = re.search(r"as ([0-9a-f]{16})", p.stdout).group(1)
    assert "1 rows added" in p.stdout and "1 samples updated" in p.stdout
    assert read_x(ds_path) == [100, 1, 2, 30, 50]
    assert "already up to date" in run("merge", ds_path, "dev").stdout
    lines = run("log", ds_path, "--graph").stdout.splitlines()
    # *   merge          (the commit rows carry the ids; the others draw the lanes)
    # |\
    # | * dev two
    # | * dev one
    # * | main one
    # |/
    # * base
    rows = [line for line in lines if "*" in line]
    assert [re.search(r"[0-9a-f]{16}", r).group(0) for r in rows][0] == merge
    order = [re.search(r"[0-9a-f]{16}", r).group(0) for r in rows]
    assert sorted(order) == sorted([merge, d2, d1, m1, base]) and order[-1] == base
    graph = [re.match(r"[*|/\\ _]*", line).group(0).rstrip() for line in lines]
    by_id = dict(zip(order, [g for g, line in zip(graph, lines) if "*" in line]))
    assert by_id[merge] == "*" and by_id[base] == "*"
    assert by_id[m1] == "* |"
    assert by_id[d1] == "| *" and by_id[d2] == "| *"
    assert graph[1] == "|\\"   # the merge opens a lane for its second parent
    assert graph[-2] == "|/"   # which joins again at the base
    assert lines[0].endswith("merge dev") and "HEAD -> " in lines[0]
    assert len(lines) == 7


def test_merge_conflicts_and_policies(ds_path):
    run("commit", ds_path, "-m", "base")
    main = current(ds_path)
    run("checkout", ds_path, "-b", "dev")
    edit(ds_path, lambda ds: ds["x"].__setitem__(1, 20))
    run("commit", ds_path, "-m", "dev")
    run("checkout", ds_path, main)
    edit(ds_path, lambda ds: ds["x"].__setitem__(1, 10))
    m1 = run("commit", ds_path, "-m", "main").stdout.strip()
    p = run("merge", ds_path, "dev", ok=False)
    assert re.search(r"conflict: tensor x sample \d+: both updated \(ours 1, theirs 1\)", p.stderr)
    assert "1 conflict(s)" in p.stderr.splitlines()[-1]
    assert read_x(ds_path) == [0, 10, 2, 3]
    assert "bogus" in run("merge", ds_path, "dev", "--policy", "bogus", ok=False).stderr
    p = run("merge", ds_path, "dev", "--policy", "theirs")
    assert "1 conflicts settled (theirs)" in p.stdout and read_x(ds_path) == [0, 20, 2, 3]
    run("reset", ds_path, m1)
    assert read_x(ds_path) == [0, 10, 2, 3]
    run("merge", ds_path, "dev", "--policy", "ours")
    assert read_x(ds_path) == [0, 10, 2, 3]
    assert "Merge: " in run("log", ds_path).stdout


def test_cherry_pick_and_gc(ds_path):
    run("commit", ds_path, "-m", "base")
    main = current(ds_path)
    run("checkout", ds_path, "-b", "dev")
    edit(ds_path, lambda ds: ds["x"].__setitem__(0, 9))
    run("commit", ds_path, "-m", "dev one")
    edit(ds_path, lambda ds: ds.append({"x": 77, "t": "y" * 50000}))
    d2 = run("commit", ds_path, "-m", "dev two").stdout.strip()
    run("checkout", ds_path, main)
    picked = run("cherry-pick", ds_path, d2).stdout.strip()
    assert HEX16.match(picked) and picked != d2
    assert read_x(ds_path) == [0, 1, 2, 3, 77]
    run("branch", ds_path, "-d", "dev")
    p = run("gc", ds_path)
    m = re.match(r"deleted (\d+) files \((\d+) bytes\) and (\d+) unreachable versions; kept (\d+) files", p.stdout)
    assert m and int(m.group(1)) >= 1 and int(m.group(2)) > 0
    assert read_x(ds_path) == [0, 1, 2, 3, 77]
    assert run("fsck", ds_path).returncode == 0
    assert "0 files" in run("gc", ds_path).stdout
    assert "0123456789abcdef" in run("cherry-pick", ds_path, "0123456789abcdef", ok=False).stderr


def test_gc_expire_before_frees_the_history(ds_path):
    run("commit", ds_path, "-m", "base")
    edit(ds_path, lambda ds: ds["t"].__setitem__(1, "z" * 200000))  # an update keeps the old chunk
    run("commit", ds_path, "-m", "big")
    edit(ds_path, lambda ds: ds["t"].__setitem__(1, "small"))
    run("commit", ds_path, "-m", "small")
    assert "0 files" in run("gc", ds_path).stdout  # history keeps everything
    p = run("gc", ds_path, "--expire-before", "main")
    m = re.match(r"deleted (\d+) files \((\d+) bytes\)", p.stdout)
    assert m and int(m.group(2)) >= 200000, p.stdout
    log = run("log", ds_path, "--oneline").stdout.strip().splitlines()
    assert len(log) == 1 and "small" in log[0]
    assert "was expired" in run("show", ds_path, "0", "--version", "main~1", ok=False).stderr
    assert read_x(ds_path) == [0, 1, 2, 3]
    assert run("fsck", ds_path).returncode == 0


def test_writers_lock_and_bad_paths(ds_path, tmp_path):
    run("commit", ds_path, "-m", "c1")
    with gtn.dataset(ds_path):
        p = run("branch", ds_path, "dev", ok=False)
        assert "locked" in p.stderr.lower()
        assert run("branch", ds_path).returncode == 0  # reading is never locked out
    assert run("log", tmp_path / "missing", ok=False).stderr
    assert run("commit", tmp_path / "missing", "-m", "x", ok=False).stderr
    assert not (tmp_path / "missing").exists()
    assert "--message" in run("commit", ds_path, ok=False).stderr


def test_help_lists_the_version_verbs():
    out = run("--help").stdout
    verbs = ("commit", "log", "branch", "checkout", "tag", "status", "diff", "reset", "merge", "cherry-pick", "gc")
    for verb in verbs:
        assert re.search(rf"^\s+{re.escape(verb)}\s", out, re.M), verb
        assert "Usage" in run(verb, "--help").stdout
