"""ONNX-ML import: an .onnx file (as skl2onnx / onnxmltools write them) -> a gtn.ml.Model.

The file is parsed with the `onnx` package and each node becomes GTN graph ops
(docs/ml/graph.md), so the model runs on GTN's executor without ONNX Runtime. Supported:
ai.onnx.ml TreeEnsembleRegressor, TreeEnsembleClassifier, LinearRegressor,
LinearClassifier, SVMRegressor, SVMClassifier (kernel SVMs: votes, libsvm's probabilities),
Scaler, Normalizer, Binarizer, Imputer, OneHotEncoder,
ArrayFeatureExtractor (constant indices), FeatureVectorizer, ZipMap (its input, a
probability matrix, is returned as is), LabelEncoder (int64 -> int64 / float), and the
ai.onnx operators these graphs use: Identity, Constant, Cast, Add, Sub, Mul, Div, Sum,
Less, Greater, Equal, MatMul, Gemm,
Sigmoid, Softmax, Relu, Tanh, Exp, Log, Abs, Neg, Sqrt, Reshape, Flatten, Concat, ArgMax,
ReduceSum, Clip.

Outputs keep ONNX Runtime's shapes (a regressor's [N, 1], a label vector, a probability
matrix instead of ZipMap's list of dicts). Methods are named after the source model's:
a classifier's label output is "predict" (labels from classlabels_*), its probability
output "predict_proba"; a regressor's output "predict"; the output of a graph without a
predictor "transform". metadata["onnx_outputs"] maps each method to the ONNX output name.
"""
import numpy as np

from gtn import UnsupportedError
from gtn.ml.convert.common import set_classes
from gtn.ml.convert.trees import Tree, tree_ensemble
from gtn.ml.graph import GraphBuilder

ONNX_TO_NUMPY = {1: np.float32, 2: np.uint8, 3: np.int8, 5: np.int16, 6: np.int32,
                 7: np.int64, 9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32,
                 13: np.uint64}


def load_onnx(path, dtype="float64", backend="cpu"):
    """Reads an ONNX(-ML) model (a path, bytes or an onnx.ModelProto) into a gtn.ml.Model."""
    import onnx

    from gtn import _core
    from gtn.ml.model import Model

    if isinstance(path, (bytes, bytearray)):
        proto = onnx.load_from_string(bytes(path))
    elif isinstance(path, onnx.ModelProto):
        proto = path
    else:
        proto = onnx.load(str(path))
    graph_json, constants = onnx_to_graph(proto, dtype)
    return Model(_core.ml_compile(graph_json, constants, backend))


def onnx_to_graph(proto, dtype="float64"):
    """(graph JSON, constants) of an onnx.ModelProto."""
    from onnx import numpy_helper

    graph = proto.graph
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in inits]
    if len(inputs) != 1:
        raise UnsupportedError(f"ONNX models with {len(inputs)} inputs are not supported; one "
                               "float tensor input [N, F] is")
    inp = inputs[0]
    ttype = inp.type.tensor_type
    if ttype.elem_type not in (1, 11, 7, 6):
        raise UnsupportedError(f"ONNX input {inp.name!r} has element type {ttype.elem_type}; "
                               "a float, double or integer tensor is expected")
    dims = [d.dim_value if d.HasField("dim_value") else -1 for d in ttype.shape.dim]
    if len(dims) != 2 or dims[1] < 1:
        raise UnsupportedError(f"ONNX input {inp.name!r} has shape {dims}; [N, F] with a known "
                               "F is expected")
    g = GraphBuilder(dtype, dims[1])
    t = _Translator(g, inits)
    t.values[inp.name] = g.input
    for node in graph.node:
        t.translate(node)
    outputs, names = {}, {}
    for out in graph.output:
        if out.name not in t.values:
            raise UnsupportedError(f"ONNX output {out.name!r} is not produced by a supported op")
        method = t.method_of(out.name)
        if method in outputs:
            method = f"{method}_{out.name}"
        outputs[method] = t.values[out.name]
        names[method] = out.name
    g.metadata.update({"source": "onnx", "n_features": dims[1], "dtype": dtype,
                       "onnx_outputs": names, "onnx_producer": proto.producer_name,
                       "onnx_opsets": {o.domain or "ai.onnx": o.version
                                       for o in proto.opset_import}})
    if t.classes is not None:
        set_classes(g, t.classes)
        g.metadata["label_methods"] = [m for m, v in outputs.items() if v == t.label_value]
    return g.to_json(outputs), g.constants


def _attrs(node):
    from onnx import helper

    out = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        if isinstance(v, bytes):
            v = v.decode()
        elif isinstance(v, list) and v and isinstance(v[0], bytes):
            v = [s.decode() for s in v]
        out[a.name] = v
    return out


class _Translator:
    def __init__(self, g, inits):
        self.g = g
        self.inits = inits
        self.values = {}      # onnx name -> gtn value name
        self.consts = {}      # onnx name -> numpy array (initializers and folded constants)
        self.roles = {}       # onnx name -> "label" / "proba" / "predict"
        self.classes = None
        self.label_value = None

    # -- helpers ---------------------------------------------------------------------------

    def value(self, name):
        if name in self.values:
            return self.values[name]
        if name in self.inits:
            arr = self.inits[name]
            v = self.g.const(arr, "onnx_const")
            self.values[name] = v
            return v
        raise UnsupportedError(f"ONNX value {name!r} is not produced by a supported op")

    def const_array(self, name):
        if name in self.inits:
            return self.inits[name]
        if name in self.consts:
            return self.consts[name]
        raise UnsupportedError(f"ONNX value {name!r} must be a constant here")

    def method_of(self, name):
        role = self.roles.get(name)
        return {"label": "predict", "proba": "predict_proba", "predict": "predict"}.get(
            role, "transform")

    def set(self, node, value, i=0, role=None):
        self.values[node.output[i]] = value
        if role:
            self.roles[node.output[i]] = role

    def pass_role(self, node, i=0):
        role = self.roles.get(node.input[0])
        if role:
            self.roles[node.output[i]] = role

    # -- dispatch --------------------------------------------------------------------------

    def translate(self, node):
        fn = getattr(self, f"op_{node.op_type}", None)
        if fn is None or node.domain not in ("", "ai.onnx", "ai.onnx.ml"):
            raise UnsupportedError(f"ONNX op {node.domain or 'ai.onnx'}.{node.op_type} is not "
                                   "supported (docs/ml/converters.md lists the ONNX ops)")
        fn(node, _attrs(node))

    # -- ai.onnx ---------------------------------------------------------------------------

    def op_Constant(self, node, a):
        from onnx import numpy_helper

        if "value" in a:
            arr = numpy_helper.to_array(a["value"])
        elif "value_float" in a:
            arr = np.array(a["value_float"], dtype=np.float32)
        elif "value_floats" in a:
            arr = np.array(a["value_floats"], dtype=np.float32)
        elif "value_int" in a:
            arr = np.array(a["value_int"], dtype=np.int64)
        elif "value_ints" in a:
            arr = np.array(a["value_ints"], dtype=np.int64)
        else:
            raise UnsupportedError("ONNX Constant of this kind is not supported")
        self.consts[node.output[0]] = arr
        self.inits[node.output[0]] = arr

    def op_Identity(self, node, a):
        self.set(node, self.g.op("Identity", self.value(node.input[0])))
        self.pass_role(node)

    def op_Cast(self, node, a):
        to = ONNX_TO_NUMPY.get(a["to"])
        x = self.value(node.input[0])
        if to in (np.float32, np.float64, np.float16):
            v = self.g.op("Identity", x) if self.roles.get(node.input[0]) else \
                self.g.op("Cast", x, to=self.g.dtype)
        elif to in (np.int64, np.int32, np.int16, np.int8, np.uint8, np.uint32, np.uint64):
            v = self.g.op("Cast", x, to="int64")
        elif to is np.bool_:
            v = self.g.op("Cast", x, to="bool")
        else:
            raise UnsupportedError(f"ONNX Cast to type {a['to']} is not supported")
        self.set(node, v)
        self.pass_role(node)

    def _binary(self, op, node):
        self.set(node, self.g.op(op, self.value(node.input[0]), self.value(node.input[1])))

    def op_Add(self, node, a):
        self._binary("Add", node)

    def op_Sub(self, node, a):
        self._binary("Sub", node)

    def op_Mul(self, node, a):
        self._binary("Mul", node)

    def op_Div(self, node, a):
        self._binary("Div", node)

    def op_MatMul(self, node, a):
        self._binary("MatMul", node)

    def op_Gemm(self, node, a):
        if a.get("transA", 0):
            raise UnsupportedError("ONNX Gemm with transA=1 is not supported")
        b = self.const_array(node.input[1]).astype(np.float64)
        if a.get("transB", 0):
            b = b.T
        y = self.g.op("MatMul", self.value(node.input[0]), self.g.const(b * a.get("alpha", 1.0),
                                                                       "gemm_b"))
        if len(node.input) > 2 and node.input[2]:
            c = self.const_array(node.input[2]).astype(np.float64) * a.get("beta", 1.0)
            y = self.g.op("Add", y, self.g.const(c, "gemm_c"))
        self.set(node, y)

    def _unary(self, op, node):
        self.set(node, self.g.op(op, self.value(node.input[0])))

    def op_Sum(self, node, a):
        v = self.value(node.input[0])
        for i in node.input[1:]:
            v = self.g.op("Add", v, self.value(i))
        self.set(node, v if len(node.input) > 1 else self.g.op("Identity", v))

    def op_Less(self, node, a):
        self._binary("Less", node)

    def op_Greater(self, node, a):
        self._binary("Greater", node)

    def op_Equal(self, node, a):
        self._binary("Equal", node)

    def op_Sigmoid(self, node, a):
        self._unary("Sigmoid", node)

    def op_Relu(self, node, a):
        self._unary("Relu", node)

    def op_Tanh(self, node, a):
        self._unary("Tanh", node)

    def op_Exp(self, node, a):
        self._unary("Exp", node)

    def op_Log(self, node, a):
        self._unary("Log", node)

    def op_Abs(self, node, a):
        self._unary("Abs", node)

    def op_Neg(self, node, a):
        self._unary("Neg", node)

    def op_Sqrt(self, node, a):
        self._unary("Sqrt", node)

    def op_Softmax(self, node, a):
        self.set(node, self.g.op("Softmax", self.value(node.input[0]), axis=a.get("axis", -1)))

    def op_ArgMax(self, node, a):
        self.set(node, self.g.op("ArgMax", self.value(node.input[0]), axis=a.get("axis", 0),
                                 keepdims=bool(a.get("keepdims", 1))))

    def op_ReduceSum(self, node, a):
        axes = a.get("axes")
        if axes is None and len(node.input) > 1:
            axes = self.const_array(node.input[1]).tolist()
        if not axes or len(axes) != 1:
            raise UnsupportedError("ONNX ReduceSum over other than one axis is not supported")
        self.set(node, self.g.op("ReduceSum", self.value(node.input[0]), axis=int(axes[0]),
                                 keepdims=bool(a.get("keepdims", 1))))

    def op_Clip(self, node, a):
        lo = a.get("min")
        hi = a.get("max")
        if len(node.input) > 1 and node.input[1]:
            lo = float(self.const_array(node.input[1]))
        if len(node.input) > 2 and node.input[2]:
            hi = float(self.const_array(node.input[2]))
        attrs = {k: float(v) for k, v in (("min", lo), ("max", hi)) if v is not None}
        self.set(node, self.g.op("Clip", self.value(node.input[0]), **attrs))

    def op_Reshape(self, node, a):
        shape = [int(s) for s in self.const_array(node.input[1])]
        self.set(node, self.g.op("Reshape", self.value(node.input[0]), shape=shape))
        self.pass_role(node)

    def op_Flatten(self, node, a):
        if a.get("axis", 1) != 1:
            raise UnsupportedError("ONNX Flatten with axis != 1 is not supported")
        self.set(node, self.g.op("Reshape", self.value(node.input[0]), shape=[0, -1]))

    def op_Concat(self, node, a):
        self.set(node, self.g.op("Concat", *[self.value(i) for i in node.input],
                                 axis=a.get("axis", 1)))

    # -- ai.onnx.ml: transformers -------------------------------------------------------------

    def op_Scaler(self, node, a):
        x = self.value(node.input[0])
        y = self.g.op("Sub", x, self.g.const(np.asarray(a.get("offset", [0.0])), "offset"))
        self.set(node, self.g.op("Mul", y, self.g.const(np.asarray(a.get("scale", [1.0])),
                                                        "scale")))

    def op_Normalizer(self, node, a):
        norm = a.get("norm", "MAX").lower()
        if norm not in ("l1", "l2", "max"):
            raise UnsupportedError(f"ONNX Normalizer norm={norm!r} is not supported")
        x = self.value(node.input[0])
        if norm == "max":
            # ONNX's MAX divides by the largest value (not the largest magnitude)
            m = self.g.op("ReduceMax", x, axis=1, keepdims=True)
            self.set(node, self.g.op("Div", x, m))
        else:
            self.set(node, self.g.op("Normalize", x, norm=norm))
        self.pass_role(node)

    def op_Binarizer(self, node, a):
        hot = self.g.op("Greater", self.value(node.input[0]), self.g.scalar(a.get("threshold", 0.0)))
        self.set(node, self.g.op("Cast", hot, to=self.g.dtype))

    def op_Imputer(self, node, a):
        values = a.get("imputed_value_floats") or a.get("imputed_value_int64s")
        missing = a.get("replaced_value_float", np.nan)
        x = self.value(node.input[0])
        hole = self.g.op("IsNaN", x) if np.isnan(missing) else \
            self.g.op("Equal", x, self.g.scalar(float(missing)))
        self.set(node, self.g.op("Where", hole, self.g.const(np.asarray(values, np.float64),
                                                             "imputed"), x))

    def op_OneHotEncoder(self, node, a):
        if "cats_int64s" not in a:
            raise UnsupportedError("ONNX OneHotEncoder with string categories is not supported")
        cats = np.asarray(a["cats_int64s"], dtype=np.float64)
        x = self.value(node.input[0])
        col = self.g.op("Reshape", x, shape=[0, -1, 1])
        hot = self.g.op("Cast", self.g.op("Equal", col, self.g.const(cats, "categories")),
                        to=self.g.dtype)  # [N, F, C]
        self.set(node, hot)

    def op_ArrayFeatureExtractor(self, node, a):
        idx = np.asarray(self.const_array(node.input[1]), dtype=np.int64).reshape(-1)
        x = self.value(node.input[0])
        if node.input[0] in self.inits:  # labels[indices] pattern: constant data
            raise UnsupportedError("ONNX ArrayFeatureExtractor over a constant is not supported")
        self.set(node, self.g.op("Gather", x, self.g.const(idx, "feature_indices"), axis=-1))

    def op_FeatureVectorizer(self, node, a):
        parts = [self.value(i) for i in node.input]
        self.set(node, self.g.op("Concat", *parts, axis=1) if len(parts) > 1 else
                 self.g.op("Identity", parts[0]))

    def op_ZipMap(self, node, a):
        # The probability matrix itself (ZipMap would make a list of dicts).
        self.set(node, self.g.op("Identity", self.value(node.input[0])), role="proba")

    def op_LabelEncoder(self, node, a):
        keys = a.get("keys_int64s")
        if keys is None:
            raise UnsupportedError("ONNX LabelEncoder with string keys is not supported")
        vals = a.get("values_int64s")
        is_int = vals is not None
        if vals is None:
            vals = a.get("values_floats")
        if vals is None:
            raise UnsupportedError("ONNX LabelEncoder with string values is not supported")
        default = a.get("default_int64", -1) if is_int else a.get("default_float", -0.0)
        x = self.value(node.input[0])
        keys = np.asarray(keys, dtype=np.float64)
        hot = self.g.op("Cast", self.g.op("Equal", self.g.op("Reshape", x, shape=[-1, 1]),
                                          self.g.const(keys, "keys")), to=self.g.dtype)
        mapped = self.g.op("MatMul", hot, self.g.const(np.asarray(vals, np.float64)
                                                       .reshape(-1, 1) - default, "values"))
        y = self.g.op("Add", self.g.op("Reshape", mapped, shape=[-1]), self.g.scalar(float(default)))
        self.set(node, self.g.op("Cast", y, to="int64") if is_int else y)

    # -- ai.onnx.ml: predictors -------------------------------------------------------------

    def _labels(self, a):
        labels = a.get("classlabels_int64s", a.get("classlabels_ints"))
        if labels is None:
            labels = a.get("classlabels_strings")
        if labels is None:
            raise UnsupportedError("ONNX classifier without class labels")
        return np.asarray(labels)

    def _classifier_outputs(self, node, labels, scores, binary_single, positive_weights,
                            post):
        """Labels and probabilities following ONNX Runtime's conventions."""
        g = self.g
        if binary_single:
            s = g.op("Reshape", scores, shape=[-1, 1])
            if positive_weights:
                proba = g.op("Concat", g.op("Sub", g.scalar(1.0), s), s, axis=1)
                label = g.op("Cast", g.op("Greater", s, g.scalar(0.5)), to="int64")
            elif post == "LOGISTIC":
                proba = g.op("Concat", g.op("Sigmoid", g.op("Neg", s)), g.op("Sigmoid", s), axis=1)
                label = g.op("Cast", g.op("Greater", s, g.scalar(0.0)), to="int64")
            elif post == "NONE":
                pos = g.op("Greater", s, g.scalar(0.0))
                proba = g.op("Where", pos, g.op("Concat", g.op("Neg", s), s, axis=1),
                             g.op("Concat", s, g.op("Neg", s), axis=1))
                label = g.op("Cast", pos, to="int64")
            else:
                raise UnsupportedError(f"binary ONNX classifier post_transform={post!r} is not "
                                       "supported")
            label = g.op("Reshape", label, shape=[-1])
        else:
            label = g.op("ArgMax", scores, axis=1, keepdims=False)
            proba = self._post(scores, post)
        self.classes = labels
        self.label_value = label
        self.set(node, label, 0, role="label")
        if len(node.output) > 1:
            self.set(node, proba, 1, role="proba")

    def _post(self, scores, post):
        g = self.g
        if post == "NONE":
            return scores
        if post == "LOGISTIC":
            return g.op("Sigmoid", scores)
        if post == "SOFTMAX":
            return g.op("Softmax", scores, axis=1)
        raise UnsupportedError(f"ONNX post_transform={post!r} is not supported")

    def _trees(self, a, prefix):
        """(trees, leaf matrix rows) from the nodes_* and <prefix>_* attributes."""
        tree_ids = np.asarray(a["nodes_treeids"])
        node_ids = np.asarray(a["nodes_nodeids"])
        modes = a["nodes_modes"]
        mode_set = {m for m in modes if m != "LEAF"}
        if not mode_set <= {"BRANCH_LEQ", "BRANCH_LT"} or len(mode_set) > 1:
            raise UnsupportedError(f"ONNX tree node modes {sorted(mode_set)} are not supported; "
                                   "all BRANCH_LEQ or all BRANCH_LT are")
        comparison = "lt" if mode_set == {"BRANCH_LT"} else "le"
        features = np.asarray(a["nodes_featureids"])
        values = np.asarray(a.get("nodes_values", a.get("nodes_values_as_tensor")), np.float64)
        true_ids = np.asarray(a["nodes_truenodeids"])
        false_ids = np.asarray(a["nodes_falsenodeids"])
        tracks = np.asarray(a.get("nodes_missing_value_tracks_true", [0] * len(modes)))
        t_ids = np.asarray(a[f"{prefix}_treeids"])
        t_nodes = np.asarray(a[f"{prefix}_nodeids"])
        t_out = np.asarray(a[f"{prefix}_ids"])
        t_w = np.asarray(a[f"{prefix}_weights"], np.float64)
        width = int(t_out.max()) + 1 if len(t_out) else 1
        trees = []
        for tid in np.unique(tree_ids):
            sel = np.flatnonzero(tree_ids == tid)
            ids = node_ids[sel]
            n = int(ids.max()) + 1
            pos = {int(i): k for k, i in enumerate(range(n))}
            feature = np.full(n, -1)
            thr = np.zeros(n)
            left = np.zeros(n, dtype=np.int64)
            right = np.zeros(n, dtype=np.int64)
            miss = np.ones(n, dtype=np.uint8)
            leaf = np.zeros((n, width))
            for k in sel:
                i = pos[int(node_ids[k])]
                if modes[k] != "LEAF":
                    feature[i] = features[k]
                    thr[i] = values[k]
                    left[i], right[i] = true_ids[k], false_ids[k]
                    miss[i] = 1 if tracks[k] else 0
            wsel = np.flatnonzero(t_ids == tid)
            np.add.at(leaf, (t_nodes[wsel].astype(np.int64), t_out[wsel].astype(np.int64)),
                      t_w[wsel])
            trees.append(Tree(feature, thr, left, right, miss, leaf))
        return trees, width, comparison

    def op_TreeEnsembleRegressor(self, node, a):
        trees, width, comparison = self._trees(a, "target")
        n_targets = int(a.get("n_targets", width))
        agg = a.get("aggregate_function", "SUM")
        if agg not in ("SUM", "AVERAGE"):
            raise UnsupportedError(f"ONNX TreeEnsembleRegressor aggregate_function={agg!r} is "
                                   "not supported")
        base = a.get("base_values") or [0.0] * n_targets
        y = tree_ensemble(self.g, self.value(node.input[0]), trees, n_targets,
                          "mean" if agg == "AVERAGE" else "sum", base, comparison=comparison)
        self.set(node, self._post(y, a.get("post_transform", "NONE")), role="predict")

    def op_TreeEnsembleClassifier(self, node, a):
        labels = self._labels(a)
        trees, width, comparison = self._trees(a, "class")
        k = len(labels)
        weights = np.asarray(a["class_weights"])
        binary_single = k == 2 and width == 1
        n_out = 1 if binary_single else k
        base = list(a.get("base_values") or [])
        if binary_single:
            base = base[:1] or [0.0]
        elif not base:
            base = [0.0] * k
        scores = tree_ensemble(self.g, self.value(node.input[0]), trees, n_out, "sum", base,
                               comparison=comparison)
        self._classifier_outputs(node, labels, scores, binary_single, bool((weights >= 0).all()),
                                 a.get("post_transform", "NONE"))

    def op_LinearRegressor(self, node, a):
        coef = np.asarray(a["coefficients"], np.float64)
        targets = int(a.get("targets", 1))
        coef = coef.reshape(targets, -1)
        y = self.g.op("MatMul", self.value(node.input[0]), self.g.const(coef.T, "coef_T"))
        icpt = np.asarray(a.get("intercepts") or [0.0] * targets, np.float64)
        y = self.g.op("Add", y, self.g.const(icpt, "intercept"))
        self.set(node, self._post(y, a.get("post_transform", "NONE")), role="predict")

    def op_LinearClassifier(self, node, a):
        labels = self._labels(a)
        coef = np.asarray(a["coefficients"], np.float64)
        icpt = np.asarray(a.get("intercepts") or [], np.float64)
        rows = len(icpt) if len(icpt) else len(coef) // self.g.n_features
        coef = coef.reshape(rows, -1)
        scores = self.g.op("MatMul", self.value(node.input[0]), self.g.const(coef.T, "coef_T"))
        if len(icpt):
            scores = self.g.op("Add", scores, self.g.const(icpt, "intercept"))
        binary_single = len(labels) == 2 and rows == 1
        self._classifier_outputs(node, labels, scores, binary_single, False,
                                 a.get("post_transform", "NONE"))

    def op_SVMRegressor(self, node, a):
        if a.get("one_class", 0):
            raise UnsupportedError("ONNX SVMRegressor with one_class=1 is not supported")
        kernel = a.get("kernel_type", "LINEAR").lower()
        gamma, coef0, degree = (list(a.get("kernel_params") or []) + [0.0, 0.0, 3.0])[:3]
        n_sv = int(a.get("n_supports", 0))
        coefs = np.asarray(a["coefficients"], np.float64)
        rho = np.asarray(a.get("rho") or [0.0], np.float64)
        x = self.value(node.input[0])
        if n_sv == 0:  # linear SVM: coefficients are the weights
            k = x
            w = coefs.reshape(-1, 1)
        else:
            sv = np.asarray(a["support_vectors"], np.float64).reshape(n_sv, -1)
            k = self._kernel(x, sv, kernel, gamma, coef0, degree)
            w = coefs.reshape(-1, 1)
        y = self.g.op("Add", self.g.op("MatMul", k, self.g.const(w, "dual_coef")),
                      self.g.const(rho, "rho"))
        self.set(node, self._post(y, a.get("post_transform", "NONE")), role="predict")

    def op_SVMClassifier(self, node, a):
        """libsvm's one-vs-one decisions (rho added, libsvm's orientation: > 0 votes for the
        pair's first class), votes for the label, Platt scaling + coupling (SvmProbability)
        when prob_a is given."""
        from gtn.ml.convert.svm import _ovo_weights
        from gtn.ml.convert.svm_probability import libsvm_probability

        labels = self._labels(a)
        k = len(labels)
        kernel = a.get("kernel_type", "LINEAR").lower()
        gamma, coef0, degree = (list(a.get("kernel_params") or []) + [0.0, 0.0, 3.0])[:3]
        per_class = np.asarray(a["vectors_per_class"], dtype=np.int64)
        if len(per_class) != k or per_class.sum() == 0:
            raise UnsupportedError("ONNX SVMClassifier without support vectors per class (a "
                                   "linear SVMClassifier) is not supported")
        n_sv = int(per_class.sum())
        sv = np.asarray(a["support_vectors"], np.float64).reshape(n_sv, -1)
        fake = type("LibSVM", (), {})()
        fake.classes_ = np.arange(k)
        fake.n_support_ = per_class
        fake.support_vectors_ = sv
        fake.dual_coef_ = np.asarray(a["coefficients"], np.float64).reshape(k - 1, n_sv)
        g = self.g
        kx = self._kernel(self.value(node.input[0]), sv, kernel, gamma, coef0, degree)
        dec = g.op("Add", g.op("MatMul", kx, g.const(_ovo_weights(fake), "ovo_weights")),
                   g.const(np.asarray(a["rho"], np.float64), "rho"))
        pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
        first = np.zeros((len(pairs), k))
        second = np.zeros((len(pairs), k))
        for p, (i, j) in enumerate(pairs):
            first[p, i], second[p, j] = 1.0, 1.0
        won = g.op("Cast", g.op("Greater", dec, g.scalar(0.0)), to=g.dtype)  # first class won
        votes = g.op("Add", g.op("MatMul", won, g.const(first - second, "pair_votes")),
                     g.const(second.sum(axis=0), "second_wins"))
        if "prob_a" in a and len(a["prob_a"]):
            fake._probA = np.asarray(a["prob_a"], np.float64)
            fake._probB = np.asarray(a["prob_b"], np.float64)
            scores = libsvm_probability(g, dec, fake, k)
        else:
            scores = dec if k > 2 else g.op("Concat", g.op("Neg", dec), dec, axis=1)
        label = g.op("ArgMax", votes, axis=1, keepdims=False)
        self.classes = labels
        self.label_value = label
        self.set(node, label, 0, role="label")
        if len(node.output) > 1:
            self.set(node, scores, 1, role="proba" if "prob_a" in a else None)

    def _kernel(self, x, sv, kernel, gamma, coef0, degree):
        g = self.g
        if kernel == "rbf":
            d2 = g.op("SquaredDistance", x, g.const(sv, "support_vectors"))
            return g.op("Exp", g.op("Mul", d2, g.scalar(-gamma)))
        dot = g.op("MatMul", x, g.const(sv, "support_vectors"), transpose_b=True)
        if kernel == "linear":
            return dot
        z = g.op("Add", g.op("Mul", dot, g.scalar(gamma)), g.scalar(coef0))
        if kernel == "poly":
            return g.op("Pow", z, g.scalar(degree))
        if kernel == "sigmoid":
            return g.op("Tanh", z)
        raise UnsupportedError(f"ONNX SVM kernel {kernel!r} is not supported")
