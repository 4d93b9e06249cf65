#include "gtn/ingest/npy_reader.h"

#include <cstring>
#include <limits>

#include "gtn/ingest/file_util.h"

namespace gtn::ingest {
namespace {

constexpr std::string_view kMagic = "\x93NUMPY";

// The text after `'key':` in the header dict, with leading spaces removed.
Result<std::string_view> header_value(std::string_view header, std::string_view key) {
  std::string quoted(1, '\'');
  quoted.append(key);
  quoted.push_back('\'');
  size_t pos = header.find(quoted);
  if (pos == std::string_view::npos) {
    return Status::InvalidArgument(".npy header has no '" + std::string(key) + "' entry");
  }
  pos = header.find(':', pos + quoted.size());
  if (pos == std::string_view::npos) {
    return Status::InvalidArgument(".npy header entry '" + std::string(key) + "' has no value");
  }
  std::string_view rest = header.substr(pos + 1);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  return rest;
}

Result<DType> parse_descr(std::string_view value) {
  if (value.empty() || value.front() == '[') {
    return Status::InvalidArgument(".npy structured dtypes are not supported; expected a plain numeric dtype");
  }
  char quote = value.front();
  if (quote != '\'' && quote != '"') return Status::InvalidArgument(".npy header 'descr' is not a string");
  size_t end = value.find(quote, 1);
  if (end == std::string_view::npos) return Status::InvalidArgument(".npy header 'descr' is not terminated");
  std::string descr(value.substr(1, end - 1));
  if (descr.size() < 2) return Status::InvalidArgument(".npy dtype '" + descr + "' is not understood");
  char order = descr[0];
  char kind = descr[1];
  std::string size = descr.substr(2);
  if (kind == 'O') {
    return Status::InvalidArgument(".npy object arrays (dtype 'O') are not supported; save a numeric array");
  }
  if (order == '>' && size != "1") {
    return Status::InvalidArgument(".npy big-endian dtype '" + descr +
                                   "' is not supported; expected little-endian (save with arr.astype(arr.dtype.newbyteorder('<')))");
  }
  if (order != '<' && order != '|' && order != '=' && order != '>') {
    return Status::InvalidArgument(".npy dtype '" + descr + "' is not understood");
  }
  struct Entry { char kind; const char* size; DType dtype; };
  static const Entry kTable[] = {
      {'b', "1", DType::kBool},    {'?', "1", DType::kBool},    {'i', "1", DType::kInt8},
      {'i', "2", DType::kInt16},   {'i', "4", DType::kInt32},   {'i', "8", DType::kInt64},
      {'u', "1", DType::kUInt8},   {'u', "2", DType::kUInt16},  {'u', "4", DType::kUInt32},
      {'u', "8", DType::kUInt64},  {'f', "2", DType::kFloat16}, {'f', "4", DType::kFloat32},
      {'f', "8", DType::kFloat64},
  };
  // numpy writes bool as '|b1'; int8 as '|i1'.
  if (kind == 'b' && size == "1") return DType::kBool;
  for (const Entry& e : kTable) {
    if (e.kind == kind && size == e.size && kind != 'b') return e.dtype;
  }
  return Status::InvalidArgument(".npy dtype '" + descr +
                                 "' is not supported; expected bool, int8..int64, uint8..uint64 or float16/32/64");
}

Result<bool> parse_fortran_order(std::string_view value) {
  if (value.substr(0, 4) == "True") return true;
  if (value.substr(0, 5) == "False") return false;
  return Status::InvalidArgument(".npy header 'fortran_order' is neither True nor False");
}

Result<Shape> parse_shape(std::string_view value) {
  if (value.empty() || value.front() != '(') return Status::InvalidArgument(".npy header 'shape' is not a tuple");
  size_t end = value.find(')');
  if (end == std::string_view::npos) return Status::InvalidArgument(".npy header 'shape' is not terminated");
  std::string_view body = value.substr(1, end - 1);
  Shape shape;
  size_t i = 0;
  while (i < body.size()) {
    while (i < body.size() && (body[i] == ' ' || body[i] == ',')) ++i;
    if (i >= body.size()) break;
    uint64_t dim = 0;
    size_t start = i;
    while (i < body.size() && body[i] >= '0' && body[i] <= '9') {
      if (dim > (std::numeric_limits<int64_t>::max() - 9) / 10) {
        return Status::InvalidArgument(".npy header 'shape' has a dimension too large");
      }
      dim = dim * 10 + static_cast<uint64_t>(body[i] - '0');
      ++i;
    }
    while (i < body.size() && body[i] == 'L') ++i;  // Python 2 longs
    if (i == start) return Status::InvalidArgument(".npy header 'shape' holds a non-integer: (" + std::string(body) + ")");
    shape.push_back(static_cast<int64_t>(dim));
  }
  return shape;
}

}  // namespace

Result<Array> parse_npy(std::string_view bytes) {
  if (bytes.size() < 10 || bytes.substr(0, kMagic.size()) != kMagic) {
    return Status::InvalidArgument("not a .npy file (missing the \\x93NUMPY magic)");
  }
  auto major = static_cast<uint8_t>(bytes[6]);
  size_t header_len = 0;
  size_t header_start = 0;
  if (major == 1) {
    header_len = static_cast<uint8_t>(bytes[8]) | (static_cast<size_t>(static_cast<uint8_t>(bytes[9])) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return Status::InvalidArgument(".npy file is truncated in its header");
    header_len = 0;
    for (int k = 3; k >= 0; --k) header_len = (header_len << 8) | static_cast<uint8_t>(bytes[8 + k]);
    header_start = 12;
  } else {
    return Status::InvalidArgument(".npy format version " + std::to_string(major) + " is not supported (expected 1, 2 or 3)");
  }
  if (header_len > bytes.size() - header_start) {
    return Status::InvalidArgument(".npy file is truncated in its header");
  }
  std::string_view header = bytes.substr(header_start, header_len);
  GTN_ASSIGN_OR_RETURN(std::string_view descr_v, header_value(header, "descr"));
  GTN_ASSIGN_OR_RETURN(DType dtype, parse_descr(descr_v));
  GTN_ASSIGN_OR_RETURN(std::string_view fortran_v, header_value(header, "fortran_order"));
  GTN_ASSIGN_OR_RETURN(bool fortran, parse_fortran_order(fortran_v));
  GTN_ASSIGN_OR_RETURN(std::string_view shape_v, header_value(header, "shape"));
  GTN_ASSIGN_OR_RETURN(Shape shape, parse_shape(shape_v));
  int64_t numel = 1;
  for (int64_t d : shape) {
    if (d != 0 && numel > std::numeric_limits<int64_t>::max() / d) {
      return Status::InvalidArgument(".npy shape " + shape_to_string(shape) + " is too large");
    }
    numel *= d;
  }
  if (fortran && shape.size() > 1) {
    return Status::InvalidArgument(".npy array is in Fortran order; save it in C order (np.ascontiguousarray)");
  }
  std::string_view data = bytes.substr(header_start + header_len);
  uint64_t expected = static_cast<uint64_t>(numel) * dtype_size(dtype);
  if (data.size() != expected) {
    return Status::InvalidArgument(".npy data holds " + std::to_string(data.size()) + " bytes, expected " +
                                   std::to_string(expected) + " for " + std::string(dtype_name(dtype)) +
                                   " shape " + shape_to_string(shape));
  }
  return Array::Copy(dtype, std::move(shape), data.data(), data.size());
}

Result<Array> read_npy_file(const std::string& path) {
  GTN_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  Result<Array> arr = parse_npy(bytes);
  if (!arr.ok()) return arr.status().WithContext(path);
  return arr;
}

}  // namespace gtn::ingest
