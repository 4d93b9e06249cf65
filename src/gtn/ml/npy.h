// NumPy .npy files (format versions 1-3): numeric, little-endian, C-order arrays.
#pragma once

#include <string>

#include "gtn/result.h"
#include "gtn/tensor.h"

namespace gtn::ml {

// Parses the bytes of a .npy file. InvalidArgument for what GTN does not read (big-endian,
// Fortran order, object or string dtypes); Corruption for a malformed header or short data.
Result<Array> parse_npy(std::string bytes);
Result<Array> read_npy(const std::string& path);
// The .npy bytes (version 1.0) of a numeric array.
Result<std::string> serialize_npy(const Array& a);
Status write_npy(const std::string& path, const Array& a);

}  // namespace gtn::ml
