"""GTN-ML prediction speed against scikit-learn and every peer that runs the same model.

    python bench/ml_bench.py                          # every workload, 1 / 1,000 / 100,000 rows
    python bench/ml_bench.py --models rf,svc --rows 1,1000 --repeats 5 --markdown

Not a test. For each workload (one fitted model) and batch size it times every system on
the same rows: GTN (float64 and float32 graphs, all cores), scikit-learn, XGBoost's and
LightGBM's own predict, compiled Treelite (tl2cgen), lleaves, ONNX Runtime and Hummingbird.
Each peer runs at its defaults and at its best settings (threads, API); each system's output
is checked against the reference (scikit-learn, or the library that trained the model) and
wrong answers are marked. Times are medians with min-max over the repeats, in ms; `x` is
the system's median over GTN float32's at its best setting (higher = GTN faster). Peers that do not install or
cannot take a model print "not available: <reason>". Peers: bench/requirements-ml.txt.
"""
import argparse
import copy
import json
import os
import platform
import statistics
import tempfile
import time
import warnings

import numpy as np

N_FEATURES = 28
SVC_ROWS_CAP = 20_000  # the kernel SVC workload predicts at most 20,000 rows
KNN_ROWS = (1, 100, 1_000, 10_000)


def data(n_train, n_test, seed=0):
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=n_train + n_test, n_features=N_FEATURES,
                               n_informative=14, n_redundant=4, n_classes=2, flip_y=0.05,
                               random_state=seed)
    return X[:n_train], y[:n_train], X[n_train:]


def regression_target(X):
    return X[:, :5].sum(axis=1) + np.sin(X[:, 5])


TREES = {"rf", "et", "gb", "hgb", "xgb", "lgbm", "iforest"}


# name -> (description, fit(X, y) -> estimator, timed method, row cap or row list)
def workloads():
    from sklearn import (decomposition, ensemble, linear_model, naive_bayes, neighbors,
                         neural_network, preprocessing, svm)
    from sklearn.pipeline import make_pipeline

    def xgb_classifier(X, y):
        import xgboost

        return xgboost.XGBClassifier(n_estimators=100, max_depth=6, tree_method="hist",
                                     random_state=0).fit(X, y)

    def lgbm_classifier(X, y):
        import lightgbm

        return lightgbm.LGBMClassifier(n_estimators=100, random_state=0, verbose=-1).fit(X, y)

    def svc(kernel):
        return lambda X, y: svm.SVC(kernel=kernel, C=1.0, gamma="scale").fit(X[:8000], y[:8000])

    return {
        "rf": ("RandomForestClassifier 100 trees depth 8", lambda X, y: ensemble.
               RandomForestClassifier(100, max_depth=8, n_jobs=-1, random_state=0).fit(X, y),
               "predict_proba", None),
        "et": ("ExtraTreesRegressor 100 trees depth 8", lambda X, y: ensemble.
               ExtraTreesRegressor(100, max_depth=8, n_jobs=-1, random_state=0)
               .fit(X, regression_target(X)), "predict", None),
        "gb": ("GradientBoostingClassifier 100 trees depth 3", lambda X, y: ensemble.
               GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=0)
               .fit(X, y), "predict_proba", None),
        "hgb": ("HistGradientBoostingClassifier 100 iters", lambda X, y: ensemble.
                HistGradientBoostingClassifier(max_iter=100, early_stopping=False,
                                               random_state=0).fit(X, y),
                "predict_proba", None),
        "xgb": ("XGBClassifier 100 trees depth 6", xgb_classifier, "predict_proba", None),
        "lgbm": ("LGBMClassifier 100 trees 31 leaves", lgbm_classifier, "predict_proba", None),
        "iforest": ("IsolationForest 100 trees", lambda X, y: ensemble.IsolationForest(
            n_estimators=100, random_state=0).fit(X), "score_samples", None),
        "svc": ("SVC rbf", svc("rbf"), "predict", SVC_ROWS_CAP),
        "svc_poly": ("SVC poly degree 3", svc("poly"), "predict", SVC_ROWS_CAP),
        "logreg": ("LogisticRegression", lambda X, y: linear_model.LogisticRegression(
            max_iter=1000).fit(X, y), "predict_proba", None),
        "ridge": ("Ridge", lambda X, y: linear_model.Ridge().fit(X, regression_target(X)),
                  "predict", None),
        "gnb": ("GaussianNB", lambda X, y: naive_bayes.GaussianNB().fit(X, y),
                "predict_proba", None),
        "mlp": ("MLPClassifier (64, 32) relu", lambda X, y: neural_network.MLPClassifier(
            (64, 32), max_iter=50, random_state=0).fit(X, y), "predict_proba", None),
        "knn": ("KNeighborsClassifier k=5 on 5,000 rows", lambda X, y: neighbors.
                KNeighborsClassifier(5).fit(X[:5000], y[:5000]), "predict_proba", KNN_ROWS),
        "scaler": ("StandardScaler", lambda X, y: preprocessing.StandardScaler().fit(X),
                   "transform", None),
        "pca": ("PCA 10 components whiten", lambda X, y: decomposition.PCA(
            10, whiten=True).fit(X), "transform", None),
        "pipeline": ("StandardScaler + PCA + LogisticRegression", lambda X, y: make_pipeline(
            preprocessing.StandardScaler(), decomposition.PCA(10),
            linear_model.LogisticRegression()).fit(X, y), "predict_proba", None),
    }


def timed(fn, X, repeats, budget_s):
    """Wall times (s) of fn(X): one warm-up, then `repeats` runs (1-row batches 30x as
    many, as they are noisier), stopping early once budget_s is spent (after 3 runs, or
    after 1 for a system whose warm-up alone took a third of the budget)."""
    t0 = time.perf_counter()
    fn(X)
    min_runs = 1 if time.perf_counter() - t0 > budget_s / 3 else 3
    runs = repeats * 30 if len(X) == 1 else repeats
    times, spent = [], 0.0
    for _ in range(runs):
        t0 = time.perf_counter()
        fn(X)
        dt = time.perf_counter() - t0
        times.append(dt)
        spent += dt
        if spent > budget_s and len(times) >= min_runs:
            break
    return times


# ---- peers: each returns {config: callable X -> output} or raises with the reason ------
# The first config is the peer's defaults; the others are its best settings on this machine.

class NotApplicable(Exception):
    pass


def f32(X):
    return np.ascontiguousarray(X, dtype=np.float32)


def peer_sklearn(est, method, ctx):
    if type(est).__module__.split(".")[0] != "sklearn":
        raise NotApplicable("not a scikit-learn model")
    configs = {"default": getattr(est, method)}
    if getattr(est, "n_jobs", None) is not None:  # joblib threads: one may beat all
        one = copy.deepcopy(est)
        one.n_jobs = 1
        configs["n_jobs=1"] = getattr(one, method)
    return configs


def peer_xgboost(est, method, ctx):
    if "xgboost" not in type(est).__module__:
        raise NotApplicable("not an XGBoost model")
    booster = est.get_booster()

    def inplace(X):  # the fastest API: no DMatrix, float32 in place
        p = booster.inplace_predict(f32(X))
        return np.column_stack([1 - p, p])

    one = booster.copy()
    one.set_param({"nthread": 1})

    def inplace_one(X):
        p = one.inplace_predict(f32(X))
        return np.column_stack([1 - p, p])

    return {"default": getattr(est, method), "inplace_predict": inplace,
            "inplace_predict 1 thread": inplace_one}


def peer_lightgbm(est, method, ctx):
    if "lightgbm" not in type(est).__module__:
        raise NotApplicable("not a LightGBM model")
    booster = est.booster_
    n = os.cpu_count()
    return {"default": getattr(est, method),
            f"booster {n} threads": lambda X: booster.predict(X, num_threads=n),
            "booster 1 thread": lambda X: booster.predict(X, num_threads=1)}


def peer_lleaves(est, method, ctx):
    if "lightgbm" not in type(est).__module__:
        raise NotApplicable("lleaves compiles LightGBM models only")
    import lleaves

    path = os.path.join(ctx["tmp"], "lgbm.txt")
    est.booster_.save_model(path)
    model = lleaves.Model(model_file=path)
    model.compile(cache=os.path.join(ctx["tmp"], "lleaves.so"))
    return {"default": model.predict, "1 thread": lambda X: model.predict(X, n_jobs=1)}


def _treelite_model(est):
    import treelite

    mod = type(est).__module__
    if "xgboost" in mod:
        return treelite.frontend.from_xgboost(est.get_booster())
    if "lightgbm" in mod:
        return treelite.frontend.from_lightgbm(est.booster_)
    return treelite.sklearn.import_model(est)


def peer_tl2cgen(est, method, ctx):
    import tl2cgen

    model = _treelite_model(est)
    lib = os.path.join(ctx["tmp"], f"tl2cgen_{ctx['name']}.so")
    tl2cgen.export_lib(model, toolchain="gcc", libpath=lib,
                       params={"parallel_comp": os.cpu_count()}, nthread=os.cpu_count())
    configs = {}
    for label, nthread in (("default", None), ("1 thread", 1)):
        pred = tl2cgen.Predictor(lib, nthread=nthread)
        configs[label] = (lambda p: lambda X: p.predict(tl2cgen.DMatrix(f32(X))))(pred)
    return configs


def peer_onnxruntime(est, method, ctx):
    import onnxruntime as ort
    from onnxmltools.convert.common.data_types import FloatTensorType

    types = [("X", FloatTensorType([None, N_FEATURES]))]
    mod = type(est).__module__
    if "xgboost" in mod:
        from onnxmltools import convert_xgboost

        onx = convert_xgboost(est, initial_types=types)
    elif "lightgbm" in mod:
        from onnxmltools import convert_lightgbm

        onx = convert_lightgbm(est, initial_types=types, zipmap=False)
    else:
        from skl2onnx import to_onnx
        from skl2onnx.common.data_types import FloatTensorType as SklFloat

        types = [("X", SklFloat([None, N_FEATURES]))]
        last = est.steps[-1][1] if type(est).__name__ == "Pipeline" else est
        options = {id(last): {"zipmap": False}} if hasattr(last, "predict_proba") else None
        onx = to_onnx(est, initial_types=types, options=options,
                      target_opset={"": 17, "ai.onnx.ml": 3})
    outs = None
    sessions = {}
    for label, threads in (("default", 0), ("1 thread", 1)):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        sess = ort.InferenceSession(onx.SerializeToString(), opts,
                                    providers=["CPUExecutionProvider"])
        outs = [o.name for o in sess.get_outputs()]
        sessions[label] = sess
    want = {"predict": 0, "transform": 0, "predict_proba": 1, "score_samples": -1,
            "decision_function": -1}[method]
    index = min(want, len(outs) - 1) if want >= 0 else len(outs) - 1
    if method == "score_samples":  # skl2onnx's IsolationForest: label, scores (offset)
        raise NotApplicable("skl2onnx's IsolationForest outputs decision_function, not "
                            "score_samples")
    return {label: (lambda s: lambda X: s.run([outs[index]], {"X": f32(X)})[0])(s)
            for label, s in sessions.items()}


def peer_hummingbird(est, method, ctx):
    from hummingbird.ml import convert

    import torch

    model = convert(est, "torch", f32(ctx["X"][:100]))
    configs = {"default": lambda X: getattr(model, method)(f32(X))}
    if ctx["name"] not in TREES:  # tree GEMMs want every core; small models may not
        n = torch.get_num_threads()

        def one_thread(X):
            torch.set_num_threads(1)
            try:
                return getattr(model, method)(f32(X))
            finally:
                torch.set_num_threads(n)

        configs["1 thread"] = one_thread
    return configs


PEERS = {
    "sklearn": peer_sklearn,
    "xgboost": peer_xgboost,
    "lightgbm": peer_lightgbm,
    "tl2cgen": peer_tl2cgen,
    "lleaves": peer_lleaves,
    "onnxruntime": peer_onnxruntime,
    "hummingbird": peer_hummingbird,
}
TREE_ONLY = {"tl2cgen", "lleaves", "xgboost", "lightgbm"}


def check(out, ref, method):
    """'' when out matches ref; otherwise what is wrong (labels exactly, values to 1e-4 of
    max(|ref|, 1): float32 systems on float64 references)."""
    out = np.asarray(out)
    if isinstance(out, np.ndarray) and out.dtype == object:
        return "✗ not an array"
    n = len(ref)
    out = np.asarray(out, dtype=np.float64).reshape(n, -1)
    ref = np.asarray(ref, dtype=np.float64).reshape(n, -1)
    if out.shape[1] == 1 and ref.shape[1] == 2:
        ref = ref[:, 1:]  # a peer that returns the positive-class probability only
    if out.shape != ref.shape:
        return f"✗ shape {out.shape} vs {ref.shape}"
    if method == "predict" and np.issubdtype(ref.dtype, np.floating) and np.all(ref == np.round(ref)):
        bad = int(np.sum(out != ref))
        return f"✗ {bad} labels differ" if bad else ""
    err = float(np.max(np.abs(out - ref))) / max(1.0, float(np.max(np.abs(ref))))
    return f"✗ err {err:.1e}" if err > 1e-4 or not np.isfinite(err) else ""


def blas_report():
    """The BLAS / kernel family each system runs."""
    import threadpoolctl

    lines = []
    try:
        import gtn.ml

        lines.append(f"gtn: {gtn.ml.blas_info()}")
    except Exception as e:  # noqa: BLE001
        lines.append(f"gtn: unknown ({e})")
    for lib in threadpoolctl.threadpool_info():
        if lib["user_api"] == "blas" and "scipy_openblas32" not in lib["filepath"]:
            lines.append(f"numpy/scikit-learn: {lib['internal_api']} {lib['version']}, "
                         f"kernels {lib.get('architecture')}, {lib['num_threads']} threads")
    try:
        import torch

        lines.append(f"hummingbird (torch {torch.__version__}): "
                     f"{torch.backends.cpu.get_cpu_capability()} kernels, MKL "
                     f"{'on' if torch.backends.mkl.is_available() else 'off'}")
    except Exception:  # noqa: BLE001
        pass
    lines.append("onnxruntime: MLAS (its own GEMM/activation kernels, dispatched on the CPU)")
    lines.append("tree peers (xgboost, lightgbm, tl2cgen, lleaves): no BLAS")
    return lines


def versions():
    from importlib import metadata

    out = {}
    for dist in ("scikit-learn", "xgboost", "lightgbm", "treelite", "tl2cgen", "lleaves",
                 "llvmlite", "onnxruntime", "skl2onnx", "onnxmltools", "hummingbird-ml", "torch",
                 "numpy", "scipy-openblas32"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def memory_bandwidth():
    """Copy bandwidth (GB/s, read + write) of a 256 MB buffer on this machine, best of 5."""
    a = np.ones(32 << 20)
    b = np.empty_like(a)
    best = min(_time(lambda: np.copyto(b, a)) for _ in range(5))
    return 2 * a.nbytes / best / 1e9


def _time(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="1,1000,100000")
    ap.add_argument("--models", default=",".join(workloads()))
    ap.add_argument("--peers", default=",".join(PEERS))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--budget", type=float, default=1.5,
                    help="seconds of timed runs per system and batch before stopping early")
    ap.add_argument("--train-rows", type=int, default=20_000)
    ap.add_argument("--markdown", action="store_true", help="print markdown tables")
    ap.add_argument("--json", help="write every measurement to this file")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    import gtn.ml

    rows = [int(r) for r in args.rows.split(",")]
    X, y, Xtest = data(args.train_rows, max(rows + [max(KNN_ROWS)]))
    peers = [p for p in args.peers.split(",") if p]
    bw = memory_bandwidth()
    print(f"# GTN-ML bench: {platform.processor() or platform.machine()}, {os.cpu_count()} "
          f"cores, {N_FEATURES} features, {args.train_rows:,} training rows; times in ms, "
          f"median [min–max]; x = system median / best GTN f32 median; copy bandwidth "
          f"{bw:.1f} GB/s")
    for line in blas_report():
        print(f"#   BLAS {line}")
    print("#   versions " + ", ".join(f"{k} {v}" for k, v in versions().items()))
    results, unavailable = [], {}
    tmp = tempfile.mkdtemp(prefix="gtn_ml_bench_")
    for name in args.models.split(","):
        desc, fit, method, cap = workloads()[name]
        t0 = time.perf_counter()
        est = fit(X, y)
        extra = f", {est.support_vectors_.shape[0]} SVs" if hasattr(est, "support_vectors_") else ""
        print(f"## {name}: {desc}{extra}, {method} (fit {time.perf_counter() - t0:.1f}s)",
              flush=True)
        runners = {}  # system -> {config: fn}
        for dtype in ("float64", "float32"):
            label = "gtn f64" if dtype == "float64" else "gtn f32"
            try:
                m = gtn.ml.convert(est, dtype=dtype)
                fn = getattr(m, method)
                runners[label] = {"all cores": fn,
                                  "1 thread": (lambda f: lambda X: f(X, n_threads=1))(fn)}
            except Exception as e:  # noqa: BLE001  (reported, then the run goes on)
                unavailable[(name, label)] = f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"
        ctx = {"X": X, "tmp": tmp, "name": name}
        for peer in peers:
            if peer in TREE_ONLY and name not in TREES:
                continue
            try:
                t0 = time.perf_counter()
                configs = PEERS[peer](est, method, ctx)
                for fn in configs.values():
                    fn(Xtest[:2])
                runners[peer] = configs
                if time.perf_counter() - t0 > 5:
                    print(f"  ({peer}: set-up {time.perf_counter() - t0:.1f}s)", flush=True)
            except NotApplicable:
                continue
            except Exception as e:  # noqa: BLE001
                reason = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
                unavailable[(name, peer)] = f"{type(e).__name__}: {reason}"
        batch_rows = list(cap) if isinstance(cap, tuple) else [min(n, cap) if cap else n for n in rows]
        for n in dict.fromkeys(batch_rows):
            Xb = np.ascontiguousarray(Xtest[:n])
            ref = getattr(est, method)(Xb)  # scikit-learn's, or the training library's
            gtn_med = None
            for system, configs in runners.items():
                for config, fn in configs.items():
                    ts = timed(fn, Xb, args.repeats, args.budget)
                    med = statistics.median(ts) * 1e3
                    wrong = check(fn(Xb), ref, method)
                    if system == "gtn f32":  # its best setting is the yardstick
                        gtn_med = med if gtn_med is None else min(gtn_med, med)
                    results.append({"model": name, "rows": n, "system": system, "config": config,
                                    "median_ms": med, "min_ms": min(ts) * 1e3,
                                    "max_ms": max(ts) * 1e3, "runs": len(ts), "check": wrong})
            for r in results:
                if r["model"] == name and r["rows"] == n:
                    r["x"] = r["median_ms"] / gtn_med if gtn_med else None
                    print(f"  {n:>6} {r['system']:<12} {r['config']:<20} "
                          f"{r['median_ms']:10.3f} [{r['min_ms']:.3f}–{r['max_ms']:.3f}] "
                          f"n={r['runs']:<3} {r['x'] or 0:7.2f}x {r['check']}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": results, "unavailable": {f"{k[0]}/{k[1]}": v for k, v in
                                                           unavailable.items()},
                       "blas": blas_report(), "versions": versions(),
                       "bandwidth_gbs": bw}, f, indent=1)
    print()
    print_tables(results, peers, args.markdown)
    for (model, system), reason in sorted(unavailable.items()):
        print(f"{model} / {system}: not available: {reason}")


def print_tables(results, peers, markdown):
    """Best setting of each system per (model, rows), then the peers' defaults."""
    systems = ["gtn f64", "gtn f32"] + peers
    keys = list(dict.fromkeys((r["model"], r["rows"]) for r in results))
    best, default = {}, {}
    for r in results:
        k = (r["model"], r["rows"], r["system"])
        if k not in best or r["median_ms"] < best[k]["median_ms"]:
            best[k] = r
        if r["config"] in ("default", "all cores"):
            default[k] = r
    for r in results:  # x against GTN f32 at its best, in both tables
        g = best.get((r["model"], r["rows"], "gtn f32"))
        r["x"] = r["median_ms"] / g["median_ms"] if g else None
    used = [s for s in systems if any((m, n, s) in best for m, n in keys)]

    def cell(r, with_config):
        if r is None:
            return "-"
        text = f"{r['median_ms']:.3f} [{r['min_ms']:.3f}–{r['max_ms']:.3f}]"
        if not r["system"].startswith("gtn f32") and r.get("x"):
            text += f" {r['x']:.1f}x"
        if with_config and r["config"] not in ("default", "all cores"):
            text += f" ({r['config']})"
        if r["check"]:
            text += f" {r['check']}"
        return text

    for title, table, with_config in (("best settings", best, True), ("defaults", default, False)):
        print(f"### {title}")
        header = ["model", "rows"] + used
        if markdown:
            print("| " + " | ".join(header) + " |")
            print("|" + "---|" * len(header))
        else:
            print("  ".join(header))
        for m, n in keys:
            cells = [m, str(n)] + [cell(table.get((m, n, s)), with_config) for s in used]
            print("| " + " | ".join(cells) + " |" if markdown else "  ".join(cells))
        print()


if __name__ == "__main__":
    main()
