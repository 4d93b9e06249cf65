"""GraphBuilder: collects nodes and constants into the graph of docs/ml/graph.md."""
import json

import numpy as np

FLOAT_DTYPES = ("float32", "float64")


class GraphBuilder:
    """Builds one graph. Converters add constants and nodes; names are made unique here."""

    def __init__(self, dtype, n_features, input_name="X"):
        if dtype not in FLOAT_DTYPES:
            raise ValueError(f"dtype must be one of {FLOAT_DTYPES}, got {dtype!r}")
        self.dtype = dtype
        self.n_features = int(n_features)
        self.input = input_name
        self.nodes = []
        self.constants = {}
        self.metadata = {}
        self._used = {input_name}
        self._count = 0

    def _name(self, hint):
        self._count += 1
        name = f"{hint}_{self._count}"
        self._used.add(name)
        return name

    def const(self, value, hint="c", dtype=None):
        """Adds a constant; float arrays take the graph dtype unless `dtype` is given."""
        arr = np.asarray(value)
        if dtype is not None:
            arr = arr.astype(dtype)
        elif arr.dtype.kind == "f":
            arr = arr.astype(self.dtype)
        elif arr.dtype.kind in "iu":
            arr = arr.astype(np.int64)
        name = self._name(hint)
        self.constants[name] = np.ascontiguousarray(arr)
        return name

    def scalar(self, value, hint="s"):
        """A one-element float constant that broadcasts against anything."""
        return self.const(np.array([value], dtype=np.float64), hint)

    def op(self, op, *inputs, n_results=1, hint=None, **attrs):
        """Adds a node; returns its output name (a tuple of names when n_results > 1)."""
        outs = [self._name(hint or op.lower()) for _ in range(n_results)]
        self.nodes.append({"op": op, "inputs": list(inputs), "outputs": outs, "attrs": attrs})
        return outs[0] if n_results == 1 else tuple(outs)

    def to_json(self, outputs):
        """The graph JSON text for the given method -> value map."""
        graph = {
            "format": "gtn-ml-graph",
            "version": 1,
            "dtype": self.dtype,
            "inputs": [{"name": self.input, "shape": [-1, self.n_features]}],
            "outputs": dict(outputs),
            "nodes": self.nodes,
            "metadata": self.metadata,
        }
        return json.dumps(graph, default=_json_default)


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"cannot store {type(obj).__name__} in graph JSON")
