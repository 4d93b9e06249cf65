// Measuring byte codecs on sampled rows: compression ratio and decode time per byte, per
// sample and per chunk, timed on this machine (the data-driven planner's inputs).
#pragma once

#include <string_view>
#include <vector>

#include "gtn/layout.h"

namespace gtn::layout {

// The codecs and levels the planner considers: lz4, zstd 1, 3 and 9, each compressing
// every sample alone (sample compression) and runs of samples together (chunk
// compression). `rows` are the samples' raw bytes.
std::vector<CodecMeasure> probe_codecs(const std::vector<std::string_view>& rows);

// Seconds per raw byte to decode image files (jpeg/png) of the given shapes and dtype.
double probe_image_decode(Compression format, const std::vector<std::string_view>& files,
                          const std::vector<Shape>& shapes, DType dtype, double raw_bytes);

}  // namespace gtn::layout
