#include "gtn/layout/codec_probe.h"

#include <lz4.h>
#include <zstd.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "gtn/codec/image_codec.h"

namespace gtn::layout {
namespace {

using Clock = std::chrono::steady_clock;

std::string compress_level(Compression c, int level, std::string_view src) {
  std::string out;
  if (c == Compression::kLz4) {
    out.resize(static_cast<size_t>(LZ4_compressBound(static_cast<int>(src.size()))));
    int n = LZ4_compress_default(src.data(), out.data(), static_cast<int>(src.size()), static_cast<int>(out.size()));
    out.resize(static_cast<size_t>(std::max(n, 0)));
  } else {
    out.resize(ZSTD_compressBound(src.size()));
    size_t n = ZSTD_compress(out.data(), out.size(), src.data(), src.size(), level);
    out.resize(ZSTD_isError(n) ? 0 : n);
  }
  return out;
}

bool decompress(Compression c, const std::string& src, char* dst, size_t n) {
  if (c == Compression::kLz4) {
    return LZ4_decompress_safe(src.data(), dst, static_cast<int>(src.size()), static_cast<int>(n)) ==
           static_cast<int>(n);
  }
  return !ZSTD_isError(ZSTD_decompress(dst, n, src.data(), src.size()));
}

// Runs fn until at least 2 ms passed (at most 8 times); returns seconds per run (the best).
template <typename Fn>
double time_best(Fn fn) {
  double best = 1e30, total = 0;
  for (int rep = 0; rep < 8 && (rep < 2 || total < 2e-3); ++rep) {
    auto t0 = Clock::now();
    fn();
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::min(best, s);
    total += s;
  }
  return best;
}

}  // namespace

std::vector<CodecMeasure> probe_codecs(const std::vector<std::string_view>& all_rows) {
  std::vector<CodecMeasure> out;
  // At most 4 MiB measured: rows beyond are left out, a longer row is cut.
  std::vector<std::string_view> rows;
  size_t budget = 4u << 20;
  for (auto r : all_rows) {
    if (budget == 0) break;
    rows.push_back(r.substr(0, budget));
    budget -= rows.back().size();
  }
  double raw = 0;
  for (auto r : rows) raw += static_cast<double>(r.size());
  if (raw == 0) return out;
  // Chunk granularity: runs of up to 1 MiB of consecutive sampled rows.
  std::vector<std::string> blocks(1);
  for (auto r : rows) {
    if (blocks.back().size() >= (1u << 20)) blocks.emplace_back();
    blocks.back().append(r.data(), r.size());
  }
  std::string scratch(std::max<size_t>(blocks.front().size(), 1u << 20) * 2, '\0');
  const std::pair<Compression, int> codecs[] = {
      {Compression::kLz4, 0}, {Compression::kZstd, 1}, {Compression::kZstd, 3}, {Compression::kZstd, 9}};
  for (const auto& entry : codecs) {
    const Compression codec = entry.first;  // not a structured binding: lambdas capture it
    const int level = entry.second;
    for (bool chunk : {false, true}) {
      CodecMeasure m;
      m.codec = codec;
      m.level = level;
      m.chunk = chunk;
      std::vector<std::string> packed;
      auto t0 = Clock::now();
      if (chunk) {
        for (const auto& b : blocks) packed.push_back(compress_level(codec, level, b));
      } else {
        for (auto r : rows) packed.push_back(compress_level(codec, level, r));
      }
      m.encode_s_per_byte = std::chrono::duration<double>(Clock::now() - t0).count() / raw;
      double stored = 0;
      for (const auto& p : packed) stored += static_cast<double>(p.size());
      m.ratio = stored / raw;
      bool ok = true;
      double s = time_best([&] {
        for (size_t i = 0; i < packed.size(); ++i) {
          size_t n = chunk ? blocks[i].size() : rows[i].size();
          if (scratch.size() < n) scratch.resize(n);
          ok = decompress(codec, packed[i], scratch.data(), n) && ok;
        }
      });
      if (!ok) continue;
      m.decode_s_per_byte = s / raw;
      out.push_back(m);
    }
  }
  return out;
}

double probe_image_decode(Compression format, const std::vector<std::string_view>& files,
                          const std::vector<Shape>& shapes, DType dtype, double raw_bytes) {
  if (files.empty() || raw_bytes <= 0) return 0;
  std::vector<Array> outs;
  for (const auto& s : shapes) outs.push_back(Array::Zeros(dtype, s));
  double s = time_best([&] {
    for (size_t i = 0; i < files.size(); ++i) {
      (void)codec::decode_image(format, dtype, files[i], shapes[i], outs[i].mutable_data());
    }
  });
  return s / raw_bytes;
}

}  // namespace gtn::layout
