"""Ingest files into a GTN dataset: ``gtn.ingest(src, dst)``.

Sources (``format="auto"`` picks by name): a folder of class folders of JPEG/PNG images,
a ``.jsonl`` or ``.csv`` file (one tensor per column, types inferred), a ``.npy`` file or a
folder of them (one tensor per file, first axis = samples). See docs/python-api.md.
"""
from __future__ import annotations

import warnings

from gtn import _core

__all__ = ["ingest"]


def ingest(src, dst, format="auto", image_compression=None, batch_size=256, progress=None):
    """Appends the samples of ``src`` to the dataset at ``dst`` (created when missing) and
    returns a report: ``{"format", "samples", "skipped_files", "tensors", "warnings"}``.

    ``progress(done, total)`` is called after each batch. Files skipped in an image
    folder (not .jpg/.jpeg/.png) are listed in the report and raise one ``UserWarning``.
    """
    report = _core.ingest(str(src), str(dst), format=format, image_compression=image_compression,
                          batch_size=batch_size, progress=progress)
    if report["skipped_files"]:
        first = report["warnings"][0]
        warnings.warn(f"gtn.ingest skipped {report['skipped_files']} file(s), e.g. {first}", stacklevel=2)
    return report
