"""GTN: tensor-native datasets (GTN-F), compiled classical ML (GTN-ML) and curation.

    import gtn
    ds = gtn.dataset("/tmp/my_ds")          # open or create
    ds.create_tensor("images", htype="image", sample_compression="jpeg")
"""
import os as _os

# Developer builds (cmake -DGTN_BUILD_PYTHON=ON) leave the extension in their build folder;
# GTN_CORE_DIR=<build>/python lets `import gtn` find it without `pip install`.
if _os.environ.get("GTN_CORE_DIR"):
    __path__.insert(0, _os.environ["GTN_CORE_DIR"])  # noqa: F821 (package __path__)

from gtn._core import (CorruptionError, GTNError, LockedError, MergeConflictError,  # noqa: E402
                       UnsupportedError, fsck)

from gtn.dataset import Dataset, Tensor, dataset  # noqa: E402
from gtn.summary import Summary  # noqa: E402
from gtn.ingest import ingest  # noqa: E402
from gtn.view import View, query_functions  # noqa: E402
from gtn import ml  # noqa: E402  (gtn.ml.convert / load / supported)
from gtn import curate  # noqa: E402  (gtn.curate.dedup)
from gtn.layout import LayoutPlan, Trace, load_trace  # noqa: E402  (ds.trace(), ds.layout_plan())

__version__ = "0.1.0"

__all__ = ["fsck", "GTNError", "CorruptionError", "LockedError", "MergeConflictError", "UnsupportedError", "__version__",
           "Dataset", "Tensor", "View", "dataset", "ingest", "ml", "query_functions", "curate", "Summary",
           "Trace", "LayoutPlan", "load_trace"]
