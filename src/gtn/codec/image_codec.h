// JPEG (libturbojpeg) and PNG (libpng) images of shape (H, W) or (H, W, C).
//
// JPEG stores uint8 images with 1 or 3 channels. PNG stores uint8 or uint16 images with 1
// to 4 channels (grey, grey+alpha, RGB, RGBA); uint16 samples are PNG's 16-bit depth,
// read and written exactly (no gamma or colour conversion is ever applied).
//
// Decoding gives a PNG file "as decoded": its own bit depth (8 or 16; 1/2/4-bit grey is
// scaled to 8 bits as the PNG spec says: v * 255 / (2^depth - 1)), its own channels
// (grey 1, grey+alpha 2, RGB 3, RGBA 4), palettes expanded to RGB, or RGBA when the
// palette has a tRNS chunk. A tRNS chunk on a grey or RGB image adds no channel.
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

// Checks that an image of `dtype` and `shape` can be stored with `codec`: shape (H, W) or
// (H, W, C), 1 <= H, W <= 65535; JPEG: uint8, C in {1, 3}; PNG: uint8 or uint16, C in 1..4.
Status check_image(Compression codec, DType dtype, const Shape& shape);

// What the header of an encoded image says it decodes to.
struct ImageHeader {
  Compression format = Compression::kNone;  // kJpeg or kPng
  DType dtype = DType::kUInt8;              // uint16 for 16-bit PNGs
  Shape shape;                              // (H, W, C) as decoded (see above)
  int bit_depth = 8;                        // the file's own bit depth (PNG: 1, 2, 4, 8, 16)
  int png_color_type = -1;                  // PNG colour type (0, 2, 3, 4, 6); -1 for JPEG
};

// Reads the header of JPEG or PNG bytes, recognised by their magic bytes.
// InvalidArgument when the bytes are neither (e.g. an empty file, an ICO, a GIF) or the
// header does not parse.
Result<ImageHeader> probe_image(std::string_view bytes);

// Encodes the C-order uint8 pixels of an image of `shape` (already checked with check_image).
Result<std::string> encode_image(Compression codec, const uint8_t* pixels, const Shape& shape,
                                 int jpeg_quality = kDefaultJpegQuality);
// Same for pixels of `dtype` (uint8, or uint16 for PNG).
Result<std::string> encode_image(Compression codec, DType dtype, const void* pixels, const Shape& shape,
                                 int jpeg_quality = kDefaultJpegQuality);

// Decodes `encoded` into the numel(shape) bytes at `out`; Corruption if the bytes do not
// decode or hold an image of another size. JPEG converts to the channels of `shape`; PNG
// must decode to exactly `shape` (channels included) and uint8.
Status decode_image(Compression codec, std::string_view encoded, const Shape& shape, uint8_t* out);
// Same for a `dtype` image (uint16 PNGs: 16-bit files, native-endian samples at `out`).
Status decode_image(Compression codec, DType dtype, std::string_view encoded, const Shape& shape, void* out);

}  // namespace gtn::codec
