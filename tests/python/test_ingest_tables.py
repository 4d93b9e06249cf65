"""gtn.ingest on tables: CSV options, the JSONL null and integer rules, Parquet / pyarrow /
pandas sources, all-or-nothing failures, on_error="skip", and the CLI's flags.
Values read back are checked against the csv module, json, pandas and pyarrow."""
import csv
import json
import os
import subprocess

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import gtn

GTN_CLI = os.environ.get("GTN_CLI")


def cli(*args):
    assert GTN_CLI, "set GTN_CLI to the gtn binary"
    return subprocess.run([GTN_CLI, *map(str, args)], capture_output=True, text=True, timeout=300)


# --- CSV ---

def test_csv_header_rules(tmp_path):
    (tmp_path / "h.csv").write_text("a,b\n1,x\n2,y\n")
    (tmp_path / "n.csv").write_text("1,2.5\n3,4.5\n")
    gtn.ingest(tmp_path / "h.csv", tmp_path / "h")
    gtn.ingest(tmp_path / "n.csv", tmp_path / "n")
    gtn.ingest(tmp_path / "h.csv", tmp_path / "forced", header="no")
    h = gtn.dataset(tmp_path / "h", read_only=True)
    np.testing.assert_array_equal(h["a"].numpy(), [1, 2])
    n = gtn.dataset(tmp_path / "n", read_only=True)  # every field of line 1 is a number: no header
    np.testing.assert_array_equal(n["column_0"].numpy(), [1, 3])
    np.testing.assert_array_equal(n["column_1"].numpy(), [2.5, 4.5])
    forced = gtn.dataset(tmp_path / "forced", read_only=True)
    assert [forced[i]["column_0"] for i in range(3)] == ["a", "1", "2"]


def test_csv_delimiter_columns_label_and_stack(tmp_path):
    rows = [["id", "x", "y", "species", "note"],
            ["1", "0.5", "2", "cat", "a; b"], ["2", "1.5", "3", "dog", ""], ["3", "-2", "4", "cat", "c"]]
    with open(tmp_path / "t.csv", "w", newline="") as f:
        csv.writer(f, delimiter=";").writerows(rows)
    gtn.ingest(tmp_path / "t.csv", tmp_path / "ds", delimiter=";", columns=["species", "x", "y", "note"],
               label_column="species", stack=["x", "y"], stack_name="xy")
    ds = gtn.dataset(tmp_path / "ds", read_only=True)
    assert list(ds[0].keys()) == ["species", "xy", "note"] or set(ds[0].keys()) == {"species", "xy", "note"}
    assert ds["species"].class_names == ["cat", "dog"]
    np.testing.assert_array_equal(ds["species"].numpy(), [0, 1, 0])
    assert ds["xy"].dtype == "float64"
    with open(tmp_path / "t.csv", newline="") as f:
        body = list(csv.reader(f, delimiter=";"))[1:]
    np.testing.assert_array_equal(ds["xy"].numpy(), [[float(r[1]), float(r[2])] for r in body])
    assert [ds[i]["note"] for i in range(3)] == [r[4] for r in body]
    gtn.ingest(tmp_path / "t.csv", tmp_path / "named", delimiter=";", columns=["species"],
               label_column="species", class_names=["dog", "cat", "bird"])
    named = gtn.dataset(tmp_path / "named", read_only=True)
    assert named["species"].class_names == ["dog", "cat", "bird"]
    np.testing.assert_array_equal(named["species"].numpy(), [1, 0, 1])
    with pytest.raises(ValueError, match="'nope' is not a column"):
        gtn.ingest(tmp_path / "t.csv", tmp_path / "bad", delimiter=";", columns=["nope"])
    assert not (tmp_path / "bad").exists()
    with pytest.raises(ValueError, match="only numeric columns stack"):
        gtn.ingest(tmp_path / "t.csv", tmp_path / "bad", delimiter=";", stack=["note"])


def test_csv_encoding_errors_are_reported_not_replaced(tmp_path):
    (tmp_path / "l.csv").write_bytes("name,n\ncaf\xe9,1\nthé,2\n".encode("latin-1"))
    with pytest.raises(ValueError) as e:
        gtn.ingest(tmp_path / "l.csv", tmp_path / "ds")
    msg = str(e.value)
    assert "item 1 of 2 (line 2)" in msg and "invalid UTF-8 (byte 0xE9" in msg and "latin-1" in msg
    assert not (tmp_path / "ds").exists()
    gtn.ingest(tmp_path / "l.csv", tmp_path / "ds", encoding="latin-1")
    ds = gtn.dataset(tmp_path / "ds", read_only=True)
    assert [ds[0]["name"], ds[1]["name"]] == ["café", "thé"]
    with pytest.warns(UserWarning, match="skipped 2 unreadable"):
        report = gtn.ingest(tmp_path / "l.csv", tmp_path / "skipped", on_error="skip")
    assert report["samples"] == 0 and [s["item"] for s in report["skipped"]] == ["line 2", "line 3"]


def test_csv_integer_column_with_a_missing_value_stays_int64(tmp_path):
    (tmp_path / "t.csv").write_text("n,f\n1,0.5\n,\n3,2\n")
    gtn.ingest(tmp_path / "t.csv", tmp_path / "ds")
    ds = gtn.dataset(tmp_path / "ds", read_only=True)
    assert ds["n"].dtype == "int64" and ds["f"].dtype == "float64"
    assert ds[0]["n"] == 1 and ds[1]["n"].shape == (0,) and ds[2]["n"] == 3
    assert np.isnan(ds[1]["f"]) and ds[2]["f"] == 2.0


# --- JSONL ---

def test_jsonl_null_and_missing_key_rule(tmp_path):
    rows = [{"i": 1, "f": 1.5, "s": "a", "b": True, "l": [1, 2], "j": {"k": 1}},
            {"i": None, "f": None, "s": None, "b": None, "l": None, "j": None},
            {}]
    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    gtn.ingest(tmp_path / "d.jsonl", tmp_path / "ds")
    ds = gtn.dataset(tmp_path / "ds", read_only=True)
    assert [ds[t].dtype for t in ("i", "f", "s", "b", "l", "j")] == ["int64", "float64", "text", "bool", "int64",
                                                                    "text"]
    for r in (1, 2):  # a null and a missing key are the same
        s = ds[r]
        assert s["i"].shape == (0,) and s["b"].shape == (0,)
        assert np.isnan(s["f"]) and s["s"] == "" and s["l"].shape == (0,) and s["j"] is None
    assert ds[0]["i"] == 1 and ds[0]["j"] == {"k": 1}


def test_jsonl_one_big_integer_does_not_make_the_column_float(tmp_path):
    big = 123456789012345678901234567890
    lines = ['{"id": 1, "n": 7}', '{"id": %d, "n": 8}' % big, '{"id": 3, "n": 9}']
    (tmp_path / "d.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError) as e:
        gtn.ingest(tmp_path / "d.jsonl", tmp_path / "ds")
    assert "item 2 of 3 (line 2)" in str(e.value) and str(big) in str(e.value)
    assert "int64 range" in str(e.value)
    assert not (tmp_path / "ds").exists()
    with pytest.warns(UserWarning):
        report = gtn.ingest(tmp_path / "d.jsonl", tmp_path / "ds", on_error="skip")
    assert report["skipped"][0]["item"] == "line 2"
    ds = gtn.dataset(tmp_path / "ds", read_only=True)
    assert ds["id"].dtype == "int64"
    np.testing.assert_array_equal(ds["id"].numpy(), [1, 3])
    np.testing.assert_array_equal(ds["n"].numpy(), [7, 9])
    # Values beyond int64 that all fit uint64 make a uint64 column with every digit kept.
    (tmp_path / "u.jsonl").write_text('{"h": 18446744073709551615}\n{"h": 5}\n')
    gtn.ingest(tmp_path / "u.jsonl", tmp_path / "u")
    u = gtn.dataset(tmp_path / "u", read_only=True)
    assert u["h"].dtype == "uint64" and int(u[0]["h"]) == 2**64 - 1
    # Inside a json column the digits are kept too.
    (tmp_path / "j.jsonl").write_text('{"m": {"k": %d}}\n{"m": [1]}\n' % big)
    gtn.ingest(tmp_path / "j.jsonl", tmp_path / "j")
    assert gtn.dataset(tmp_path / "j")[0]["m"] == {"k": big}


def test_jsonl_bad_lines(tmp_path):
    (tmp_path / "d.jsonl").write_text('{"a": 1}\n{"a": 2\n[3]\n{"a": 4}\n')
    with pytest.raises(ValueError, match=r"item 2 of 4 \(line 2\) failed after 1 item\(s\) were read.*not valid JSON"):
        gtn.ingest(tmp_path / "d.jsonl", tmp_path / "ds")
    with pytest.warns(UserWarning):
        report = gtn.ingest(tmp_path / "d.jsonl", tmp_path / "ds", on_error="skip")
    assert [s["item"] for s in report["skipped"]] == ["line 2", "line 3"]
    assert "not a JSON object" in report["skipped"][1]["reason"]
    np.testing.assert_array_equal(gtn.dataset(tmp_path / "ds")["a"].numpy(), [1, 4])


# --- all or nothing ---

def test_failed_ingest_leaves_an_existing_dataset_as_it_was(tmp_path):
    (tmp_path / "a.csv").write_text("x,y\n1,a\n2,b\n")
    (tmp_path / "b.csv").write_text("x,y\n3,c\n4,d\n5,e,extra\n6,f\n")
    gtn.ingest(tmp_path / "a.csv", tmp_path / "ds")
    before = sorted(p.relative_to(tmp_path / "ds") for p in (tmp_path / "ds" / "versions").iterdir())
    with pytest.raises(ValueError) as e:
        gtn.ingest(tmp_path / "b.csv", tmp_path / "ds", batch_size=1)
    assert "item 3 of 4 (line 4) failed after 2 item(s) were read" in str(e.value)
    assert "as it was before" in str(e.value)
    ds = gtn.dataset(tmp_path / "ds", read_only=True)
    assert len(ds) == 2
    np.testing.assert_array_equal(ds["x"].numpy(), [1, 2])
    assert [ds[i]["y"] for i in range(2)] == ["a", "b"]
    assert before  # the dataset was there before, and still opens with its two rows


def test_no_dataset_when_the_source_is_missing_or_unreadable(tmp_path):
    with pytest.raises(FileNotFoundError):
        gtn.ingest(tmp_path / "missing.csv", tmp_path / "ds")
    with pytest.raises(FileNotFoundError):
        gtn.ingest(tmp_path / "missing.parquet", tmp_path / "ds")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="empty"):
        gtn.ingest(tmp_path / "empty.csv", tmp_path / "ds")
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(ValueError, match="cannot read it as Parquet"):
        gtn.ingest(tmp_path / "bad.parquet", tmp_path / "ds")
    assert not (tmp_path / "ds").exists()


# --- Parquet, pyarrow, pandas ---

def frame():
    return pd.DataFrame({
        "i": np.array([1, -2, 3], np.int64),
        "u8": np.array([0, 7, 255], np.uint8),
        "f": [0.5, np.nan, 2.25],
        "s": ["a", None, "ç"],
        "cat": pd.Categorical(["x", "y", "x"]),
        "ni": pd.array([1, None, 3], dtype="Int64"),
        "b": [True, False, True],
        "emb": [[1.0, 2.0], [3.0], []],
    })


def check_frame(ds, df):
    np.testing.assert_array_equal(ds["i"].numpy(), df["i"].to_numpy())
    assert ds["u8"].dtype == "uint8"
    np.testing.assert_array_equal(ds["u8"].numpy(), df["u8"].to_numpy())
    np.testing.assert_array_equal(ds["f"].numpy(), df["f"].to_numpy())
    assert [ds[r]["s"] for r in range(3)] == ["a", "", "ç"]
    assert ds["cat"].class_names == list(df["cat"].cat.categories)
    np.testing.assert_array_equal(ds["cat"].numpy(), df["cat"].cat.codes.to_numpy())
    assert ds["ni"].dtype == "int64" and ds[0]["ni"] == 1 and ds[1]["ni"].shape == (0,) and ds[2]["ni"] == 3
    np.testing.assert_array_equal(ds["b"].numpy(), df["b"].to_numpy())
    for r in range(3):
        np.testing.assert_array_equal(ds[r]["emb"], np.asarray(df["emb"][r], np.float64))


def test_pandas_dataframe(tmp_path):
    df = frame()
    report = gtn.ingest(df, tmp_path / "ds")
    assert report["format"] == "pandas" and report["samples"] == 3
    check_frame(gtn.dataset(tmp_path / "ds", read_only=True), df)


def test_parquet_file_and_arrow_table(tmp_path):
    df = frame()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp_path / "t.parquet")
    report = gtn.ingest(tmp_path / "t.parquet", tmp_path / "ds")
    assert report["format"] == "parquet"
    check_frame(gtn.dataset(tmp_path / "ds", read_only=True), df)
    table = pq.read_table(tmp_path / "t.parquet")
    report = gtn.ingest(table, tmp_path / "arrow")
    assert report["format"] == "arrow"
    check_frame(gtn.dataset(tmp_path / "arrow", read_only=True), df)


def test_parquet_label_and_stack_on_sklearn_data(tmp_path):
    from sklearn.datasets import load_wine
    bunch = load_wine(as_frame=True)
    df = bunch.frame.copy()
    df["name"] = [bunch.target_names[t] for t in bunch.target]
    df = df.drop(columns=["target"])
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp_path / "wine.parquet")
    gtn.ingest(tmp_path / "wine.parquet", tmp_path / "ds", label_column="name", stack="*", stack_name="X")
    ds = gtn.dataset(tmp_path / "ds", read_only=True)
    np.testing.assert_array_equal(ds["X"].numpy(), bunch.data.to_numpy())
    assert ds["name"].class_names == sorted(bunch.target_names)
    np.testing.assert_array_equal(np.asarray(ds["name"].class_names)[ds["name"].numpy()], df["name"].to_numpy())


def test_dataframe_failure_is_all_or_nothing(tmp_path):
    (tmp_path / "a.csv").write_text("x\n1\n")
    gtn.ingest(tmp_path / "a.csv", tmp_path / "ds")
    with pytest.raises(ValueError, match="destination dataset has tensors"):
        gtn.ingest(pd.DataFrame({"y": [1.0]}), tmp_path / "ds")
    df = pd.DataFrame({"label": ["a", "zz", "b"]})
    with pytest.raises(ValueError, match=r"item 2 of 3 \(row 1\).*label"):
        gtn.ingest(df, tmp_path / "new", label_column="label", class_names=["a", "b"])
    assert not (tmp_path / "new").exists()
    with pytest.warns(UserWarning):
        report = gtn.ingest(df, tmp_path / "new", label_column="label", class_names=["a", "b"], on_error="skip")
    assert [s["item"] for s in report["skipped"]] == ["row 1"]
    np.testing.assert_array_equal(gtn.dataset(tmp_path / "new")["label"].numpy(), [0, 1])


# --- the CLI ---

def test_cli_skip_errors_prints_a_report(tmp_path):
    (tmp_path / "d.jsonl").write_text('{"a": 1}\n{"a": \n{"a": 3}\n')
    p = cli("ingest", tmp_path / "d.jsonl", tmp_path / "ds")
    assert p.returncode == 1
    assert p.stderr.startswith("gtn: error: ") and "item 2 of 3 (line 2)" in p.stderr
    assert not (tmp_path / "ds").exists()
    p = cli("ingest", tmp_path / "d.jsonl", tmp_path / "ds", "--skip-errors")
    assert p.returncode == 0, p.stderr
    assert "ingested 2 samples" in p.stdout
    assert "skipped 1 unreadable item(s) of 3:" in p.stdout and "  line 2: is not valid JSON" in p.stdout
    np.testing.assert_array_equal(gtn.dataset(tmp_path / "ds")["a"].numpy(), [1, 3])


def test_cli_csv_options(tmp_path):
    import sklearn
    iris = os.path.join(os.path.dirname(sklearn.__file__), "datasets", "data", "iris.csv")
    p = cli("ingest", iris, tmp_path / "iris")
    assert p.returncode == 0, p.stderr
    assert "tensors: data target" in p.stdout
    (tmp_path / "t.tsv").write_text("k\tv\tw\n1\t2\tx\n3\t4\ty\n")
    p = cli("ingest", tmp_path / "t.tsv", tmp_path / "tsv", "--columns", "w,k,v", "--label", "w", "--stack", "k,v",
            "--stack-name", "kv")
    assert p.returncode == 0, p.stderr
    ds = gtn.dataset(tmp_path / "tsv", read_only=True)
    np.testing.assert_array_equal(ds["kv"].numpy(), [[1, 2], [3, 4]])
    assert ds["kv"].dtype == "int64" and ds["w"].class_names == ["x", "y"]
    p = cli("ingest", tmp_path / "missing.csv", tmp_path / "none")
    assert p.returncode == 1 and "no such file" in p.stderr and not (tmp_path / "none").exists()
    pq.write_table(pa.table({"a": [1]}), tmp_path / "t.parquet")
    p = cli("ingest", tmp_path / "t.parquet", tmp_path / "none")
    assert p.returncode == 1 and "Python package" in p.stderr and not (tmp_path / "none").exists()


def test_parquet_image_bytes_keep_their_bytes(tmp_path):
    import io
    import sklearn
    from PIL import Image
    jpeg = (os.path.join(os.path.dirname(sklearn.__file__), "datasets", "images", "china.jpg"))
    jpeg_bytes = open(jpeg, "rb").read()
    rng = np.random.default_rng(5)
    px = rng.integers(0, 256, (9, 7, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(px).save(buf, format="PNG")
    pngs = [buf.getvalue()] * 2
    # Hugging Face's Image feature: a struct {bytes, path}; and a plain binary column.
    table = pa.table({"image": [{"bytes": b, "path": f"{k}.png"} for k, b in enumerate(pngs)],
                      "raw": [jpeg_bytes, jpeg_bytes], "label": [0, 1]})
    pq.write_table(table, tmp_path / "imgs.parquet")
    report = gtn.ingest(tmp_path / "imgs.parquet", tmp_path / "ds")
    assert report["kept_encoded"] == 4
    ds = gtn.dataset(tmp_path / "ds", read_only=True)
    assert ds["image"].htype == "image" and ds["raw"].htype == "image"
    np.testing.assert_array_equal(ds[1]["image"], px)
    want = np.asarray(Image.open(jpeg))
    assert np.abs(ds[0]["raw"].astype(int) - want).max() <= 2
    chunks = b"".join(p.read_bytes() for p in (tmp_path / "ds" / "chunks").rglob("*.chunk"))
    assert jpeg_bytes in chunks
    # A row whose bytes are no image fails that row.
    bad = pa.table({"raw": [jpeg_bytes, b"\x89PNG\r\n\x1a\nbroken"]})
    with pytest.raises(ValueError, match=r"item 2 of 2 \(row 1\).*column 'raw'"):
        gtn.ingest(bad, tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


def test_stack_keeps_the_order_given(tmp_path):
    (tmp_path / "t.csv").write_text("a,b,c\n1,2,3\n4,5,6\n")
    gtn.ingest(tmp_path / "t.csv", tmp_path / "ds", stack=["c", "a"], stack_name="ca")
    ds = gtn.dataset(tmp_path / "ds", read_only=True)
    np.testing.assert_array_equal(ds["ca"].numpy(), [[3, 1], [6, 4]])
    np.testing.assert_array_equal(ds["b"].numpy(), [2, 5])
    df = pd.DataFrame({"a": [1.0, 4.0], "b": [2, 5], "c": [3.0, 6.0]})
    gtn.ingest(df, tmp_path / "df", stack=["c", "a"], stack_name="ca")
    np.testing.assert_array_equal(gtn.dataset(tmp_path / "df")["ca"].numpy(), [[3.0, 1.0], [6.0, 4.0]])


def test_jsonl_image_paths_keep_their_bytes_next_to_text_and_numbers(tmp_path):
    from PIL import Image
    rng = np.random.default_rng(2)
    pics = []
    for k in range(3):
        px = rng.integers(0, 256, (5, 4, 3), dtype=np.uint8)
        Image.fromarray(px).save(tmp_path / f"{k}.png")
        pics.append(px)
    rows = [{"img": f"{k}.png", "caption": f"picture {k}", "score": k / 2} for k in range(3)]
    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    report = gtn.ingest(tmp_path / "d.jsonl", tmp_path / "ds", batch_size=2)
    assert report["kept_encoded"] == 3
    ds = gtn.dataset(tmp_path / "ds", read_only=True)
    for k in range(3):
        np.testing.assert_array_equal(ds[k]["img"], pics[k])
        assert ds[k]["caption"] == rows[k]["caption"] and ds[k]["score"] == rows[k]["score"]
    chunks = b"".join(p.read_bytes() for p in (tmp_path / "ds" / "chunks").rglob("*.chunk"))
    assert all((tmp_path / f"{k}.png").read_bytes() in chunks for k in range(3))
