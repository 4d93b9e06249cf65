// summarize(): per-tensor statistics over a dataset's rows or a view's rows.
//
// Each tensor is read in two passes over the rows, both split into blocks that worker
// threads take in turn. Pass 1 counts shapes, empties, bytes, classes and text lengths and
// takes each block's min/max/mean/M2 of the values; pass 2 fills the histograms, whose
// bins need pass 1's ranges (it reads values only for numeric tensors, only sample shapes
// from chunk headers otherwise, and is skipped when nothing needs binning). Nothing grows
// with the number of rows but the per-block moments (three numbers per kBlockRows rows);
// the shapes and text lengths kept grow with distinct values (shapes capped); a thread
// holds one sample at a time and the chunk cache bounds what the dataset keeps. Block
// moments are merged in block order, so the result does not depend on the thread count.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "gtn/summary.h"

namespace gtn {
namespace {

constexpr uint64_t kBlockRows = 2048;
constexpr int kPercentiles[] = {1, 5, 25, 50, 75, 95, 99};

enum class Kind { kNumeric, kText, kBytes };

Kind kind_of(DType d) {
  if (d == DType::kText) return Kind::kText;
  if (d == DType::kBytes) return Kind::kBytes;
  return Kind::kNumeric;
}

bool dtype_is_integer(DType d) {
  switch (d) {
    case DType::kBool:
    case DType::kInt8:
    case DType::kInt16:
    case DType::kInt32:
    case DType::kInt64:
    case DType::kUInt8:
    case DType::kUInt16:
    case DType::kUInt32:
    case DType::kUInt64: return true;
    default: return false;
  }
}

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1f;
  const uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: renormalize
      int e = -1;
      uint32_t m = mant;
      do {
        ++e;
        m <<= 1;
      } while ((m & 0x400u) == 0);
      bits = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (m & 0x3ffu) << 13;
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | mant << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | mant << 13;
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// Calls fn(double) for each element of a numeric array.
template <typename Fn>
void for_each_value(const Array& a, Fn&& fn) {
  const int64_t n = a.numel();
  auto loop = [&](auto tag) {
    using T = decltype(tag);
    const T* p = a.data_as<T>();
    for (int64_t i = 0; i < n; ++i) fn(static_cast<double>(p[i]));
  };
  switch (a.dtype()) {
    case DType::kBool: {
      const uint8_t* p = a.data_as<uint8_t>();
      for (int64_t i = 0; i < n; ++i) fn(p[i] ? 1.0 : 0.0);
      return;
    }
    case DType::kInt8: return loop(int8_t{});
    case DType::kInt16: return loop(int16_t{});
    case DType::kInt32: return loop(int32_t{});
    case DType::kInt64: return loop(int64_t{});
    case DType::kUInt8: return loop(uint8_t{});
    case DType::kUInt16: return loop(uint16_t{});
    case DType::kUInt32: return loop(uint32_t{});
    case DType::kUInt64: return loop(uint64_t{});
    case DType::kFloat16: {
      const uint16_t* p = a.data_as<uint16_t>();
      for (int64_t i = 0; i < n; ++i) fn(static_cast<double>(half_to_float(p[i])));
      return;
    }
    case DType::kFloat32: return loop(float{});
    case DType::kFloat64: return loop(double{});
    case DType::kText:
    case DType::kBytes: return;
  }
}

// Calls fn(int64_t) for each class label of an integer array (floats: their finite values,
// truncated and clamped to int64; values past INT64_MAX of uint64 arrays wrap, as numpy's
// astype(int64) does).
template <typename Fn>
void for_each_label(const Array& a, Fn&& fn) {
  const int64_t n = a.numel();
  auto loop = [&](auto tag) {
    using T = decltype(tag);
    const T* p = a.data_as<T>();
    for (int64_t i = 0; i < n; ++i) fn(static_cast<int64_t>(p[i]));
  };
  switch (a.dtype()) {
    case DType::kBool:
    case DType::kUInt8: return loop(uint8_t{});
    case DType::kInt8: return loop(int8_t{});
    case DType::kInt16: return loop(int16_t{});
    case DType::kInt32: return loop(int32_t{});
    case DType::kInt64: return loop(int64_t{});
    case DType::kUInt16: return loop(uint16_t{});
    case DType::kUInt32: return loop(uint32_t{});
    case DType::kUInt64: return loop(uint64_t{});
    default:
      for_each_value(a, [&](double v) {
        if (!std::isfinite(v)) return;
        constexpr double kLimit = 9.2233720368547748e18;  // the largest double below 2^63
        fn(static_cast<int64_t>(std::clamp(v, -kLimit, kLimit)));
      });
  }
}

// Unicode code points of UTF-8 text (bytes that do not start a sequence are not counted;
// an invalid lead byte counts as one).
uint64_t utf8_length(std::string_view s) {
  uint64_t n = 0;
  for (unsigned char c : s) n += (c & 0xc0u) != 0x80u;
  return n;
}

// Count, mean and sum of squared deviations of a set of values (Chan et al. merge).
struct Moments {
  uint64_t n = 0;
  double mean = 0, m2 = 0;
  void merge(const Moments& o) {
    if (o.n == 0) return;
    if (n == 0) {
      *this = o;
      return;
    }
    const double total = static_cast<double>(n + o.n);
    const double delta = o.mean - mean;
    mean += delta * static_cast<double>(o.n) / total;
    m2 += o.m2 + delta * delta * static_cast<double>(n) * static_cast<double>(o.n) / total;
    n += o.n;
  }
};

// Bins for values in [lo, hi]: integers get one bin per value when there are at most
// max_bins of them, else bins of a whole width; reals get max_bins equal bins.
Histogram make_bins(double lo, double hi, bool integer, int max_bins) {
  Histogram h;
  max_bins = std::max(1, max_bins);
  if (integer) {
    const double range = hi - lo + 1;
    const double width = std::max(1.0, std::ceil(range / max_bins));
    const int bins = static_cast<int>(std::ceil(range / width));
    for (int i = 0; i <= bins; ++i) h.edges.push_back(lo + i * width);
  } else if (lo == hi) {
    h.edges = {lo - 0.5, lo + 0.5};
  } else if (std::isfinite(hi - lo)) {  // numpy's linspace
    const double step = (hi - lo) / max_bins;
    for (int i = 0; i < max_bins; ++i) h.edges.push_back(lo + i * step);
    h.edges.push_back(hi);
  } else {  // a range past the largest double: interpolate without forming hi - lo
    for (int i = 0; i < max_bins; ++i) {
      const double t = static_cast<double>(i) / max_bins;
      h.edges.push_back(lo * (1 - t) + hi * t);
    }
    h.edges.push_back(hi);
  }
  h.counts.assign(h.edges.size() - 1, 0);
  return h;
}

// The bin of v in `edges` (v within [edges.front(), edges.back()]).
size_t bin_of(const std::vector<double>& edges, double v) {
  const size_t n = edges.size() - 1;
  const double f = (v - edges.front()) / (edges.back() - edges.front()) * static_cast<double>(n);
  size_t i = 0;  // a first guess (NaN when the range overflows), corrected below
  if (f >= static_cast<double>(n)) {
    i = n - 1;
  } else if (f > 0) {
    i = static_cast<size_t>(f);
  }
  while (i > 0 && v < edges[i]) --i;
  while (i + 1 < n && v >= edges[i + 1]) ++i;
  return i;
}

Histogram histogram_of_counts(const std::map<uint64_t, uint64_t>& counts, int max_bins) {
  if (counts.empty()) return {};
  Histogram h = make_bins(static_cast<double>(counts.begin()->first), static_cast<double>(counts.rbegin()->first),
                          true, max_bins);
  for (const auto& [v, c] : counts) h.counts[bin_of(h.edges, static_cast<double>(v))] += c;
  return h;
}

// numpy's default percentile (linear between closest ranks) of the values counted in
// `counts` (value -> how many).
std::vector<std::pair<int, double>> percentiles_of(const std::map<uint64_t, uint64_t>& counts, uint64_t total) {
  std::vector<std::pair<int, double>> out;
  if (total == 0) return out;
  auto value_at = [&](uint64_t rank) {  // 0-based rank in sorted order
    uint64_t seen = 0;
    for (const auto& [v, c] : counts) {
      seen += c;
      if (rank < seen) return static_cast<double>(v);
    }
    return static_cast<double>(counts.rbegin()->first);
  };
  for (int q : kPercentiles) {
    const double h = static_cast<double>(total - 1) * q / 100.0;
    const auto lo = static_cast<uint64_t>(std::floor(h));
    const double a = value_at(lo);
    const double b = lo + 1 < total ? value_at(lo + 1) : a;
    out.emplace_back(q, a + (h - static_cast<double>(lo)) * (b - a));
  }
  return out;
}

// What one thread gathers in pass 1.
struct Pass1 {
  uint64_t count = 0, empty = 0, bytes = 0;
  bool any_shape = false;
  Shape min_shape, max_shape;
  std::map<Shape, uint64_t> shapes;
  bool shapes_capped = false;
  int64_t min_size = std::numeric_limits<int64_t>::max(), max_size = -1;
  uint64_t nan = 0, inf = 0;
  double min = std::numeric_limits<double>::infinity(), max = -std::numeric_limits<double>::infinity();
  std::map<int64_t, uint64_t> classes;
  uint64_t labels = 0;
  std::map<uint64_t, uint64_t> lengths;
  std::vector<uint64_t> byte_counts;  // one-byte dtypes: count of each value (index = value + offset)
};

// Runs body(thread, block) over blocks [0, num_blocks) on up to n_threads threads; stops
// at the first error and returns it.
template <typename Body>
Status parallel_blocks(uint64_t num_blocks, int n_threads, Body&& body) {
  std::atomic<uint64_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  Status first_error;
  auto work = [&](int thread) {
    for (;;) {
      const uint64_t b = next.fetch_add(1);
      if (b >= num_blocks || failed.load()) return;
      Status s = body(thread, b);
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (!failed.exchange(true)) first_error = std::move(s);
        return;
      }
    }
  };
  if (n_threads <= 1 || num_blocks <= 1) {
    work(0);
  } else {
    std::vector<std::thread> threads;
    for (int t = 0; t < n_threads; ++t) threads.emplace_back(work, t);
    for (auto& t : threads) t.join();
  }
  return first_error;
}

class TensorSummarizer {
 public:
  TensorSummarizer(const Dataset& ds, size_t tensor, const std::vector<uint64_t>* rows, uint64_t num_rows,
                   const SummaryOptions& options, int n_threads)
      : ds_(ds), tensor_(tensor), rows_(rows), num_rows_(num_rows), options_(options), n_threads_(n_threads) {}

  Status run(TensorSummary& out) {
    dtype_ = out.dtype;
    kind_ = kind_of(out.dtype);
    is_class_label_ = out.htype == "class_label" && kind_ == Kind::kNumeric;
    byte_values_ = out.dtype == DType::kUInt8 || out.dtype == DType::kInt8 || out.dtype == DType::kBool;
    byte_offset_ = out.dtype == DType::kInt8 ? 128 : 0;
    const uint64_t num_blocks = (num_rows_ + kBlockRows - 1) / kBlockRows;
    const int threads = static_cast<int>(std::min<uint64_t>(std::max(1, n_threads_), std::max<uint64_t>(1, num_blocks)));

    // Pass 1.
    std::vector<Pass1> pass1(threads);
    std::vector<Moments> block_moments(num_blocks);
    GTN_RETURN_IF_ERROR(parallel_blocks(num_blocks, threads, [&](int t, uint64_t b) {
      return pass1_block(b, pass1[t], block_moments[b]);
    }));
    Pass1 total = merge(pass1);
    Moments moments;
    for (const auto& m : block_moments) moments.merge(m);
    fill_pass1(total, moments, out);

    // Pass 2: histograms of sample sizes and values.
    Histogram sizes;
    if (total.max_size >= 0) {
      sizes = make_bins(static_cast<double>(total.min_size), static_cast<double>(total.max_size), true,
                        options_.histogram_bins);
    }
    Histogram values;
    if (kind_ == Kind::kNumeric && moments.n > 0) {
      values = make_bins(total.min, total.max, dtype_is_integer(out.dtype), options_.histogram_bins);
    }
    // One-byte values were counted in pass 1 (images need not be decoded twice).
    Histogram values_to_read = values;
    if (byte_values_ && !values.edges.empty()) {
      for (size_t i = 0; i < total.byte_counts.size(); ++i) {
        if (total.byte_counts[i] == 0) continue;
        values.counts[bin_of(values.edges, static_cast<double>(static_cast<int>(i) - byte_offset_))] +=
            total.byte_counts[i];
      }
      values_to_read = {};
    }
    // Samples of one size need no second look for their histogram.
    const bool count_sizes = !sizes.edges.empty() && total.min_size != total.max_size;
    if (!sizes.edges.empty() && !count_sizes) sizes.counts[0] = total.count;
    if (count_sizes || !values_to_read.edges.empty()) {
      Histogram no_sizes;
      std::vector<Histogram> size_parts(threads, count_sizes ? sizes : no_sizes), value_parts(threads, values_to_read);
      GTN_RETURN_IF_ERROR(parallel_blocks(num_blocks, threads, [&](int t, uint64_t b) {
        return pass2_block(b, size_parts[t], value_parts[t]);
      }));
      for (int t = 0; t < threads; ++t) {
        for (size_t i = 0; i < size_parts[t].counts.size(); ++i) sizes.counts[i] += size_parts[t].counts[i];
        for (size_t i = 0; i < value_parts[t].counts.size(); ++i) values.counts[i] += value_parts[t].counts[i];
      }
    }
    out.sample_sizes = std::move(sizes);
    if (out.values) out.values->histogram = std::move(values);
    return Status::OK();
  }

 private:
  uint64_t row_at(uint64_t k) const { return rows_ ? (*rows_)[k] : k; }

  Status pass1_block(uint64_t block, Pass1& acc, Moments& block_moments) const {
    const uint64_t begin = block * kBlockRows, end = std::min(num_rows_, begin + kBlockRows);
    for (uint64_t k = begin; k < end; ++k) {
      const uint64_t row = row_at(k);
      Shape shape;
      Array a;
      if (kind_ == Kind::kBytes) {
        GTN_ASSIGN_OR_RETURN(shape, ds_.sample_shape(tensor_, row));
      } else {
        GTN_ASSIGN_OR_RETURN(a, ds_.read(tensor_, row));
        shape = a.shape();
      }
      const int64_t numel = shape_numel(shape);
      ++acc.count;
      acc.bytes += static_cast<uint64_t>(numel) * dtype_size(dtype_);
      acc.min_size = std::min(acc.min_size, numel);
      acc.max_size = std::max(acc.max_size, numel);
      if (kind_ == Kind::kText) {
        const uint64_t len = utf8_length(a.as_string_view());
        ++acc.lengths[len];
      }
      if (numel == 0) {
        ++acc.empty;
        continue;
      }
      count_shape(shape, acc);
      if (kind_ != Kind::kNumeric) continue;
      Moments m;
      double sum = 0;
      if (byte_values_ && acc.byte_counts.empty()) acc.byte_counts.assign(256, 0);
      for_each_value(a, [&](double v) {
        if (byte_values_) ++acc.byte_counts[static_cast<int>(v) + byte_offset_];
        if (std::isnan(v)) {
          ++acc.nan;
        } else if (std::isinf(v)) {
          ++acc.inf;
        } else {
          ++m.n;
          sum += v;
          acc.min = std::min(acc.min, v);
          acc.max = std::max(acc.max, v);
        }
      });
      if (m.n > 0) {
        m.mean = sum / static_cast<double>(m.n);
        for_each_value(a, [&](double v) {
          if (std::isfinite(v)) m.m2 += (v - m.mean) * (v - m.mean);
        });
        block_moments.merge(m);
      }
      if (is_class_label_) {
        for_each_label(a, [&](int64_t label) {
          ++acc.classes[label];
          ++acc.labels;
        });
      }
    }
    return Status::OK();
  }

  void count_shape(const Shape& shape, Pass1& acc) const {
    if (!acc.any_shape) {
      acc.min_shape = acc.max_shape = shape;
      acc.any_shape = true;
    } else if (shape.size() == acc.min_shape.size()) {
      for (size_t i = 0; i < shape.size(); ++i) {
        acc.min_shape[i] = std::min(acc.min_shape[i], shape[i]);
        acc.max_shape[i] = std::max(acc.max_shape[i], shape[i]);
      }
    }
    auto it = acc.shapes.find(shape);
    if (it != acc.shapes.end()) {
      ++it->second;
    } else if (acc.shapes.size() < static_cast<size_t>(options_.max_tracked_shapes)) {
      acc.shapes.emplace(shape, 1);
    } else {
      acc.shapes_capped = true;
    }
  }

  Status pass2_block(uint64_t block, Histogram& sizes, Histogram& values) const {
    const uint64_t begin = block * kBlockRows, end = std::min(num_rows_, begin + kBlockRows);
    const bool read_values = !values.edges.empty(), count_sizes = !sizes.edges.empty();
    for (uint64_t k = begin; k < end; ++k) {
      const uint64_t row = row_at(k);
      if (read_values) {
        GTN_ASSIGN_OR_RETURN(Array a, ds_.read(tensor_, row));
        if (count_sizes) sizes.counts[bin_of(sizes.edges, static_cast<double>(a.numel()))] += 1;
        for_each_value(a, [&](double v) {
          if (std::isfinite(v)) ++values.counts[bin_of(values.edges, v)];
        });
      } else {
        GTN_ASSIGN_OR_RETURN(Shape shape, ds_.sample_shape(tensor_, row));
        sizes.counts[bin_of(sizes.edges, static_cast<double>(shape_numel(shape)))] += 1;
      }
    }
    return Status::OK();
  }

  static Pass1 merge(std::vector<Pass1>& parts) {
    Pass1 t;
    for (auto& p : parts) {
      t.count += p.count;
      t.empty += p.empty;
      t.bytes += p.bytes;
      t.min_size = std::min(t.min_size, p.min_size);
      t.max_size = std::max(t.max_size, p.max_size);
      if (p.any_shape) {
        if (!t.any_shape) {
          t.min_shape = p.min_shape;
          t.max_shape = p.max_shape;
          t.any_shape = true;
        } else if (p.min_shape.size() == t.min_shape.size()) {
          for (size_t i = 0; i < t.min_shape.size(); ++i) {
            t.min_shape[i] = std::min(t.min_shape[i], p.min_shape[i]);
            t.max_shape[i] = std::max(t.max_shape[i], p.max_shape[i]);
          }
        }
      }
      for (const auto& [s, c] : p.shapes) t.shapes[s] += c;
      t.shapes_capped = t.shapes_capped || p.shapes_capped;
      t.nan += p.nan;
      t.inf += p.inf;
      t.min = std::min(t.min, p.min);
      t.max = std::max(t.max, p.max);
      for (const auto& [c, n] : p.classes) t.classes[c] += n;
      t.labels += p.labels;
      for (const auto& [l, n] : p.lengths) t.lengths[l] += n;
      if (!p.byte_counts.empty()) {
        t.byte_counts.resize(256, 0);
        for (size_t i = 0; i < 256; ++i) t.byte_counts[i] += p.byte_counts[i];
      }
    }
    return t;
  }

  void fill_pass1(Pass1& t, const Moments& m, TensorSummary& out) const {
    out.count = t.count;
    out.empty_count = t.empty;
    out.bytes = t.bytes;
    out.min_shape = t.min_shape;
    out.max_shape = t.max_shape;
    const size_t cap = static_cast<size_t>(std::max(0, options_.max_tracked_shapes));
    out.shapes_capped = t.shapes_capped || t.shapes.size() > cap;
    out.distinct_shapes = std::min(t.shapes.size(), cap);
    std::vector<std::pair<Shape, uint64_t>> shapes(t.shapes.begin(), t.shapes.end());
    std::stable_sort(shapes.begin(), shapes.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    if (shapes.size() > static_cast<size_t>(std::max(0, options_.max_shapes))) shapes.resize(options_.max_shapes);
    out.shape_counts = std::move(shapes);

    if (kind_ == Kind::kNumeric) {
      ValueStats v;
      v.count = m.n;
      v.nan_count = t.nan;
      v.inf_count = t.inf;
      if (m.n > 0) {
        v.min = t.min;
        v.max = t.max;
        v.mean = m.mean;
        v.std = std::sqrt(m.m2 / static_cast<double>(m.n));
      }
      out.values = std::move(v);
    }
    if (is_class_label_) {
      for (size_t i = 0; i < out.class_names.size(); ++i) {
        auto it = t.classes.find(static_cast<int64_t>(i));
        out.class_counts.push_back({static_cast<int64_t>(i), out.class_names[i], it == t.classes.end() ? 0 : it->second});
      }
      for (const auto& [c, n] : t.classes) {
        if (c >= 0 && static_cast<size_t>(c) < out.class_names.size()) continue;
        out.class_counts.push_back({c, std::to_string(c), n});
      }
      out.labels = t.labels;
    }
    if (kind_ == Kind::kText) {
      LengthStats l;
      l.count = t.count;
      if (!t.lengths.empty()) {
        l.min = t.lengths.begin()->first;
        l.max = t.lengths.rbegin()->first;
        double sum = 0;
        for (const auto& [len, n] : t.lengths) sum += static_cast<double>(len) * static_cast<double>(n);
        l.mean = sum / static_cast<double>(t.count);
        l.percentiles = percentiles_of(t.lengths, t.count);
        l.histogram = histogram_of_counts(t.lengths, options_.histogram_bins);
      }
      out.text_lengths = std::move(l);
    }
  }

  const Dataset& ds_;
  size_t tensor_;
  const std::vector<uint64_t>* rows_;
  uint64_t num_rows_;
  const SummaryOptions& options_;
  int n_threads_;
  DType dtype_ = DType::kFloat32;
  Kind kind_ = Kind::kNumeric;
  bool is_class_label_ = false;
  bool byte_values_ = false;  // uint8, int8, bool: value counts kept in pass 1
  int byte_offset_ = 0;
};

Result<StorageStats> storage_of(const Dataset& ds, const std::string& name, const SummaryOptions& options) {
  GTN_ASSIGN_OR_RETURN(size_t t, ds.tensor_index(name));
  GTN_ASSIGN_OR_RETURN(std::vector<ChunkSpan> spans, ds.chunk_spans(t));
  StorageStats s;
  std::unordered_set<uint64_t> seen;
  std::map<uint64_t, uint64_t> file_sizes, slice_samples;
  uint64_t in_chunks = 0;
  for (const auto& span : spans) {
    if (span.files.empty()) continue;  // rows a writer still buffers
    uint64_t n = span.end - span.begin;
    ++s.num_slices;
    s.raw_bytes += span.raw_bytes;
    in_chunks += n;
    ++slice_samples[n];
    for (const auto& [id, bytes] : span.files) {
      if (!seen.insert(id).second) continue;
      ++s.num_chunks;
      s.stored_bytes += bytes;
      ++file_sizes[bytes];
    }
  }
  s.buffered_samples = ds.size() > in_chunks ? ds.size() - in_chunks : 0;
  if (!file_sizes.empty()) {
    s.min_chunk_bytes = file_sizes.begin()->first;
    s.max_chunk_bytes = file_sizes.rbegin()->first;
  }
  s.file_bytes = histogram_of_counts(file_sizes, options.histogram_bins);
  s.samples_per_slice = histogram_of_counts(slice_samples, options.histogram_bins);
  return s;
}

}  // namespace

Result<DatasetSummary> summarize(const Dataset& dataset, const std::vector<uint64_t>* rows,
                                 const SummaryOptions& options) {
  if (options.histogram_bins < 1) {
    return Status::InvalidArgument("histogram_bins must be at least 1, got " + std::to_string(options.histogram_bins));
  }
  DatasetSummary summary;
  summary.dataset_rows = dataset.size();
  summary.version = dataset.current_branch().empty() ? dataset.head_commit() : dataset.current_branch();
  summary.commit = dataset.head_commit();
  summary.uncommitted = dataset.has_uncommitted_changes();
  summary.is_view = rows != nullptr;
  summary.rows = rows ? rows->size() : dataset.size();
  if (rows) {
    for (size_t k = 0; k < rows->size(); ++k) {
      if ((*rows)[k] >= dataset.size()) {
        return Status::OutOfRange("row " + std::to_string((*rows)[k]) + " (position " + std::to_string(k) +
                                  " of the rows given) out of range for dataset of " +
                                  std::to_string(dataset.size()) + " rows");
      }
    }
  }
  std::vector<std::string> names = options.tensors.empty() ? dataset.tensor_names() : options.tensors;
  int n_threads = options.n_threads > 0 ? options.n_threads : static_cast<int>(std::thread::hardware_concurrency());
  if (!dataset.read_only()) n_threads = 1;  // a writable Dataset is used from one thread at a time
  std::unordered_set<std::string> done;
  for (const auto& name : names) {
    if (!done.insert(name).second) continue;  // a tensor named twice is summarized once
    GTN_ASSIGN_OR_RETURN(size_t index, dataset.tensor_index(name));
    GTN_ASSIGN_OR_RETURN(TensorSpec spec, dataset.tensor_spec(name));
    TensorSummary t;
    t.name = name;
    t.htype = spec.htype;
    t.dtype = spec.dtype.value_or(DType::kFloat32);
    t.sample_compression = spec.sample_compression;
    t.chunk_compression = spec.chunk_compression;
    t.class_names = spec.class_names;
    GTN_ASSIGN_OR_RETURN(t.storage, storage_of(dataset, name, options));
    if (t.storage.stored_bytes > 0) {
      t.compression_ratio = static_cast<double>(t.storage.raw_bytes) / static_cast<double>(t.storage.stored_bytes);
    }
    TensorSummarizer summarizer(dataset, index, rows, summary.rows, options, n_threads);
    GTN_RETURN_IF_ERROR(summarizer.run(t));
    summary.tensors.push_back(std::move(t));
  }
  return summary;
}

}  // namespace gtn
