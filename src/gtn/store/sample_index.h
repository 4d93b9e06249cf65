// The per-chunk sample index: where each sample's bytes lie in the chunk's data region
// (PositionEncoder) and what shape it has (ShapeEncoder). Both are run-length encoded:
// a run of samples with the same byte length (or shape) costs one entry, so fixed-size
// tensors cost O(1) per chunk and ragged ones degrade to explicit per-sample entries.
// Lookup is a binary search over the runs (O(1) for a single run).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gtn/status.h"
#include "gtn/store/coding.h"
#include "gtn/tensor.h"

namespace gtn::store {

inline constexpr size_t kMaxRank = 32;
// Every dimension of a stored sample is below 2^40 and its element count below 2^48: far
// beyond any real sample, small enough that byte sizes never overflow. Writers refuse what
// readers would refuse (docs/format.md, "Sample index encoders").
inline constexpr uint64_t kMaxDim = 1ull << 40;
inline constexpr uint64_t kMaxNumel = 1ull << 48;
// InvalidArgument unless `shape` is within kMaxRank, kMaxDim and kMaxNumel (no negative dims).
Status check_shape_limits(const Shape& shape);

class PositionEncoder {
 public:
  // Adds `count` samples of `length` bytes each, stored right after the previous ones.
  void append(uint64_t length, uint32_t count = 1);
  // Removes the last sample (num_samples() > 0).
  void pop_back();
  uint32_t num_samples() const { return ends_.empty() ? 0 : ends_.back(); }
  uint64_t total_bytes() const { return total_; }
  size_t num_runs() const { return ends_.size(); }
  // Byte offset and length of sample `j` (j < num_samples()).
  void locate(uint32_t j, uint64_t* offset, uint64_t* length) const {
    size_t r = run_of(j);
    uint32_t first = r ? ends_[r - 1] : 0;
    const Run& run = runs_[r];  // one cache line for both fields
    *length = run.length;
    *offset = run.start + static_cast<uint64_t>(j - first) * run.length;
  }
  // Calls f(j, offset, length) for samples j in [begin, end) in order: one search, then a
  // walk along the runs (a ragged chunk's rows cost O(1) each, not a search each).
  template <typename F>
  void for_each(uint32_t begin, uint32_t end, F&& f) const {
    if (begin >= end) return;
    size_t r = run_of(begin);
    uint32_t j = begin;
    while (j < end) {
      const uint32_t first = r ? ends_[r - 1] : 0;
      const uint32_t stop = std::min(end, ends_[r]);
      const Run& run = runs_[r];
      for (uint64_t off = run.start + static_cast<uint64_t>(j - first) * run.length; j < stop; ++j, off += run.length)
        f(j, off, run.length);
      ++r;
    }
  }
  // The end (exclusive) of the run holding sample `j`: samples [j, run_end(j)) have the
  // same length and lie back to back.
  uint32_t run_end(uint32_t j) const { return ends_[run_of(j)]; }
  // Serialized form: u32 run count, then per run u32 end (exclusive) and u64 length.
  void encode(std::string* out) const;
  // Parses what encode() wrote; Corruption on malformed input.
  static Status decode(ByteReader* in, PositionEncoder* out);

 private:
  // One run (fixed size): run 0. One run per sample (ragged): run j. Else binary search.
  size_t run_of(uint32_t j) const {
    if (ends_.size() == 1) return 0;
    if (ends_.size() == ends_.back()) return j;
    return static_cast<size_t>(std::upper_bound(ends_.begin(), ends_.end(), j) - ends_.begin());
  }
  struct Run {
    uint64_t start;   // byte offset of the run's first sample
    uint64_t length;  // bytes of each of its samples
  };
  std::vector<uint32_t> ends_;
  std::vector<Run> runs_;
  uint64_t total_ = 0;
};

class ShapeEncoder {
 public:
  // Adds `count` samples of `shape`.
  void append(const Shape& shape, uint32_t count = 1);
  // Removes the last sample (num_samples() > 0).
  void pop_back();
  uint32_t num_samples() const { return ends_.empty() ? 0 : ends_.back(); }
  size_t num_runs() const { return ends_.size(); }
  // The shape of sample `j` (j < num_samples()).
  Shape shape(uint32_t j) const {
    size_t rank;
    const int64_t* d = dims_of(run_of(j), &rank);
    return Shape(d, d + rank);
  }
  // Whether sample `j` has `shape` (no allocation).
  bool has_shape(uint32_t j, const Shape& shape) const {
    size_t rank;
    const int64_t* d = dims_of(run_of(j), &rank);
    return rank == shape.size() && std::equal(shape.begin(), shape.end(), d);
  }
  // The end (exclusive) of the run holding sample `j`: samples [j, run_end(j)) share its shape.
  uint32_t run_end(uint32_t j) const { return ends_[run_of(j)]; }
  // Elementwise min and max over the runs whose shape has numel > 0 (false if none).
  bool bounds(Shape* min_shape, Shape* max_shape) const;
  // Serialized form: u32 run count, then per run u32 end (exclusive), u8 rank, rank x u64 dims.
  void encode(std::string* out) const;
  static Status decode(ByteReader* in, ShapeEncoder* out);

 private:
  size_t run_of(uint32_t j) const {
    if (ends_.size() == 1) return 0;
    if (ends_.size() == ends_.back()) return j;
    return static_cast<size_t>(std::upper_bound(ends_.begin(), ends_.end(), j) - ends_.begin());
  }
  // When every run has the same rank (the usual case: a text tensor has one run of rank 1
  // per sample) its dims sit at r x rank, found without touching ranks_ and dim_starts_.
  const int64_t* dims_of(size_t r, size_t* rank) const {
    if (common_rank_ >= 0) {
      *rank = static_cast<size_t>(common_rank_);
      return dims_.data() + r * *rank;
    }
    *rank = ranks_[r];
    return dims_.data() + dim_starts_[r];
  }
  static constexpr int kNoRuns = -1, kMixedRanks = -2;
  void note_rank(size_t rank) {
    if (common_rank_ == kNoRuns) {
      common_rank_ = static_cast<int>(rank);
    } else if (common_rank_ != static_cast<int>(rank)) {
      common_rank_ = kMixedRanks;
    }
  }
  int common_rank_ = kNoRuns;
  std::vector<uint32_t> ends_;
  std::vector<uint8_t> ranks_;
  std::vector<uint32_t> dim_starts_;
  std::vector<int64_t> dims_;
};

}  // namespace gtn::store
