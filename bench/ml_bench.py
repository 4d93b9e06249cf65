"""GTN-ML prediction speed against scikit-learn and the peers that run the same models.

    python bench/ml_bench.py                       # every model, 1 / 1,000 / 100,000 rows
    python bench/ml_bench.py --rows 1,1000 --models rf,svc --repeats 3

Not a test: prints a table of best-of-N wall times (ms) per model, batch size and runtime,
and each peer's time divided by GTN's (higher = GTN faster). Peers that do not install or
import print "not available: <reason>". Install them with bench/requirements-ml.txt.
"""
import argparse
import os
import time
import warnings

import numpy as np

N_FEATURES = 28
SVC_ROWS_CAP = 20_000  # the rbf SVC workload predicts at most 20,000 rows
KNN_ROWS_CAP = 20_000


def data(n_train, seed=0):
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=n_train + 100_000, n_features=N_FEATURES,
                               n_informative=14, n_redundant=4, n_classes=2, flip_y=0.05,
                               random_state=seed)
    return X[:n_train], y[:n_train], X[n_train:]


def regression_target(X):
    return X[:, :5].sum(axis=1) + np.sin(X[:, 5])


# name -> (description, fit(X, y) -> estimator, timed method, max rows)
def workloads():
    from sklearn import (decomposition, ensemble, linear_model, naive_bayes, neighbors,
                         neural_network, preprocessing, svm)
    from sklearn.pipeline import make_pipeline

    def xgb_classifier(X, y):
        import xgboost

        return xgboost.XGBClassifier(n_estimators=100, max_depth=6, tree_method="hist",
                                     random_state=0).fit(X, y)

    def svc(X, y):
        return svm.SVC(kernel="rbf", C=1.0, gamma="scale").fit(X[:8000], y[:8000])

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
        "iforest": ("IsolationForest 100 trees", lambda X, y: ensemble.IsolationForest(
            n_estimators=100, random_state=0).fit(X), "score_samples", None),
        "svc": ("SVC rbf (~2,500 support vectors)", svc, "decision_function", SVC_ROWS_CAP),
        "logreg": ("LogisticRegression", lambda X, y: linear_model.LogisticRegression(
            max_iter=1000).fit(X, y), "predict_proba", None),
        "ridge": ("Ridge", lambda X, y: linear_model.Ridge().fit(X, regression_target(X)),
                  "predict", None),
        "gnb": ("GaussianNB", lambda X, y: naive_bayes.GaussianNB().fit(X, y),
                "predict_proba", None),
        "mlp": ("MLPClassifier (64, 32) relu", lambda X, y: neural_network.MLPClassifier(
            (64, 32), max_iter=50, random_state=0).fit(X, y), "predict_proba", None),
        "knn": ("KNeighborsClassifier k=5 on 5,000 rows", lambda X, y: neighbors.
                KNeighborsClassifier(5).fit(X[:5000], y[:5000]), "predict_proba",
                KNN_ROWS_CAP),
        "scaler": ("StandardScaler", lambda X, y: preprocessing.StandardScaler().fit(X),
                   "transform", None),
        "pca": ("PCA 10 components whiten", lambda X, y: decomposition.PCA(
            10, whiten=True).fit(X), "transform", None),
        "pipeline": ("StandardScaler + PCA + LogisticRegression", lambda X, y: make_pipeline(
            preprocessing.StandardScaler(), decomposition.PCA(10),
            linear_model.LogisticRegression()).fit(X, y), "predict_proba", None),
    }


def best_time(fn, X, repeats, budget_s=3.0):
    """Best wall time (s) of fn(X) over `repeats` runs after one warm-up (fewer if slow)."""
    fn(X)
    best, spent = float("inf"), 0.0
    runs = repeats if len(X) > 1 else max(repeats, 50)
    for _ in range(runs):
        t0 = time.perf_counter()
        fn(X)
        dt = time.perf_counter() - t0
        best, spent = min(best, dt), spent + dt
        if spent > budget_s:
            break
    return best


# ---- peers: each returns a callable X -> output, or raises with the reason -------------

def peer_sklearn(est, method, X):
    return getattr(est, method)


def peer_xgboost(est, method, X):
    if "xgboost" not in type(est).__module__:
        raise NotApplicable("not an XGBoost model")
    return getattr(est, method)


def peer_hummingbird(est, method, X):
    from hummingbird.ml import convert

    model = convert(est, "torch", X[:100].astype(np.float32))
    return lambda X: getattr(model, method)(X.astype(np.float32, copy=False))


def peer_onnxruntime(est, method, X):
    import onnxruntime as ort

    X32 = X[:1].astype(np.float32)
    if "xgboost" in type(est).__module__:
        from onnxmltools import convert_xgboost
        from onnxmltools.convert.common.data_types import FloatTensorType

        onx = convert_xgboost(est, initial_types=[("X", FloatTensorType([None, X.shape[1]]))])
    else:
        from skl2onnx import to_onnx

        options = {id(est): {"zipmap": False}} if hasattr(est, "predict_proba") else None
        if type(est).__name__ == "Pipeline" and hasattr(est, "predict_proba"):
            options = {id(est.steps[-1][1]): {"zipmap": False}}
        onx = to_onnx(est, X32, options=options, target_opset={"": 17, "ai.onnx.ml": 3})
    opts = ort.SessionOptions()
    sess = ort.InferenceSession(onx.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    out_index = {"predict": 0, "transform": 0}.get(method, 1)
    if method == "score_samples":
        out_index = 2 if len(sess.get_outputs()) > 2 else len(sess.get_outputs()) - 1
    if len(sess.get_outputs()) == 1:
        out_index = 0
    return lambda X: sess.run(None, {name: X.astype(np.float32, copy=False)})[out_index]


def peer_treelite(est, method, X):
    import treelite

    if "xgboost" in type(est).__module__:
        model = treelite.frontend.from_xgboost(est.get_booster())
    else:
        model = treelite.sklearn.import_model(est)
    return lambda X: treelite.gtil.predict(model, X.astype(np.float32, copy=False))


def peer_lightgbm(est, method, X):
    """LightGBM predicting with a model of the same size (GTN does not convert LightGBM)."""
    import lightgbm

    depth = {"rf": 8, "et": 8, "gb": 3, "hgb": 6, "xgb": 6}[est._bench_name]
    params = dict(n_estimators=100, max_depth=depth, num_leaves=2 ** depth, verbose=-1,
                  random_state=0)
    if est._bench_name in ("rf", "et"):
        params.update(boosting_type="rf", subsample=0.632, subsample_freq=1)
    y = est._bench_y
    if method == "predict_proba":
        model = lightgbm.LGBMClassifier(**params).fit(est._bench_X, y)
    else:
        model = lightgbm.LGBMRegressor(**params).fit(est._bench_X, regression_target(
            est._bench_X))
    return getattr(model, method)


class NotApplicable(Exception):
    pass


TREE_MODELS = {"rf", "et", "gb", "hgb", "xgb", "iforest"}
PEERS = {
    "sklearn": (peer_sklearn, None),
    "xgboost": (peer_xgboost, {"xgb"}),
    "hummingbird": (peer_hummingbird, None),
    "onnxruntime": (peer_onnxruntime, None),
    "treelite": (peer_treelite, TREE_MODELS),
    "lightgbm": (peer_lightgbm, TREE_MODELS - {"iforest"}),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="1,1000,100000")
    ap.add_argument("--models", default=",".join(workloads()))
    ap.add_argument("--peers", default=",".join(PEERS))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--train-rows", type=int, default=20_000)
    ap.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    import gtn.ml

    rows = [int(r) for r in args.rows.split(",")]
    X, y, Xtest = data(args.train_rows)
    peers = [p for p in args.peers.split(",") if p]
    print(f"# GTN-ML bench: {os.cpu_count()} cores, {N_FEATURES} features, best of "
          f"{args.repeats} (best of 50 at 1 row); times in ms; (x) = peer time / GTN f32 time")
    cols = ["model", "rows", "gtn f64", "gtn f32"] + peers
    lines = []
    unavailable = {}
    for name in args.models.split(","):
        desc, fit, method, cap = workloads()[name]
        t0 = time.perf_counter()
        est = fit(X, y)
        est._bench_name, est._bench_X, est._bench_y = name, X, y
        extra = ""
        if name == "svc":
            extra = f", {est.support_vectors_.shape[0]} SVs"
        print(f"## {name}: {desc}{extra}, {method} (fit {time.perf_counter() - t0:.1f}s)",
              flush=True)
        runners = {}
        for dtype in ("float64", "float32"):
            try:
                m = gtn.ml.convert(est, dtype=dtype)
                runners[f"gtn {dtype[-2:]}".replace("gtn 64", "gtn f64").replace(
                    "gtn 32", "gtn f32")] = getattr(m, method)
            except Exception as e:  # report and go on
                unavailable[(name, f"gtn {dtype}")] = f"{type(e).__name__}: {e}"
        for peer in peers:
            make, applies = PEERS[peer]
            if applies is not None and name not in applies:
                continue
            try:
                runners[peer] = make(est, method, X)
                runners[peer](Xtest[:2])
            except Exception as e:
                reason = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
                unavailable[(name, peer)] = f"{type(e).__name__}: {reason}"
                runners.pop(peer, None)
        for n in rows:
            n_eff = min(n, cap) if cap else n
            Xb = np.ascontiguousarray(Xtest[:n_eff])
            times = {k: best_time(fn, Xb, args.repeats) for k, fn in runners.items()}
            ref = times.get("gtn f32") or times.get("gtn f64")
            cells = [name, str(n_eff)]
            for c in cols[2:]:
                if c not in times:
                    cells.append("-")
                elif c.startswith("gtn") or ref is None:
                    cells.append(f"{times[c] * 1e3:.3f}")
                else:
                    cells.append(f"{times[c] * 1e3:.3f} ({times[c] / ref:.1f}x)")
            lines.append(cells)
            print("  " + " | ".join(cells), flush=True)
    print()
    if args.markdown:
        print("| " + " | ".join(cols) + " |")
        print("|" + "---|" * len(cols))
        for cells in lines:
            print("| " + " | ".join(cells) + " |")
    else:
        widths = [max(len(c), *(len(line[i]) for line in lines)) for i, c in enumerate(cols)]
        print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
        for cells in lines:
            print("  ".join(c.ljust(w) for c, w in zip(cells, widths)))
    for (model, peer), reason in sorted(unavailable.items()):
        print(f"{model} / {peer}: not available: {reason}")


if __name__ == "__main__":
    main()
