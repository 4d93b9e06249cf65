// Row orders for locality: reverse Cuthill-McKee over a graph, order by class, and the
// mean edge distance that measures them (include/gtn/layout.h).
#include <algorithm>
#include <cstdlib>
#include <numeric>
#include <random>

#include "gtn/layout.h"

namespace gtn::layout {

Result<Csr> read_csr(const Dataset& dataset, const std::string& tensor) {
  GTN_ASSIGN_OR_RETURN(size_t t, dataset.tensor_index(tensor));
  const uint64_t n = dataset.size();
  Csr g;
  g.indptr.reserve(n + 1);
  for (uint64_t i = 0; i < n; ++i) {
    GTN_ASSIGN_OR_RETURN(Array a, dataset.read(t, i));
    const int64_t k = a.numel();
    for (int64_t j = 0; j < k; ++j) {
      int64_t id = a.dtype() == DType::kInt32 ? a.data_as<int32_t>()[j] : a.data_as<int64_t>()[j];
      if (id < 0 || static_cast<uint64_t>(id) >= n) {
        return Status::InvalidArgument("tensor '" + tensor + "' row " + std::to_string(i) + " names node " +
                                       std::to_string(id) + ", outside the dataset's " + std::to_string(n) + " rows");
      }
      g.indices.push_back(id);
    }
    g.indptr.push_back(g.indices.size());
  }
  return g;
}

namespace {

// The graph made undirected, without self loops or repeated edges: neighbours of i are
// adj[ptr[i] .. ptr[i] + deg[i]).
struct Undirected {
  std::vector<uint64_t> ptr, adj, deg;
};

Undirected symmetrize(const Csr& graph) {
  const uint64_t n = graph.rows();
  Undirected u;
  std::vector<uint64_t>& deg = u.deg;
  deg.assign(n, 0);
  for (uint64_t i = 0; i < n; ++i) {
    for (uint64_t k = graph.indptr[i]; k < graph.indptr[i + 1]; ++k) {
      uint64_t j = static_cast<uint64_t>(graph.indices[k]);
      if (j == i) continue;
      ++deg[i];
      ++deg[j];
    }
  }
  std::vector<uint64_t>& ptr = u.ptr;
  ptr.assign(n + 1, 0);
  for (uint64_t i = 0; i < n; ++i) ptr[i + 1] = ptr[i] + deg[i];
  std::vector<uint64_t>& adj = u.adj;
  adj.resize(ptr[n]);
  std::vector<uint64_t> fill(ptr.begin(), ptr.end() - 1);
  for (uint64_t i = 0; i < n; ++i) {
    for (uint64_t k = graph.indptr[i]; k < graph.indptr[i + 1]; ++k) {
      uint64_t j = static_cast<uint64_t>(graph.indices[k]);
      if (j == i) continue;
      adj[fill[i]++] = j;
      adj[fill[j]++] = i;
    }
  }
  for (uint64_t i = 0; i < n; ++i) {
    auto b = adj.begin() + static_cast<std::ptrdiff_t>(ptr[i]), e = adj.begin() + static_cast<std::ptrdiff_t>(ptr[i + 1]);
    std::sort(b, e);
    auto last = std::unique(b, e);
    deg[i] = static_cast<uint64_t>(last - b);
  }
  return u;
}

}  // namespace

std::vector<uint64_t> reverse_cuthill_mckee(const Csr& graph) {
  const uint64_t n = graph.rows();
  Undirected u = symmetrize(graph);
  const std::vector<uint64_t>& ptr = u.ptr;
  const std::vector<uint64_t>& adj = u.adj;
  const std::vector<uint64_t>& deg = u.deg;
  // Components from a node of least degree, breadth-first, neighbours by increasing degree.
  std::vector<uint64_t> by_degree(n);
  std::iota(by_degree.begin(), by_degree.end(), 0);
  std::stable_sort(by_degree.begin(), by_degree.end(), [&](uint64_t a, uint64_t b) { return deg[a] < deg[b]; });
  std::vector<char> seen(n, 0);
  std::vector<uint64_t> order;
  order.reserve(n);
  std::vector<uint64_t> next;
  for (uint64_t start : by_degree) {
    if (seen[start]) continue;
    seen[start] = 1;
    size_t head = order.size();
    order.push_back(start);
    while (head < order.size()) {
      uint64_t v = order[head++];
      next.clear();
      for (uint64_t k = ptr[v]; k < ptr[v] + deg[v]; ++k) {
        uint64_t w = adj[k];
        if (!seen[w]) {
          seen[w] = 1;
          next.push_back(w);
        }
      }
      std::stable_sort(next.begin(), next.end(), [&](uint64_t a, uint64_t b) { return deg[a] < deg[b]; });
      order.insert(order.end(), next.begin(), next.end());
    }
  }
  std::reverse(order.begin(), order.end());
  return order;
}

std::vector<uint64_t> community_order(const Csr& graph, uint64_t seed) {
  const uint64_t n = graph.rows();
  Undirected u = symmetrize(graph);
  std::vector<uint64_t> label(n);
  std::iota(label.begin(), label.end(), 0);
  std::vector<uint64_t> visit(n);
  std::iota(visit.begin(), visit.end(), 0);
  std::shuffle(visit.begin(), visit.end(), std::mt19937_64(seed));
  std::vector<uint64_t> seen;
  for (int pass = 0; pass < 20; ++pass) {
    uint64_t changed = 0;
    for (uint64_t v : visit) {
      if (u.deg[v] == 0) continue;
      seen.assign(u.adj.begin() + static_cast<std::ptrdiff_t>(u.ptr[v]),
                  u.adj.begin() + static_cast<std::ptrdiff_t>(u.ptr[v] + u.deg[v]));
      for (auto& w : seen) w = label[w];
      std::sort(seen.begin(), seen.end());
      // The most frequent neighbour label; ties: the current label if among them, else the smallest.
      uint64_t best = label[v], best_count = 0;
      for (size_t i = 0; i < seen.size();) {
        size_t j = i;
        while (j < seen.size() && seen[j] == seen[i]) ++j;
        uint64_t count = j - i;
        if (count > best_count || (count == best_count && seen[i] == label[v])) {
          best = seen[i];
          best_count = count;
        }
        i = j;
      }
      if (best != label[v]) {
        label[v] = best;
        ++changed;
      }
    }
    if (changed * 1000 < n) break;
  }
  // Communities by first appearance in row order; rows in row order within each.
  std::vector<uint64_t> rank(n, UINT64_MAX);
  uint64_t next = 0;
  for (uint64_t i = 0; i < n; ++i) {
    if (rank[label[i]] == UINT64_MAX) rank[label[i]] = next++;
  }
  std::vector<uint64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](uint64_t a, uint64_t b) { return rank[label[a]] < rank[label[b]]; });
  return order;
}

std::vector<uint64_t> order_by_class(const std::vector<int64_t>& labels) {
  std::vector<uint64_t> order(labels.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](uint64_t a, uint64_t b) { return labels[a] < labels[b]; });
  return order;
}

double mean_edge_distance(const Csr& graph, const std::vector<uint64_t>& order) {
  const uint64_t n = graph.rows();
  std::vector<uint64_t> pos(n);
  for (uint64_t k = 0; k < order.size() && k < n; ++k) pos[order[k]] = k;
  double sum = 0;
  uint64_t edges = 0;
  for (uint64_t i = 0; i < n; ++i) {
    for (uint64_t k = graph.indptr[i]; k < graph.indptr[i + 1]; ++k) {
      uint64_t j = static_cast<uint64_t>(graph.indices[k]);
      sum += static_cast<double>(pos[i] > pos[j] ? pos[i] - pos[j] : pos[j] - pos[i]);
      ++edges;
    }
  }
  return edges ? sum / static_cast<double>(edges) : 0;
}

}  // namespace gtn::layout
