// Building the CSR of an edge list (counting sort by source, neighbours sorted per row).
#pragma once

#include <cstdint>
#include <vector>

namespace gtn::graph {

struct CsrGraph {
  std::vector<int64_t> indptr;   // num_nodes + 1
  std::vector<int64_t> indices;  // neighbour ids, ascending within a row
  std::vector<int64_t> edge_id;  // for each entry, the input edge it came from
};

// CSR of edges src[e] -> dst[e] over `num_nodes` nodes (ids checked by the caller).
// `reverse`: rows are dst (the CSC). `undirected`: both directions, duplicates of the
// same (row, neighbour) pair merged, keeping the first input edge.
CsrGraph build_csr(const int64_t* src, const int64_t* dst, uint64_t num_edges, uint64_t num_nodes, bool reverse,
                   bool undirected);

}  // namespace gtn::graph
