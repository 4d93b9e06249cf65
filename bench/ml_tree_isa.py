"""GTN-ML tree kernels by strategy and instruction set: process CPU time of one predict
call on one thread, per tree_strategy (walk = the layout "auto" walks when it does not pick
quickscorer; quickscorer = leaf bitvectors, tree_quickscorer.cc) and tree_isa (scalar =
the portable loops; avx2, avx512 = the SIMD kernels), on the bench's tree workloads
(bench/ml_bench.py). CPU time, not wall time, so that other
work on a shared machine moves the numbers less. Checks every output against the model's
own answer.

    GTN_CORE_DIR=build/dev/python PYTHONPATH=python .venv/bin/python bench/ml_tree_isa.py \
        --models rf,gb,xgb,hgb,lgbm --strategies walk,quickscorer
"""
import argparse
import os
import statistics
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ml_bench  # noqa: E402  (the workloads and the output check)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="rf,et,gb,hgb,xgb,lgbm,iforest")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--isas", default="scalar,avx2,avx512")
    ap.add_argument("--strategies", default="walk,quickscorer",
                    help="walk (the layout auto walks without quickscorer), quickscorer, or any "
                         "tree_strategy")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    import gtn.ml

    X, y, Xt = ml_bench.data(20_000, args.rows)
    Xb = np.ascontiguousarray(Xt[:args.rows])
    print(f"# {args.rows:,} rows, {args.dtype} model given float64 X (HistGB and LightGBM models then "
          f"run their float64 graph); 1 thread; process CPU ms per call, median [min-max]")
    for name in args.models.split(","):
        _, fit, method, _ = ml_bench.workloads()[name]
        est = fit(X, y)
        ref = getattr(est, method)(Xb)
        for strategy in args.strategies.split(","):
            if strategy == "walk":
                strategy = _walk_strategy(est, args.dtype)
            for isa in args.isas.split(","):
                m = gtn.ml.convert(est, dtype=args.dtype)
                try:
                    m.set_option("tree_strategy", strategy)
                    m.set_option("tree_isa", isa)
                except Exception as e:  # noqa: BLE001  (an ISA this CPU lacks, trees too large)
                    print(f"{name:8} {strategy:19} {isa:7} not run: {e}")
                    continue
                fn = getattr(m, method)
                wrong = ml_bench.check(fn(Xb, n_threads=1), ref, method)
                times = []
                for _ in range(args.repeats):
                    t0 = time.process_time()
                    fn(Xb, n_threads=1)
                    times.append((time.process_time() - t0) * 1e3)
                print(f"{name:8} {strategy:19} {isa:7} {statistics.median(times):8.1f} "
                      f"[{min(times):.1f}-{max(times):.1f}] {wrong}", flush=True)


def _walk_strategy(est, dtype):
    """The walk "auto" picks where quickscorer's SIMD kernel does not run (tree_isa=scalar)."""
    import gtn.ml
    import re
    m = gtn.ml.convert(est, dtype=dtype)
    m.set_option("tree_isa", "scalar")
    return re.search(r"tree strategy (\w+) \(auto\)", m._compiled.describe()).group(1)


if __name__ == "__main__":
    main()
