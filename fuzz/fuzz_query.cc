// Feeds arbitrary text to the query language: parse, bind and run against a small
// in-memory dataset with every kind of tensor. Any input must give a result or a clean
// error, never a crash, a hang or a sanitizer report.
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>

#include "gtn/dataset.h"
#include "gtn/query.h"
#include "gtn/storage.h"

namespace {

gtn::Dataset* fixture() {
  static std::unique_ptr<gtn::Dataset> ds = [] {
    gtn::OpenOptions o;
    o.storage = gtn::make_memory_storage();
    auto opened = gtn::Dataset::Open("fuzz", o);
    if (!opened.ok()) __builtin_trap();
    std::unique_ptr<gtn::Dataset> d = std::move(*opened);
    auto add = [&](const char* name, const char* htype, gtn::DType dtype, uint64_t chunk) {
      gtn::TensorSpec s;
      s.name = name;
      s.htype = htype;
      s.dtype = dtype;
      s.chunk_target_bytes = chunk;
      if (std::string(htype) == "class_label") s.class_names = {"cat", "dog", "bird"};
      if (!d->create_tensor(s).ok()) __builtin_trap();
    };
    add("x", "generic", gtn::DType::kInt64, 64);
    add("f", "generic", gtn::DType::kFloat32, 32);
    add("emb", "embedding", gtn::DType::kFloat32, 256);
    add("boxes", "generic", gtn::DType::kFloat32, 256);
    add("label", "class_label", gtn::DType::kInt64, 64);
    add("t", "text", gtn::DType::kText, 64);
    for (int i = 0; i < 40; ++i) {
      gtn::Array emb = gtn::Array::Zeros(gtn::DType::kFloat32, {4});
      for (int k = 0; k < 4; ++k) static_cast<float*>(emb.mutable_data())[k] = static_cast<float>((i * 7 + k) % 5) - 2;
      gtn::Array boxes = gtn::Array::Zeros(gtn::DType::kFloat32, {i % 3, 4});
      gtn::Sample s{{"x", gtn::Array::Scalar<int64_t>(gtn::DType::kInt64, i - 20)},
                    {"f", gtn::Array::Scalar<float>(gtn::DType::kFloat32, i % 9 == 0 ? NAN : i * 0.25f)},
                    {"emb", emb},
                    {"boxes", boxes},
                    {"label", gtn::Array::Scalar<int64_t>(gtn::DType::kInt64, i % 3)},
                    {"t", gtn::Array::Text(i % 4 ? "a red fox" : "")}};
      if (!d->append(s).ok()) __builtin_trap();
    }
    if (!d->commit("fixture").ok()) __builtin_trap();
    return d;
  }();
  return ds.get();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  std::string text(reinterpret_cast<const char*>(data), size);
  gtn::QueryOptions o;
  o.n_threads = 1;
  auto r = gtn::run_query(*fixture(), text, o);
  if (r.ok()) {
    for (uint64_t row : r->rows) {
      if (row >= fixture()->size()) __builtin_trap();
    }
  }
  return 0;
}
