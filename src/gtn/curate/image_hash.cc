// Perceptual image hashes (dHash, pHash) built as the `imagehash` package builds them,
// with an area-averaging resize in place of Pillow's Lanczos.
#include <algorithm>
#include <cmath>
#include <vector>

#include "gtn/curate.h"

namespace gtn::curate {
namespace {

// Greyscale (Pillow's "L" weights) of an (H, W[, C]) uint8 image, as doubles.
std::vector<double> to_grey(const Array& image, int64_t h, int64_t w, int64_t c) {
  std::vector<double> g(static_cast<size_t>(h * w));
  const uint8_t* p = image.data_as<uint8_t>();
  for (int64_t i = 0; i < h * w; ++i) {
    const uint8_t* px = p + i * c;
    if (c >= 3) {
      g[static_cast<size_t>(i)] = (19595.0 * px[0] + 38470.0 * px[1] + 7471.0 * px[2]) / 65536.0;
    } else {
      g[static_cast<size_t>(i)] = px[0];
    }
  }
  return g;
}

// Area-averaging resize of a grey image to (oh, ow): every output pixel is the mean of
// the input area it covers (fractional pixels weighted).
std::vector<double> resize_area(const std::vector<double>& g, int64_t h, int64_t w, int oh, int ow) {
  auto weights = [](int64_t in, int out) {
    // For each output index, a list of (input index, weight).
    std::vector<std::vector<std::pair<int64_t, double>>> wts(static_cast<size_t>(out));
    double scale = static_cast<double>(in) / out;
    for (int o = 0; o < out; ++o) {
      double a = o * scale, b = (o + 1) * scale;
      for (int64_t i = static_cast<int64_t>(std::floor(a)); i < std::min<int64_t>(in, static_cast<int64_t>(std::ceil(b))); ++i) {
        double overlap = std::min<double>(b, i + 1) - std::max<double>(a, i);
        if (overlap > 0) wts[static_cast<size_t>(o)].push_back({i, overlap / scale});
      }
    }
    return wts;
  };
  auto wy = weights(h, oh), wx = weights(w, ow);
  std::vector<double> tmp(static_cast<size_t>(h * ow), 0.0);
  for (int64_t y = 0; y < h; ++y) {
    for (int x = 0; x < ow; ++x) {
      double s = 0;
      for (auto [i, wt] : wx[static_cast<size_t>(x)]) s += g[static_cast<size_t>(y * w + i)] * wt;
      tmp[static_cast<size_t>(y * ow + x)] = s;
    }
  }
  std::vector<double> out(static_cast<size_t>(oh * ow), 0.0);
  for (int y = 0; y < oh; ++y) {
    for (auto [i, wt] : wy[static_cast<size_t>(y)]) {
      for (int x = 0; x < ow; ++x) out[static_cast<size_t>(y * ow + x)] += tmp[static_cast<size_t>(i * ow + x)] * wt;
    }
  }
  return out;
}

}  // namespace

Result<ImageHashKind> parse_image_hash_kind(std::string_view name) {
  if (name == "phash") return ImageHashKind::kPHash;
  if (name == "dhash") return ImageHashKind::kDHash;
  return Status::InvalidArgument("unknown image hash '" + std::string(name) + "' (expected phash or dhash)");
}

Result<uint64_t> image_hash(const Array& image, ImageHashKind kind) {
  if (image.dtype() != DType::kUInt8 || (image.ndim() != 2 && image.ndim() != 3)) {
    return Status::InvalidArgument("an image hash needs a uint8 image of shape (H, W) or (H, W, C), got " +
                                   std::string(dtype_name(image.dtype())) + " " + shape_to_string(image.shape()));
  }
  int64_t h = image.shape()[0], w = image.shape()[1], c = image.ndim() == 3 ? image.shape()[2] : 1;
  if (h < 1 || w < 1 || c < 1 || c > 4) {
    return Status::InvalidArgument("an image hash needs H, W >= 1 and 1 to 4 channels, got shape " +
                                   shape_to_string(image.shape()));
  }
  std::vector<double> grey = to_grey(image, h, w, c);
  uint64_t bits = 0;
  if (kind == ImageHashKind::kDHash) {
    std::vector<double> s = resize_area(grey, h, w, 8, 9);
    for (int y = 0; y < 8; ++y) {
      for (int x = 0; x < 8; ++x) bits = bits << 1 | (s[static_cast<size_t>(y * 9 + x + 1)] > s[static_cast<size_t>(y * 9 + x)] ? 1u : 0u);
    }
    return bits;
  }
  constexpr int N = 32, K = 8;
  std::vector<double> s = resize_area(grey, h, w, N, N);
  double cosines[K][N];
  for (int k = 0; k < K; ++k) {
    for (int i = 0; i < N; ++i) cosines[k][i] = std::cos(M_PI * k * (2 * i + 1) / (2.0 * N));
  }
  double rowdct[K][N];  // DCT along y (axis 0) for the first K frequencies
  for (int k = 0; k < K; ++k) {
    for (int x = 0; x < N; ++x) {
      double acc = 0;
      for (int y = 0; y < N; ++y) acc += cosines[k][y] * s[static_cast<size_t>(y * N + x)];
      rowdct[k][x] = acc;
    }
  }
  double low[K * K];
  for (int k = 0; k < K; ++k) {
    for (int l = 0; l < K; ++l) {
      double acc = 0;
      for (int x = 0; x < N; ++x) acc += cosines[l][x] * rowdct[k][x];
      low[k * K + l] = acc;
    }
  }
  double sorted[K * K];
  std::copy(low, low + K * K, sorted);
  std::sort(sorted, sorted + K * K);
  double median = (sorted[K * K / 2 - 1] + sorted[K * K / 2]) / 2;
  for (int i = 0; i < K * K; ++i) bits = bits << 1 | (low[i] > median ? 1u : 0u);
  return bits;
}

}  // namespace gtn::curate
