#include "gtn/graph/csr.h"

#include <algorithm>
#include <numeric>

namespace gtn::graph {

CsrGraph build_csr(const int64_t* src, const int64_t* dst, uint64_t num_edges, uint64_t num_nodes, bool reverse,
                   bool undirected) {
  if (reverse) std::swap(src, dst);
  CsrGraph g;
  g.indptr.assign(num_nodes + 1, 0);
  for (uint64_t e = 0; e < num_edges; ++e) {
    ++g.indptr[src[e] + 1];
    if (undirected) ++g.indptr[dst[e] + 1];
  }
  std::partial_sum(g.indptr.begin(), g.indptr.end(), g.indptr.begin());
  uint64_t total = static_cast<uint64_t>(g.indptr[num_nodes]);
  g.indices.resize(total);
  g.edge_id.resize(total);
  std::vector<int64_t> fill(g.indptr.begin(), g.indptr.end() - 1);
  for (uint64_t e = 0; e < num_edges; ++e) {
    int64_t p = fill[src[e]]++;
    g.indices[p] = dst[e];
    g.edge_id[p] = static_cast<int64_t>(e);
    if (undirected) {
      int64_t q = fill[dst[e]]++;
      g.indices[q] = src[e];
      g.edge_id[q] = static_cast<int64_t>(e);
    }
  }
  // Sort each row by neighbour id (stable on edge id, so the first input edge leads a run
  // of duplicates), then merge duplicates when undirected.
  std::vector<std::pair<int64_t, int64_t>> row;
  int64_t out = 0;
  for (uint64_t v = 0; v < num_nodes; ++v) {
    int64_t b = g.indptr[v], e = g.indptr[v + 1];
    row.clear();
    for (int64_t p = b; p < e; ++p) row.emplace_back(g.indices[p], g.edge_id[p]);
    bool sorted = true;
    for (size_t i = 1; i < row.size() && sorted; ++i) sorted = row[i - 1] <= row[i];
    if (!sorted) std::sort(row.begin(), row.end());
    g.indptr[v] = out;
    for (size_t i = 0; i < row.size(); ++i) {
      if (undirected && i > 0 && row[i].first == row[i - 1].first) continue;
      g.indices[out] = row[i].first;
      g.edge_id[out] = row[i].second;
      ++out;
    }
  }
  g.indptr[num_nodes] = out;
  g.indices.resize(out);
  g.edge_id.resize(out);
  return g;
}

}  // namespace gtn::graph
