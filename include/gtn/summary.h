// Dataset summaries: per tensor what it holds (dtypes, shapes, value statistics, class
// counts, text lengths) and how it is stored (bytes raw and stored, chunks), over every row
// of a dataset or over a view's rows (docs/summary.md). Implemented in src/gtn/query/.
//
//   auto s = gtn::summarize(*ds);
//   std::cout << gtn::summary_to_text(*s);
//   gtn::plot_summary(*s, "summary.png");
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gtn/dataset.h"
#include "gtn/result.h"
#include "gtn/tensor.h"

namespace gtn {

// Counts over bins [edges[i], edges[i+1]); the last bin also holds edges.back() (numpy's
// np.histogram convention). counts.size() + 1 == edges.size(); both empty when nothing
// was counted.
struct Histogram {
  std::vector<double> edges;
  std::vector<uint64_t> counts;
};

// Statistics of a set of numbers. NaN and +-inf are counted apart and left out of
// everything else; std is the population standard deviation (numpy's default, ddof=0).
struct ValueStats {
  uint64_t count = 0;      // finite values
  uint64_t nan_count = 0;
  uint64_t inf_count = 0;  // +inf and -inf
  double min = 0, max = 0, mean = 0, std = 0;  // 0 when count == 0 (null in JSON)
  Histogram histogram;     // of the finite values
};

// Lengths (text in characters, i.e. Unicode code points) with exact percentiles.
struct LengthStats {
  uint64_t count = 0;
  uint64_t min = 0, max = 0;
  double mean = 0;
  // (q, value) for q in 1, 5, 25, 50, 75, 95, 99, interpolated linearly between the
  // nearest ranks (numpy's default np.percentile).
  std::vector<std::pair<int, double>> percentiles;
  Histogram histogram;
};

// One class of a class_label tensor.
struct ClassCount {
  int64_t index = 0;
  std::string name;    // the class name, or the index as text when it has none
  uint64_t count = 0;  // labels with this index (a multi-label sample counts once per label)
};

// A tensor's storage in the dataset state summarized (the whole tensor, even for a view).
struct StorageStats {
  uint64_t num_chunks = 0;      // distinct chunk files
  uint64_t num_slices = 0;      // runs of the chunk table (more than chunks after updates/deletions)
  uint64_t stored_bytes = 0;    // bytes of the distinct chunk files
  uint64_t raw_bytes = 0;       // bytes of the samples in chunk files before compression
  uint64_t buffered_samples = 0;  // samples a writer holds that are not in a chunk file yet
  uint64_t min_chunk_bytes = 0, max_chunk_bytes = 0;  // smallest and largest chunk file
  Histogram file_bytes;         // sizes of the chunk files
  Histogram samples_per_slice;  // samples per run of the chunk table
};

struct TensorSummary {
  std::string name;
  std::string htype;
  DType dtype = DType::kFloat32;
  Compression sample_compression = Compression::kNone;
  Compression chunk_compression = Compression::kNone;
  std::vector<std::string> class_names;

  uint64_t count = 0;        // samples summarized (a view's repeated rows count each time)
  uint64_t empty_count = 0;  // samples with no elements
  Shape min_shape, max_shape;  // elementwise over non-empty samples; empty if none
  // The most common shapes of non-empty samples, most frequent first (ties: in
  // lexicographic order), at most SummaryOptions::max_shapes; distinct_shapes counts them all,
  // up to SummaryOptions::max_tracked_shapes (shapes_capped when there were more).
  std::vector<std::pair<Shape, uint64_t>> shape_counts;
  uint64_t distinct_shapes = 0;
  bool shapes_capped = false;
  Histogram sample_sizes;    // elements per sample (bytes for text and bytes tensors)
  uint64_t bytes = 0;        // bytes of the summarized samples, uncompressed

  StorageStats storage;
  double compression_ratio = 0;  // storage.raw_bytes / storage.stored_bytes (0 if nothing stored)

  std::optional<ValueStats> values;        // numeric and bool tensors, over every element
  std::vector<ClassCount> class_counts;    // class_label tensors: every named class, then others
  uint64_t labels = 0;                     // class_label tensors: labels counted
  std::optional<LengthStats> text_lengths; // text tensors (htype text, json)
};

struct DatasetSummary {
  std::string version;          // the branch, or the commit id when one is checked out
  std::string commit;           // the commit the state is, or is based on ("" before any)
  bool uncommitted = false;
  uint64_t dataset_rows = 0;    // rows of the dataset state
  bool is_view = false;         // rows were given
  uint64_t rows = 0;            // rows summarized
  std::vector<TensorSummary> tensors;
};

struct SummaryOptions {
  int n_threads = 0;             // 0: every core; a writable dataset is read by one thread
  std::vector<std::string> tensors;  // tensors to summarize; empty: all, in dataset order
  int histogram_bins = 32;       // at most this many bins (integers get one bin per value when fewer)
  int max_shapes = 10;           // shapes listed in TensorSummary::shape_counts
  int max_tracked_shapes = 4096; // distinct shapes counted before shapes_capped is set
};

// Summarizes `dataset`'s current state: every row, or the rows `rows` lists (a view: any
// order, repeats allowed, each counted as often as it is listed). Streams each tensor in
// up to two passes (statistics, then the histograms that need their ranges; the second
// reads values only for numeric dtypes wider than one byte, else sample shapes): memory
// stays bounded by the chunk cache, the threads' current samples and the distinct shapes
// and text lengths seen. OutOfRange for a row past the end,
// NotFound for an unknown tensor in options.tensors.
Result<DatasetSummary> summarize(const Dataset& dataset, const std::vector<uint64_t>* rows = nullptr,
                                 const SummaryOptions& options = {});

// The summary as a JSON object (docs/summary.md lists the fields).
std::string summary_to_json(const DatasetSummary& summary, int indent = 2);
// The summary as readable text, one block per tensor.
std::string summary_to_text(const DatasetSummary& summary);
// Draws the distributions (value histograms, class counts, text lengths, sample sizes,
// chunk sizes) as a grid of panels into a PNG file at `png_path`.
Status plot_summary(const DatasetSummary& summary, const std::string& png_path);

}  // namespace gtn
