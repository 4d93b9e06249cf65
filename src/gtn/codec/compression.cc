#include "gtn/codec/compression.h"

#include <lz4.h>
#include <zstd.h>

#include <algorithm>
#include <cctype>
#include <limits>

namespace gtn {

std::string_view compression_name(Compression c) {
  switch (c) {
    case Compression::kNone: return "none";
    case Compression::kLz4: return "lz4";
    case Compression::kZstd: return "zstd";
    case Compression::kJpeg: return "jpeg";
    case Compression::kPng: return "png";
  }
  return "unknown";
}

Result<Compression> parse_compression(std::string_view name) {
  std::string n(name);
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char ch) { return std::tolower(ch); });
  if (n == "none" || n.empty()) return Compression::kNone;
  if (n == "lz4") return Compression::kLz4;
  if (n == "zstd" || n == "zst") return Compression::kZstd;
  if (n == "jpeg" || n == "jpg") return Compression::kJpeg;
  if (n == "png") return Compression::kPng;
  return Status::InvalidArgument("unknown compression '" + std::string(name) +
                                 "'; expected one of none, lz4, zstd, jpeg, png");
}

namespace codec {
namespace {
// LZ4_ACCELERATION_MAX of lz4 1.9.3+ (lz4.c clamps larger values to it).
constexpr int kLz4MaxAcceleration = 65537;
}  // namespace

Status check_level(Compression codec, int level) {
  if (level == 0) return Status::OK();
  if (codec == Compression::kZstd) {
    if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) {
      return Status::InvalidArgument("zstd level " + std::to_string(level) + " is out of range; expected " +
                                     std::to_string(ZSTD_minCLevel()) + " to " + std::to_string(ZSTD_maxCLevel()) +
                                     " (0: the default, 3)");
    }
    return Status::OK();
  }
  if (codec == Compression::kLz4) {
    if (level < 1 || level > kLz4MaxAcceleration) {
      return Status::InvalidArgument("lz4 acceleration " + std::to_string(level) + " is out of range; expected 1 to " +
                                     std::to_string(kLz4MaxAcceleration) + " (0: the default, 1)");
    }
    return Status::OK();
  }
  return Status::InvalidArgument("a compression level needs lz4 or zstd; '" + std::string(compression_name(codec)) +
                                 "' takes none");
}

Result<std::string> compress(Compression codec, std::string_view src, int level) {
  GTN_RETURN_IF_ERROR(check_level(codec, level));
  std::string out;
  if (codec == Compression::kLz4) {
    if (src.size() > static_cast<size_t>(LZ4_MAX_INPUT_SIZE)) {
      return Status::InvalidArgument("lz4 cannot compress " + std::to_string(src.size()) +
                                     " bytes (limit " + std::to_string(LZ4_MAX_INPUT_SIZE) + ")");
    }
    int bound = LZ4_compressBound(static_cast<int>(src.size()));
    out.resize(static_cast<size_t>(bound));
    int n = LZ4_compress_fast(src.data(), out.data(), static_cast<int>(src.size()), bound, level == 0 ? 1 : level);
    if (n <= 0 && !src.empty()) return Status::Internal("lz4 compression failed");
    out.resize(static_cast<size_t>(std::max(n, 0)));
    return out;
  }
  if (codec == Compression::kZstd) {
    size_t bound = ZSTD_compressBound(src.size());
    out.resize(bound);
    size_t n = ZSTD_compress(out.data(), bound, src.data(), src.size(), level == 0 ? 3 : level);
    if (ZSTD_isError(n)) return Status::Internal(std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
    out.resize(n);
    return out;
  }
  return Status::InvalidArgument("compress: '" + std::string(compression_name(codec)) +
                                 "' is not a byte codec; expected lz4 or zstd");
}

Status decompress(Compression codec, std::string_view src, void* dst, size_t dst_size) {
  if (codec == Compression::kLz4) {
    if (dst_size > static_cast<size_t>(std::numeric_limits<int>::max()) ||
        src.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
      return Status::Corruption("lz4 block too large");
    }
    if (dst_size == 0 && src.empty()) return Status::OK();
    int n = LZ4_decompress_safe(src.data(), static_cast<char*>(dst), static_cast<int>(src.size()),
                                static_cast<int>(dst_size));
    if (n < 0 || static_cast<size_t>(n) != dst_size) {
      return Status::Corruption("lz4 block does not decode to the expected " + std::to_string(dst_size) + " bytes");
    }
    return Status::OK();
  }
  if (codec == Compression::kZstd) {
    size_t n = ZSTD_decompress(dst, dst_size, src.data(), src.size());
    if (ZSTD_isError(n)) return Status::Corruption(std::string("zstd frame does not decode: ") + ZSTD_getErrorName(n));
    if (n != dst_size) {
      return Status::Corruption("zstd frame decodes to " + std::to_string(n) + " bytes, expected " +
                                std::to_string(dst_size));
    }
    return Status::OK();
  }
  return Status::InvalidArgument("decompress: '" + std::string(compression_name(codec)) +
                                 "' is not a byte codec; expected lz4 or zstd");
}

bool plausible_size(Compression codec, std::string_view src, size_t dst_size) {
  if (codec == Compression::kLz4) return dst_size / 255 <= src.size() + 16;
  if (codec == Compression::kZstd) {
    unsigned long long n = ZSTD_getFrameContentSize(src.data(), src.size());
    return n == dst_size;
  }
  return true;
}

}  // namespace codec
}  // namespace gtn
