"""Graph pieces for categorical features: the TreeEnsembleCategorical node (docs/ml/graph.md)
and the value -> ordinal code mapping scikit-learn's encoders apply."""
import numpy as np

from gtn.ml.convert.trees import tree_ensemble


class CategoricalSplits:
    """Per-node categorical tests of one Tree: {node: (directions uint8[k], other_left)}.

    directions[c] is 1 (category c goes left), 2 (right) or 0 (the `other_left` way);
    categories outside the table go the `other_left` way too.
    """

    def __init__(self):
        self.tables = {}

    def add(self, node, directions, other_left):
        self.tables[int(node)] = (np.asarray(directions, dtype=np.uint8), bool(other_left))


def categorical_tree_ensemble(g, x, trees, splits, n_outputs, aggregate="sum", base_values=None,
                              targets=None, comparison="le", category_cast="nonnegative",
                              float32_input=False):
    """A TreeEnsembleCategorical node: tree_ensemble() plus each tree's CategoricalSplits."""
    out = tree_ensemble(g, x, trees, n_outputs, aggregate, base_values, targets, comparison,
                        float32_input)
    node = g.nodes[-1]
    node["op"] = "TreeEnsembleCategorical"
    n = sum(len(t.feature) for t in trees)
    kind = np.zeros(n, dtype=np.uint8)
    other = np.zeros(n, dtype=np.uint8)
    offsets = np.zeros(n, dtype=np.int32)
    sizes = np.zeros(n, dtype=np.int32)
    directions = []
    used = 0
    base = 0
    for t, s in zip(trees, splits):
        for local, (table, other_left) in sorted(s.tables.items()):
            i = base + local
            kind[i], other[i] = 1, other_left
            offsets[i], sizes[i] = used, len(table)
            directions.append(table)
            used += len(table)
        base += len(t.feature)
    directions = np.concatenate(directions) if directions else np.zeros(1, dtype=np.uint8)
    node["attrs"].update(
        nodes_kind=g.const(kind, "nodes_kind", np.uint8),
        nodes_other_left=g.const(other, "nodes_other_left", np.uint8),
        cat_offsets=g.const(offsets, "cat_offsets", np.int32),
        cat_sizes=g.const(sizes, "cat_sizes", np.int32),
        cat_directions=g.const(directions, "cat_directions", np.uint8),
        category_cast=category_cast)
    return out


def ordinal_codes(g, x, columns, categories):
    """[N, len(columns)]: the index of x[:, col] in its `categories` (sorted numbers), NaN
    where the value is not one of them (NaN included)."""
    cols, values, code, block = [], [], [], []
    for j, (col, cats) in enumerate(zip(columns, categories)):
        cats = np.asarray(cats, dtype=np.float64)
        cols += [col] * len(cats)
        values.append(cats)
        code.append(np.arange(len(cats), dtype=np.float64))
        block += [j] * len(cats)
    width = len(columns)
    total = len(cols)
    w_code = np.zeros((total, width))
    w_known = np.zeros((total, width))
    w_code[np.arange(total), block] = np.concatenate(code)
    w_known[np.arange(total), block] = 1.0
    repeated = g.op("Gather", x, g.const(np.array(cols), "category_columns"), axis=1)
    hot = g.op("Cast", g.op("Equal", repeated, g.const(np.concatenate(values), "categories")),
               to=g.dtype)
    codes = g.op("MatMul", hot, g.const(w_code, "category_codes"))
    known = g.op("MatMul", hot, g.const(w_known, "category_known"))
    return g.op("Where", g.op("Greater", known, g.scalar(0.5)), codes, g.scalar(np.nan))

