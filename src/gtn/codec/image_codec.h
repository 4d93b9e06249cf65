// JPEG (libturbojpeg) and PNG (libpng) for uint8 images of shape (H, W) or (H, W, C).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "gtn/dataset.h"
#include "gtn/result.h"
#include "gtn/tensor.h"

namespace gtn::codec {

inline constexpr int kDefaultJpegQuality = 90;

// True for kJpeg and kPng.
inline bool is_image_codec(Compression c) { return c == Compression::kJpeg || c == Compression::kPng; }

// Checks that an image of `dtype` and `shape` can be stored with `codec`: uint8, shape
// (H, W) or (H, W, C) with C in {1, 3} for JPEG and {1, 2, 3, 4} for PNG, H and W >= 1.
Status check_image(Compression codec, DType dtype, const Shape& shape);

// Encodes the C-order pixels of an image of `shape` (already checked with check_image).
Result<std::string> encode_image(Compression codec, const uint8_t* pixels, const Shape& shape,
                                 int jpeg_quality = kDefaultJpegQuality);

// Decodes `encoded` into the numel(shape) bytes at `out`; Corruption if the bytes do not
// decode or hold an image of another size.
Status decode_image(Compression codec, std::string_view encoded, const Shape& shape, uint8_t* out);

}  // namespace gtn::codec
