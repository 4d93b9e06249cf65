"""The gtn command-line tool, run as a subprocess (GTN_CLI, else `gtn` on PATH)."""
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


def test_info_and_summary(image_dataset):
    for verb in ("info", "summary"):
        out = run(verb, image_dataset).stdout
        assert "6 samples" in out and "images" in out and "class_label" in out


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
