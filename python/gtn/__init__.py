"""GTN: tensor-native datasets (GTN-F), compiled classical ML (GTN-ML) and curation.

    import gtn
    ds = gtn.dataset("/tmp/my_ds")          # open or create
    ds.create_tensor("images", htype="image", sample_compression="jpeg")
"""
from gtn._core import CorruptionError, GTNError, LockedError, UnsupportedError

__version__ = "0.1.0"

__all__ = ["GTNError", "CorruptionError", "LockedError", "UnsupportedError", "__version__"]
