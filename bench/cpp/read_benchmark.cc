// Random whole-sample reads from a 4-tensor GTN-F dataset (image 64x64x3 uint8,
// float32[128] embedding, int64 label, 50-500 byte text; 50,000 samples) against memcpy.
//
// The copying read (read_into of the 4 tensors into 4 caller buffers) is compared with
// memcpy of exactly the same bytes: the same 4 source ranges of the same sample (inside
// the dataset's own mapped chunks, so page-cache pages, TLB and cache misses are the same)
// into the same 4 reused destination buffers, in the same random order. A second baseline
// copies one sample's bytes from one place of a dataset-sized anonymous buffer (a row
// store's best case: one source range instead of four).
//
//   build/<dir>/bench/gtn_read_benchmark [--benchmark_filter=...]
// GTN_BENCH_SAMPLES overrides the sample count; the dataset lives in a temp directory.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <random>

#include "gtn/dataset.h"

namespace {

constexpr int64_t kImage = 64 * 64 * 3;
constexpr int64_t kEmbedding = 128;

uint64_t num_samples() {
  const char* env = std::getenv("GTN_BENCH_SAMPLES");
  return env ? std::strtoull(env, nullptr, 10) : 50000;
}

struct Fixture {
  std::string path;
  std::unique_ptr<gtn::Dataset> ds;
  std::vector<uint64_t> order;  // random sample indices
  size_t sample_bytes = 0;      // average bytes of one whole sample
  std::vector<gtn::Array> views;  // views[4 * i + t]: tensor t of sample i (zero-copy)
  // The destination of every copying benchmark, reused across iterations.
  std::vector<uint8_t> dst_image = std::vector<uint8_t>(kImage), dst_emb = std::vector<uint8_t>(kEmbedding * 4),
                       dst_label = std::vector<uint8_t>(8), dst_text = std::vector<uint8_t>(1024);
  uint8_t* bufs[4] = {dst_image.data(), dst_emb.data(), dst_label.data(), dst_text.data()};
  size_t caps[4] = {dst_image.size(), dst_emb.size(), dst_label.size(), dst_text.size()};

  Fixture() {
    path = (std::filesystem::temp_directory_path() / ("gtn_read_bench_" + std::to_string(::getpid()))).string();
    std::filesystem::remove_all(path);
    uint64_t n = num_samples();
    {
      auto w = gtn::Dataset::Open(path);
      if (!w.ok()) std::abort();
      gtn::TensorSpec image{"image", "image"};
      gtn::TensorSpec emb{"embedding", "embedding"};
      gtn::TensorSpec label{"label", "class_label"};
      gtn::TensorSpec text{"text", "text"};
      for (const auto& s : {image, emb, label, text}) {
        if (!(*w)->create_tensor(s).ok()) std::abort();
      }
      std::mt19937_64 rng(1);
      uint64_t text_bytes = 0;
      for (uint64_t begin = 0; begin < n; begin += 1000) {
        gtn::SampleBatch batch;
        for (uint64_t i = begin; i < std::min(n, begin + 1000); ++i) {
          gtn::Array img = gtn::Array::Zeros(gtn::DType::kUInt8, {64, 64, 3});
          auto* p = static_cast<uint8_t*>(img.mutable_data());
          for (int64_t k = 0; k < kImage; ++k) p[k] = static_cast<uint8_t>(rng());
          gtn::Array e = gtn::Array::Zeros(gtn::DType::kFloat32, {kEmbedding});
          for (int64_t k = 0; k < kEmbedding; ++k) static_cast<float*>(e.mutable_data())[k] = float(rng() % 1000) / 1000;
          std::string t(50 + rng() % 451, 'a');
          for (auto& c : t) c = static_cast<char>('a' + rng() % 26);
          text_bytes += t.size();
          batch["image"].push_back(std::move(img));
          batch["embedding"].push_back(std::move(e));
          batch["label"].push_back(gtn::Array::Scalar<int64_t>(gtn::DType::kInt64, static_cast<int64_t>(i % 1000)));
          batch["text"].push_back(gtn::Array::Text(t));
        }
        if (!(*w)->extend(batch).ok()) std::abort();
      }
      if (!(*w)->flush().ok()) std::abort();
      sample_bytes = kImage + kEmbedding * 4 + 8 + text_bytes / n;
    }
    gtn::OpenOptions ro;
    ro.read_only = true;
    auto r = gtn::Dataset::Open(path, ro);
    if (!r.ok()) std::abort();
    ds = std::move(*r);
    std::mt19937_64 rng(2);
    order.resize(1 << 20);
    for (auto& i : order) i = rng() % n;
    // Warm the page cache and the mappings: every sample's bytes are copied once (a view
    // alone would not touch them).
    std::vector<uint8_t> scratch(kImage);
    for (uint64_t i = 0; i < n; ++i) {
      for (size_t t = 0; t < 4; ++t) {
        if (!ds->read_into(t, i, scratch.data(), scratch.size()).ok()) std::abort();
      }
    }
    // The 4 source ranges of every sample, as the dataset stores them (views keep the
    // mappings alive).
    views.reserve(n * 4);
    for (uint64_t i = 0; i < n; ++i) {
      for (size_t t = 0; t < 4; ++t) {
        auto a = ds->read(t, i);
        if (!a.ok()) std::abort();
        views.push_back(std::move(*a));
      }
    }
  }
  ~Fixture() { std::filesystem::remove_all(path); }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

// Zero-copy: four views into the mapped chunks (no sample bytes are copied).
void BM_ReadSampleViews(benchmark::State& state) {
  Fixture& f = fixture();
  size_t k = 0;
  for (auto _ : state) {
    uint64_t i = f.order[k++ & (f.order.size() - 1)];
    for (size_t t = 0; t < 4; ++t) {
      auto a = f.ds->read(t, i);
      benchmark::DoNotOptimize(a.value().data());
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.sample_bytes));
}
BENCHMARK(BM_ReadSampleViews);

// Copying: the four tensors' bytes into caller buffers (the same work as BM_MemcpySameBytes).
void BM_ReadSampleInto(benchmark::State& state) {
  Fixture& f = fixture();
  size_t k = 0;
  for (auto _ : state) {
    uint64_t i = f.order[k++ & (f.order.size() - 1)];
    for (size_t t = 0; t < 4; ++t) {
      auto shape = f.ds->read_into(t, i, f.bufs[t], f.caps[t]);
      benchmark::DoNotOptimize(shape.ok());
    }
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.sample_bytes));
}
BENCHMARK(BM_ReadSampleInto);

// The name-keyed API: a std::map of four arrays per sample.
void BM_ReadSampleMap(benchmark::State& state) {
  Fixture& f = fixture();
  size_t k = 0;
  for (auto _ : state) {
    auto s = f.ds->read_sample(f.order[k++ & (f.order.size() - 1)]);
    benchmark::DoNotOptimize(s.ok());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.sample_bytes));
}
BENCHMARK(BM_ReadSampleMap);

// The baseline: memcpy of the same 4 source ranges of the same sample (where the dataset
// stores them) into the same 4 reused buffers, in the same order. The source addresses
// come from a precomputed table (one random access, as GTN's chunk lookup is).
void BM_MemcpySameBytes(benchmark::State& state) {
  Fixture& f = fixture();
  size_t k = 0;
  for (auto _ : state) {
    uint64_t i = f.order[k++ & (f.order.size() - 1)];
    const gtn::Array* v = &f.views[4 * i];
    for (size_t t = 0; t < 4; ++t) std::memcpy(f.bufs[t], v[t].data(), v[t].nbytes());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.sample_bytes));
}
BENCHMARK(BM_MemcpySameBytes);

// A row store's best case: memcpy of one sample's bytes (the average size) from one
// random place in a dataset-sized anonymous buffer into one reused buffer.
void BM_MemcpyContiguous(benchmark::State& state) {
  Fixture& f = fixture();
  size_t n = num_samples();
  std::vector<uint8_t> src(n * f.sample_bytes, 1);
  std::vector<uint8_t> dst(f.sample_bytes);
  size_t k = 0;
  for (auto _ : state) {
    uint64_t i = f.order[k++ & (f.order.size() - 1)];
    std::memcpy(dst.data(), src.data() + i * f.sample_bytes, f.sample_bytes);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.sample_bytes));
}
BENCHMARK(BM_MemcpyContiguous);

}  // namespace

BENCHMARK_MAIN();
