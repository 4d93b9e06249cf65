// Image files (JPEG, PNG) read for ingest: the file's bytes, what its header says it
// decodes to (codec::ImageHeader: format, uint8/uint16, (H, W, C)), the decoded pixels,
// and the channel conversions of ImageMode.
#pragma once

#include <string>

#include "gtn/codec/image_codec.h"
#include "gtn/ingest.h"
#include "gtn/result.h"
#include "gtn/tensor.h"

namespace gtn::ingest {

struct ImageFile {
  std::string bytes;  // the file as stored on disk
  codec::ImageHeader header;
};

// Probes `bytes` (InvalidArgument when they are not a JPEG or PNG image, e.g. an ICO or an
// empty file, or the header does not parse).
Result<ImageFile> probe_image(std::string bytes);

// Reads and probes the image file at `path`.
Result<ImageFile> read_image_file(const std::string& path);

// Decodes a probed image into its pixels, as decoded (header.dtype, header.shape).
Result<Array> decode_image_file(const ImageFile& image);

// The channels an image with `decoded` channels has after `mode`.
int mode_channels(ImageMode mode, int decoded);

// Converts (H, W, C) uint8/uint16 pixels to `channels` channels (see ImageMode).
Array convert_channels(const Array& pixels, int channels);

}  // namespace gtn::ingest
