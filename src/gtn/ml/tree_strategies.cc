#include "gtn/ml/tree_strategies.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <limits>

#include "gtn/ml/blas.h"
#include "gtn/ml/tree_quickscorer.h"
#include "gtn/ml/tree_simd.h"

namespace gtn::ml {

template <typename T>
T split_threshold(double thr, bool lt) {
  if constexpr (std::is_same_v<T, double>) {
    return lt ? std::nextafter(thr, -std::numeric_limits<double>::infinity()) : thr;
  } else {
    constexpr float kInf = std::numeric_limits<float>::infinity();
    float f = static_cast<float>(thr);
    if (!lt) {
      // largest float <= thr: x <= thr  <=>  x <= f  <=>  !(x > f)
      if (static_cast<double>(f) > thr) f = std::nextafter(f, -kInf);
      return f;
    }
    // x < thr  <=>  x < c (c = smallest float >= thr)  <=>  !(x > prev(c))
    if (static_cast<double>(f) < thr) f = std::nextafter(f, kInf);
    return std::nextafter(f, -kInf);
  }
}
template float split_threshold<float>(double, bool);
template double split_threshold<double>(double, bool);

namespace {

constexpr int kLanes = 16;           // rows (or trees) walked in lockstep
constexpr int64_t kSmallBatch = 8;   // below this many rows, lanes are trees
constexpr size_t kBlockBytes = 256 << 10;  // tree nodes + leaves per cache block

template <typename T>
bool go_right(T x, T t, bool missing_right) {
  return x > t || (missing_right && x != x);
}

// Shared by every strategy: leaf contributions, aggregation and base values.
template <typename T>
struct Aggregator {
  int64_t k = 1, width = 1;
  std::vector<int32_t> targets;
  std::vector<T> base;
  T scale = 1;

  explicit Aggregator(const TreeEnsembleSpec& s) : k(s.n_outputs), width(s.leaf_width), targets(s.targets) {
    for (double b : s.base_values) base.push_back(static_cast<T>(b));
    scale = s.aggregate_mean ? static_cast<T>(1.0 / static_cast<double>(s.n_trees())) : T(1);
  }
  void add(T* row_out, size_t tree, const T* leaf) const {
    if (width == 1) row_out[targets[tree]] += leaf[0];
    else
      for (int64_t c = 0; c < k; ++c) row_out[c] += leaf[c];
  }
  void finish(T* out, int64_t n) const {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < k; ++c) out[i * k + c] = out[i * k + c] * scale + base[c];
  }
};

template <typename T>
std::vector<T> leaf_row(const TreeEnsembleSpec& s, int32_t id) {
  std::vector<T> v(static_cast<size_t>(s.leaf_width));
  for (int64_t c = 0; c < s.leaf_width; ++c) v[c] = static_cast<T>(s.leaf_values[id * s.leaf_width + c]);
  return v;
}

// Rows [r0, r0 + kLanes) of X[n, f] as xt[feature][lane]; lanes past n repeat the last row.
template <typename T>
void transpose_group(const T* X, int64_t n, int64_t f, int64_t r0, T* xt) {
  for (int l = 0; l < kLanes; ++l) {
    const T* row = X + std::min<int64_t>(r0 + l, n - 1) * f;
    for (int64_t j = 0; j < f; ++j) xt[j * kLanes + l] = row[j];
  }
}

// Trees [begin, end) in blocks whose layout fits kBlockBytes.
std::vector<std::pair<size_t, size_t>> tree_blocks(size_t n_trees, size_t bytes_per_tree) {
  size_t per = std::max<size_t>(1, kBlockBytes / std::max<size_t>(bytes_per_tree, 1));
  std::vector<std::pair<size_t, size_t>> b;
  for (size_t t = 0; t < n_trees; t += per) b.push_back({t, std::min(n_trees, t + per)});
  return b;
}

// The driver both interleaved kernels share: a small batch goes row by row with the lanes
// over trees; a large one transposes each group of kLanes rows once, then walks every
// tree block over the groups from L1 with the lanes over rows.
template <typename T, typename Kernel>
void run_lane_groups(const T* X, int64_t n, int64_t f, int64_t k,
                     const std::vector<std::pair<size_t, size_t>>& blocks, T* out,
                     const Kernel& kernel) {
  if (n < kSmallBatch) {
    for (int64_t r = 0; r < n; ++r) kernel.TreeLanes(X + r * f, out + r * k);
    return;
  }
  std::vector<T> xt(static_cast<size_t>(f * kLanes) * ((n + kLanes - 1) / kLanes));
  for (int64_t r0 = 0; r0 < n; r0 += kLanes) transpose_group(X, n, f, r0, xt.data() + r0 * f);
  for (const auto& [b, e] : blocks)
    for (int64_t r0 = 0; r0 < n; r0 += kLanes) kernel.RowLanes(xt.data() + r0 * f, n, r0, b, e, out);
}

// ---------------------------------------------------------------- tree_traversal
template <typename T>
class TreeTraversal : public TreeEnsembleKernel<T> {
 public:
  explicit TreeTraversal(const TreeEnsembleSpec& s) : agg_(s), f_(s.n_features), roots_(s.roots) {
    for (size_t i = 0; i < s.n_nodes(); ++i) {
      nodes_.push_back({split_threshold<T>(s.threshold[i], s.comparison_lt), s.feature[i], s.left[i], s.right[i],
                        static_cast<uint8_t>(!s.missing_left[i])});
      auto v = leaf_row<T>(s, static_cast<int32_t>(i));
      values_.insert(values_.end(), v.begin(), v.end());
    }
  }
  void Run(const T* X, int64_t n, T* out) const override {
    std::fill(out, out + n * agg_.k, T(0));
    for (int64_t r = 0; r < n; ++r) {
      const T* x = X + r * f_;
      for (size_t t = 0; t < roots_.size(); ++t) {
        int32_t id = roots_[t];
        while (nodes_[id].f >= 0) {
          const Node& nd = nodes_[id];
          id = go_right(x[nd.f], nd.t, nd.mr) ? nd.right : nd.left;
        }
        agg_.add(out + r * agg_.k, t, values_.data() + id * agg_.width);
      }
    }
    agg_.finish(out, n);
  }

 private:
  struct Node {
    T t;
    int32_t f, left, right;
    uint8_t mr;
  };
  Aggregator<T> agg_;
  int64_t f_;
  std::vector<int32_t> roots_;
  std::vector<Node> nodes_;
  std::vector<T> values_;
};

// ---------------------------------------------------------------- perfect layout
template <typename T>
struct PerfectLayout {
  struct Node {
    T t;
    int32_t f;
  };
  int depth = 0;
  int64_t n_internal = 0, n_leaves = 1, width = 1;
  std::vector<Node> nodes;     // [tree][n_internal]
  std::vector<uint8_t> mr;     // [tree][n_internal], 1 = missing goes right
  std::vector<T> leaves;       // [tree][n_leaves][width]

  explicit PerfectLayout(const TreeEnsembleSpec& s) : depth(s.max_depth()), width(s.leaf_width) {
    n_internal = (int64_t{1} << depth) - 1;
    n_leaves = int64_t{1} << depth;
    size_t nt = s.n_trees();
    nodes.assign(nt * n_internal, {std::numeric_limits<T>::infinity(), 0});
    mr.assign(nt * n_internal, 0);
    leaves.assign(nt * n_leaves * width, T(0));
    for (size_t t = 0; t < nt; ++t) fill(s, t, s.roots[t], 0, 0);
  }
  // Places original node `id` at position p (depth d) of tree t.
  void fill(const TreeEnsembleSpec& s, size_t t, int32_t id, int64_t p, int d) {
    if (d == depth) {
      for (int64_t c = 0; c < width; ++c)
        leaves[(t * n_leaves + (p - n_internal)) * width + c] = static_cast<T>(s.leaf_values[id * width + c]);
      return;
    }
    Node& nd = nodes[t * n_internal + p];
    if (s.feature[id] < 0) {  // a leaf above the bottom: +inf threshold always goes left
      fill(s, t, id, 2 * p + 1, d + 1);
      fill(s, t, id, 2 * p + 2, d + 1);
      return;
    }
    nd = {split_threshold<T>(s.threshold[id], s.comparison_lt), s.feature[id]};
    mr[t * n_internal + p] = !s.missing_left[id];
    fill(s, t, s.left[id], 2 * p + 1, d + 1);
    fill(s, t, s.right[id], 2 * p + 2, d + 1);
  }
  size_t bytes_per_tree() const { return n_internal * (sizeof(Node) + 1) + n_leaves * width * sizeof(T); }
};

template <typename T>
class PerfectTreeTraversal : public TreeEnsembleKernel<T> {
 public:
  explicit PerfectTreeTraversal(const TreeEnsembleSpec& s) : agg_(s), f_(s.n_features), p_(s), nt_(s.n_trees()) {}
  void Run(const T* X, int64_t n, T* out) const override {
    std::fill(out, out + n * agg_.k, T(0));
    for (int64_t r = 0; r < n; ++r) {
      const T* x = X + r * f_;
      for (size_t t = 0; t < nt_; ++t) {
        const auto* tn = p_.nodes.data() + t * p_.n_internal;
        const uint8_t* mr = p_.mr.data() + t * p_.n_internal;
        int64_t i = 0;
        for (int d = 0; d < p_.depth; ++d) i = 2 * i + 1 + go_right(x[tn[i].f], tn[i].t, mr[i] != 0);
        agg_.add(out + r * agg_.k, t, p_.leaves.data() + (t * p_.n_leaves + i - p_.n_internal) * p_.width);
      }
    }
    agg_.finish(out, n);
  }

 private:
  Aggregator<T> agg_;
  int64_t f_;
  PerfectLayout<T> p_;
  size_t nt_;
};

// 16 lanes through perfect trees: lane l walks tree tree[l] for row row[l].
template <typename T, bool kMissing>
class PerfectInterleaved : public TreeEnsembleKernel<T> {
  template <typename U, typename K>
  friend void run_lane_groups(const U*, int64_t, int64_t, int64_t,
                              const std::vector<std::pair<size_t, size_t>>&, U*, const K&);

 public:
  PerfectInterleaved(const TreeEnsembleSpec& s, TreeIsa isa)
      : agg_(s), f_(s.n_features), p_(s), nt_(s.n_trees()), isa_(isa) {
    blocks_ = tree_blocks(nt_, p_.bytes_per_tree());
    if (isa_ != TreeIsa::kScalar) BuildSimd(s);
  }

  void Run(const T* X, int64_t n, T* out) const override {
    std::fill(out, out + n * agg_.k, T(0));
    bool done = false;
    if (n >= kSmallBatch && isa_ != TreeIsa::kScalar) done = run_forest_simd(isa_, simd_, X, n, out);
    if (!done) run_lane_groups(X, n, f_, agg_.k, blocks_, out, *this);
    agg_.finish(out, n);
  }

 private:
  using Node = typename PerfectLayout<T>::Node;

  void BuildSimd(const TreeEnsembleSpec& s) {
    SimdForestOf<T>& F = simd_;
    F.n_features = f_;
    F.k = agg_.k;
    F.width = p_.width;
    F.depth = p_.depth;
    F.missing = kMissing;
    F.leaf_sub = static_cast<int32_t>(p_.n_internal);
    for (size_t i = 0; i < p_.nodes.size(); ++i) {
      F.thr.push_back(p_.nodes[i].t);
      F.feat.push_back(p_.nodes[i].f | (p_.mr[i] ? INT32_MIN : 0));
    }
    F.thr.resize(F.thr.size() + 64, T(0));  // the level loads read up to 64 nodes
    F.feat.resize(F.feat.size() + 64, 0);
    F.leaves.assign(p_.leaves.begin(), p_.leaves.end());
    for (size_t t = 0; t < nt_; ++t) {
      F.node_off.push_back(static_cast<int64_t>(t) * p_.n_internal);
      F.leaf_off.push_back(static_cast<int64_t>(t) * p_.n_leaves * p_.width);
      F.target.push_back(s.targets.empty() ? 0 : s.targets[t]);
    }
    F.blocks = blocks_;
  }

  // kLanes rows [r0, r0 + kLanes) through trees [b, e), reading X from `xt`, the group
  // transposed to [feature][lane] so a lane's load is xt[f * kLanes + lane].
  void RowLanes(const T* xt, int64_t n, int64_t r0, size_t b, size_t e, T* out) const {
    int live = static_cast<int>(std::min<int64_t>(kLanes, n - r0));
    const int depth = p_.depth;
    // One output column (binary boosting, regression): sums stay in registers across trees.
    const bool single = agg_.k == 1;
    T acc[kLanes] = {};
    for (size_t t = b; t < e; ++t) {
      const Node* tn = p_.nodes.data() + t * p_.n_internal;
      const uint8_t* mr = p_.mr.data() + t * p_.n_internal;
      uint32_t idx[kLanes] = {};
      for (int d = 0; d < depth; ++d) {
#pragma GCC unroll 16
        for (int l = 0; l < kLanes; ++l) {
          const Node nd = tn[idx[l]];
          const T x = xt[nd.f * kLanes + l];
          uint32_t right = x > nd.t;
          if constexpr (kMissing) right |= (x != x) & mr[idx[l]];
          idx[l] = 2 * idx[l] + 1 + right;
        }
      }
      // Node id idx is leaf idx - n_internal of the tree (no pointer before the array).
      const T* leaves = p_.leaves.data() + t * p_.n_leaves * p_.width;
      const uint32_t sub = static_cast<uint32_t>(p_.n_internal);
      if (single) {
#pragma GCC unroll 16
        for (int l = 0; l < kLanes; ++l) acc[l] += leaves[idx[l] - sub];
      } else {
        for (int l = 0; l < live; ++l) agg_.add(out + (r0 + l) * agg_.k, t, leaves + (idx[l] - sub) * p_.width);
      }
    }
    if (single)
      for (int l = 0; l < live; ++l) out[r0 + l] += acc[l];
  }

  // One row through kLanes trees at a time.
  void TreeLanes(const T* x, T* row_out) const {
    const int depth = p_.depth;
    for (size_t t0 = 0; t0 < nt_; t0 += kLanes) {
      const Node* tn[kLanes];
      const uint8_t* mr[kLanes];
      for (int l = 0; l < kLanes; ++l) {
        size_t t = std::min(nt_ - 1, t0 + l);
        tn[l] = p_.nodes.data() + t * p_.n_internal;
        mr[l] = p_.mr.data() + t * p_.n_internal;
      }
      uint32_t idx[kLanes] = {};
      for (int d = 0; d < depth; ++d) {
#pragma GCC unroll 16
        for (int l = 0; l < kLanes; ++l) {
          const Node nd = tn[l][idx[l]];
          const T v = x[nd.f];
          uint32_t right = v > nd.t;
          if constexpr (kMissing) right |= (v != v) & mr[l][idx[l]];
          idx[l] = 2 * idx[l] + 1 + right;
        }
      }
      size_t live = std::min<size_t>(kLanes, nt_ - t0);
      for (size_t l = 0; l < live; ++l) {
        size_t t = t0 + l;
        agg_.add(row_out, t, p_.leaves.data() + (t * p_.n_leaves + idx[l] - p_.n_internal) * p_.width);
      }
    }
  }

  Aggregator<T> agg_;
  int64_t f_;
  PerfectLayout<T> p_;
  size_t nt_;
  TreeIsa isa_;
  SimdForestOf<T> simd_;
  std::vector<std::pair<size_t, size_t>> blocks_;
};

// ---------------------------------------------------------------- interleaved (compact)
// Nodes renumbered breadth-first per tree so that right child = left child + 1; a leaf
// points at itself with a +inf threshold, so extra steps at a leaf stay there.
template <typename T, bool kMissing>
class Interleaved : public TreeEnsembleKernel<T> {
  template <typename U, typename K>
  friend void run_lane_groups(const U*, int64_t, int64_t, int64_t,
                              const std::vector<std::pair<size_t, size_t>>&, U*, const K&);

 public:
  explicit Interleaved(const TreeEnsembleSpec& s) : agg_(s), f_(s.n_features), nt_(s.n_trees()), depth_(s.tree_depth) {
    width_ = s.leaf_width;
    size_t max_tree_nodes = 1;
    for (size_t t = 0; t < nt_; ++t) {
      int32_t root = static_cast<int32_t>(nodes_.size());
      roots_.push_back(root);
      std::deque<std::pair<int32_t, int32_t>> q{{s.roots[t], root}};  // (original id, new id)
      nodes_.push_back({});
      mr_.push_back(0);
      while (!q.empty()) {
        auto [orig, id] = q.front();
        q.pop_front();
        if (s.feature[orig] < 0) {
          nodes_[id] = {std::numeric_limits<T>::infinity(), 0, id};
          auto v = leaf_row<T>(s, orig);
          set_value(id, v);
          continue;
        }
        int32_t l = static_cast<int32_t>(nodes_.size());
        nodes_.push_back({});
        nodes_.push_back({});
        mr_.push_back(0);
        mr_.push_back(0);
        nodes_[id] = {split_threshold<T>(s.threshold[orig], s.comparison_lt), s.feature[orig], l};
        mr_[id] = !s.missing_left[orig];
        q.push_back({s.left[orig], l});
        q.push_back({s.right[orig], l + 1});
      }
      max_tree_nodes = std::max<size_t>(max_tree_nodes, nodes_.size() - root);
    }
    values_.resize(nodes_.size() * width_, T(0));
    for (auto& [id, v] : pending_) std::copy(v.begin(), v.end(), values_.begin() + id * width_);
    pending_.clear();
    size_t per_tree = (nodes_.size() / std::max<size_t>(nt_, 1)) * (sizeof(Node) + 1 + width_ * sizeof(T));
    blocks_ = tree_blocks(nt_, per_tree);
  }

  void Run(const T* X, int64_t n, T* out) const override {
    std::fill(out, out + n * agg_.k, T(0));
    run_lane_groups(X, n, f_, agg_.k, blocks_, out, *this);
    agg_.finish(out, n);
  }

 private:
  struct Node {
    T t;
    int32_t f;
    int32_t left;
  };
  void set_value(int32_t id, const std::vector<T>& v) { pending_.push_back({id, v}); }

  void RowLanes(const T* xt, int64_t n, int64_t r0, size_t b, size_t e, T* out) const {
    int live = static_cast<int>(std::min<int64_t>(kLanes, n - r0));
    const Node* nodes = nodes_.data();
    const uint8_t* mr = mr_.data();
    const bool single = agg_.k == 1;
    T acc[kLanes] = {};
    for (size_t t = b; t < e; ++t) {
      int32_t idx[kLanes];
      for (int l = 0; l < kLanes; ++l) idx[l] = roots_[t];
      for (int d = 0; d < depth_[t]; ++d) {
#pragma GCC unroll 16
        for (int l = 0; l < kLanes; ++l) {
          const Node nd = nodes[idx[l]];
          const T x = xt[nd.f * kLanes + l];
          int32_t right = x > nd.t;
          if constexpr (kMissing) right |= (x != x) & mr[idx[l]];
          idx[l] = nd.left + right;
        }
      }
      if (single) {
#pragma GCC unroll 16
        for (int l = 0; l < kLanes; ++l) acc[l] += values_[idx[l]];
      } else {
        for (int l = 0; l < live; ++l) agg_.add(out + (r0 + l) * agg_.k, t, values_.data() + idx[l] * width_);
      }
    }
    if (single)
      for (int l = 0; l < live; ++l) out[r0 + l] += acc[l];
  }

  void TreeLanes(const T* x, T* row_out) const {
    const Node* nodes = nodes_.data();
    const uint8_t* mr = mr_.data();
    for (size_t t0 = 0; t0 < nt_; t0 += kLanes) {
      int32_t idx[kLanes];
      int depth = 0;
      for (int l = 0; l < kLanes; ++l) {
        size_t t = std::min(nt_ - 1, t0 + l);
        idx[l] = roots_[t];
        depth = std::max(depth, depth_[t]);
      }
      for (int d = 0; d < depth; ++d) {
#pragma GCC unroll 16
        for (int l = 0; l < kLanes; ++l) {
          const Node nd = nodes[idx[l]];
          const T v = x[nd.f];
          int32_t right = v > nd.t;
          if constexpr (kMissing) right |= (v != v) & mr[idx[l]];
          idx[l] = nd.left + right;
        }
      }
      size_t live = std::min<size_t>(kLanes, nt_ - t0);
      for (size_t l = 0; l < live; ++l) agg_.add(row_out, t0 + l, values_.data() + idx[l] * width_);
    }
  }

  Aggregator<T> agg_;
  int64_t f_;
  size_t nt_;
  std::vector<int32_t> depth_;
  int64_t width_ = 1;
  std::vector<Node> nodes_;
  std::vector<uint8_t> mr_;
  std::vector<T> values_;
  std::vector<int32_t> roots_;
  std::vector<std::pair<int32_t, std::vector<T>>> pending_;
  std::vector<std::pair<size_t, size_t>> blocks_;
};

// ---------------------------------------------------------------- gemm
void gemm(const float* a, const float* b, float* c, int m, int n, int k, float beta, int ldc) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, beta, c, ldc);
}
void gemm(const double* a, const double* b, double* c, int m, int n, int k, double beta, int ldc) {
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, a, k, b, n, beta, c, ldc);
}

// Per tree: G[r, i] = 1 if row r goes left at internal node i (the selection X·A of
// Hummingbird's first GEMM is done as a gather, which is exact when X holds NaN);
// P = G·C; leaf one-hot H = (P == D); out += H·E.
template <typename T>
class Gemm : public TreeEnsembleKernel<T> {
 public:
  explicit Gemm(const TreeEnsembleSpec& s) : agg_(s), f_(s.n_features) {
    for (size_t t = 0; t < s.n_trees(); ++t) {
      PerTree pt;
      std::vector<std::pair<int32_t, std::vector<std::pair<int, int>>>> leaves;  // leaf, path (internal idx, +1/-1)
      std::vector<std::pair<int32_t, std::vector<std::pair<int, int>>>> stack{{s.roots[t], {}}};
      while (!stack.empty()) {
        auto [id, path] = stack.back();
        stack.pop_back();
        if (s.feature[id] < 0) {
          leaves.push_back({id, path});
          continue;
        }
        int i = static_cast<int>(pt.feature.size());
        pt.feature.push_back(s.feature[id]);
        pt.t.push_back(split_threshold<T>(s.threshold[id], s.comparison_lt));
        pt.mr.push_back(!s.missing_left[id]);
        auto lp = path, rp = path;
        lp.push_back({i, 1});
        rp.push_back({i, -1});
        stack.push_back({s.right[id], rp});
        stack.push_back({s.left[id], lp});
      }
      pt.ni = static_cast<int>(pt.feature.size());
      pt.nl = static_cast<int>(leaves.size());
      pt.C.assign(static_cast<size_t>(pt.ni) * pt.nl, T(0));
      pt.D.assign(pt.nl, T(0));
      pt.E.assign(static_cast<size_t>(pt.nl) * s.leaf_width, T(0));
      for (int l = 0; l < pt.nl; ++l) {
        for (auto [i, sign] : leaves[l].second) {
          pt.C[static_cast<size_t>(i) * pt.nl + l] = static_cast<T>(sign);
          if (sign > 0) pt.D[l] += 1;
        }
        auto v = leaf_row<T>(s, leaves[l].first);
        std::copy(v.begin(), v.end(), pt.E.begin() + static_cast<size_t>(l) * s.leaf_width);
      }
      trees_.push_back(std::move(pt));
    }
  }

  void Run(const T* X, int64_t n, T* out) const override {
    std::fill(out, out + n * agg_.k, T(0));
    constexpr int64_t kRows = 256;
    std::vector<T> G, P, H, acc;
    for (int64_t r0 = 0; r0 < n; r0 += kRows) {
      int m = static_cast<int>(std::min(kRows, n - r0));
      for (size_t t = 0; t < trees_.size(); ++t) {
        const PerTree& pt = trees_[t];
        if (pt.ni == 0) {
          for (int r = 0; r < m; ++r) agg_.add(out + (r0 + r) * agg_.k, t, pt.E.data());
          continue;
        }
        G.resize(static_cast<size_t>(m) * pt.ni);
        for (int r = 0; r < m; ++r) {
          const T* x = X + (r0 + r) * f_;
          for (int i = 0; i < pt.ni; ++i) G[r * pt.ni + i] = go_right(x[pt.feature[i]], pt.t[i], pt.mr[i]) ? T(0) : T(1);
        }
        P.resize(static_cast<size_t>(m) * pt.nl);
        gemm(G.data(), pt.C.data(), P.data(), m, pt.nl, pt.ni, T(0), pt.nl);
        H.resize(P.size());
        for (int r = 0; r < m; ++r)
          for (int l = 0; l < pt.nl; ++l) H[r * pt.nl + l] = P[r * pt.nl + l] == pt.D[l] ? T(1) : T(0);
        int w = static_cast<int>(agg_.width);
        acc.resize(static_cast<size_t>(m) * w);
        gemm(H.data(), pt.E.data(), acc.data(), m, w, pt.nl, T(0), w);
        for (int r = 0; r < m; ++r) agg_.add(out + (r0 + r) * agg_.k, t, acc.data() + r * w);
      }
    }
    agg_.finish(out, n);
  }

 private:
  struct PerTree {
    int ni = 0, nl = 0;
    std::vector<int32_t> feature;
    std::vector<T> t;
    std::vector<uint8_t> mr;
    std::vector<T> C, D, E;
  };
  Aggregator<T> agg_;
  int64_t f_;
  std::vector<PerTree> trees_;
};

// ---------------------------------------------------------------- quickscorer
// Trees of at most 64 leaves as leaf bitvectors (tree_quickscorer.h). Batches of fewer
// than kQsMinRows rows go to `small` when given (the walk "auto" would pick otherwise).
constexpr int64_t kQsMinRows = 16;
constexpr size_t kQsBlockSplits = 8192;  // splits per block: 128 KiB of split fields

// Nodes of the tree rooted at `root`, or more than `cap` once that many are seen.
int64_t tree_nodes(const TreeEnsembleSpec& s, int32_t root, int64_t cap) {
  std::vector<int32_t> stack{root};
  int64_t count = 0;
  while (!stack.empty() && count <= cap) {
    int32_t id = stack.back();
    stack.pop_back();
    ++count;
    if (s.feature[id] >= 0) {
      stack.push_back(s.left[id]);
      stack.push_back(s.right[id]);
    }
  }
  return count;
}

bool quickscorer_fits(const TreeEnsembleSpec& s) {
  for (int32_t root : s.roots)
    if (tree_nodes(s, root, 2 * kQuickScorerMaxLeaves - 1) > 2 * kQuickScorerMaxLeaves - 1) return false;
  return true;
}

template <typename T>
class QuickScorer : public TreeEnsembleKernel<T> {
 public:
  QuickScorer(const TreeEnsembleSpec& s, TreeIsa isa, std::unique_ptr<TreeEnsembleKernel<T>> small)
      : agg_(s), isa_(isa), small_(std::move(small)) {
    F_.n_features = s.n_features;
    F_.k = agg_.k;
    F_.width = s.leaf_width;
    F_.missing = s.any_missing_right();
    std::vector<Split> splits;
    size_t block_begin = 0;
    F_.split_off.push_back(0);
    for (size_t t = 0; t < s.n_trees(); ++t) {
      F_.leaf_off.push_back(static_cast<int64_t>(F_.leaves.size()));
      F_.target.push_back(s.targets.empty() ? 0 : s.targets[t]);
      int next_leaf = 0;
      size_t first = splits.size();
      number(s, static_cast<int32_t>(t - block_begin), s.roots[t], next_leaf, splits);
      F_.wide = F_.wide || next_leaf > 32;
      for (bool nan_right : {false, true}) {  // the splits that send NaN right last
        if (nan_right) F_.split_nan.push_back(static_cast<int64_t>(F_.split_feature.size()));
        for (size_t i = first; i < splits.size(); ++i) {
          if (splits[i].nan_right != nan_right) continue;
          F_.split_feature.push_back(splits[i].f);
          F_.split_thr.push_back(splits[i].thr);
          F_.split_mask.push_back(splits[i].mask);
        }
      }
      F_.split_off.push_back(static_cast<int64_t>(F_.split_feature.size()));
      if (splits.size() >= kQsBlockSplits || t + 1 == s.n_trees()) {
        add_block(block_begin, t + 1, splits);
        splits.clear();
        block_begin = t + 1;
      }
    }
  }

  void Run(const T* X, int64_t n, T* out) const override {
    if (small_ && n < kQsMinRows) {
      small_->Run(X, n, out);
      return;
    }
    std::fill(out, out + n * agg_.k, T(0));
    if (!run_quickscorer_simd(isa_, F_, X, n, out)) run_quickscorer_rows(F_, X, n, out);
    agg_.finish(out, n);
  }

 private:
  struct Split {
    int32_t f;
    T thr;
    int32_t tree;
    uint64_t mask;
    bool nan_right;
  };

  // Numbers the leaves under `id` left to right from next_leaf (storing their values) and
  // records each split with the mask that clears its left subtree's leaves. Trees have at
  // most 64 leaves here, so the recursion is at most 63 deep.
  void number(const TreeEnsembleSpec& s, int32_t tree, int32_t id, int& next_leaf, std::vector<Split>& splits) {
    if (s.feature[id] < 0) {
      for (int64_t c = 0; c < s.leaf_width; ++c) F_.leaves.push_back(static_cast<T>(s.leaf_values[id * s.leaf_width + c]));
      ++next_leaf;
      return;
    }
    const int first = next_leaf;
    number(s, tree, s.left[id], next_leaf, splits);
    const int count = next_leaf - first;  // < 64: the right subtree has a leaf too
    uint64_t left = ((uint64_t{1} << count) - 1) << first;
    splits.push_back({s.feature[id], split_threshold<T>(s.threshold[id], s.comparison_lt), tree, ~left,
                      !s.missing_left[id]});
    number(s, tree, s.right[id], next_leaf, splits);
  }

  void add_block(size_t begin, size_t end, std::vector<Split>& splits) {
    std::stable_sort(splits.begin(), splits.end(),
                     [](const Split& a, const Split& b) { return a.f != b.f ? a.f < b.f : a.thr < b.thr; });
    typename QsForestOf<T>::Block B;
    B.tree_begin = begin;
    B.tree_end = end;
    for (size_t i = 0; i < splits.size(); ++i) {
      const Split& sp = splits[i];
      if (B.features.empty() || B.features.back() != sp.f) {
        B.features.push_back(sp.f);
        B.off.push_back(static_cast<int64_t>(i));
        B.nan_off.push_back(static_cast<int64_t>(B.nan_tree.size()));
      }
      B.thr.push_back(sp.thr);
      B.tree.push_back(sp.tree);
      B.mask.push_back(sp.mask);
      if (sp.nan_right) {
        B.nan_tree.push_back(sp.tree);
        B.nan_mask.push_back(sp.mask);
      }
    }
    B.off.push_back(static_cast<int64_t>(splits.size()));
    B.nan_off.push_back(static_cast<int64_t>(B.nan_tree.size()));
    F_.blocks.push_back(std::move(B));
  }

  Aggregator<T> agg_;
  TreeIsa isa_;
  std::unique_ptr<TreeEnsembleKernel<T>> small_;
  QsForestOf<T> F_;
};
}  // namespace

// Heuristic: perfect-tree layouts need no child arrays and make every lane take the same
// number of steps, so use them while padding stays small (depth <= 12 and the padded
// trees hold at most 4x the real nodes, or fit in 1 MiB); otherwise the compact
// interleaved layout. Both walk 16 rows per tree in lockstep when the batch has >= 8 rows
// and 16 trees per row below that. tree_traversal, perfect_tree_traversal and gemm are
// kept as baselines (and for comparison with Hummingbird).
std::string walk_strategy(const TreeEnsembleSpec& s) {
  int d = s.max_depth();
  if (d <= 12) {
    double padded = static_cast<double>(s.n_trees()) * static_cast<double>(int64_t{1} << (d + 1));
    if (padded <= 4.0 * static_cast<double>(s.n_nodes()) || padded * 8 <= (1 << 20)) return "perfect_interleaved";
  }
  return "interleaved";
}

// With AVX-512, ensembles of trees of at most 64 leaves (boosting: GradientBoosting,
// XGBoost up to depth 6, HistGradientBoosting and LightGBM at their default 31 leaves) use
// quickscorer's bitvectors for batches of 16 rows or more: measured 2-6x faster than the
// walks (docs/ml/benchmarks.md), most for deep, unbalanced trees.
std::string choose_tree_strategy(const TreeEnsembleSpec& s, TreeIsa isa) {
  if (quickscorer_simd(isa) && quickscorer_fits(s)) return "quickscorer";
  return walk_strategy(s);
}

template <typename T>
Result<std::unique_ptr<TreeEnsembleKernel<T>>> make_tree_kernel(const TreeEnsembleSpec& s, const std::string& strategy_in,
                                                                TreeIsa isa, TreeIsa walk_isa) {
  if constexpr (std::is_same_v<T, double>) walk_isa = isa;  // float64 walks: AVX-512 only
  std::string strategy = strategy_in == "auto" ? choose_tree_strategy(s, isa) : strategy_in;
  if (strategy == "quickscorer") {
    if (!quickscorer_fits(s))
      return Status::InvalidArgument("strategy quickscorer needs trees of at most " +
                                     std::to_string(kQuickScorerMaxLeaves) +
                                     " leaves; this ensemble has larger ones (use auto)");
    std::unique_ptr<TreeEnsembleKernel<T>> small;
    if (quickscorer_simd(isa)) {
      GTN_ASSIGN_OR_RETURN(small, make_tree_kernel<T>(s, walk_strategy(s), isa, walk_isa));
    }
    return std::unique_ptr<TreeEnsembleKernel<T>>(std::make_unique<QuickScorer<T>>(s, isa, std::move(small)));
  }
  bool missing = s.any_missing_right();
  if ((strategy == "perfect_tree_traversal" || strategy == "perfect_interleaved") && s.max_depth() > 20)
    return Status::InvalidArgument("strategy " + strategy + " pads trees to depth " + std::to_string(s.max_depth()) +
                                   ", more than the 20 levels it supports");
  std::unique_ptr<TreeEnsembleKernel<T>> k;
  if (strategy == "tree_traversal") k = std::make_unique<TreeTraversal<T>>(s);
  else if (strategy == "perfect_tree_traversal") k = std::make_unique<PerfectTreeTraversal<T>>(s);
  else if (strategy == "gemm") k = std::make_unique<Gemm<T>>(s);
  else if (strategy == "interleaved") {
    if (missing) k = std::make_unique<Interleaved<T, true>>(s);
    else k = std::make_unique<Interleaved<T, false>>(s);
  } else if (strategy == "perfect_interleaved") {
    if (missing) k = std::make_unique<PerfectInterleaved<T, true>>(s, walk_isa);
    else k = std::make_unique<PerfectInterleaved<T, false>>(s, walk_isa);
  } else {
    return Status::InvalidArgument("unknown tree strategy '" + strategy +
                                   "'; expected auto, gemm, tree_traversal, perfect_tree_traversal, interleaved, "
                                   "perfect_interleaved or quickscorer");
  }
  return k;
}

template Result<std::unique_ptr<TreeEnsembleKernel<float>>> make_tree_kernel<float>(const TreeEnsembleSpec&, const std::string&,
                                                                                    TreeIsa, TreeIsa);
template Result<std::unique_ptr<TreeEnsembleKernel<double>>> make_tree_kernel<double>(const TreeEnsembleSpec&, const std::string&,
                                                                                      TreeIsa, TreeIsa);

}  // namespace gtn::ml
