// Row orders for locality: reverse Cuthill-McKee over a graph, order by class, and the
// mean edge distance that measures them (include/gtn/layout.h).
#include <algorithm>
#include <cstdlib>
#include <numeric>

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

std::vector<uint64_t> reverse_cuthill_mckee(const Csr& graph) {
  const uint64_t n = graph.rows();
  // Symmetrize: RCM needs undirected adjacency.
  std::vector<uint64_t> deg(n, 0);
  for (uint64_t i = 0; i < n; ++i) {
    for (uint64_t k = graph.indptr[i]; k < graph.indptr[i + 1]; ++k) {
      uint64_t j = static_cast<uint64_t>(graph.indices[k]);
      if (j == i) continue;
      ++deg[i];
      ++deg[j];
    }
  }
  std::vector<uint64_t> ptr(n + 1, 0);
  for (uint64_t i = 0; i < n; ++i) ptr[i + 1] = ptr[i] + deg[i];
  std::vector<uint64_t> adj(ptr[n]);
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
    std::fill(last, e, UINT64_MAX);  // duplicates (edges given both ways) are skipped below
    deg[i] = static_cast<uint64_t>(last - b);
  }
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
