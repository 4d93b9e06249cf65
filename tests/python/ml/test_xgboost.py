import numpy as np
import pytest
import xgboost as xgb

import gtn
import gtn.ml
from conftest import assert_parity, with_nans


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("nans", [False, True])
@pytest.mark.parametrize("data", ["binary", "multiclass"])
def test_classifier(data, nans, dtype, request):
    X, y, Xt, _ = request.getfixturevalue(data)
    if nans:
        X, Xt = with_nans(X), with_nans(Xt, seed=4)
    est = xgb.XGBClassifier(n_estimators=20, max_depth=4, n_jobs=1, random_state=0)
    m = assert_parity(est.fit(X, y), Xt, dtype)
    np.testing.assert_array_equal(m.predict(Xt), est.predict(Xt))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("objective", ["reg:squarederror", "reg:logistic", "count:poisson"])
def test_regressor(objective, dtype, regression):
    X, y, Xt, _ = regression
    target = {"reg:logistic": 1 / (1 + np.exp(-y)), "count:poisson": np.abs(y)}.get(objective, y)
    est = xgb.XGBRegressor(n_estimators=20, max_depth=4, objective=objective, n_jobs=1)
    assert_parity(est.fit(X, target), Xt, dtype)


def test_random_forest_and_early_stopping(binary):
    X, y, Xt, yt = binary
    assert_parity(xgb.XGBRFClassifier(n_estimators=10, max_depth=4).fit(X, y), Xt)
    est = xgb.XGBClassifier(n_estimators=200, early_stopping_rounds=3, learning_rate=0.5)
    est.fit(X, y, eval_set=[(Xt, yt)], verbose=False)
    assert est.best_iteration < 199
    assert_parity(est, Xt)


def test_save_load(binary, tmp_path):
    X, y, Xt, _ = binary
    est = xgb.XGBClassifier(n_estimators=10, max_depth=3).fit(X, y)
    gtn.ml.convert(est).save(tmp_path / "x.gtnml")
    assert_parity(est, Xt, "float64", model=gtn.ml.load(tmp_path / "x.gtnml"))


def test_unfitted():
    with pytest.raises(ValueError, match="unfitted"):
        gtn.ml.convert(xgb.XGBClassifier())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_inputs_at_the_thresholds(dtype, tmp_path):
    # XGBoost compares float32(x) < float32 threshold; inputs within half a float32 step
    # below a threshold must go the same way at either compute precision.
    import json

    rng = np.random.default_rng(0)
    X = rng.random((500, 3))
    y = (X[:, 0] + X[:, 1] > 1).astype(int)
    est = xgb.XGBClassifier(n_estimators=5, max_depth=3).fit(X, y)
    model = json.loads(est.get_booster().save_raw("json"))
    rows = []
    for tree in model["learner"]["gradient_booster"]["model"]["trees"]:
        for f, c, left in zip(tree["split_indices"], tree["split_conditions"],
                              tree["left_children"]):
            if left == -1:
                continue
            c32 = np.float32(c)
            for v in (float(c32), float(c32) - float(np.spacing(c32)) / 4,
                      float(np.nextafter(c32, np.float32(-1)))):
                row = X[len(rows) % len(X)].copy()
                row[f] = v
                rows.append(row)
    m = assert_parity(est, np.array(rows), dtype)
    m.save(tmp_path / "x.gtnml")
    assert_parity(est, np.array(rows), dtype, model=gtn.ml.load(tmp_path / "x.gtnml"))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_single_class(dtype):
    # XGBoost stores base_score 0 for a one-class fit and clamps it to 1e-6 before the logit.
    from sklearn.datasets import load_iris

    X, _ = load_iris(return_X_y=True)
    est = xgb.XGBClassifier(n_estimators=3).fit(X, np.zeros(len(X), dtype=int))
    m = assert_parity(est, X, dtype)
    assert np.isfinite(m.decision_function(X)).all()
    ones = xgb.XGBRegressor(n_estimators=3, objective="reg:logistic").fit(X, np.ones(len(X)))
    assert_parity(ones, X, dtype)


def _categorical(seed, n=600, odd=False):
    rng = np.random.default_rng(seed)
    X = np.c_[rng.normal(size=n), rng.integers(0, 10, n), rng.random(n), rng.integers(0, 40, n)]
    y = X[:, 0] + (X[:, 1] % 3 == 0) * 1.5 - (X[:, 3] % 7 == 2)
    if odd:  # negative, fractional and unseen categories
        for c, hi in ((1, 20), (3, 50)):
            X[:, c] = rng.integers(-3, hi, n) + 0.5 * (rng.random(n) < 0.2)
    X[rng.random(X.shape) < 0.05] = np.nan
    return X, y


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("onehot", [1, 64], ids=["partition", "onehot"])
def test_categorical_splits(onehot, dtype):
    X, y = _categorical(0)
    Xt, _ = _categorical(1, odd=True)
    kw = dict(n_estimators=20, max_depth=4, enable_categorical=True,
              feature_types=["q", "c", "q", "c"], max_cat_to_onehot=onehot)
    reg = xgb.XGBRegressor(**kw).fit(X, y)
    m = assert_parity(reg, Xt, dtype)
    assert "TreeEnsembleCategorical" in m.graph_json()
    clf = xgb.XGBClassifier(**kw).fit(X, np.digitize(y, [-1, 1]))
    assert_parity(clf, Xt, dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("objective", ["rank:pairwise", "rank:ndcg"])
def test_ranker(objective, dtype):
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    relevance = np.digitize(y, np.quantile(y, [0.25, 0.5, 0.75]))
    qid = np.repeat(np.arange(9), 50)[: len(X)]
    est = xgb.XGBRanker(n_estimators=20, max_depth=4, objective=objective).fit(X, relevance, qid=qid)
    assert_parity(est, X, dtype)
