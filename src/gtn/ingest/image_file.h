// Image files (JPEG, PNG) read for ingest: the file's bytes, its format, and the decoded
// pixels as a uint8 Array of shape (H, W, C) — C = 1 for grayscale, 2 gray+alpha, 3 RGB,
// 4 RGBA (JPEG: 1 or 3; palette PNGs decode to RGB or RGBA).
#pragma once

#include <string>
#include <string_view>

#include "gtn/dataset.h"
#include "gtn/result.h"
#include "gtn/tensor.h"

namespace gtn::ingest {

struct ImageFile {
  std::string bytes;                        // the file as stored on disk
  Compression format = Compression::kNone;  // kJpeg or kPng, from the file's magic bytes
  Shape shape;                              // decoded (H, W, C)
};

// Reads the header of JPEG or PNG `bytes` (InvalidArgument if it is neither).
Result<ImageFile> probe_image(std::string bytes);

// Reads and probes the image file at `path` (errors name the path).
Result<ImageFile> read_image_file(const std::string& path);

// Decodes a probed image into its pixels.
Result<Array> decode_image_file(const ImageFile& image);

}  // namespace gtn::ingest
