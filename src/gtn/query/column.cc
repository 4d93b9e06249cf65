#include "gtn/query/column.h"

#include <cmath>

namespace gtn::query {
namespace {

float half_to_float(uint16_t h) {
  int sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
  float v;
  if (exp == 0) {
    v = std::ldexp(static_cast<float>(frac), -24);
  } else if (exp == 31) {
    v = frac ? NAN : INFINITY;
  } else {
    v = std::ldexp(static_cast<float>(frac + 1024), exp - 25);
  }
  return sign ? -v : v;
}

// An array widened from float16 to float32 (others unchanged).
Array widen(Array a) {
  if (a.dtype() != DType::kFloat16) return a;
  Array out = Array::Zeros(DType::kFloat32, a.shape());
  auto* dst = static_cast<float*>(out.mutable_data());
  const auto* src = a.data_as<uint16_t>();
  for (int64_t i = 0; i < a.numel(); ++i) dst[i] = half_to_float(src[i]);
  return out;
}

// Builds a column from per-row pieces: each a [k, shape...] block of k rows.
Result<Col> assemble(DType dtype, std::vector<Array>& pieces, std::vector<bool>& is_block, uint64_t n) {
  if (pieces.size() == 1 && is_block[0]) {
    Col c;
    c.dtype = pieces[0].dtype();
    c.n = n;
    c.shape.assign(pieces[0].shape().begin() + 1, pieces[0].shape().end());
    c.data = static_cast<const uint8_t*>(pieces[0].data());
    c.keep = pieces[0].owner() ? pieces[0].owner() : std::make_shared<Array>(pieces[0]);
    // An owning array's buffer is kept by its owner; a view's by the chunk.
    return c;
  }
  // Row shapes.
  std::vector<Shape> shapes;
  shapes.reserve(n);
  for (size_t p = 0; p < pieces.size(); ++p) {
    if (is_block[p]) {
      Shape row(pieces[p].shape().begin() + 1, pieces[p].shape().end());
      for (int64_t r = 0; r < pieces[p].shape()[0]; ++r) shapes.push_back(row);
    } else {
      shapes.push_back(pieces[p].shape());
    }
  }
  bool uniform = true;
  for (const Shape& s : shapes) uniform = uniform && s == shapes[0];
  size_t es = dtype_size(dtype);
  Col c;
  if (uniform && !shapes.empty()) {
    c.dtype = dtype;
    c.n = n;
    c.shape = shapes[0];
    auto buf = std::make_shared<std::vector<uint8_t>>(n * shape_numel(shapes[0]) * es);
    uint8_t* dst = buf->data();
    c.data = dst;
    c.keep = buf;
    for (const Array& a : pieces) {
      if (a.nbytes()) std::memcpy(dst, a.data(), a.nbytes());
      dst += a.nbytes();
    }
    return c;
  }
  c.dtype = dtype;
  c.n = n;
  c.uniform = false;
  c.offs.assign(n + 1, 0);
  for (uint64_t i = 0; i < n; ++i) c.offs[i + 1] = c.offs[i] + static_cast<uint64_t>(shape_numel(shapes[i]));
  c.shapes = std::move(shapes);
  auto buf = std::make_shared<std::vector<uint8_t>>(c.offs.back() * es);
  uint8_t* dst = buf->data();
  for (const Array& a : pieces) {
    if (a.nbytes()) std::memcpy(dst, a.data(), a.nbytes());
    dst += a.nbytes();
  }
  c.data = buf->data();
  c.keep = buf;
  return c;
}

bool fixed_shape(const TensorInfo& info, Shape* shape) {
  if (info.min_shape.empty() && info.max_shape.empty()) {
    // Scalars (rank 0) or no non-empty sample: rank decides.
    *shape = {};
    return info.length > 0;
  }
  if (info.min_shape != info.max_shape) return false;
  *shape = info.max_shape;
  return true;
}

}  // namespace

std::shared_ptr<const std::vector<double>> to_f64(const Col& c, const double** p) {
  if (c.dtype == DType::kFloat64) {
    *p = c.as<double>();
    return nullptr;
  }
  uint64_t total = c.shared ? c.row_numel(0) : (c.uniform ? c.n * shape_numel(c.shape) : c.offs.back());
  auto out = std::make_shared<std::vector<double>>(total);
  visit_numeric(c.dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* src = c.as<T>();
    for (uint64_t i = 0; i < total; ++i) (*out)[i] = static_cast<double>(src[i]);
  });
  *p = out->data();
  return out;
}

std::shared_ptr<const std::vector<int64_t>> to_i64(const Col& c, const int64_t** p) {
  if (c.dtype == DType::kInt64) {
    *p = c.as<int64_t>();
    return nullptr;
  }
  uint64_t total = c.shared ? c.row_numel(0) : (c.uniform ? c.n * shape_numel(c.shape) : c.offs.back());
  auto out = std::make_shared<std::vector<int64_t>>(total);
  visit_numeric(c.dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* src = c.as<T>();
    for (uint64_t i = 0; i < total; ++i) (*out)[i] = static_cast<int64_t>(src[i]);
  });
  *p = out->data();
  return out;
}

Result<Col> load_range(const Dataset& ds, size_t t, const TensorInfo& info, uint64_t begin, uint64_t n,
                       uint64_t* bytes_read) {
  uint64_t end = begin + n;
  if (dtype_is_bytes_like(info.dtype)) {
    Col c;
    c.text = true;
    c.dtype = info.dtype;
    c.n = n;
    c.strs.reserve(n);
    for (uint64_t i = begin; i < end;) {
      GTN_ASSIGN_OR_RETURN(Dataset::BytesRows rows, ds.read_bytes_rows(t, i, end));
      for (std::string_view s : rows.items) *bytes_read += s.size();
      c.strs.insert(c.strs.end(), rows.items.begin(), rows.items.end());
      c.str_keep.push_back(std::move(rows.owner));
      i += rows.items.size();
    }
    return c;
  }
  std::vector<Array> pieces;
  std::vector<bool> is_block;
  Shape shape;
  bool fixed = fixed_shape(info, &shape);
  uint64_t i = begin;
  while (i < end) {
    if (fixed) {
      GTN_ASSIGN_OR_RETURN(Array v, ds.read_rows_view(t, i, end, shape));
      if (v.shape()[0] > 0) {
        i += v.shape()[0];
        *bytes_read += v.nbytes();
        pieces.push_back(widen(std::move(v)));
        is_block.push_back(true);
        continue;
      }
    }
    GTN_ASSIGN_OR_RETURN(Array a, ds.read(t, i));
    *bytes_read += a.nbytes();
    pieces.push_back(widen(std::move(a)));
    is_block.push_back(false);
    ++i;
  }
  DType dtype = info.dtype == DType::kFloat16 ? DType::kFloat32 : info.dtype;
  if (pieces.empty()) {
    Col c;
    c.dtype = dtype;
    c.n = 0;
    c.shape = shape;
    return c;
  }
  return assemble(dtype, pieces, is_block, n);
}

Result<Col> load_rows(const Dataset& ds, size_t t, const TensorInfo& info, const uint64_t* rows, uint64_t n,
                      uint64_t* bytes_read) {
  if (dtype_is_bytes_like(info.dtype)) {
    Col c;
    c.text = true;
    c.dtype = info.dtype;
    c.n = n;
    c.strs.reserve(n);
    for (uint64_t k = 0; k < n; ++k) {
      GTN_ASSIGN_OR_RETURN(Array a, ds.read(t, rows[k]));
      c.strs.push_back(a.as_string_view());
      *bytes_read += a.nbytes();
      c.str_keep.push_back(a.owner() ? a.owner() : std::make_shared<Array>(std::move(a)));
    }
    return c;
  }
  std::vector<Array> pieces;
  std::vector<bool> is_block(n, false);
  pieces.reserve(n);
  for (uint64_t k = 0; k < n; ++k) {
    GTN_ASSIGN_OR_RETURN(Array a, ds.read(t, rows[k]));
    *bytes_read += a.nbytes();
    pieces.push_back(widen(std::move(a)));
  }
  DType dtype = info.dtype == DType::kFloat16 ? DType::kFloat32 : info.dtype;
  if (pieces.empty()) {
    Col c;
    c.dtype = dtype;
    return c;
  }
  return assemble(dtype, pieces, is_block, n);
}

}  // namespace gtn::query
