"""Matrix decompositions and kernel approximations: TruncatedSVD, FastICA, KernelPCA,
FactorAnalysis, IncrementalPCA, random projections, Nystroem."""
import numpy as np

from gtn import UnsupportedError
from gtn.ml.convert.kernels import pairwise_kernel
from gtn.ml.convert.preprocessing import pca
from gtn.ml.registry import register

register("sklearn.decomposition.IncrementalPCA")(pca)


def _dense(a):
    return a.toarray() if hasattr(a, "toarray") else np.asarray(a)


@register("sklearn.decomposition.TruncatedSVD", "sklearn.random_projection.GaussianRandomProjection",
          "sklearn.random_projection.SparseRandomProjection")
def projection(g, est, x):
    return {"transform": g.op("MatMul", x, g.const(_dense(est.components_).T, "components_T"))}


@register("sklearn.decomposition.FastICA")
def fast_ica(g, est, x):
    if est.whiten:
        x = g.op("Sub", x, g.const(est.mean_, "mean"))
    return {"transform": g.op("MatMul", x, g.const(est.components_.T, "components_T"))}


@register("sklearn.decomposition.FactorAnalysis")
def factor_analysis(g, est, x):
    from sklearn.utils.extmath import fast_logdet

    w = est.components_
    wpsi = w / est.noise_variance_
    cov_z = np.linalg.inv(np.eye(len(w)) + wpsi @ w.T)
    xr = g.op("Sub", x, g.const(est.mean_, "mean"))
    out = {"transform": g.op("MatMul", xr, g.const(wpsi.T @ cov_z, "projection"))}
    precision = est.get_precision()
    quad = g.op("ReduceSum", g.op("Mul", g.op("MatMul", xr, g.const(precision, "precision")), xr),
                axis=1, keepdims=False)
    const = -0.5 * (est.n_features_in_ * np.log(2.0 * np.pi) - fast_logdet(precision))
    out["score_samples"] = g.op("Add", g.op("Mul", quad, g.scalar(-0.5)), g.scalar(const))
    return out


@register("sklearn.decomposition.KernelPCA")
def kernel_pca(g, est, x):
    k = pairwise_kernel(g, x, est.X_fit_, est.kernel, est.gamma_, est.degree, est.coef0,
                        "KernelPCA")
    # KernelCenterer.transform: K - row means - K_fit_rows_ + K_fit_all_.
    c = est._centerer
    row_mean = g.op("ReduceMean", k, axis=1, keepdims=True)
    kc = g.op("Add", g.op("Sub", g.op("Sub", k, row_mean), g.const(c.K_fit_rows_, "fit_rows")),
              g.scalar(float(c.K_fit_all_)))
    nz = np.flatnonzero(est.eigenvalues_)
    alphas = np.zeros_like(est.eigenvectors_)
    alphas[:, nz] = est.eigenvectors_[:, nz] / np.sqrt(est.eigenvalues_[nz])
    return {"transform": g.op("MatMul", kc, g.const(alphas, "scaled_alphas"))}


@register("sklearn.kernel_approximation.Nystroem")
def nystroem(g, est, x):
    params = dict(est.kernel_params or {})
    if est.kernel not in ("rbf", "laplacian", "poly", "polynomial", "sigmoid"):
        params = {}
    unknown = set(params) - {"gamma", "degree", "coef0"}
    if unknown:
        raise UnsupportedError(f"Nystroem kernel_params {sorted(unknown)} are not supported")
    gamma = est.gamma if est.gamma is not None else params.get("gamma")
    degree = est.degree if est.degree is not None else params.get("degree", 3)
    coef0 = est.coef0 if est.coef0 is not None else params.get("coef0", 1)
    k = pairwise_kernel(g, x, est.components_, est.kernel, gamma, degree, coef0, "Nystroem")
    return {"transform": g.op("MatMul", k, g.const(est.normalization_.T, "normalization_T"))}


@register("sklearn.neighbors.NeighborhoodComponentsAnalysis")
def nca(g, est, x):
    return {"transform": g.op("MatMul", x, g.const(est.components_.T, "components_T"))}


@register("sklearn.decomposition.SparsePCA", "sklearn.decomposition.MiniBatchSparsePCA")
def sparse_pca(g, est, x):
    """transform is a ridge regression on the components: (X - mean) C^T (C C^T + a I)^-1."""
    c = np.asarray(est.components_, dtype=np.float64)
    m = c.T @ np.linalg.inv(c @ c.T + est.ridge_alpha * np.eye(len(c)))
    return {"transform": g.op("MatMul", g.op("Sub", x, g.const(est.mean_, "mean")),
                              g.const(m, "projection"))}
