// Graph datasets in GTN-F (docs/graph.md): rows are nodes; `x` node features, `y` node
// labels, `split` (train/valid/test/none), `neighbors` (each node's CSR row), optional
// `in_neighbors` (CSC) and `edge_attr` (edge features aligned with `neighbors`).
//
// - ingest_ogb(): an OGB node-property dataset in its raw on-disk format (the raw/ and
//   split/ folders of the unpacked zip) -> a graph dataset, as one commit.
// - load_csr(): the whole graph as the arrays a GNN trains on (indptr, indices, x, y, split).
// - NeighborSampler: GraphSAGE-style mini-batch neighbour sampling over a dataset, reading
//   `neighbors` rows and gathering `x`/`y` rows through the dataset's read paths.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gtn/dataset.h"
#include "gtn/result.h"
#include "gtn/tensor.h"

namespace gtn::graph {

// The split classes of the `split` tensor, in class-id order.
inline const std::vector<std::string>& split_class_names() {
  static const std::vector<std::string> names = {"train", "valid", "test", "none"};
  return names;
}

// --- OGB raw format ---

struct OgbIngestOptions {
  // Name of the folder under split/ to read; empty: the only one there (an error if
  // there are several; none at all: every node gets split "none").
  std::string split;
  // Add the reverse of every edge and merge duplicates (what GNN pipelines do to
  // ogbn-arxiv); an edge's features go with both directions, a merged edge keeps the
  // features of its first occurrence in edge.csv.gz.
  bool to_undirected = false;
  // Also write `in_neighbors` (each node's in-neighbours: the CSC of the edge index).
  bool csc = false;
  // Store neighbour ids as int32 when the node count allows (halves the edge bytes).
  bool int32_ids = false;
  // Chunk layout of every tensor written (the store's fixed default: 8 MiB, uncompressed).
  uint64_t chunk_target_bytes = 8ull << 20;
  Compression chunk_compression = Compression::kNone;
  // Message of the commit; empty: "ingest OGB <src>".
  std::string message;
  // Called with a stage name ("edge.csv.gz", ..., "write") and progress within it.
  std::function<void(std::string_view stage, uint64_t done, uint64_t total)> progress;
};

struct OgbIngestReport {
  uint64_t nodes = 0;
  uint64_t input_edges = 0;   // lines of edge.csv.gz
  uint64_t stored_edges = 0;  // entries of `neighbors` (after to_undirected)
  uint64_t features = 0;      // columns of node-feat.csv.gz (0: none)
  uint64_t edge_features = 0; // columns of edge-feat.csv.gz (0: none)
  uint64_t classes = 0;       // max label + 1 (0: no labels)
  std::string split;          // split folder read ("" if none)
  uint64_t train = 0, valid = 0, test = 0;
  std::vector<std::string> tensors;
  std::string commit;
};

// Reads the OGB node-property dataset unpacked at `src` (holding raw/ and split/) and
// appends it to the empty dataset `dst`, then commits. Errors name the file and line.
Result<OgbIngestReport> ingest_ogb(const std::string& src, Dataset& dst, const OgbIngestOptions& options = {});

// --- the whole graph in memory ---

struct LoadOptions {
  std::string neighbors = "neighbors";
  std::string x = "x";  // empty: do not load
  std::string y = "y";
  std::string split = "split";
};

struct GraphArrays {
  uint64_t num_nodes = 0;
  Array indptr;   // int64 (num_nodes + 1)
  Array indices;  // the neighbors tensor's dtype (int64 or int32), (num_edges)
  Array x;        // (num_nodes, F) of x's dtype; empty if not loaded or absent
  Array y;        // (num_nodes) of y's dtype
  Array split;    // (num_nodes) class ids of split_class_names()
  // True where the array views the dataset's chunk memory (one uncompressed chunk).
  bool indices_zero_copy = false, x_zero_copy = false;
};

// Loads the CSR of `neighbors` plus x, y and split (when the tensors exist and their
// names are set). Zero-copy where a tensor's rows lie in one uncompressed chunk, else one
// copy. Refuses neighbour ids >= the dataset's length.
Result<GraphArrays> load_csr(const Dataset& ds, const LoadOptions& options = {});

// --- mini-batch neighbour sampling ---

struct SamplerOptions {
  // Neighbours sampled per node at each hop, from the seeds outwards; -1: all of them.
  std::vector<int64_t> fanouts;
  std::string neighbors = "neighbors";
  std::string x = "x";  // empty: gather no features
  std::string y = "y";  // empty: gather no labels
  // Load the whole CSR once (load_csr) and sample from memory instead of reading
  // `neighbors` a chunk at a time per batch.
  bool preload_csr = false;
  // What one batch keeps of the `neighbors` chunks it has read (row views; decoded bytes
  // of compressed chunks) before it lets them go, so that memory stays bounded whatever
  // the graph's size.
  uint64_t max_held_bytes = uint64_t{256} << 20;
};

// One bipartite block (a message-flow graph): edges from `src` nodes (the first num_src
// ids of SampledBatch::n_id) into `dst` nodes (the first num_dst of them), as a CSR over
// dst rows whose indices are local src positions.
struct Block {
  uint64_t num_dst = 0, num_src = 0;
  std::vector<int64_t> indptr;   // num_dst + 1
  std::vector<int64_t> indices;  // local src ids, per dst row in ascending neighbour id
};

struct SampledBatch {
  // Every node the batch touches; the first seeds.size() are the seeds, then each hop's
  // new nodes in order of first appearance.
  std::vector<int64_t> n_id;
  // hop_nodes[l]: nodes known after hop l (hop_nodes[0] = number of seeds).
  std::vector<uint64_t> hop_nodes;
  // blocks[l] is hop l: dst = the first hop_nodes[l] nodes, src = the first hop_nodes[l+1].
  // A GNN runs them last to first (DGL's MFG order is reversed(blocks)).
  std::vector<Block> blocks;
  Array x;  // (n_id.size(), F): x rows of n_id
  Array y;  // (seeds): labels of the seeds
};

class NeighborSampler {
 public:
  // `ds` must stay open while the sampler is used; read-only datasets may be sampled from
  // several threads at once.
  static Result<std::unique_ptr<NeighborSampler>> Make(std::shared_ptr<const Dataset> ds, SamplerOptions options);
  virtual ~NeighborSampler() = default;

  // Samples the neighbourhoods of `seeds` (distinct node ids) hop by hop: a node with
  // degree <= fanout keeps all its neighbours, otherwise `fanout` of them uniformly
  // without replacement. Deterministic for given seeds and rng_seed.
  virtual Result<SampledBatch> sample(const std::vector<int64_t>& seeds, uint64_t rng_seed) const = 0;
  virtual uint64_t num_nodes() const = 0;
};

}  // namespace gtn::graph
