// Encoding images as PNG or JPEG files' bytes (what `gtn show --out x.png` and `gtn demo`
// write). Implemented in src/gtn/codec/image.cc over the codec module's image codecs.
#pragma once

#include <string>

#include "gtn/dataset.h"
#include "gtn/result.h"
#include "gtn/tensor.h"

namespace gtn {

inline constexpr int kDefaultJpegQuality = 90;

// The bytes of a PNG or JPEG file (`format` kPng or kJpeg) holding `image`: uint8 of shape
// (H, W) or (H, W, C), C in {1, 2, 3, 4} for PNG and {1, 3} for JPEG, 1 <= H, W <= 65535. InvalidArgument,
// saying what was expected, for any other dtype, shape or format.
Result<std::string> encode_image(const Array& image, Compression format, int jpeg_quality = kDefaultJpegQuality);

}  // namespace gtn
