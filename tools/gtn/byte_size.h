// Byte sizes on the command line: "16MiB", "512KiB", "2GB", "1048576".
#pragma once

#include <cctype>
#include <cstdint>
#include <string>

#include "gtn/result.h"

namespace gtn::cli {

inline Result<uint64_t> parse_byte_size(const std::string& text, const std::string& what) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  std::string unit;
  for (size_t j = i; j < text.size(); ++j) {
    if (text[j] != ' ') unit += static_cast<char>(std::tolower(static_cast<unsigned char>(text[j])));
  }
  double scale = 0;
  if (unit.empty() || unit == "b") scale = 1;
  else if (unit == "k" || unit == "kb") scale = 1e3;
  else if (unit == "kib") scale = 1024.0;
  else if (unit == "m" || unit == "mb") scale = 1e6;
  else if (unit == "mib") scale = 1024.0 * 1024;
  else if (unit == "g" || unit == "gb") scale = 1e9;
  else if (unit == "gib") scale = 1024.0 * 1024 * 1024;
  double v = 0;
  try {
    v = i ? std::stod(text.substr(0, i)) : 0;
  } catch (...) {
    v = 0;
  }
  if (scale == 0 || v * scale < 1) {
    return Status::InvalidArgument(what + " '" + text + "' is not a byte size; expected e.g. 16MiB, 512KiB, 2GB or 1048576");
  }
  return static_cast<uint64_t>(v * scale);
}

}  // namespace gtn::cli
