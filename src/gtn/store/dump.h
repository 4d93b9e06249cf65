// A chunk-level text view of a dataset (root, refs, manifest, per tensor each chunk's id,
// sample range, bytes, compression, checksum; verbose adds per-sample offsets and shapes).
// The `gtn dump` command prints it.
#pragma once

#include <string>

#include "gtn/result.h"

namespace gtn::store {

Result<std::string> dump(const std::string& path, bool verbose);

}  // namespace gtn::store
