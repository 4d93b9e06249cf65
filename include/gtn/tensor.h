// DType and Array: the in-memory N-d value that every part of GTN passes around.
// An Array is a typed, shaped, contiguous (C-order) block of bytes that either owns
// its buffer or views bytes kept alive by an owner (an mmap'ed chunk, a numpy array).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gtn/result.h"

namespace gtn {

// Element types. The numeric values are part of the on-disk format: never renumber.
enum class DType : uint8_t {
  kBool = 0,
  kInt8 = 1,
  kInt16 = 2,
  kInt32 = 3,
  kInt64 = 4,
  kUInt8 = 5,
  kUInt16 = 6,
  kUInt32 = 7,
  kUInt64 = 8,
  kFloat16 = 9,
  kFloat32 = 10,
  kFloat64 = 11,
  kText = 12,   // UTF-8 bytes; a sample is 1-d, shape = {number of bytes}
  kBytes = 13,  // opaque bytes; a sample is 1-d, shape = {number of bytes}
};

// Bytes per element (1 for kText and kBytes).
size_t dtype_size(DType dtype);
// "float32", "text", ... (the numpy name for numeric types).
std::string_view dtype_name(DType dtype);
// Inverse of dtype_name; also accepts numpy spellings ("f4", "<i8", "uint8", "str").
Result<DType> parse_dtype(std::string_view name);
// True for kText and kBytes, whose samples are variable-length byte strings.
inline bool dtype_is_bytes_like(DType d) { return d == DType::kText || d == DType::kBytes; }

using Shape = std::vector<int64_t>;

// Number of elements of a shape (1 for a scalar shape {}).
int64_t shape_numel(const Shape& shape);
// "(64, 64, 3)".
std::string shape_to_string(const Shape& shape);

class Array {
 public:
  Array() = default;

  // A new zero-filled array that owns its buffer.
  static Array Zeros(DType dtype, Shape shape);
  // A new array that owns an uninitialized buffer, for a producer that writes every
  // element (no zero-fill pass).
  static Array Empty(DType dtype, Shape shape);
  // A new array that owns a copy of `nbytes` bytes at `data`; nbytes must match dtype*shape.
  static Result<Array> Copy(DType dtype, Shape shape, const void* data, size_t nbytes);
  // A view of `data` kept alive by `owner` (no copy).
  static Result<Array> View(DType dtype, Shape shape, const void* data, size_t nbytes,
                            std::shared_ptr<const void> owner);
  // A 1-d text array holding `text` (copied).
  static Array Text(std::string_view text);
  // A 1-d bytes array holding `bytes` (copied).
  static Array Bytes(std::string_view bytes);
  // A scalar of type T (shape {}).
  template <typename T>
  static Array Scalar(DType dtype, T value) {
    Array a = Zeros(dtype, {});
    *static_cast<T*>(a.mutable_data()) = value;
    return a;
  }

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  size_t ndim() const { return shape_.size(); }
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return nbytes_; }
  const void* data() const { return data_; }
  // Writable pointer; only valid for arrays that own their buffer (aborts on a view).
  void* mutable_data();
  bool owns_buffer() const { return mutable_ != nullptr; }
  // The object that keeps data() alive (the buffer itself for owning arrays).
  const std::shared_ptr<const void>& owner() const { return owner_; }

  template <typename T>
  const T* data_as() const { return static_cast<const T*>(data_); }
  // The bytes of a kText/kBytes (or any) array as a string_view.
  std::string_view as_string_view() const {
    return {static_cast<const char*>(data_), nbytes_};
  }

 private:
  DType dtype_ = DType::kFloat32;
  Shape shape_;
  const void* data_ = nullptr;
  void* mutable_ = nullptr;
  size_t nbytes_ = 0;
  std::shared_ptr<const void> owner_;
};

}  // namespace gtn
