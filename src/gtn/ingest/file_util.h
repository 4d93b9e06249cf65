// Small file helpers shared by the ingest readers.
#pragma once

#include <string>
#include <string_view>

#include "gtn/result.h"

namespace gtn::ingest {

// The whole content of the file at `path` (NotFound / IOError with the path in the message).
Result<std::string> read_file(const std::string& path);

// Lower-cased extension including the dot (".jpg"), or "" when there is none.
std::string lower_extension(const std::string& path);

// `s` without the spaces and tabs around it.
inline std::string_view trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

}  // namespace gtn::ingest
