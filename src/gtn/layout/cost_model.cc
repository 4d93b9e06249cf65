#include "gtn/layout/cost_model.h"

#include <algorithm>
#include <cmath>
#include <thread>

namespace gtn::layout {

Cost& Cost::operator+=(const Cost& o) {
  stored_bytes += o.stored_bytes;
  raw_bytes += o.raw_bytes;
  io_s += o.io_s;
  decode_s += o.decode_s;
  overhead_s += o.overhead_s;
  random_s += o.random_s;
  return *this;
}

unsigned scan_threads(const CostModel& model) {
  if (model.scan_threads) return model.scan_threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

std::optional<CodecMeasure> measure_for(const TensorStats& stats, const Candidate& c) {
  if (stats.image && c.sample == stats.image->codec) return stats.image;
  Compression codec = c.chunk != Compression::kNone ? c.chunk : c.sample;
  if (codec == Compression::kNone) return CodecMeasure{};
  bool chunk = c.chunk != Compression::kNone;
  int level = codec == Compression::kZstd ? (c.level ? c.level : 3) : 0;
  for (const auto& m : stats.codecs) {
    if (m.codec == codec && m.chunk == chunk && m.level == level) return m;
  }
  return std::nullopt;
}

Cost predict(const TensorStats& stats, const Candidate& c, const CostModel& model) {
  Cost cost;
  const double n = static_cast<double>(stats.rows);
  const double m = stats.mean_bytes;
  const double bw = model.read_bytes_per_s > 0 ? model.read_bytes_per_s : 1e9;
  auto measure = measure_for(stats, c);
  if (!measure) measure = CodecMeasure{};  // unmeasured: as stored plainly
  cost.raw_bytes = n * m;
  cost.stored_bytes = cost.raw_bytes * measure->ratio;
  const double chunk = static_cast<double>(std::max<uint64_t>(c.chunk_bytes, 1));
  // The bytes a chunk target counts: sample bytes as stored in the chunk before chunk
  // compression.
  const double sample_stored = m * (c.chunk == Compression::kNone ? measure->ratio : 1.0);
  double chunks;
  if (sample_stored > chunk) {
    chunks = n * std::ceil(sample_stored / chunk);  // tiled: each sample over several files
  } else {
    double per_chunk = std::max(1.0, std::floor(chunk / std::max(sample_stored, 1.0)));
    chunks = std::max(1.0, std::ceil(n / per_chunk));
  }
  // Reading is bound by the storage; decoding and the fixed costs spread over the scan
  // threads, at most one per chunk (a scan splits at chunk boundaries).
  const double par = std::max(1.0, std::min<double>(scan_threads(model), chunks));
  cost.io_s = cost.stored_bytes / bw;
  cost.decode_s = cost.raw_bytes * measure->decode_s_per_byte / par;
  cost.overhead_s = (chunks * model.chunk_seconds + n * model.sample_seconds) / par;
  // One random-order epoch of single-sample reads.
  if (c.chunk != Compression::kNone) {
    double chunk_raw = std::min(cost.raw_bytes, chunk);
    double misses = cost.raw_bytes > model.chunk_cache_bytes ? n : chunks;
    double per_miss = chunk_raw * measure->ratio / bw + chunk_raw * measure->decode_s_per_byte;
    cost.random_s = misses * per_miss + n * model.sample_seconds + chunks * model.chunk_seconds;
  } else {
    double per_read = std::max(m * measure->ratio, model.page_bytes);
    double io_bytes = cost.stored_bytes <= model.memory_bytes ? std::min(n * per_read, std::max(cost.stored_bytes, per_read))
                                                              : n * per_read;
    cost.random_s = io_bytes / bw + n * (m * measure->decode_s_per_byte + model.sample_seconds) +
                    chunks * model.chunk_seconds;
  }
  return cost;
}

}  // namespace gtn::layout
