"""A direct numpy reading of docs/ml/graph.md, used to check converters on their own."""
import json

import numpy as np


def _tree_ensemble(X, c, a):
    feat, thr = c[a["nodes_feature"]], c[a["nodes_threshold"]]
    left, right = c[a["nodes_left"]], c[a["nodes_right"]]
    miss = c[a["nodes_missing_left"]]
    leaves, roots = c[a["leaf_values"]], c[a["tree_roots"]]
    targets = c[a["tree_targets"]]
    n_out = a["n_outputs"]
    out = np.zeros((X.shape[0], n_out))
    lt = a["comparison"] == "lt"
    for t, root in enumerate(roots):
        node = np.full(X.shape[0], root)
        while True:
            f = feat[node]
            active = f >= 0
            if not active.any():
                break
            idx = np.nonzero(active)[0]
            v = X[idx, f[idx]].astype(np.float64)
            go_left = np.where(np.isnan(v), miss[node[idx]] == 1,
                               v < thr[node[idx]] if lt else v <= thr[node[idx]])
            if "nodes_kind" in a:  # TreeEnsembleCategorical
                go_left = _categorical(go_left, v, node[idx], miss, c, a)
            node[idx] = np.where(go_left, left[node[idx]], right[node[idx]])
        vals = leaves[node]
        if leaves.shape[1] == n_out:
            out += vals
        else:
            out[:, targets[t]] += vals[:, 0]
    if a["aggregate"] == "mean":
        out /= len(roots)
    return out + np.asarray(a.get("base_values", [0.0] * n_out))


def _categorical(go_left, v, nodes, miss, c, a):
    """TreeEnsembleCategorical's tests (docs/ml/graph.md) where nodes_kind is 1 or 2."""
    kind = c[a["nodes_kind"]][nodes]
    other = c[a["nodes_other_left"]][nodes] == 1
    off, size = c[a["cat_offsets"]][nodes], c[a["cat_sizes"]][nodes]
    table = c[a["cat_directions"]]
    go_left = go_left.copy()
    zero = (kind == 2) & (np.abs(v) <= 1e-35)
    go_left[zero] = miss[nodes][zero] == 1
    cat = (kind == 1) & ~np.isnan(v)
    with np.errstate(invalid="ignore"):
        valid = cat & ((v > -1.0) if a.get("category_cast") == "trunc" else (v >= 0.0)) & (v < size)
        code = np.where(valid, np.trunc(np.nan_to_num(v)), 0).astype(np.int64)
    direction = np.where(valid, table[np.minimum(off + code, len(table) - 1)], 0)
    go_left[cat] = np.where(direction[cat] == 0, other[cat], direction[cat] == 1)
    return go_left


def run(graph_json, constants, method, X):
    g = json.loads(graph_json)
    dt = np.dtype(g["dtype"])
    env = dict(constants)
    env[g["inputs"][0]["name"]] = np.asarray(X).astype(dt)
    for node in g["nodes"]:
        op, a = node["op"], node["attrs"]
        ins = [env[i] for i in node["inputs"]]
        x = ins[0] if ins else None
        if op in ("TreeEnsemble", "TreeEnsembleCategorical"):
            res = [_tree_ensemble(x, env, a).astype(dt)]
        elif op == "TopK":
            order = np.argsort(-x if a.get("largest", True) else x, axis=a["axis"],
                               kind="stable")
            idx = np.take(order, np.arange(a["k"]), axis=a["axis"])
            res = [np.take_along_axis(x, idx, a["axis"]), idx.astype(np.int64)]
        elif op == "KNearest":
            d2 = _OPS["SquaredDistance"](ins, a, dt)
            idx = np.argsort(d2, axis=1, kind="stable")[:, :a["k"]]
            res = [np.take_along_axis(d2, idx, 1), idx.astype(np.int64)]
        else:
            res = [_OPS[op](ins, a, dt)]
        for name, val in zip(node["outputs"], res):
            env[name] = val
    return env[g["outputs"][method]]


def _svm_kernel(ins, a):
    x, sv, coef = ins[:3]
    dot = x @ sv.T
    if a["kernel"] == "rbf":
        d2 = (x ** 2).sum(1)[:, None] - 2 * dot + (sv ** 2).sum(1)[None, :]
        k = np.exp(-a["gamma"] * np.maximum(d2, 0))
    elif a["kernel"] == "poly":
        k = (a["gamma"] * dot + a["coef0"]) ** a["degree"]
    elif a["kernel"] == "sigmoid":
        k = np.tanh(a["gamma"] * dot + a["coef0"])
    else:
        k = dot
    out = k @ coef
    return out + ins[3] if len(ins) == 4 else out


def _red(fn):
    return lambda i, a, dt: fn(i[0], axis=a["axis"], keepdims=a.get("keepdims", False))


def _logsumexp(x, axis, keepdims):
    m = np.max(x, axis=axis, keepdims=True)
    r = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return r if keepdims else np.squeeze(r, axis=axis)


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _normalize(x, norm):
    n = {"l1": lambda v: np.abs(v).sum(1), "l2": lambda v: np.sqrt((v * v).sum(1)),
         "max": lambda v: np.abs(v).max(1)}[norm](x)
    n[n == 0] = 1
    return x / n[:, None]


def _reshape(x, shape):
    return x.reshape([x.shape[0] if s == 0 else s for s in shape])


_OPS = {
    "Identity": lambda i, a, dt: i[0],
    "Cast": lambda i, a, dt: i[0].astype(a["to"]),
    "Add": lambda i, a, dt: i[0] + i[1], "Sub": lambda i, a, dt: i[0] - i[1],
    "Mul": lambda i, a, dt: i[0] * i[1], "Div": lambda i, a, dt: i[0] / i[1],
    "Pow": lambda i, a, dt: np.power(i[0], i[1]),
    "Max": lambda i, a, dt: np.maximum(i[0], i[1]), "Min": lambda i, a, dt: np.minimum(*i),
    "Neg": lambda i, a, dt: -i[0], "Abs": lambda i, a, dt: np.abs(i[0]),
    "Sqrt": lambda i, a, dt: np.sqrt(i[0]), "Square": lambda i, a, dt: i[0] * i[0],
    "Exp": lambda i, a, dt: np.exp(i[0]), "Log": lambda i, a, dt: np.log(i[0]),
    "Log1p": lambda i, a, dt: np.log1p(i[0]), "Reciprocal": lambda i, a, dt: 1 / i[0],
    "Sign": lambda i, a, dt: np.sign(i[0]), "Floor": lambda i, a, dt: np.floor(i[0]),
    "Sigmoid": lambda i, a, dt: 1 / (1 + np.exp(-i[0])), "Tanh": lambda i, a, dt: np.tanh(i[0]),
    "Relu": lambda i, a, dt: np.maximum(i[0], 0), "Softplus": lambda i, a, dt: np.logaddexp(0, i[0]),
    "Clip": lambda i, a, dt: np.clip(i[0], a.get("min"), a.get("max")),
    "Greater": lambda i, a, dt: i[0] > i[1], "GreaterEqual": lambda i, a, dt: i[0] >= i[1],
    "Less": lambda i, a, dt: i[0] < i[1], "LessEqual": lambda i, a, dt: i[0] <= i[1],
    "Equal": lambda i, a, dt: i[0] == i[1],
    "And": lambda i, a, dt: i[0] & i[1], "Or": lambda i, a, dt: i[0] | i[1],
    "Not": lambda i, a, dt: ~i[0], "IsNaN": lambda i, a, dt: np.isnan(i[0]),
    "Where": lambda i, a, dt: np.where(*i),
    "MatMul": lambda i, a, dt: i[0] @ (i[1].T if a.get("transpose_b") else i[1]),
    "SquaredDistance": lambda i, a, dt: np.maximum(
        (i[0] ** 2).sum(1)[:, None] - 2 * i[0] @ i[1].T + (i[1] ** 2).sum(1)[None, :], 0),
    "SvmKernel": lambda i, a, dt: _svm_kernel(i, a),
    "ReduceSum": _red(np.sum), "ReduceMean": _red(np.mean), "ReduceMax": _red(np.max),
    "ReduceMin": _red(np.min), "ReduceProd": _red(np.prod),
    "ReduceLogSumExp": _red(lambda x, axis, keepdims: _logsumexp(x, axis, keepdims)),
    "ArgMax": lambda i, a, dt: np.argmax(i[0], axis=a["axis"]).astype(np.int64),
    "ArgMin": lambda i, a, dt: np.argmin(i[0], axis=a["axis"]).astype(np.int64),
    "Softmax": lambda i, a, dt: _softmax(i[0], a["axis"]),
    "Normalize": lambda i, a, dt: _normalize(i[0], a["norm"]),
    "Concat": lambda i, a, dt: np.concatenate(i, axis=a["axis"]),
    "Gather": lambda i, a, dt: np.take(i[0], i[1], axis=a.get("axis", 0)),
    "OneHot": lambda i, a, dt: np.eye(a["depth"], dtype=dt)[i[0]],
    "Reshape": lambda i, a, dt: _reshape(i[0], a["shape"]),
    "Transpose": lambda i, a, dt: np.transpose(i[0], a["perm"]),
    "Slice": lambda i, a, dt: np.take(i[0], np.arange(a["start"], a["end"]), axis=a["axis"]),
}
