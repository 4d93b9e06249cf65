"""The gtn command-line tool, run as a subprocess (GTN_CLI, else `gtn` on PATH)."""
import json
import os
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

import gtn

GTN_CLI = os.environ.get("GTN_CLI") or shutil.which("gtn")


def run(*args, ok=True):
    assert GTN_CLI, "set GTN_CLI to the gtn binary or put gtn on PATH"
    p = subprocess.run([GTN_CLI, *map(str, args)], capture_output=True, text=True, timeout=300)
    if ok:
        assert p.returncode == 0, p.stderr
    return p


@pytest.fixture
def image_dataset(tmp_path):
    for k, cls in enumerate(["a", "b"]):
        for i in range(3):
            px = np.full((5, 6, 3), 40 * k + i, np.uint8)
            (tmp_path / "src" / cls).mkdir(parents=True, exist_ok=True)
            Image.fromarray(px).save(tmp_path / "src" / cls / f"{i}.png")
    (tmp_path / "src" / "a" / "notes.txt").write_text("x")
    p = run("ingest", tmp_path / "src", tmp_path / "ds")
    assert "ingested 6 samples" in p.stdout
    assert "skipped" in p.stderr and "notes.txt" in p.stderr
    return tmp_path / "ds"


def test_help_lists_every_verb():
    out = run("--help").stdout
    for verb in ("demo", "create", "ingest", "info", "summary", "show", "fsck", "dump"):
        assert verb in out
    for verb in ("create", "ingest", "info", "show", "fsck", "dump", "demo"):
        assert "Usage" in run(verb, "--help").stdout


def test_create(tmp_path):
    p = run("create", tmp_path / "new", "--tensor", "images:image", "-t", "emb:embedding:float32")
    assert "created" in p.stdout
    ds = gtn.dataset(tmp_path / "new", read_only=True)
    assert list(ds.tensors) == ["images", "emb"] and ds["emb"].dtype == "float32"
    again = run("create", tmp_path / "new", ok=False)
    assert again.returncode == 1 and again.stderr.startswith("gtn: error:") and "already exists" in again.stderr
    bad = run("create", tmp_path / "other", "-t", "nohtype", ok=False)
    assert bad.returncode == 1 and "name:htype" in bad.stderr


def test_info(image_dataset):
    out = run("info", image_dataset).stdout
    assert "6 samples" in out and "images" in out and "class_label" in out


def test_summary_text_json_and_plot(image_dataset, tmp_path):
    out = run("summary", image_dataset).stdout
    assert out.startswith("Summary of 6 rows at main")
    assert "classes (6 labels): a 3, b 3" in out and "values: min 0, max 42," in out
    as_json = json.loads(run("summary", image_dataset, "--json").stdout)
    assert as_json == gtn.dataset(image_dataset, read_only=True).summary().to_dict()
    assert as_json["tensors"]["labels"]["class_counts"] == {"a": 3, "b": 3}
    pixels = np.concatenate([np.full(90, 40 * k + i) for k in range(2) for i in range(3)])
    assert as_json["tensors"]["images"]["values"]["mean"] == pytest.approx(pixels.mean(), rel=1e-15)
    out = run("summary", image_dataset, "--plot", tmp_path / "s.png", "--threads", "2").stdout
    assert f"plot written to {tmp_path / 's.png'}" in out
    assert Image.open(tmp_path / "s.png").size == (2 * 420, 44 + 280)
    assert "--plot" in error_line(run("summary", image_dataset, "--plot", ok=False))
    assert "cannot write the summary plot" in error_line(
        run("summary", image_dataset, "--plot", tmp_path / "no" / "s.png", ok=False))


def test_summary_of_a_tag_while_a_writer_holds_the_dataset(tmp_path):
    ds = gtn.dataset(tmp_path / "ds")
    ds.create_tensor("x", dtype="int32")
    ds.extend({"x": np.arange(5, dtype=np.int32)})
    commit = ds.commit("five")
    ds.tag("v1")
    ds.extend({"x": np.arange(5, 8, dtype=np.int32)})
    ds.flush()
    now = json.loads(run("summary", tmp_path / "ds", "--json").stdout)
    then = json.loads(run("summary", tmp_path / "ds", "--version", "v1", "--json").stdout)
    assert now["rows"] == 8 and now["uncommitted"] and now["version"] == "main"
    assert now["tensors"]["x"]["values"]["max"] == 7
    assert then["rows"] == 5 and not then["uncommitted"] and then["version"] == then["commit"] == commit
    assert then["tensors"]["x"]["values"]["histogram"] == {"edges": [0, 1, 2, 3, 4, 5], "counts": [1] * 5}
    assert "no_such_tag" in error_line(run("summary", tmp_path / "ds", "--version", "no_such_tag", ok=False))
    ds.commit("eight")
    ds.save_view("odd", ds.view([1, 3, 5, 7, 7]))
    ds.extend({"x": np.full(4, 100, np.int32)})
    ds.commit("twelve")
    odd = json.loads(run("summary", tmp_path / "ds", "--view", "odd", "--json").stdout)
    assert odd["view"] and odd["rows"] == 5 and odd["dataset_rows"] == 8
    assert odd["tensors"]["x"]["values"]["mean"] == np.mean([1, 3, 5, 7, 7])
    assert "not both" in error_line(run("summary", tmp_path / "ds", "--view", "odd", "--version", "v1", ok=False))
    assert "nope" in error_line(run("summary", tmp_path / "ds", "--view", "nope", ok=False))


def test_show_prints_and_writes_files(image_dataset, tmp_path):
    out = run("show", image_dataset, 4).stdout
    assert "images: uint8(5, 6, 3)" in out and "(b)" in out
    run("show", image_dataset, 4, "--tensor", "images", "--out", tmp_path / "x.png")
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "x.png")), np.full((5, 6, 3), 41, np.uint8))
    run("show", image_dataset, -1, "-t", "images", "-o", tmp_path / "x.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), np.full((5, 6, 3), 42, np.uint8))
    assert run("show", image_dataset, 4, "-t", "images", "-o", tmp_path / "x.gif", ok=False).returncode == 1
    bad = run("show", image_dataset, 60, ok=False)
    assert bad.returncode == 1 and "out of range" in bad.stderr
    assert run("show", image_dataset, 0, "-t", "nope", ok=False).returncode == 1


def test_fsck_names_the_broken_chunk(image_dataset):
    assert "ok" in run("fsck", image_dataset).stdout
    chunk = sorted(p for p in image_dataset.rglob("*.chunk"))[0]
    raw = bytearray(chunk.read_bytes())
    raw[-1] ^= 0xFF
    chunk.write_bytes(bytes(raw))
    p = run("fsck", image_dataset, ok=False)
    assert p.returncode == 1
    assert chunk.name in p.stdout and "problem" in p.stderr


def test_dump(image_dataset):
    out = run("dump", image_dataset).stdout
    assert "images" in out and ".chunk" in out
    assert len(run("dump", image_dataset, "--verbose").stdout) > len(out)


def test_errors_exit_1_with_a_message(tmp_path):
    p = run("info", tmp_path / "nothing", ok=False)
    assert p.returncode == 1 and p.stderr.startswith("gtn: error:")
    p = run("ingest", tmp_path / "missing.csv", tmp_path / "ds", ok=False)
    assert p.returncode == 1 and "missing.csv" in p.stderr
    p = run("ingest", tmp_path, tmp_path / "ds", "--format", "xml", ok=False)
    assert p.returncode == 1 and "unknown source format" in p.stderr
    assert run("no-such-verb", ok=False).returncode != 0


def test_demo_runs_end_to_end(tmp_path):
    p = run("demo", "--dir", tmp_path, "--samples", 120, "--reads", 500)
    assert "us/sample" in p.stdout and "120 samples" in p.stdout
    ds = gtn.dataset(tmp_path / "captions.gtn", read_only=True)
    assert len(ds) == 120
    s = ds[7]
    assert s["image"].shape == (48, 48, 3) and isinstance(s["caption"], str) and s["label"] == 7 % 4
    images = gtn.dataset(tmp_path / "images.gtn", read_only=True)
    assert images["labels"].class_names == ["checker", "circle", "square", "stripes"]


def error_line(p):
    """The one error line of a failed run (exit 1, 'gtn: error: ...' on stderr)."""
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("gtn: error: "), p.stderr
    return lines[-1]


def test_help_and_version_exit_0():
    assert run("--version").stdout.strip() == "gtn 0.1.0"
    for verb in ("demo", "create", "ingest", "info", "summary", "show", "fsck", "dump"):
        assert run(verb, "-h").returncode == 0


def test_bad_command_lines_exit_1_with_one_clear_line(tmp_path):
    assert "a verb is required; the verbs are demo, create" in error_line(run(ok=False))
    line = error_line(run("no-such-verb", "x", ok=False))
    assert "unknown verb 'no-such-verb'; the verbs are demo, create, ingest" in line
    line = error_line(run("show", ok=False))
    assert "path is required" in line and "gtn show --help" in line
    line = error_line(run("info", tmp_path, "--bogus", ok=False))
    assert "--bogus" in line and "gtn info --help" in line
    assert "not expected" in error_line(run("fsck", tmp_path, tmp_path, ok=False))
    assert "--samples" in error_line(run("demo", "--samples", "many", ok=False))
    assert "--samples must be at least 1" in error_line(run("demo", "--dir", tmp_path, "--samples", 0, ok=False))
    assert "--reads must be at least 1" in error_line(run("demo", "--dir", tmp_path, "--reads", 0, ok=False))


@pytest.mark.parametrize("index", ["abc", "1.5", "", "3x", "0x10", "99999999999999999999999"])
def test_show_index_must_be_an_integer(image_dataset, index):
    line = error_line(run("show", image_dataset, index, ok=False))
    assert f"INDEX must be an integer (0 is the first sample, -1 the last), got '{index}'" in line


def test_show_index_out_of_range_says_the_valid_range(image_dataset):
    for index in (6, -7, 10**15):
        line = error_line(run("show", image_dataset, index, ok=False))
        assert f"index {index} out of range for dataset of 6 samples (valid: 0..5, or -1..-6 from the end)" in line
    assert "images" in run("show", image_dataset, -6).stdout


def test_paths_that_are_not_datasets(tmp_path, image_dataset):
    missing = tmp_path / "missing"
    folder = tmp_path / "just-a-folder"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a dataset")
    plain_file = folder / "notes.txt"
    for verb in ("info", "summary", "fsck", "dump"):
        for path in (missing, folder, plain_file):
            line = error_line(run(verb, path, ok=False))
            assert str(path) in line, line
        assert "not a GTN dataset" in error_line(run(verb, folder, ok=False))
    for path in (missing, folder, plain_file):
        assert str(path) in error_line(run("show", path, 0, ok=False))
    # Odd bytes in a path (a newline, bytes that are not UTF-8) reach the message unchanged.
    odd = os.fsencode(tmp_path) + b"/odd\nname\xff"
    p = subprocess.run([GTN_CLI, "info", odd], capture_output=True, timeout=60)
    assert p.returncode == 1 and b"odd\nname\xff" in p.stderr and p.stderr.startswith(b"gtn: error: ")


def test_create_refuses_bad_input(tmp_path):
    assert "not name:htype" in error_line(run("create", tmp_path / "a", "-t", "x:image:float32:more", ok=False))
    assert "dtype" in error_line(run("create", tmp_path / "b", "-t", "x:generic:float128", ok=False))
    assert "compression" in error_line(run("create", tmp_path / "c", "-t", "x:image",
                                           "--sample-compression", "gif", ok=False))
    (tmp_path / "file").write_text("x")
    assert "already exists" in error_line(run("create", tmp_path / "file", ok=False))
    assert str(tmp_path / "file") in error_line(run("create", tmp_path / "file" / "sub", ok=False))
    for name in ("a", "b", "c"):
        assert not (tmp_path / name).exists() or not any((tmp_path / name).iterdir())


def test_show_out_refuses_what_it_cannot_write(tmp_path, image_dataset):
    line = error_line(run("show", image_dataset, 0, "-t", "images", "-o", tmp_path / "no" / "dir" / "x.png", ok=False))
    assert "cannot write" in line and "x.png" in line
    assert "needs --tensor" in error_line(run("show", image_dataset, 0, "-o", tmp_path / "x.png", ok=False))
    ds = gtn.dataset(tmp_path / "mixed")
    ds.create_tensor("caption", htype="text")
    ds.create_tensor("emb", htype="embedding")
    ds.append({"caption": "hello", "emb": np.arange(4, dtype=np.float32)})
    ds.flush()
    del ds
    assert "text values cannot be written as .npy" in error_line(
        run("show", tmp_path / "mixed", 0, "-t", "caption", "-o", tmp_path / "c.npy", ok=False))
    assert "written from uint8 images, got float32" in error_line(
        run("show", tmp_path / "mixed", 0, "-t", "emb", "-o", tmp_path / "e.png", ok=False))


def test_show_out_npy_is_what_numpy_reads_for_every_dtype(tmp_path):
    dtypes = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
              "float16", "float32", "float64"]
    ds = gtn.dataset(tmp_path / "all")
    rng = np.random.default_rng(0)
    values = {}
    for dt in dtypes:
        ds.create_tensor(dt, dtype=dt)
        values[dt] = (rng.integers(0, 2, (3, 4)) if dt == "bool" else rng.integers(0, 100, (3, 4))).astype(dt)
    values["scalar"] = np.float64(2.5)
    ds.create_tensor("scalar", dtype="float64")
    ds.append(values)
    ds.flush()
    del ds
    for name, want in values.items():
        out = tmp_path / f"{name}.npy"
        run("show", tmp_path / "all", 0, "-t", name, "-o", out)
        got = np.load(out)
        assert got.dtype == np.asarray(want).dtype and got.shape == np.asarray(want).shape
        np.testing.assert_array_equal(got, want)


def test_progress_bars_are_drawn_on_a_terminal_only(tmp_path):
    import pty
    leader, follower = pty.openpty()
    p = subprocess.run([GTN_CLI, "demo", "--dir", str(tmp_path), "--samples", "40", "--reads", "10"],
                       stdout=subprocess.PIPE, stderr=follower, timeout=300)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    tty = b"".join(chunks).decode()
    assert p.returncode == 0
    assert "generate [" in tty and "40/40" in tty and "#" * 30 in tty
    assert tty.count("\r") >= 3 and "ingest images [" in tty and "ingest captions.jsonl [" in tty
    # Not a terminal: no bar at all.
    quiet = run("demo", "--dir", tmp_path, "--samples", 40, "--reads", 10)
    assert "[" not in quiet.stderr


def test_npy_files_numpy_writes_go_in_and_come_back_out(tmp_path):
    """The one .npy reader (ingest) and writer (show --out) against numpy's own files."""
    rng = np.random.default_rng(1)
    for dt in ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
               "float16", "float32", "float64"]:
        x = (rng.integers(0, 2, (5, 2, 3)) if dt == "bool" else rng.integers(0, 120, (5, 2, 3))).astype(dt)
        np.save(tmp_path / f"{dt}.npy", x)
        run("ingest", tmp_path / f"{dt}.npy", tmp_path / f"{dt}.gtn")
        run("show", tmp_path / f"{dt}.gtn", 4, "-o", tmp_path / f"{dt}-4.npy")
        back = np.load(tmp_path / f"{dt}-4.npy")
        assert back.dtype == x.dtype and back.shape == (2, 3)
        np.testing.assert_array_equal(back, x[4])
    # A 1-d Fortran-order array is the same bytes as C order: read as it is.
    np.save(tmp_path / "f1.npy", np.asfortranarray(np.arange(4.0)))
    run("ingest", tmp_path / "f1.npy", tmp_path / "f1.gtn")


@pytest.mark.parametrize("make, message", [
    (lambda p: np.save(p, np.ones(3, dtype=">f4")), "big-endian dtype '>f4' is not supported"),
    (lambda p: np.save(p, np.asfortranarray(np.ones((3, 2)))), "is in Fortran order"),
    (lambda p: np.save(p, np.array(["a", "b"])), "string arrays"),
    (lambda p: np.save(p, np.ones(2, np.complex64)), "complex arrays"),
    (lambda p: p.write_bytes(b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'}"), "no 'fortran_order'"),
    (lambda p: p.write_bytes(b"PK\x03\x04 not numpy"), "not a valid .npy file"),
])
def test_bad_npy_files_exit_1_naming_the_file_and_the_fix(tmp_path, make, message):
    path = tmp_path / "bad.npy"
    make(path)
    line = error_line(run("ingest", path, tmp_path / "ds", ok=False))
    assert message in line and str(path) in line, line


def test_truncated_npy_says_how_many_bytes(tmp_path):
    np.save(tmp_path / "a.npy", np.ones((10, 4), np.float32))
    raw = (tmp_path / "a.npy").read_bytes()
    (tmp_path / "a.npy").write_bytes(raw[:-5])
    line = error_line(run("ingest", tmp_path / "a.npy", tmp_path / "ds", ok=False))
    assert "truncated: data holds 155 bytes, expected 160 for float32 shape (10, 4)" in line
