#include "gtn/ml/npy.h"

#include <cstring>
#include <fstream>

#include "gtn/ml/model_file.h"

namespace gtn::ml {
namespace {

constexpr char kMagic[] = "\x93NUMPY";

Status corrupt(const std::string& m) { return Status::Corruption(".npy: " + m); }

// The value of 'key' in the header dict (up to the next top-level comma or closing brace).
Result<std::string> header_value(const std::string& h, const std::string& key) {
  size_t k = h.find("'" + key + "'");
  if (k == std::string::npos) k = h.find("\"" + key + "\"");
  if (k == std::string::npos) return corrupt("header has no '" + key + "'");
  size_t colon = h.find(':', k);
  if (colon == std::string::npos) return corrupt("header entry '" + key + "' has no value");
  size_t i = colon + 1;
  while (i < h.size() && h[i] == ' ') ++i;
  size_t j = i;
  int depth = 0;
  while (j < h.size()) {
    char c = h[j];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
    ++j;
  }
  std::string v = h.substr(i, j - i);
  while (!v.empty() && v.back() == ' ') v.pop_back();
  return v;
}

Result<DType> parse_descr(std::string d) {
  if (d.size() >= 2 && (d.front() == '\'' || d.front() == '"')) d = d.substr(1, d.size() - 2);
  if (d.empty()) return corrupt("empty descr");
  if (d[0] == '>' && d.substr(1) != "i1" && d.substr(1) != "u1" && d.substr(1) != "b1")
    return Status::InvalidArgument(".npy: big-endian arrays ('" + d + "') are not supported; use a little-endian dtype");
  std::string t = (d[0] == '<' || d[0] == '|' || d[0] == '=' || d[0] == '>') ? d.substr(1) : d;
  if (t == "f4") return DType::kFloat32;
  if (t == "f8") return DType::kFloat64;
  if (t == "i1") return DType::kInt8;
  if (t == "i2") return DType::kInt16;
  if (t == "i4") return DType::kInt32;
  if (t == "i8") return DType::kInt64;
  if (t == "u1") return DType::kUInt8;
  if (t == "u2") return DType::kUInt16;
  if (t == "u4") return DType::kUInt32;
  if (t == "u8") return DType::kUInt64;
  if (t == "b1") return DType::kBool;
  return Status::InvalidArgument(".npy: dtype '" + d + "' is not supported; expected a numeric dtype (f4, f8, i1-i8, u1-u8, b1)");
}

std::string descr_of(DType d) {
  switch (d) {
    case DType::kFloat32: return "<f4";
    case DType::kFloat64: return "<f8";
    case DType::kInt8: return "|i1";
    case DType::kInt16: return "<i2";
    case DType::kInt32: return "<i4";
    case DType::kInt64: return "<i8";
    case DType::kUInt8: return "|u1";
    case DType::kUInt16: return "<u2";
    case DType::kUInt32: return "<u4";
    case DType::kUInt64: return "<u8";
    case DType::kBool: return "|b1";
    default: return "";
  }
}

}  // namespace

Result<Array> parse_npy(std::string bytes) {
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic, 6) != 0) return corrupt("bad magic (not a .npy file)");
  uint8_t major = static_cast<uint8_t>(bytes[6]);
  size_t header_len, header_at;
  if (major == 1) {
    header_len = static_cast<uint8_t>(bytes[8]) | (static_cast<size_t>(static_cast<uint8_t>(bytes[9])) << 8);
    header_at = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return corrupt("truncated header");
    uint32_t v;
    std::memcpy(&v, bytes.data() + 8, 4);
    header_len = v;
    header_at = 12;
  } else {
    return Status::Unsupported(".npy: format version " + std::to_string(major) + " is not supported");
  }
  if (header_at + header_len > bytes.size()) return corrupt("truncated header");
  std::string h = bytes.substr(header_at, header_len);
  GTN_ASSIGN_OR_RETURN(std::string descr, header_value(h, "descr"));
  GTN_ASSIGN_OR_RETURN(DType dt, parse_descr(descr));
  GTN_ASSIGN_OR_RETURN(std::string fortran, header_value(h, "fortran_order"));
  if (fortran == "True")
    return Status::InvalidArgument(".npy: Fortran-order arrays are not supported; save np.ascontiguousarray(x)");
  if (fortran != "False") return corrupt("fortran_order must be True or False");
  GTN_ASSIGN_OR_RETURN(std::string shape_s, header_value(h, "shape"));
  if (shape_s.size() < 2 || shape_s.front() != '(' || shape_s.back() != ')') return corrupt("shape must be a tuple");
  Shape shape;
  std::string inner = shape_s.substr(1, shape_s.size() - 2);
  size_t i = 0;
  while (i < inner.size()) {
    while (i < inner.size() && (inner[i] == ' ' || inner[i] == ',')) ++i;
    if (i >= inner.size()) break;
    size_t j = i;
    while (j < inner.size() && std::isdigit(static_cast<unsigned char>(inner[j]))) ++j;
    if (j == i || j - i > 15) return corrupt("bad shape " + shape_s);
    shape.push_back(std::stoll(inner.substr(i, j - i)));
    i = j;
  }
  size_t data_at = header_at + header_len;
  unsigned __int128 need = dtype_size(dt);
  for (int64_t d : shape) need *= static_cast<unsigned __int128>(d);
  if (need > bytes.size() - data_at)
    return corrupt("data is " + std::to_string(bytes.size() - data_at) + " bytes, shape " + shape_to_string(shape) +
                   " needs " + std::to_string(static_cast<uint64_t>(need)));
  return Array::Copy(dt, shape, bytes.data() + data_at, static_cast<size_t>(need));
}

Result<Array> read_npy(const std::string& path) {
  GTN_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  auto a = parse_npy(std::move(bytes));
  if (!a.ok()) return a.status().WithContext(path);
  return a;
}

Result<std::string> serialize_npy(const Array& a) {
  std::string descr = descr_of(a.dtype());
  if (descr.empty())
    return Status::InvalidArgument(".npy: cannot write dtype " + std::string(dtype_name(a.dtype())));
  std::string shape = "(";
  for (size_t i = 0; i < a.ndim(); ++i) shape += std::to_string(a.shape()[i]) + (a.ndim() == 1 || i + 1 < a.ndim() ? "," : "");
  shape += ")";
  std::string h = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  size_t total = 10 + h.size() + 1;
  h.append((64 - total % 64) % 64, ' ');
  h += '\n';
  std::string out(kMagic, 6);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(h.size() & 0xff);
  out += static_cast<char>(h.size() >> 8);
  out += h;
  out.append(static_cast<const char*>(a.data()), a.nbytes());
  return out;
}

Status write_npy(const std::string& path, const Array& a) {
  GTN_ASSIGN_OR_RETURN(std::string bytes, serialize_npy(a));
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return Status::IOError("cannot open '" + path + "' for writing");
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) return Status::IOError("write to '" + path + "' failed");
  return Status::OK();
}

}  // namespace gtn::ml
