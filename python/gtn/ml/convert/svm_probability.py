"""libsvm's predict_proba for SVC(probability=True): Platt-scaled pairwise probabilities
coupled by libsvm's iterative solve (Wu, Lin & Weng 2004, method 2), unrolled.

libsvm runs at most max(100, k) sweeps and stops a sample once its error is below
0.005 / k; the graph runs every sweep and freezes each sample's p from the sweep where
libsvm would have stopped, so the result is libsvm's to rounding.
"""
import numpy as np

MIN_PROB = 1e-7


def libsvm_probability(g, dec, est, n_classes):
    """dec: libsvm's one-vs-one decision values [N, n_pairs] -> probabilities [N, k]."""
    k = n_classes
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    # r_ij = P(i | i or j) = 1 / (1 + exp(A * dec + B)), clipped; r_ji = 1 - r_ij.
    f = g.op("Add", g.op("Mul", dec, g.const(est._probA, "probA")),
              g.const(est._probB, "probB"))
    r = g.op("Clip", g.op("Sigmoid", g.op("Neg", f)), min=MIN_PROB, max=1 - MIN_PROB)
    s = g.op("Sub", g.scalar(1.0), r)
    # Q[i,i] += r_ji^2, Q[j,j] += r_ij^2, Q[i,j] = Q[j,i] = -r_ji * r_ij   (flattened k*k)
    to_first, to_second = np.zeros((len(pairs), k)), np.zeros((len(pairs), k))
    off = np.zeros((len(pairs), k * k))
    for p, (i, j) in enumerate(pairs):
        to_first[p, i], to_second[p, j] = 1.0, 1.0
        off[p, i * k + j] = off[p, j * k + i] = 1.0
    diag = g.op("Add", g.op("MatMul", g.op("Square", s), g.const(to_first, "pair_first")),
                g.op("MatMul", g.op("Square", r), g.const(to_second, "pair_second")))
    to_diag = np.zeros((k, k * k))
    to_diag[np.arange(k), np.arange(k) * (k + 1)] = 1.0
    q_flat = g.op("Add", g.op("MatMul", g.op("Neg", g.op("Mul", s, r)), g.const(off, "pair_off")),
                  g.op("MatMul", diag, g.const(to_diag, "to_diag")))
    q = g.op("Reshape", q_flat, shape=[0, k, k])
    q_rows = [g.op("Reshape", g.op("Slice", q, axis=1, start=t, end=t + 1), shape=[0, k])
              for t in range(k)]
    q_diag = [g.op("Slice", diag, axis=1, start=t, end=t + 1) for t in range(k)]
    units = [g.const(np.eye(k)[t], f"unit{t}") for t in range(k)]
    eps = g.scalar(0.005 / k)

    p = g.op("Add", g.op("Mul", diag, g.scalar(0.0)), g.scalar(1.0 / k))
    done = g.op("Less", g.op("ReduceMax", p, axis=1, keepdims=True), g.scalar(0.0))
    for _ in range(max(100, k)):
        qp = g.op("ReduceSum", g.op("Mul", q, g.op("Reshape", p, shape=[0, 1, k])), axis=2,
                  keepdims=False)
        pqp = g.op("ReduceSum", g.op("Mul", p, qp), axis=1, keepdims=True)
        err = g.op("ReduceMax", g.op("Abs", g.op("Sub", qp, pqp)), axis=1, keepdims=True)
        done = g.op("Or", done, g.op("Less", err, eps))
        pn = p
        for t in range(k):
            qp_t = g.op("Slice", qp, axis=1, start=t, end=t + 1)
            diff = g.op("Div", g.op("Sub", pqp, qp_t), q_diag[t])
            pn = g.op("Add", pn, g.op("Mul", diff, units[t]))
            scale = g.op("Add", diff, g.scalar(1.0))
            grow = g.op("Add", g.op("Mul", diff, q_diag[t]), g.op("Mul", qp_t, g.scalar(2.0)))
            pqp = g.op("Div", g.op("Div", g.op("Add", pqp, g.op("Mul", diff, grow)), scale), scale)
            qp = g.op("Div", g.op("Add", qp, g.op("Mul", diff, q_rows[t])), scale)
            pn = g.op("Div", pn, scale)
        p = g.op("Where", done, p, pn)
    return p
