"""Ingest files or tables into a GTN dataset: ``gtn.ingest(src, dst)``.

Sources (``format="auto"`` picks by name): a folder of class folders of JPEG/PNG images,
a ``.jsonl``, ``.csv`` or ``.tsv`` file (one tensor per column, types inferred), a ``.npy``
file or a folder of them (one tensor per file, first axis = samples), a ``.parquet`` file,
a pyarrow ``Table`` or a pandas ``DataFrame``. docs/ingest.md lists every option and rule.

All or nothing: when an item cannot be read the call raises, naming the item and how many
were read before it, and leaves the dataset as it was (a dataset it created is removed).
``on_error="skip"`` skips such items instead and lists them in the report.
"""
from __future__ import annotations

import json
import os
import sys
import warnings

import numpy as np

from gtn import _core

__all__ = ["ingest"]

_PARQUET_SUFFIXES = (".parquet", ".pq")


def ingest(src, dst, format="auto", image_compression=None, batch_size=256, progress=None, *,
           mode="keep", on_error="raise", header="auto", delimiter=None, encoding="utf-8",
           columns=None, label_column=None, class_names=None, stack=None, stack_name="features", commit=None,
           layout="data"):
    """Appends the samples of ``src`` to the dataset at ``dst`` (created when missing) and
    returns a report: ``{"format", "samples", "items", "skipped", "skipped_files",
    "kept_encoded", "tensors", "warnings"}``; ``skipped`` lists ``{"item", "reason"}``.

    ``src``: a path (folder, .jsonl, .csv, .tsv, .npy, .parquet), a pyarrow Table or a pandas
    DataFrame. ``mode``: image channels, "keep" (as decoded) or "L", "LA", "RGB", "RGBA".
    ``on_error``: "raise" (all or nothing) or "skip". CSV: ``header`` ("auto", "yes", "no",
    "count"), ``delimiter``, ``encoding`` ("utf-8" or "latin-1"). Tables: ``columns`` (keep
    these, in order), ``label_column`` (becomes class_label; ``class_names`` optional),
    ``stack`` (a list of numeric columns, or "*" for all) stacked into ``stack_name``.
    ``progress(done, total)`` is called after each batch. ``commit``: a message; the ingest
    then ends with a commit (its id in the report's ``"commit"``, else None). ``layout``:
    "data" (default) lays each new tensor out as the data-driven planner chooses from the
    first batch (chunk size, compression; docs/layout.md), "fixed" keeps the defaults.
    """
    if stack in ("*", True):
        stack = ["*"]
    table_opts = dict(columns=list(columns or []), label_column=label_column or "",
                      class_names=list(class_names or []), stack=list(stack or []), stack_name=stack_name)
    for what, path in (("source", src), ("destination", dst)):
        if isinstance(path, (str, bytes, os.PathLike)) and "\0" in os.fsdecode(os.fspath(path)):
            raise ValueError(f"the {what} path contains a NUL byte: {os.fsdecode(os.fspath(path))!r}")
    kind = _table_kind(src, format)
    if kind is not None:
        report = _ingest_table(src, kind, dst, on_error=on_error, batch_size=batch_size, progress=progress,
                               image_compression=image_compression, mode=mode or "keep", commit=commit,
                               layout=layout, **table_opts)
    else:
        report = _core.ingest(os.fspath(src), os.fspath(dst), format=format, image_compression=image_compression,
                              image_mode=mode or "keep", on_error=on_error, header=header, delimiter=delimiter,
                              encoding=encoding, batch_size=batch_size, progress=progress, commit=commit,
                              layout=layout, **table_opts)
    if report["skipped_files"]:
        first = report["warnings"][0]
        warnings.warn(f"gtn.ingest skipped {report['skipped_files']} file(s), e.g. {first}", stacklevel=2)
    if report["skipped"]:
        first = report["skipped"][0]
        warnings.warn(f"gtn.ingest skipped {len(report['skipped'])} unreadable item(s) of {report['items']}, "
                      f"e.g. {first['item']}: {first['reason']}", stacklevel=2)
    return report


def _table_kind(src, format):
    """'parquet', 'arrow' or 'pandas' when ``src`` is one of those, else None (a C++ source)."""
    if format == "parquet":
        return "parquet"
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(src, pd.DataFrame):
        return "pandas"
    pa = sys.modules.get("pyarrow")
    if pa is not None and isinstance(src, (pa.Table, pa.RecordBatch)):
        return "arrow"
    if isinstance(src, (str, os.PathLike)) and format == "auto" and os.fspath(src).lower().endswith(_PARQUET_SUFFIXES):
        return "parquet"
    if not isinstance(src, (str, bytes, os.PathLike)):
        raise TypeError(f"gtn.ingest: cannot ingest a {type(src).__name__}; expected a path, a pyarrow Table "
                        "or a pandas DataFrame")
    return None


def _ingest_table(src, kind, dst, on_error, batch_size, progress, image_compression, mode, commit, columns, label_column,
                  class_names, stack, stack_name, layout="data"):
    import pyarrow as pa

    if kind == "parquet":
        import pyarrow.parquet as pq

        path = os.fspath(src)
        if not os.path.exists(path):
            raise FileNotFoundError(f"no such file or folder: {path}")
        try:
            table = pq.read_table(path)
        except (pa.ArrowException, OSError) as e:
            raise ValueError(f"{path}: cannot read it as Parquet: {e}") from None
        source = path
    elif kind == "pandas":
        table = pa.Table.from_pandas(src, preserve_index=False)
        source = "DataFrame"
    else:
        table = pa.Table.from_batches([src]) if isinstance(src, pa.RecordBatch) else src
        source = "Table"
    names = table.column_names
    for what, wanted in (("the selected column", columns), ("the stacked column", [c for c in stack if c != "*"]),
                         ("the label column", [label_column] if label_column else [])):
        for name in wanted:
            if name not in names:
                raise ValueError(f"{source}: {what} '{name}' is not a column; the columns are [{', '.join(names)}]")
    keep = columns or names
    if label_column and label_column not in keep:
        raise ValueError(f"{source}: the label column '{label_column}' is not among the selected columns")
    if stack == ["*"]:
        stacked = [n for n in keep if n != label_column and _is_numeric(table.column(n).type)]
        if not stacked:
            raise ValueError(f"{source}: stack='*' found no numeric column to stack")
    else:
        stacked = list(stack)
        for name in stacked:
            if name == label_column:
                raise ValueError(f"{source}: the label column '{name}' cannot also be stacked")
            if not _is_numeric(table.column(name).type):
                raise ValueError(f"{source}: the stacked column '{name}' holds {table.column(name).type} values; "
                                 "only numeric columns stack")
    cols = []
    for name in keep:
        if name in stacked:
            if name == stacked[0]:
                cols.append(_stack_column(table, stacked, stack_name, source))
            continue
        arr = table.column(name).combine_chunks()
        if name == label_column or pa.types.is_dictionary(arr.type):
            cols.append(_label_column(name, arr, class_names if name == label_column else []))
        else:
            cols.append(_arrow_column(name, arr))
    report = _core.ingest_columns(cols, os.fspath(dst), source, on_error=on_error,
                                  image_compression=image_compression, image_mode=mode, batch_size=batch_size,
                                  progress=progress, commit=commit, layout=layout)
    report["format"] = kind
    return report


def _is_numeric(t):
    import pyarrow as pa

    return pa.types.is_integer(t) or pa.types.is_floating(t)


def _spec(name, dtype, htype="generic", class_names=(), **data):
    return dict(name=name, htype=htype, dtype=dtype, class_names=list(class_names), sample_compression="none", **data)


def _with_nulls(values, valid, dtype):
    """One sample per row; a missing value is an empty sample of ``dtype``."""
    empty = np.empty(0, dtype)
    return [np.asarray(v, dtype) if ok else empty for v, ok in zip(values, valid)]


def _arrow_column(name, arr):
    """One Arrow column -> the dict _core.ingest_columns takes (docs/ingest.md, "Parquet")."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = arr.type
    nulls = arr.null_count > 0
    if pa.types.is_integer(t) or pa.types.is_boolean(t):
        dtype = np.dtype(t.to_pandas_dtype()).name if not pa.types.is_boolean(t) else "bool"
        if not nulls:
            return _spec(name, dtype, rows=np.ascontiguousarray(arr.to_numpy(zero_copy_only=False)))
        valid = np.asarray(arr.is_valid())
        values = arr.fill_null(False if pa.types.is_boolean(t) else 0).to_numpy(zero_copy_only=False)
        return _spec(name, dtype, samples=_with_nulls(values, valid, dtype))
    if pa.types.is_floating(t):
        dtype = {16: "float16", 32: "float32", 64: "float64"}[t.bit_width]
        values = arr.to_numpy(zero_copy_only=False).astype(dtype, copy=False)  # nulls -> NaN
        return _spec(name, dtype, rows=np.ascontiguousarray(values))
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return _spec(name, "text", htype="text", samples=[s or "" for s in arr.to_pylist()])
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        values = arr.to_pylist()
        if _all_images(values):
            return _spec(name, "uint8", htype="image", images=[b or b"" for b in values])
        return _spec(name, "bytes", samples=[b or b"" for b in values])
    if pa.types.is_struct(t) and t.get_field_index("bytes") >= 0:
        # Hugging Face's Image feature: {"bytes": <file bytes>, "path": ...}.
        values = [None if v is None else v.get("bytes") for v in arr.to_pylist()]
        if _all_images(values):
            return _spec(name, "uint8", htype="image", images=[b or b"" for b in values])
    if (pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)) and \
            _is_numeric(t.value_type):
        dtype = np.dtype(t.value_type.to_pandas_dtype()).name
        if pa.types.is_fixed_size_list(t) and not nulls and arr.values.null_count == 0:
            flat = arr.values.to_numpy(zero_copy_only=False).astype(dtype, copy=False)
            return _spec(name, dtype, rows=np.ascontiguousarray(flat.reshape(len(arr), t.list_size)))
        if arr.values.null_count == 0:
            return _spec(name, dtype, samples=[np.asarray(v if v is not None else [], dtype) for v in arr.to_pylist()])
    if pa.types.is_temporal(t) or pa.types.is_decimal(t):
        text = pc.cast(arr, pa.string())
        return _spec(name, "text", htype="text", samples=[s or "" for s in text.to_pylist()])
    if pa.types.is_null(t):
        return _spec(name, "text", htype="text", samples=[""] * len(arr))
    return _spec(name, "text", htype="json",
                 samples=[json.dumps(v, default=str, ensure_ascii=False) for v in arr.to_pylist()])


_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")


def _all_images(values):
    """True when every present value is the bytes of a JPEG or PNG file."""
    present = [v for v in values if v is not None]
    return bool(present) and all(isinstance(v, bytes) and v.startswith(_IMAGE_MAGIC) for v in present)


def _label_column(name, arr, class_names):
    """A class_label column: dictionary (pandas Categorical) codes, or values mapped to names."""
    import pyarrow as pa

    values = arr.to_pylist()
    if pa.types.is_dictionary(arr.type) and not class_names:
        class_names = [str(v) for v in arr.dictionary.to_pylist()]
        codes = arr.indices.to_pylist()
    else:
        if pa.types.is_dictionary(arr.type):
            values = [None if v is None else v for v in values]
        present = [v for v in values if v is not None]
        ints = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0 for v in present)
        if not class_names:
            if ints:
                class_names = [str(k) for k in range(max(present, default=-1) + 1)]
            else:
                class_names = sorted({str(v) for v in present})
        index = {n: k for k, n in enumerate(class_names)}
        codes = []
        for r, v in enumerate(values):
            if v is None:
                codes.append(None)
            elif str(v) in index:
                codes.append(index[str(v)])
            elif ints and 0 <= v < len(class_names):
                codes.append(int(v))
            else:
                codes.append(-1)  # fails its row in C++ (as an out-of-range label)
    if all(c is not None and c >= 0 for c in codes):
        return _spec(name, "int64", htype="class_label", class_names=class_names,
                     rows=np.asarray(codes, np.int64))
    samples = [np.empty(0, np.int64) if c is None else np.asarray(c, np.int64) for c in codes]
    return _spec(name, "int64", htype="class_label", class_names=class_names, samples=samples)


def _stack_column(table, stacked, stack_name, source):
    import pyarrow as pa

    types = [table.column(n).type for n in stacked]
    all_int = all(pa.types.is_integer(t) for t in types)
    dtype = np.int64 if all_int else np.float64
    parts = []
    for n in stacked:
        arr = table.column(n).combine_chunks()
        if all_int and arr.null_count:
            row = int(np.flatnonzero(~np.asarray(arr.is_valid()))[0])
            raise ValueError(f"{source}: row {row}: column '{n}' has no value; an int64 stack cannot hold a "
                             "missing value")
        parts.append(arr.to_numpy(zero_copy_only=False).astype(dtype))
    return _spec(stack_name, np.dtype(dtype).name, rows=np.ascontiguousarray(np.column_stack(parts)))
