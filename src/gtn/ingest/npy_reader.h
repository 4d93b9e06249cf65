// Reads NumPy .npy files (format versions 1.0, 2.0 and 3.0) into Arrays.
// Supported: little-endian (or byte-order-free) numeric dtypes and bool, C order.
// Object arrays, big-endian data, Fortran order and structured dtypes are rejected
// with an InvalidArgument error that says what was found.
#pragma once

#include <string>
#include <string_view>

#include "gtn/result.h"
#include "gtn/tensor.h"

namespace gtn::ingest {

// Parses the bytes of a whole .npy file. The Array owns a copy of the data.
Result<Array> parse_npy(std::string_view bytes);

// Reads and parses the .npy file at `path`.
Result<Array> read_npy_file(const std::string& path);

}  // namespace gtn::ingest
