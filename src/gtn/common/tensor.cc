#include "gtn/tensor.h"

#include <cstdlib>
#include <cstring>

namespace gtn {

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::kBool: case DType::kInt8: case DType::kUInt8:
    case DType::kText: case DType::kBytes: return 1;
    case DType::kInt16: case DType::kUInt16: case DType::kFloat16: return 2;
    case DType::kInt32: case DType::kUInt32: case DType::kFloat32: return 4;
    case DType::kInt64: case DType::kUInt64: case DType::kFloat64: return 8;
  }
  return 1;
}

std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::kBool: return "bool";
    case DType::kInt8: return "int8";
    case DType::kInt16: return "int16";
    case DType::kInt32: return "int32";
    case DType::kInt64: return "int64";
    case DType::kUInt8: return "uint8";
    case DType::kUInt16: return "uint16";
    case DType::kUInt32: return "uint32";
    case DType::kUInt64: return "uint64";
    case DType::kFloat16: return "float16";
    case DType::kFloat32: return "float32";
    case DType::kFloat64: return "float64";
    case DType::kText: return "text";
    case DType::kBytes: return "bytes";
  }
  return "unknown";
}

Result<DType> parse_dtype(std::string_view name) {
  struct Alias { std::string_view name; DType dtype; };
  static constexpr Alias kAliases[] = {
      {"bool", DType::kBool}, {"?", DType::kBool}, {"b1", DType::kBool},
      {"int8", DType::kInt8}, {"i1", DType::kInt8},
      {"int16", DType::kInt16}, {"i2", DType::kInt16},
      {"int32", DType::kInt32}, {"i4", DType::kInt32},
      {"int64", DType::kInt64}, {"i8", DType::kInt64}, {"int", DType::kInt64},
      {"uint8", DType::kUInt8}, {"u1", DType::kUInt8},
      {"uint16", DType::kUInt16}, {"u2", DType::kUInt16},
      {"uint32", DType::kUInt32}, {"u4", DType::kUInt32},
      {"uint64", DType::kUInt64}, {"u8", DType::kUInt64},
      {"float16", DType::kFloat16}, {"f2", DType::kFloat16}, {"half", DType::kFloat16},
      {"float32", DType::kFloat32}, {"f4", DType::kFloat32}, {"float", DType::kFloat32},
      {"float64", DType::kFloat64}, {"f8", DType::kFloat64}, {"double", DType::kFloat64},
      {"text", DType::kText}, {"str", DType::kText},
      {"bytes", DType::kBytes},
  };
  std::string_view n = name;
  if (!n.empty() && (n[0] == '<' || n[0] == '=' || n[0] == '|')) n.remove_prefix(1);
  for (const auto& a : kAliases) {
    if (a.name == n) return a.dtype;
  }
  return Status::InvalidArgument(
      "unknown dtype '" + std::string(name) +
      "'; expected one of bool, int8, int16, int32, int64, uint8, uint16, uint32, uint64, "
      "float16, float32, float64, text, bytes");
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_to_string(const Shape& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  s += ")";
  return s;
}

namespace {
// A heap buffer whose lifetime is shared by the Arrays that view it.
std::shared_ptr<void> allocate(size_t nbytes) {
  void* p = std::calloc(nbytes ? nbytes : 1, 1);
  if (!p) std::abort();
  return std::shared_ptr<void>(p, std::free);
}

Status check_shape(DType dtype, const Shape& shape, size_t nbytes) {
  for (int64_t d : shape) {
    if (d < 0) return Status::InvalidArgument("negative dimension in shape " + shape_to_string(shape));
  }
  size_t expect = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
  if (expect != nbytes) {
    return Status::InvalidArgument("shape " + shape_to_string(shape) + " of " +
                                   std::string(dtype_name(dtype)) + " needs " +
                                   std::to_string(expect) + " bytes, got " + std::to_string(nbytes));
  }
  return Status::OK();
}
}  // namespace

Array Array::Zeros(DType dtype, Shape shape) {
  Array a;
  a.dtype_ = dtype;
  a.shape_ = std::move(shape);
  a.nbytes_ = static_cast<size_t>(shape_numel(a.shape_)) * dtype_size(dtype);
  auto buf = allocate(a.nbytes_);
  a.mutable_ = buf.get();
  a.data_ = buf.get();
  a.owner_ = std::move(buf);
  return a;
}

Array Array::Empty(DType dtype, Shape shape) {
  Array a;
  a.dtype_ = dtype;
  a.shape_ = std::move(shape);
  a.nbytes_ = static_cast<size_t>(shape_numel(a.shape_)) * dtype_size(dtype);
  void* p = std::malloc(a.nbytes_ ? a.nbytes_ : 1);
  if (!p) std::abort();
  std::shared_ptr<void> buf(p, std::free);
  a.mutable_ = buf.get();
  a.data_ = buf.get();
  a.owner_ = std::move(buf);
  return a;
}

Result<Array> Array::Copy(DType dtype, Shape shape, const void* data, size_t nbytes) {
  GTN_RETURN_IF_ERROR(check_shape(dtype, shape, nbytes));
  Array a = Zeros(dtype, std::move(shape));
  if (nbytes) std::memcpy(a.mutable_, data, nbytes);
  return a;
}

Result<Array> Array::View(DType dtype, Shape shape, const void* data, size_t nbytes,
                          std::shared_ptr<const void> owner) {
  GTN_RETURN_IF_ERROR(check_shape(dtype, shape, nbytes));
  Array a;
  a.dtype_ = dtype;
  a.shape_ = std::move(shape);
  a.data_ = data;
  a.nbytes_ = nbytes;
  a.owner_ = std::move(owner);
  return a;
}

Array Array::Text(std::string_view text) {
  Array a = Zeros(DType::kText, {static_cast<int64_t>(text.size())});
  if (!text.empty()) std::memcpy(a.mutable_, text.data(), text.size());
  return a;
}

Array Array::Bytes(std::string_view bytes) {
  Array a = Text(bytes);
  a.dtype_ = DType::kBytes;
  return a;
}

void* Array::mutable_data() {
  if (!mutable_) std::abort();
  return mutable_;
}

}  // namespace gtn
