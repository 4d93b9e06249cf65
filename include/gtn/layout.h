// Layout planning: how a dataset's tensors should sit in chunks (chunk size, sample vs
// chunk compression, codec and level, co-location, row order), chosen from the data
// ("data" strategy) or from an access trace of a workload ("workload" strategy), with the
// predicted cost of the plan and of the current layout. docs/layout.md gives the cost model.
//
//   gtn::layout::PlanOptions opt;                 // strategy "data"
//   auto plan = gtn::layout::plan(*ds, opt).value();
//   std::cout << plan.explain();
//   ds->rechunk(plan.to_rechunk_options());
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gtn/access_trace.h"
#include "gtn/dataset.h"
#include "gtn/result.h"
#include "gtn/tensor.h"

namespace gtn::layout {

// The machine and workload constants of the cost model (docs/layout.md, "Cost model").
struct CostModel {
  // Bytes per second read from storage for data not in memory (0: 1 GB/s, a local SSD).
  double read_bytes_per_s = 1.0e9;
  // Fixed cost of the first read of a chunk file: open/map, header parse and checksum.
  double chunk_seconds = 100e-6;
  // Fixed cost of one sample read through the API (beyond its bytes).
  double sample_seconds = 0.3e-6;
  // The smallest unit a random read fetches from storage (a page).
  double page_bytes = 4096;
  // Weight of one epoch of random-order single-sample reads relative to one full scan:
  // the workload the plan is for is scan + random_weight x random epoch.
  double random_weight = 1.0;
  // Memory that caches decompressed chunks (OpenOptions::chunk_cache_bytes).
  double chunk_cache_bytes = 256.0 * (1 << 20);
  // Page cache available to the data: a random epoch over stored bytes that fit reads
  // each page once; beyond it every read fetches its pages again.
  double memory_bytes = 4.0 * (1ull << 30);
  // Threads that scan chunks in parallel; chunks are kept small enough that a scan of the
  // tensor has at least 4 chunks per thread (0: the machine's cores).
  unsigned scan_threads = 0;
};

// One codec measured on sampled rows of a tensor.
struct CodecMeasure {
  Compression codec = Compression::kNone;
  int level = 0;
  bool chunk = false;             // chunk granularity (rows compressed together), else per sample
  double ratio = 1;               // stored bytes / raw bytes
  double decode_s_per_byte = 0;   // seconds per raw byte decoded (measured on this machine)
  double encode_s_per_byte = 0;
};

// What the planner measured on a tensor's sampled rows.
struct TensorStats {
  uint64_t rows = 0;           // rows of the tensor
  uint64_t sampled_rows = 0;   // rows measured
  double mean_bytes = 0;       // raw (decoded) bytes per sample
  uint64_t p50_bytes = 0, p99_bytes = 0, max_bytes = 0;
  bool fixed_shape = false;    // every sampled row has the same shape
  Shape shape;                 // the first sampled row's shape
  // The tensor's image codec (jpeg, png) when its samples are stored as images: they stay
  // so (decoding to pixels would change what is stored), with this measured decode cost.
  std::optional<CodecMeasure> image;
  std::vector<CodecMeasure> codecs;
};

// Predicted cost of one layout (seconds are for the whole tensor or dataset).
struct Cost {
  double stored_bytes = 0;
  double raw_bytes = 0;
  double io_s = 0;       // full scan: reading the stored bytes
  double decode_s = 0;   // full scan: decompression and decoding
  double overhead_s = 0; // full scan: per chunk and per sample fixed costs
  double random_s = 0;   // one random-order epoch of single-sample reads
  double scan_s() const { return io_s + decode_s + overhead_s; }
  // The objective the planner minimizes: scan + random_weight x random epoch.
  double total(const CostModel& m) const { return scan_s() + m.random_weight * random_s; }
  // Full-scan load time per GB of raw data.
  double scan_s_per_gb() const { return raw_bytes > 0 ? scan_s() / raw_bytes * 1e9 : 0; }
  Cost& operator+=(const Cost& o);
};

struct TensorPlan {
  std::string name;
  std::string htype;
  TensorSpec current;            // the tensor's layout now
  uint64_t chunk_target_bytes = 0;
  Compression sample_compression = Compression::kNone;
  Compression chunk_compression = Compression::kNone;
  int compression_level = 0;     // zstd level; 0 = default
  std::string why;               // the reason, in a sentence
  TensorStats stats;
  Cost current_cost, planned_cost;
  bool changes() const;          // the plan differs from the current layout
};

struct LayoutPlan {
  std::string strategy;          // "data" or "workload"
  CostModel model;
  std::vector<TensorPlan> tensors;
  // Tensors read together, given the same rows per chunk (chunk row boundaries aligned).
  std::vector<std::vector<std::string>> groups;
  // A new row order (empty: keep the rows as they are): row i of the result is row
  // order[i] now; see docs/layout.md "Row reorders".
  std::vector<uint64_t> order;
  std::string order_tensor;      // written with each row's position before the reorder
  std::string order_why;
  std::string workload;          // the trace summary the plan was made from (workload)
  Cost current_cost, planned_cost;

  // A human-readable table: per tensor the layout now and planned, why, and the costs.
  std::string explain() const;
  std::string to_json() const;
  // The rechunk that applies the plan (only tensors whose layout changes, unless a
  // reorder rewrites them all).
  RechunkOptions to_rechunk_options() const;
};

struct PlanOptions {
  std::string strategy = "data";             // "data" or "workload"
  std::shared_ptr<const AccessTrace> trace;  // required by "workload"
  std::vector<std::string> tensors;          // empty: every tensor
  uint64_t sample_budget_bytes = 4ull << 20; // raw bytes sampled per tensor
  CostModel model;
  bool reorder = true;                       // workload: may reorder rows
  std::string order_tensor = "orig_index";
  uint64_t seed = 0;
};

Result<LayoutPlan> plan(const Dataset& dataset, const PlanOptions& options = {});

// The data-driven plan of one tensor from samples in memory (ingest plans a tensor from
// its first batch before creating it). `samples` are the values as stored before
// compression (for image tensors: `encoded` holds the image files' bytes and the planner
// measures their decoding). `rows` is the expected number of rows (0: unknown, taken as
// 100 x the samples). The spec's name, htype and current settings are kept in the plan.
struct SampleSet {
  std::vector<std::string_view> raw;      // per sample: the bytes as stored uncompressed
  std::vector<Shape> shapes;
  DType dtype = DType::kUInt8;
  Compression image_codec = Compression::kNone;  // jpeg/png: `encoded` holds the files
  std::vector<std::string_view> encoded;
};
Result<TensorPlan> plan_tensor(const TensorSpec& spec, const SampleSet& samples, uint64_t rows,
                               const CostModel& model = {});

// A graph as CSR: the neighbours of row i are indices[indptr[i] .. indptr[i + 1]).
struct Csr {
  std::vector<uint64_t> indptr{0};
  std::vector<int64_t> indices;
  uint64_t rows() const { return indptr.size() - 1; }
};
// Reads a tensor of htype neighbors into a CSR (ids outside [0, rows) are an error).
Result<Csr> read_csr(const Dataset& dataset, const std::string& tensor);

// Orders of rows for locality, used by the workload strategy (exposed for tests and
// tools). Reverse Cuthill-McKee (over the symmetrized graph; each connected component
// from a node of least degree, breadth-first, neighbours by increasing degree; reversed):
// neighbours end up close together.
std::vector<uint64_t> reverse_cuthill_mckee(const Csr& graph);
// Communities found by label propagation over the symmetrized graph (each node takes its
// neighbours' most frequent label, in a seeded random visiting order, until under 0.1 % of
// nodes change or 20 passes), then rows grouped by community: neighbours in graphs with
// community structure end up close together.
std::vector<uint64_t> community_order(const Csr& graph, uint64_t seed = 0);
// A stable order by class: rows of class 0 first, each class in row order.
std::vector<uint64_t> order_by_class(const std::vector<int64_t>& labels);
// Mean |position(i) - position(j)| over the edges (i, j) with rows placed in `order`
// (row order[k] at position k): small = neighbours close together (the bandwidth-like
// measure of a reorder's locality).
double mean_edge_distance(const Csr& graph, const std::vector<uint64_t>& order);

}  // namespace gtn::layout
