// The semantic stage (SemDeDup): spherical k-means over the normalized embeddings, then
// within each cluster every pair whose cosine similarity reaches the threshold; each pair
// is confirmed by its exact cosine in double precision.
#include "gtn_cblas.h"  // cmake/blas: CBLAS for the linked OpenBLAS

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "gtn/curate/parallel.h"
#include "gtn/curate/stages.h"

namespace gtn::curate {
namespace {

Result<std::vector<float>> read_embeddings(const Dataset& ds, size_t ti, const std::string& name, uint64_t n,
                                           int64_t* dim) {
  GTN_ASSIGN_OR_RETURN(TensorSpec spec, ds.tensor_spec(name));
  DType d = spec.dtype ? *spec.dtype : DType::kFloat32;
  if (d != DType::kFloat32 && d != DType::kFloat64 && d != DType::kFloat16) {
    return Status::InvalidArgument("tensor '" + name + "' has htype " + spec.htype + " and dtype " +
                                   std::string(dtype_name(d)) +
                                   "; the semantic stage needs an embedding tensor of floats (one 1-d vector per row)");
  }
  std::vector<float> out;
  *dim = -1;
  for (uint64_t r = 0; r < n; ++r) {
    GTN_ASSIGN_OR_RETURN(Array a, ds.read(ti, r));
    std::string where = "tensor '" + name + "', row " + std::to_string(r);
    if (a.ndim() != 1 || a.shape()[0] < 1) {
      return Status::InvalidArgument(where + " has shape " + shape_to_string(a.shape()) + "; a 1-d vector is expected");
    }
    if (*dim < 0) {
      *dim = a.shape()[0];
      out.reserve(static_cast<size_t>(n * *dim));
    } else if (a.shape()[0] != *dim) {
      return Status::InvalidArgument(where + " has " + std::to_string(a.shape()[0]) + " values, row 0 has " +
                                     std::to_string(*dim) + "; every embedding must have the same length");
    }
    double norm = 0;
    size_t base = out.size();
    for (int64_t k = 0; k < *dim; ++k) {
      double v;
      if (a.dtype() == DType::kFloat32) {
        v = a.data_as<float>()[k];
      } else if (a.dtype() == DType::kFloat64) {
        v = a.data_as<double>()[k];
      } else {
        uint16_t hbits = a.data_as<uint16_t>()[k];
        uint32_t sign = (hbits & 0x8000u) << 16, exp = (hbits >> 10) & 0x1F, man = hbits & 0x3FF;
        float f;
        if (exp == 0) {
          f = std::ldexp(static_cast<float>(man), -24);
        } else if (exp == 31) {
          f = man ? NAN : INFINITY;
        } else {
          f = std::ldexp(static_cast<float>(man | 0x400), static_cast<int>(exp) - 25);
        }
        v = sign ? -f : f;
      }
      if (!std::isfinite(v)) {
        return Status::InvalidArgument(where + " holds " + (std::isnan(v) ? "NaN" : "an infinite value") +
                                       " at position " + std::to_string(k) + "; embeddings must be finite");
      }
      norm += v * v;
      out.push_back(static_cast<float>(v));
    }
    if (norm == 0) return Status::InvalidArgument(where + " is all zeros; a cosine needs a non-zero vector");
    float inv = static_cast<float>(1.0 / std::sqrt(norm));
    for (int64_t k = 0; k < *dim; ++k) out[base + static_cast<size_t>(k)] *= inv;
  }
  return out;
}

}  // namespace

Result<std::vector<Edge>> semantic_pairs(const Dataset& ds, size_t ti, const DedupOptions& o, int threads,
                                         uint64_t* compared) {
  const uint64_t n = ds.size();
  int64_t d = 0;
  GTN_ASSIGN_OR_RETURN(std::vector<float> x, read_embeddings(ds, ti, o.tensor, n, &d));
  std::vector<Edge> edges;
  *compared = 0;
  if (n < 2) return edges;
  uint64_t k = o.semantic_clusters > 0 ? static_cast<uint64_t>(o.semantic_clusters)
                                       : std::max<uint64_t>(1, static_cast<uint64_t>(std::sqrt(static_cast<double>(n))));
  k = std::min(k, n);
  // Initial centroids: k distinct rows drawn with the seed.
  std::mt19937_64 rng(o.seed);
  std::vector<uint64_t> perm(n);
  std::iota(perm.begin(), perm.end(), uint64_t{0});
  for (uint64_t i = 0; i < k; ++i) {
    uint64_t j = i + rng() % (n - i);
    std::swap(perm[i], perm[j]);
  }
  std::vector<float> cent(static_cast<size_t>(k * d));
  for (uint64_t c = 0; c < k; ++c) {
    std::copy_n(x.data() + perm[c] * d, d, cent.data() + c * d);
  }
  std::vector<uint32_t> assign(n, UINT32_MAX);
  const uint64_t block = 4096;
  std::vector<float> sims(static_cast<size_t>(block * k));
  for (int iter = 0; iter < std::max(1, o.kmeans_iterations); ++iter) {
    uint64_t changed = 0;
    for (uint64_t b0 = 0; b0 < n; b0 += block) {
      uint64_t m = std::min(block, n - b0);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(k),
                  static_cast<int>(d), 1.0f, x.data() + b0 * d, static_cast<int>(d), cent.data(),
                  static_cast<int>(d), 0.0f, sims.data(), static_cast<int>(k));
      for (uint64_t i = 0; i < m; ++i) {
        const float* row = sims.data() + i * k;
        uint32_t best = static_cast<uint32_t>(std::max_element(row, row + k) - row);
        if (assign[b0 + i] != best) {
          assign[b0 + i] = best;
          ++changed;
        }
      }
    }
    if (changed == 0) break;
    std::vector<double> sum(static_cast<size_t>(k * d), 0.0);
    for (uint64_t r = 0; r < n; ++r) {
      double* s = sum.data() + static_cast<uint64_t>(assign[r]) * d;
      const float* v = x.data() + r * d;
      for (int64_t j = 0; j < d; ++j) s[j] += v[j];
    }
    for (uint64_t c = 0; c < k; ++c) {
      double norm = 0;
      for (int64_t j = 0; j < d; ++j) norm += sum[c * d + j] * sum[c * d + j];
      if (norm == 0) continue;  // empty cluster: keep its centroid
      for (int64_t j = 0; j < d; ++j) cent[c * d + j] = static_cast<float>(sum[c * d + j] / std::sqrt(norm));
    }
  }
  // Members of each cluster, in row order.
  std::vector<std::vector<uint64_t>> members(k);
  for (uint64_t r = 0; r < n; ++r) members[assign[r]].push_back(r);
  std::vector<std::vector<Edge>> found(static_cast<size_t>(std::max(1, threads)));
  std::vector<uint64_t> counted(static_cast<size_t>(std::max(1, threads)), 0);
  const double threshold = o.threshold;
  // Clusters are processed in parallel, each by one thread with single-threaded BLAS
  // calls avoided: plain dot products in float, then the exact check in double.
  parallel_for(k, threads, [&](size_t c, size_t worker) {
    const std::vector<uint64_t>& mem = members[c];
    size_t m = mem.size();
    counted[worker] += m * (m - 1) / 2;
    for (size_t a = 0; a < m; ++a) {
      const float* va = x.data() + mem[a] * d;
      for (size_t b = a + 1; b < m; ++b) {
        const float* vb = x.data() + mem[b] * d;
        float s = 0;
        for (int64_t j = 0; j < d; ++j) s += va[j] * vb[j];
        if (s < threshold - 1e-4) continue;
        double exact = 0;
        for (int64_t j = 0; j < d; ++j) exact += static_cast<double>(va[j]) * vb[j];
        if (exact >= threshold) found[worker].push_back({mem[a], mem[b], exact});
      }
    }
  }, 1);
  for (uint64_t c : counted) *compared += c;
  for (auto& f : found) edges.insert(edges.end(), f.begin(), f.end());
  std::sort(edges.begin(), edges.end(), [](const Edge& a, const Edge& b) { return a.a != b.a ? a.a < b.a : a.b < b.b; });
  return edges;
}

}  // namespace gtn::curate
