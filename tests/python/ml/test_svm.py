import pytest
from sklearn import svm

import gtn
import gtn.ml
from conftest import assert_parity

KERNELS = ["linear", "poly", "rbf", "sigmoid"]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("data", ["binary", "multiclass"])
def test_svc(kernel, data, dtype, request):
    X, y, Xt, _ = request.getfixturevalue(data)
    assert_parity(svm.SVC(kernel=kernel, gamma="scale").fit(X, y), Xt, dtype)


@pytest.mark.parametrize("options", [{"decision_function_shape": "ovo"},
                                     {"break_ties": True}, {"C": 0.3, "gamma": 0.05}])
def test_svc_options(options, multiclass):
    X, y, Xt, _ = multiclass
    assert_parity(svm.SVC(**options).fit(X, y), Xt)


def test_nu_svc(multiclass):
    X, y, Xt, _ = multiclass
    assert_parity(svm.NuSVC(nu=0.3).fit(X, y), Xt)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kernel", KERNELS)
def test_svr(kernel, dtype, regression):
    X, y, Xt, _ = regression
    assert_parity(svm.SVR(kernel=kernel, C=2.0).fit(X, y), Xt, dtype)


def test_nu_svr(regression):
    X, y, Xt, _ = regression
    assert_parity(svm.NuSVR(nu=0.4).fit(X, y), Xt)


def test_one_class_svm(binary):
    X, _, Xt, _ = binary
    assert_parity(svm.OneClassSVM(nu=0.2).fit(X), Xt)


def fit_with_probability(est, X, y):
    with pytest.warns(FutureWarning):  # probability=True is deprecated in scikit-learn 1.9
        return est.fit(X, y)


@pytest.mark.parametrize("backend", ["cpu", "reference"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kernel", ["rbf", "linear"])
@pytest.mark.parametrize("data", ["binary", "multiclass"])
def test_probability(data, kernel, dtype, backend, request):
    # Platt scaling + libsvm's pairwise coupling (one SvmProbability node).
    X, y, Xt, _ = request.getfixturevalue(data)
    est = fit_with_probability(svm.SVC(kernel=kernel, probability=True, random_state=0), X, y)
    m = assert_parity(est, Xt, dtype, backend=backend)
    assert "predict_proba" in m.methods


def test_precomputed_kernel_is_unsupported(binary):
    X, y, _, _ = binary
    with pytest.raises(gtn.UnsupportedError, match="rbf"):
        gtn.ml.convert(svm.SVC(kernel="precomputed").fit(X @ X.T, y))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_probability_on_digits_is_one_small_graph(dtype):
    # Ten classes, 45 pairs: the coupling is one SvmProbability node, not an unrolled solve
    # (it was 18,171 nodes, 6-50x slower than scikit-learn).
    import json

    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    est = fit_with_probability(svm.SVC(probability=True, random_state=0), X, y)
    m = assert_parity(est, X, dtype)
    nodes = json.loads(m.graph_json())["nodes"]
    assert len(nodes) < 30, len(nodes)
    assert [n["op"] for n in nodes].count("SvmProbability") == 1
