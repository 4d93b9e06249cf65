// A chunk-level text view of a dataset, for debugging the format (docs/format.md): the
// root file, refs, manifest, and per tensor each chunk's id, sample range, bytes,
// compression and checksum; `verbose` adds every sample's offset and shape.
// The `gtn dump` command prints it. Implemented in src/gtn/store/dump.cc.
#pragma once

#include <string>

#include "gtn/result.h"

namespace gtn {

// The text view of the dataset at `path`; NotFound when there is no dataset there,
// Corruption when its files do not parse.
Result<std::string> dump(const std::string& path, bool verbose = false);

}  // namespace gtn
