"""GTN-Curate: deduplication of datasets (docs/curate.md).

    import gtn
    result = gtn.curate.dedup(ds, tensor="text", method="exact+minhash", threshold=0.8)
    result.keep_rows          # rows kept, one per cluster
    print(result)             # counts per stage, cluster sizes, the LSH S-curve, examples

Nothing is deleted: ``cluster_id`` and ``duplicate_of`` tensors are written to the dataset
and committed; the rows to keep come back as ``result.keep_rows`` and as a view of that
commit saved under ``view_name`` (default "dedup-keep"): ``ds.load_view("dedup-keep")``.
"""
from gtn.curate.dedup import DedupResult, dedup, find_duplicates, lsh_params, normalize_text, ngram_hashes, image_hash

__all__ = ["dedup", "find_duplicates", "DedupResult", "lsh_params", "normalize_text", "ngram_hashes", "image_hash"]
