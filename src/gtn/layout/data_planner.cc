#include "gtn/layout/data_planner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

#include "gtn/layout/codec_probe.h"
#include "gtn/layout/cost_model.h"

namespace gtn::layout {
namespace {

// A plan changes the current codec only for a predicted gain above this (codec costs are
// timed on this machine and vary by several percent between runs), and the chunk size for
// one above kKeepChunkMargin (its cost comes from the model's constants alone).
constexpr double kKeepMargin = 1.10;
constexpr double kKeepChunkMargin = 1.02;


bool is_image_codec(Compression c) { return c == Compression::kJpeg || c == Compression::kPng; }

std::string codec_label(Compression c, int level) {
  std::string s(compression_name(c));
  if (c == Compression::kZstd) s += ":" + std::to_string(level ? level : 3);
  return s;
}

void size_stats(std::vector<uint64_t> sizes, TensorStats* st) {
  if (sizes.empty()) return;
  double sum = 0;
  for (uint64_t s : sizes) sum += static_cast<double>(s);
  st->mean_bytes = sum / static_cast<double>(sizes.size());
  std::sort(sizes.begin(), sizes.end());
  st->p50_bytes = sizes[sizes.size() / 2];
  st->p99_bytes = sizes[std::min(sizes.size() - 1, sizes.size() * 99 / 100)];
  st->max_bytes = sizes.back();
}

}  // namespace

std::string human_bytes(double b) {
  char buf[32];
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
  return buf;
}

namespace {
// Sizes and shapes only.
TensorStats basic_stats(const SampleSet& samples, uint64_t rows) {
  TensorStats st;
  st.sampled_rows = samples.raw.size();
  st.rows = rows ? rows : 100 * st.sampled_rows;
  std::vector<uint64_t> sizes;
  for (auto r : samples.raw) sizes.push_back(r.size());
  size_stats(sizes, &st);
  st.fixed_shape = true;
  for (size_t i = 0; i < samples.shapes.size(); ++i) {
    if (i == 0) st.shape = samples.shapes[0];
    else if (samples.shapes[i] != st.shape) st.fixed_shape = false;
  }
  return st;
}
}  // namespace

TensorStats stats_of(const SampleSet& samples, uint64_t rows) {
  TensorStats st = basic_stats(samples, rows);
  double raw = st.mean_bytes * static_cast<double>(st.sampled_rows);
  if (is_image_codec(samples.image_codec) && samples.encoded.size() == samples.raw.size()) {
    CodecMeasure m;
    m.codec = samples.image_codec;
    double enc = 0;
    for (auto e : samples.encoded) enc += static_cast<double>(e.size());
    m.ratio = raw > 0 ? enc / raw : 1;
    m.decode_s_per_byte = probe_image_decode(samples.image_codec, samples.encoded, samples.shapes, samples.dtype, raw);
    st.image = m;
  } else {
    st.codecs = probe_codecs(samples.raw);
  }
  return st;
}

Result<TensorStats> sample_tensor(const Dataset& dataset, size_t t, uint64_t budget, uint64_t seed) {
  const std::string name = dataset.tensor_names().at(t);
  GTN_ASSIGN_OR_RETURN(TensorSpec spec, dataset.tensor_spec(name));
  GTN_ASSIGN_OR_RETURN(TensorInfo info, dataset.tensor_info(name));
  const uint64_t n = dataset.size();
  TensorStats st;
  st.rows = n;
  if (n == 0) return st;
  double mean = info.raw_bytes && info.length ? static_cast<double>(info.raw_bytes) / static_cast<double>(info.length) : 64;
  uint64_t k = static_cast<uint64_t>(static_cast<double>(budget) / std::max(mean, 1.0));
  k = std::clamp<uint64_t>(k, 8, 8192);
  k = std::min(k, n);
  std::vector<uint64_t> rows;
  if (k == n) {
    for (uint64_t i = 0; i < n; ++i) rows.push_back(i);
  } else {
    // Runs of 8 consecutive rows at random places: whole-chunk codecs see neighbours, as
    // they will in a chunk.
    std::mt19937_64 rng(seed ^ (0x9e3779b97f4a7c15ull * (t + 1)));
    std::vector<uint64_t> starts;
    for (uint64_t j = 0; j < (k + 7) / 8; ++j) starts.push_back(rng() % n);
    std::sort(starts.begin(), starts.end());
    for (uint64_t s : starts) {
      for (uint64_t i = s; i < std::min(n, s + 8) && rows.size() < k; ++i) {
        if (rows.empty() || i > rows.back()) rows.push_back(i);
      }
    }
  }
  std::vector<Array> arrays;
  arrays.reserve(rows.size());
  auto t0 = std::chrono::steady_clock::now();
  for (uint64_t i : rows) {
    GTN_ASSIGN_OR_RETURN(Array a, dataset.read(t, i));
    arrays.push_back(std::move(a));
  }
  double read_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  SampleSet set;
  set.dtype = spec.dtype.value_or(DType::kUInt8);
  for (const Array& a : arrays) {
    set.raw.emplace_back(static_cast<const char*>(a.data()), a.nbytes());
    set.shapes.push_back(a.shape());
  }
  if (is_image_codec(spec.sample_compression)) {
    // The stored image files are not exposed; their decode cost is the time the reads
    // took (they decode each sample), their ratio the tensor's stored / raw bytes.
    st = basic_stats(set, n);
    CodecMeasure m;
    m.codec = spec.sample_compression;
    m.ratio = info.raw_bytes ? static_cast<double>(info.stored_bytes) / static_cast<double>(info.raw_bytes) : 1;
    double raw = st.mean_bytes * static_cast<double>(st.sampled_rows);
    m.decode_s_per_byte = raw > 0 ? read_s / raw : 0;
    st.image = m;
  } else {
    st = stats_of(set, n);
  }
  st.rows = n;
  return st;
}

TensorPlan choose_layout(const TensorSpec& current, const TensorStats& stats, const CostModel& model) {
  TensorPlan p;
  p.name = current.name;
  p.htype = current.htype;
  p.current = current;
  p.stats = stats;
  Candidate now{current.sample_compression, current.chunk_compression, 0, current.chunk_target_bytes};
  p.current_cost = predict(stats, now, model);

  // Chunk sizes: 1 to 64 MiB (the model weighs fewer chunks against parallel scans).
  std::vector<uint64_t> sizes;
  for (uint64_t s = kMiB; s <= 64 * kMiB; s *= 2) sizes.push_back(s);
  std::vector<Candidate> codecs;
  if (stats.image) {
    codecs.push_back({stats.image->codec, Compression::kNone, 0, 0});
  } else {
    codecs.push_back({});
    for (const auto& m : stats.codecs) {
      Candidate c;
      (m.chunk ? c.chunk : c.sample) = m.codec;
      c.level = m.codec == Compression::kZstd ? m.level : 0;
      codecs.push_back(c);
    }
  }
  Candidate best;
  double best_cost = 1e300;
  Cost best_pred;
  for (const Candidate& base : codecs) {
    for (uint64_t s : sizes) {
      Candidate c = base;
      c.chunk_bytes = s;
      Cost pred = predict(stats, c, model);
      double total = pred.total(model);
      if (total < best_cost * (1 - 1e-9)) {
        best = c;
        best_cost = total;
        best_pred = pred;
      }
    }
  }
  // Huge samples: tile at the largest chunk size rather than one file per sample.
  if (stats.mean_bytes > 64.0 * kMiB) best.chunk_bytes = 64 * kMiB;
  // Keep the current codec when the planned one is not at least 10 % better (at the
  // planned chunk size), so a plan does not rewrite data for noise in the measurements:
  // codec timings on a busy machine vary by that much from run to run, and an ingest's
  // layout should not change with them.
  Candidate now_sized = now;
  now_sized.chunk_bytes = best.chunk_bytes;
  Cost now_sized_cost = predict(stats, now_sized, model);
  if ((now.sample != best.sample || now.chunk != best.chunk) && measure_for(stats, now_sized) &&
      now_sized_cost.total(model) <= best_cost * kKeepMargin) {
    best = now_sized;
    best_pred = now_sized_cost;
    best_cost = now_sized_cost.total(model);
  }
  // Likewise keep the current chunk size unless another is 2 % better.
  if (best.chunk_bytes != now.chunk_bytes) {
    Candidate same = best;
    same.chunk_bytes = now.chunk_bytes;
    Cost same_cost = predict(stats, same, model);
    if (same_cost.total(model) <= best_cost * kKeepChunkMargin && stats.mean_bytes <= 64.0 * kMiB) {
      best = same;
      best_pred = same_cost;
      best_cost = same_cost.total(model);
    }
  }
  p.sample_compression = best.sample;
  p.chunk_compression = best.chunk;
  p.compression_level = (best.sample == Compression::kZstd || best.chunk == Compression::kZstd) ? (best.level ? best.level : 3) : 0;
  p.chunk_target_bytes = best.chunk_bytes;
  p.planned_cost = best_pred;

  // Why, in a sentence: what the data are, what the codec buys, and the chunk size.
  char buf[512];
  auto m = measure_for(stats, best).value_or(CodecMeasure{});
  Candidate plain{stats.image ? stats.image->codec : Compression::kNone, Compression::kNone, 0, best.chunk_bytes};
  Cost plain_cost = predict(stats, plain, model);
  std::string what = stats.fixed_shape ? "fixed-size rows of " + human_bytes(stats.mean_bytes)
                                       : "rows of " + human_bytes(stats.mean_bytes) + " on average (p99 " +
                                             human_bytes(static_cast<double>(stats.p99_bytes)) + ")";
  std::string codec_part;
  if (stats.image) {
    std::snprintf(buf, sizeof(buf), "kept as %s (%.0f %% of the pixels' size, decodes at %.0f MB/s)",
                  std::string(compression_name(stats.image->codec)).c_str(), stats.image->ratio * 100,
                  stats.image->decode_s_per_byte > 0 ? 1e-6 / stats.image->decode_s_per_byte : 0.0);
    codec_part = buf;
  } else if (best.sample == Compression::kNone && best.chunk == Compression::kNone) {
    // The codec that stores the fewest bytes, and what it would do to the predicted cost.
    double best_ratio = 1;
    std::string best_codec = "none";
    Candidate smallest = best;
    for (const auto& c : stats.codecs) {
      if (c.ratio < best_ratio) {
        best_ratio = c.ratio;
        best_codec = codec_label(c.codec, c.level);
        smallest = best;
        (c.chunk ? smallest.chunk : smallest.sample) = c.codec;
        smallest.level = c.codec == Compression::kZstd ? c.level : 0;
      }
    }
    double change = predict(stats, smallest, model).total(model) / std::max(best_cost, 1e-12) - 1;
    if (best_ratio >= 0.995) {
      std::snprintf(buf, sizeof(buf), "uncompressed, zero-copy: no codec makes the rows smaller");
    } else if (change <= 0) {
      std::snprintf(buf, sizeof(buf), "uncompressed, zero-copy: the best codec (%s) saves %.0f %% of the bytes but "
                    "would change the predicted cost by only %.1f %%", best_codec.c_str(), (1 - best_ratio) * 100,
                    change * 100);
    } else {
      std::snprintf(buf, sizeof(buf), "uncompressed, zero-copy: the best codec (%s) saves %.0f %% of the bytes but "
                    "costs more to decode than it saves in reading (+%.0f %% predicted)", best_codec.c_str(),
                    (1 - best_ratio) * 100, change * 100);
    }
    codec_part = buf;
  } else {
    std::snprintf(buf, sizeof(buf), "%s-compressed with %s: stores %.0f %% of the raw bytes, decodes at %.0f MB/s, "
                  "scan %.2fx the uncompressed time",
                  best.chunk != Compression::kNone ? "chunk" : "sample",
                  codec_label(best.chunk != Compression::kNone ? best.chunk : best.sample, best.level).c_str(),
                  m.ratio * 100, m.decode_s_per_byte > 0 ? 1e-6 / m.decode_s_per_byte : 0.0,
                  plain_cost.scan_s() > 0 ? best_pred.scan_s() / plain_cost.scan_s() : 1.0);
    codec_part = buf;
  }
  std::string chunk_part;
  if (stats.mean_bytes > static_cast<double>(best.chunk_bytes)) {
    chunk_part = "samples larger than a chunk are tiled over " + human_bytes(static_cast<double>(best.chunk_bytes)) + " files";
  } else {
    double per = static_cast<double>(best.chunk_bytes) / std::max(1.0, stats.mean_bytes * (best.chunk == Compression::kNone ? m.ratio : 1.0));
    std::snprintf(buf, sizeof(buf), "%s chunks (~%.0f rows each)", human_bytes(static_cast<double>(best.chunk_bytes)).c_str(),
                  std::min(per, static_cast<double>(std::max<uint64_t>(stats.rows, 1))));
    chunk_part = buf;
  }
  p.why = what + ": " + codec_part + "; " + chunk_part + ".";
  return p;
}

Result<LayoutPlan> plan_data(const Dataset& dataset, const PlanOptions& options) {
  LayoutPlan plan;
  plan.strategy = "data";
  plan.model = options.model;
  std::vector<std::string> names = options.tensors.empty() ? dataset.tensor_names() : options.tensors;
  for (const std::string& name : names) {
    GTN_ASSIGN_OR_RETURN(size_t t, dataset.tensor_index(name));
    GTN_ASSIGN_OR_RETURN(TensorSpec spec, dataset.tensor_spec(name));
    GTN_ASSIGN_OR_RETURN(TensorStats stats, sample_tensor(dataset, t, options.sample_budget_bytes, options.seed));
    TensorPlan p = choose_layout(spec, stats, options.model);
    plan.current_cost += p.current_cost;
    plan.planned_cost += p.planned_cost;
    plan.tensors.push_back(std::move(p));
  }
  return plan;
}

Result<TensorPlan> plan_tensor(const TensorSpec& spec, const SampleSet& samples, uint64_t rows, const CostModel& model) {
  if (samples.raw.size() != samples.shapes.size()) {
    return Status::InvalidArgument("plan_tensor: " + std::to_string(samples.raw.size()) + " samples but " +
                                   std::to_string(samples.shapes.size()) + " shapes");
  }
  if (!samples.encoded.empty() && samples.encoded.size() != samples.raw.size()) {
    return Status::InvalidArgument("plan_tensor: encoded samples must be given for every sample or none");
  }
  return choose_layout(spec, stats_of(samples, rows), model);
}

}  // namespace gtn::layout
