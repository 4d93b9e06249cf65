// lz4 and zstd over byte strings. Used for per-sample and per-chunk compression.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "gtn/dataset.h"
#include "gtn/result.h"

namespace gtn::codec {

// True for the general-purpose byte codecs (kLz4, kZstd).
inline bool is_byte_codec(Compression c) { return c == Compression::kLz4 || c == Compression::kZstd; }

// Compresses `src` with lz4 or zstd (InvalidArgument for any other codec). `level`: the
// zstd level (1..22, or zstd's negative fast levels) or the lz4 acceleration (1..65537,
// higher is faster and compresses less); 0 takes the codec's default (zstd 3, lz4 1).
// Decompression never needs the level.
Result<std::string> compress(Compression codec, std::string_view src, int level = 0);

// InvalidArgument unless `level` suits `codec` (see compress; 0 always does).
Status check_level(Compression codec, int level);

// Decompresses `src` into exactly `dst_size` bytes at `dst`; Corruption if the bytes do
// not decode or decode to a different size.
Status decompress(Compression codec, std::string_view src, void* dst, size_t dst_size);

// False when `src` cannot decompress to `dst_size` bytes (lz4 expands at most 255x; a zstd
// frame records its content size). Lets readers refuse absurd sizes before allocating.
bool plausible_size(Compression codec, std::string_view src, size_t dst_size);

}  // namespace gtn::codec
