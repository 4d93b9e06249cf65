#include "gtn/npy.h"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>

namespace gtn {
namespace {

constexpr std::string_view kMagic = "\x93NUMPY";

Status corrupt(const std::string& what) { return Status::Corruption("not a valid .npy file: " + what); }

// A strict parser of the header dict numpy writes:
//   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
// Keys and strings in single or double quotes; a list as descr is a structured dtype.
class HeaderParser {
 public:
  explicit HeaderParser(std::string_view text) : s_(text) {}

  struct Header {
    std::string descr;
    bool structured = false;
    bool fortran = false;
    Shape shape;
  };

  Result<Header> parse() {
    Header h;
    bool have_descr = false, have_fortran = false, have_shape = false;
    skip_space();
    if (!eat('{')) return corrupt("header is not a dict: '" + excerpt() + "'");
    while (true) {
      skip_space();
      if (eat('}')) break;
      GTN_ASSIGN_OR_RETURN(std::string key, parse_string());
      skip_space();
      if (!eat(':')) return corrupt("header has no ':' after '" + key + "'");
      skip_space();
      if (key == "descr") {
        if (have_descr) return corrupt("header repeats 'descr'");
        have_descr = true;
        if (peek() == '[') {
          h.structured = true;
          GTN_RETURN_IF_ERROR(skip_list());
        } else {
          GTN_ASSIGN_OR_RETURN(h.descr, parse_string());
        }
      } else if (key == "fortran_order") {
        if (have_fortran) return corrupt("header repeats 'fortran_order'");
        have_fortran = true;
        if (eat_word("True")) {
          h.fortran = true;
        } else if (eat_word("False")) {
          h.fortran = false;
        } else {
          return corrupt("header 'fortran_order' is neither True nor False: '" + excerpt() + "'");
        }
      } else if (key == "shape") {
        if (have_shape) return corrupt("header repeats 'shape'");
        have_shape = true;
        GTN_ASSIGN_OR_RETURN(h.shape, parse_shape());
      } else {
        return corrupt("header has an unknown key '" + key + "' (expected descr, fortran_order, shape)");
      }
      skip_space();
      if (eat(',')) continue;
      skip_space();
      if (eat('}')) break;
      return corrupt("header dict is malformed near '" + excerpt() + "'");
    }
    skip_space();
    if (pos_ != s_.size()) return corrupt("header has text after its dict: '" + excerpt() + "'");
    if (!have_descr) return corrupt("header has no 'descr'");
    if (!have_fortran) return corrupt("header has no 'fortran_order'");
    if (!have_shape) return corrupt("header has no 'shape'");
    return h;
  }

 private:
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  bool eat(char c) {
    if (peek() != c || pos_ >= s_.size()) return false;
    ++pos_;
    return true;
  }
  bool eat_word(std::string_view w) {
    if (s_.substr(pos_, w.size()) != w) return false;
    pos_ += w.size();
    return true;
  }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t' || s_[pos_] == '\r')) ++pos_;
  }
  std::string excerpt() const {
    std::string e(s_.substr(pos_, 24));
    for (char& c : e) {
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
    }
    return e;
  }

  Result<std::string> parse_string() {
    char q = peek();
    if (q != '\'' && q != '"') return corrupt("header expected a quoted string at '" + excerpt() + "'");
    size_t end = s_.find(q, pos_ + 1);
    if (end == std::string_view::npos) return corrupt("header has an unterminated string");
    std::string out(s_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return out;
  }

  Status skip_list() {
    int depth = 0;
    while (pos_ < s_.size()) {
      char c = s_[pos_++];
      if (c == '[' || c == '(') ++depth;
      if (c == ']' || c == ')') {
        if (--depth == 0) return Status::OK();
      }
    }
    return corrupt("header has an unterminated list");
  }

  Result<Shape> parse_shape() {
    if (!eat('(')) return corrupt("header 'shape' is not a tuple: '" + excerpt() + "'");
    Shape shape;
    while (true) {
      skip_space();
      if (eat(')')) break;
      size_t start = pos_;
      uint64_t dim = 0;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
        if (dim > (static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) - 9) / 10) {
          return corrupt("header 'shape' has a dimension too large");
        }
        dim = dim * 10 + static_cast<uint64_t>(s_[pos_] - '0');
        ++pos_;
      }
      if (pos_ == start) return corrupt("header 'shape' holds a non-integer at '" + excerpt() + "'");
      eat('L');  // Python 2 longs
      shape.push_back(static_cast<int64_t>(dim));
      skip_space();
      if (eat(',')) continue;
      skip_space();
      if (eat(')')) break;
      return corrupt("header 'shape' is malformed at '" + excerpt() + "'");
    }
    return shape;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

Result<DType> dtype_of_descr(const std::string& descr) {
  if (descr.size() < 2) return corrupt("dtype '" + descr + "' is not understood");
  char order = descr[0];
  char kind = descr[1];
  std::string size = descr.substr(2);
  if (order != '<' && order != '>' && order != '|' && order != '=') {
    return corrupt("dtype '" + descr + "' has no byte order ('<', '>', '|' or '=')");
  }
  switch (kind) {
    case 'O':
      return Status::InvalidArgument(".npy object arrays (dtype '" + descr +
                                     "') are not supported; save a numeric array");
    case 'U':
    case 'S':
    case 'a':
      return Status::InvalidArgument(".npy string arrays (dtype '" + descr +
                                     "') are not supported; ingest text from JSONL or CSV instead");
    case 'c':
      return Status::InvalidArgument(".npy complex arrays (dtype '" + descr +
                                     "') are not supported; save the real and imaginary parts as floats");
    case 'M':
    case 'm':
      return Status::InvalidArgument(".npy datetime arrays (dtype '" + descr +
                                     "') are not supported; save them as int64 (x.astype('int64'))");
    case 'V':
      return Status::InvalidArgument(".npy void and structured dtypes ('" + descr + "') are not supported");
    default: break;
  }
  std::optional<DType> dtype;
  if (kind == 'b' && size == "1") dtype = DType::kBool;
  if (kind == 'i') {
    if (size == "1") dtype = DType::kInt8;
    if (size == "2") dtype = DType::kInt16;
    if (size == "4") dtype = DType::kInt32;
    if (size == "8") dtype = DType::kInt64;
  }
  if (kind == 'u') {
    if (size == "1") dtype = DType::kUInt8;
    if (size == "2") dtype = DType::kUInt16;
    if (size == "4") dtype = DType::kUInt32;
    if (size == "8") dtype = DType::kUInt64;
  }
  if (kind == 'f') {
    if (size == "2") dtype = DType::kFloat16;
    if (size == "4") dtype = DType::kFloat32;
    if (size == "8") dtype = DType::kFloat64;
  }
  if (!dtype) {
    return Status::InvalidArgument(".npy dtype '" + descr +
                                   "' is not supported; expected bool, int8..int64, uint8..uint64 or float16/32/64");
  }
  if (order == '>' && dtype_size(*dtype) > 1) {
    return Status::InvalidArgument(".npy big-endian dtype '" + descr +
                                   "' is not supported; save it little-endian: "
                                   "np.save(path, x.astype(x.dtype.newbyteorder('<')))");
  }
  return *dtype;
}

// Descr of a numeric dtype as numpy writes it; "" for text and bytes.
std::string descr_of(DType d) {
  switch (d) {
    case DType::kBool: return "|b1";
    case DType::kInt8: return "|i1";
    case DType::kInt16: return "<i2";
    case DType::kInt32: return "<i4";
    case DType::kInt64: return "<i8";
    case DType::kUInt8: return "|u1";
    case DType::kUInt16: return "<u2";
    case DType::kUInt32: return "<u4";
    case DType::kUInt64: return "<u8";
    case DType::kFloat16: return "<f2";
    case DType::kFloat32: return "<f4";
    case DType::kFloat64: return "<f8";
    default: return "";
  }
}

uint32_t read_le(std::string_view b, size_t at, size_t n) {
  uint32_t v = 0;
  for (size_t k = n; k-- > 0;) v = (v << 8) | static_cast<uint8_t>(b[at + k]);
  return v;
}

}  // namespace

Result<Array> parse_npy(std::string_view bytes) {
  if (bytes.size() < kMagic.size() || bytes.substr(0, kMagic.size()) != kMagic) {
    return corrupt("it does not start with the \\x93NUMPY magic");
  }
  if (bytes.size() < 10) return corrupt("truncated in its header (" + std::to_string(bytes.size()) + " bytes)");
  auto major = static_cast<uint8_t>(bytes[6]);
  auto minor = static_cast<uint8_t>(bytes[7]);
  size_t header_start = 0;
  size_t header_len = 0;
  if (major == 1) {
    header_start = 10;
    header_len = read_le(bytes, 8, 2);
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return corrupt("truncated in its header (" + std::to_string(bytes.size()) + " bytes)");
    header_start = 12;
    header_len = read_le(bytes, 8, 4);
  } else {
    return Status::Unsupported(".npy format version " + std::to_string(major) + "." + std::to_string(minor) +
                               " is not supported (expected 1.0, 2.0 or 3.0)");
  }
  if (minor != 0) {
    return Status::Unsupported(".npy format version " + std::to_string(major) + "." + std::to_string(minor) +
                               " is not supported (expected 1.0, 2.0 or 3.0)");
  }
  if (header_len > bytes.size() - header_start) {
    return corrupt("truncated in its header (" + std::to_string(header_len) + " header bytes announced, " +
                   std::to_string(bytes.size() - header_start) + " present)");
  }
  GTN_ASSIGN_OR_RETURN(HeaderParser::Header h, HeaderParser(bytes.substr(header_start, header_len)).parse());
  if (h.structured) {
    return Status::InvalidArgument(".npy structured dtypes are not supported; save each field as its own array");
  }
  GTN_ASSIGN_OR_RETURN(DType dtype, dtype_of_descr(h.descr));
  uint64_t numel = 1;
  int long_dims = 0;
  for (int64_t d : h.shape) {
    if (d > 1) ++long_dims;
    if (d != 0 && numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / 8 / static_cast<uint64_t>(d)) {
      return corrupt("shape " + shape_to_string(h.shape) + " is too large");
    }
    numel *= static_cast<uint64_t>(d);
  }
  if (h.fortran && long_dims > 1) {
    return Status::InvalidArgument(".npy array of shape " + shape_to_string(h.shape) +
                                   " is in Fortran order; save it in C order: np.save(path, np.ascontiguousarray(x))");
  }
  std::string_view data = bytes.substr(header_start + header_len);
  uint64_t expected = numel * dtype_size(dtype);
  if (data.size() != expected) {
    return corrupt(std::string(data.size() < expected ? "truncated: " : "trailing bytes: ") + "data holds " +
                   std::to_string(data.size()) + " bytes, expected " + std::to_string(expected) + " for " +
                   std::string(dtype_name(dtype)) + " shape " + shape_to_string(h.shape));
  }
  return Array::Copy(dtype, std::move(h.shape), data.data(), data.size());
}

Result<Array> read_npy(const std::string& path) {
  namespace fs = std::filesystem;
  if (path.find('\0') != std::string::npos) {
    return Status::InvalidArgument("path contains a NUL byte: '" + path.substr(0, path.find('\0')) + "\\0...'");
  }
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) return Status::NotFound("cannot open '" + path + "': no such file");
  if (fs::is_directory(st)) return Status::InvalidArgument("'" + path + "' is a folder, not a .npy file");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return Status::IOError("cannot open '" + path + "': " + std::strerror(errno));
  std::string bytes;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) bytes.append(buf, n);
  bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return Status::IOError("cannot read '" + path + "'");
  Result<Array> a = parse_npy(bytes);
  if (!a.ok()) return a.status().WithContext(path);
  return a;
}

Result<std::string> serialize_npy(const Array& a) {
  std::string descr = descr_of(a.dtype());
  if (descr.empty()) {
    return Status::InvalidArgument(std::string(dtype_name(a.dtype())) + " values cannot be written as .npy");
  }
  std::string shape = "(";
  for (size_t i = 0; i < a.ndim(); ++i) {
    if (i) shape += ", ";
    shape += std::to_string(a.shape()[i]);
  }
  if (a.ndim() == 1) shape += ",";
  shape += ")";
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  if (header.size() > 0xffff) return Status::InvalidArgument(".npy header too long for shape " + shape);
  std::string out(kMagic);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  out.append(static_cast<const char*>(a.data()), a.nbytes());
  return out;
}

Status write_npy(const std::string& path, const Array& a) {
  GTN_ASSIGN_OR_RETURN(std::string bytes, serialize_npy(a));
  if (path.find('\0') != std::string::npos) return Status::InvalidArgument("path contains a NUL byte");
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return Status::IOError("cannot open '" + path + "' for writing: " + std::strerror(errno));
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) return Status::IOError("cannot write '" + path + "'");
  return Status::OK();
}

}  // namespace gtn
