"""SVC(probability=True) on load_digits (10 classes): predict_proba, scikit-learn vs GTN.

    python bench/ml_svc_multiclass.py [--repeat 7] [--threads 0]

For each batch size (1, 10, 100, 1000, all 1,797 rows) prints the median and the spread
(min-max) over `repeat` timed runs of the whole call, after one warm-up run, and the
largest |difference| between the two outputs. Wall time on the machine as it is; run it
on a quiet machine for numbers to compare. Speed is measured here, never in the tests.
"""
import argparse
import platform
import time
import warnings

import numpy as np
import sklearn
from sklearn.datasets import load_digits
from sklearn.svm import SVC

import gtn.ml


def timed(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return np.median(times), min(times), max(times)


def fmt(t):
    return f"{t * 1e3:.3f} ms" if t < 1 else f"{t:.2f} s"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--threads", type=int, default=0, help="GTN threads (0 = all cores)")
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    args = ap.parse_args()

    X, y = load_digits(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # probability=True is deprecated in 1.9
        est = SVC(probability=True, random_state=0).fit(X, y)
    m = gtn.ml.convert(est, dtype=args.dtype)
    graph_nodes = len(__import__("json").loads(m.graph_json())["nodes"])
    print(f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, Python "
          f"{platform.python_version()}, {platform.machine()}; GTN dtype {args.dtype}, "
          f"threads {args.threads or 'all'}; {est.support_vectors_.shape[0]} support vectors, "
          f"graph {graph_nodes} nodes; median (min-max) of {args.repeat} runs")
    print("| rows | scikit-learn | GTN | speed-up | max abs diff |")
    print("|---:|---:|---:|---:|---:|")
    for n in (1, 10, 100, 1000, len(X)):
        Xb = np.ascontiguousarray(X[:n], dtype=args.dtype)
        sk = timed(lambda: est.predict_proba(Xb), args.repeat)
        gt = timed(lambda: m.predict_proba(Xb, n_threads=args.threads), args.repeat)
        diff = np.max(np.abs(est.predict_proba(Xb) - m.predict_proba(Xb)))
        print(f"| {n} | {fmt(sk[0])} ({fmt(sk[1])}-{fmt(sk[2])}) | {fmt(gt[0])} "
              f"({fmt(gt[1])}-{fmt(gt[2])}) | {sk[0] / gt[0]:.1f}x | {diff:.1e} |")


if __name__ == "__main__":
    main()
