// Small file helpers shared by the ingest readers.
#pragma once

#include <string>

#include "gtn/result.h"

namespace gtn::ingest {

// The whole content of the file at `path` (NotFound / IOError with the path in the message).
Result<std::string> read_file(const std::string& path);

// Lower-cased extension including the dot (".jpg"), or "" when there is none.
std::string lower_extension(const std::string& path);

}  // namespace gtn::ingest
