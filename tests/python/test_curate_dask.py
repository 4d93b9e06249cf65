"""gtn.curate.dedup on a Dask LocalCluster with 2 worker processes over a shared folder:
the same clusters as the single-process run, the same tensors and report counts."""
import os

import numpy as np
import pytest

import gtn

distributed = pytest.importorskip("dask.distributed")

LICENSES = "/usr/share/common-licenses"


@pytest.mark.skipif(not os.path.isdir(LICENSES), reason="needs Debian's /usr/share/common-licenses")
def test_dask_local_cluster_gives_the_single_process_result(tmp_path):
    from gtn.curate.dask import DaskExecutor
    texts = [open(os.path.join(LICENSES, n), encoding="utf-8").read() for n in sorted(os.listdir(LICENSES))]
    rng = np.random.default_rng(1)
    # More rows than one task holds, and near-duplicates made by dropping words.
    docs = []
    for t in texts * 3:
        w = t.split()
        keep = rng.random(len(w)) > rng.uniform(0, 0.03)
        docs.append(" ".join(np.array(w)[keep]))
    ds = gtn.dataset(tmp_path / "ds")
    ds.create_tensor("text", htype="text")
    ds.extend({"text": docs})
    ds.commit("texts")
    local = gtn.curate.find_duplicates(ds, threshold=0.8)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  local_directory=str(tmp_path / "dask")) as cluster, \
            distributed.Client(cluster) as client:
        r = gtn.curate.dedup(ds, threshold=0.8, executor=DaskExecutor(client, rows_per_task=7, pairs_per_task=5))
        assert len(client.scheduler_info()["workers"]) == 2
    assert r.cluster_id.tolist() == local.cluster_id.tolist()
    assert r.duplicate_of.tolist() == local.duplicate_of.tolist()
    assert r.report["stages"][1]["candidate_pairs"] == local.report["stages"][1]["candidate_pairs"]
    assert r.rows_removed > 17  # every license has copies
    assert ds.tensors["cluster_id"].numpy().ravel().tolist() == local.cluster_id.tolist()
    # Workers read the head commit: uncommitted changes are refused, not silently ignored.
    ds.extend({"text": ["one more text here for the end"], "cluster_id": [0], "duplicate_of": [0]})
    with pytest.raises(ValueError, match="commit first"):
        gtn.curate.dedup(ds, executor=DaskExecutor(client=None))
