// NumPy .npy files: GTN's one reader and writer of them (ingest of .npy files,
// `gtn ml predict`, `gtn show --out x.npy`).
//
// Read: format versions 1.0, 2.0 and 3.0; every numeric dtype GTN has (bool, int8..int64,
// uint8..uint64, float16, float32, float64), little-endian or byte-order-free ('<', '|';
// '>' only for one-byte types), C order (a Fortran-order header is accepted when the data
// is the same in both orders: at most one dimension larger than 1).
// Errors: InvalidArgument for a valid file GTN does not read (big-endian, Fortran order,
// object, string, complex, datetime or structured dtypes), each message saying how to save
// the array instead; Corruption for a file that is not a well-formed .npy (bad magic,
// truncated, malformed header, data size that does not match the shape); NotFound for a
// missing file. Every message names the file when a path is given.
#pragma once

#include <string>
#include <string_view>

#include "gtn/result.h"
#include "gtn/status.h"
#include "gtn/tensor.h"

namespace gtn {

// Parses the bytes of a whole .npy file; the Array owns a copy of the data.
Result<Array> parse_npy(std::string_view bytes);
// Reads and parses the .npy file at `path`.
Result<Array> read_npy(const std::string& path);
// The bytes of a version-1.0 .npy file (little-endian, C order) holding a numeric array;
// InvalidArgument for text and bytes arrays.
Result<std::string> serialize_npy(const Array& a);
// Writes serialize_npy(a) to `path` (replacing it).
Status write_npy(const std::string& path, const Array& a);

}  // namespace gtn
