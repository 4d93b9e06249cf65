// Column: the values of one expression over a batch of rows, as the evaluator passes
// them between operators. Numeric rows are arrays (all the same shape, or ragged with a
// shape per row), elements back to back in their dtype; text rows are string views.
// Constants are one row shared by every row (`shared`).
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gtn/dataset.h"
#include "gtn/tensor.h"

namespace gtn::query {

struct Col {
  bool text = false;
  DType dtype = DType::kFloat64;  // numeric element type (kBool: uint8 0/1)
  uint64_t n = 0;                 // rows
  bool shared = false;            // one row standing for all n (constants)
  bool uniform = true;            // every row has `shape`
  Shape shape;                    // the rows' shape when uniform
  std::vector<Shape> shapes;      // ragged: each row's shape
  std::vector<uint64_t> offs;     // ragged: element offset of each row (n + 1 values)
  const uint8_t* data = nullptr;  // numeric elements
  std::shared_ptr<const void> keep;
  std::vector<std::string_view> strs;       // text rows
  std::vector<std::shared_ptr<const void>> str_keep;

  uint64_t row_numel(uint64_t i) const {
    if (uniform) return static_cast<uint64_t>(shape_numel(shape));
    return offs[shared ? 1 : i + 1] - offs[shared ? 0 : i];
  }
  uint64_t row_start(uint64_t i) const {
    if (shared) return 0;
    return uniform ? i * static_cast<uint64_t>(shape_numel(shape)) : offs[i];
  }
  const Shape& row_shape(uint64_t i) const { return uniform ? shape : shapes[shared ? 0 : i]; }
  std::string_view str(uint64_t i) const { return strs[shared ? 0 : i]; }
  template <typename T>
  const T* as() const { return reinterpret_cast<const T*>(data); }
  // True when every row is one element (a scalar per row).
  bool scalar_rows() const { return uniform && shape_numel(shape) == 1; }
};

// A uniform column of n rows of `shape`, owning a zeroed buffer of T; *out points at it.
template <typename T>
Col make_col(DType dtype, uint64_t n, Shape shape, T** out) {
  Col c;
  c.dtype = dtype;
  c.n = n;
  c.shape = std::move(shape);
  auto buf = std::make_shared<std::vector<T>>(n * static_cast<uint64_t>(shape_numel(c.shape)));
  *out = buf->data();
  c.data = reinterpret_cast<const uint8_t*>(buf->data());
  c.keep = std::move(buf);
  return c;
}

// A ragged column: `shapes` per row, owning a zeroed buffer of T for all their elements.
template <typename T>
Col make_ragged(DType dtype, std::vector<Shape> shapes, T** out) {
  Col c;
  c.dtype = dtype;
  c.n = shapes.size();
  c.uniform = false;
  c.offs.resize(c.n + 1, 0);
  for (uint64_t i = 0; i < c.n; ++i) c.offs[i + 1] = c.offs[i] + static_cast<uint64_t>(shape_numel(shapes[i]));
  c.shapes = std::move(shapes);
  auto buf = std::make_shared<std::vector<T>>(c.offs.back());
  *out = buf->data();
  c.data = reinterpret_cast<const uint8_t*>(buf->data());
  c.keep = std::move(buf);
  return c;
}

// Calls fn(T{}) with T the C++ type of a numeric dtype (bool as uint8_t; float16 never:
// tensors of float16 are widened when loaded).
template <typename Fn>
void visit_numeric(DType d, Fn&& fn) {
  switch (d) {
    case DType::kBool: fn(uint8_t{}); break;
    case DType::kInt8: fn(int8_t{}); break;
    case DType::kInt16: fn(int16_t{}); break;
    case DType::kInt32: fn(int32_t{}); break;
    case DType::kInt64: fn(int64_t{}); break;
    case DType::kUInt8: fn(uint8_t{}); break;
    case DType::kUInt16: fn(uint16_t{}); break;
    case DType::kUInt32: fn(uint32_t{}); break;
    case DType::kUInt64: fn(uint64_t{}); break;
    case DType::kFloat32: fn(float{}); break;
    default: fn(double{}); break;
  }
}

inline bool is_integral(DType d) { return d != DType::kFloat16 && d != DType::kFloat32 && d != DType::kFloat64; }

// The column's elements as double / int64 (a copy unless already of that type).
std::shared_ptr<const std::vector<double>> to_f64(const Col& c, const double** p);
std::shared_ptr<const std::vector<int64_t>> to_i64(const Col& c, const int64_t** p);

// Reads tensor `t` for rows [begin, begin + n) (zero-copy where the chunks allow) or for
// the listed rows, into a column. Float16 tensors are widened to float32.
Result<Col> load_range(const Dataset& ds, size_t t, const TensorInfo& info, uint64_t begin, uint64_t n,
                       uint64_t* bytes_read);
Result<Col> load_rows(const Dataset& ds, size_t t, const TensorInfo& info, const uint64_t* rows, uint64_t n,
                      uint64_t* bytes_read);

}  // namespace gtn::query
