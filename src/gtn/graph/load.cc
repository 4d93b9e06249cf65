// load_csr(): a graph dataset's CSR, features, labels and split as whole arrays.
#include <algorithm>
#include <cstring>

#include "gtn/graph.h"

namespace gtn::graph {

namespace {

bool has_tensor(const Dataset& ds, const std::string& name) {
  return !name.empty() && ds.tensor_index(name).ok();
}

// Rows [0, n) of a fixed-shape tensor as one array: a view when they lie in one
// uncompressed chunk, else copied chunk by chunk into one new array.
Result<Array> load_rows(const Dataset& ds, const std::string& name, uint64_t n, bool& zero_copy) {
  GTN_ASSIGN_OR_RETURN(size_t ti, ds.tensor_index(name));
  GTN_ASSIGN_OR_RETURN(TensorSpec spec, ds.tensor_spec(name));
  DType dtype = spec.dtype.value_or(DType::kFloat32);
  zero_copy = false;
  if (n == 0) return Array::Zeros(dtype, {0});
  GTN_ASSIGN_OR_RETURN(Shape shape, ds.sample_shape(ti, 0));
  GTN_ASSIGN_OR_RETURN(Array first, ds.read_rows_view(ti, 0, n, shape));
  if (!first.shape().empty() && static_cast<uint64_t>(first.shape()[0]) == n) {
    zero_copy = !first.owns_buffer();
    return first;
  }
  Shape full = shape;
  full.insert(full.begin(), static_cast<int64_t>(n));
  Array out = Array::Zeros(dtype, full);
  const size_t row_bytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
  auto* dst = static_cast<uint8_t*>(out.mutable_data());
  uint64_t at = 0;
  while (at < n) {
    GTN_ASSIGN_OR_RETURN(uint64_t k, ds.read_rows_into(ti, at, n, shape, dst + at * row_bytes, (n - at) * row_bytes));
    if (k == 0) {
      GTN_ASSIGN_OR_RETURN(Shape other, ds.sample_shape(ti, at));
      return Status::InvalidArgument("tensor '" + name + "': row " + std::to_string(at) + " has shape " +
                                     shape_to_string(other) + ", row 0 has " + shape_to_string(shape) +
                                     "; a graph's node tensors need one shape for every node");
    }
    at += k;
  }
  return out;
}

}  // namespace

Result<GraphArrays> load_csr(const Dataset& ds, const LoadOptions& options) {
  GraphArrays g;
  const uint64_t n = ds.size();
  g.num_nodes = n;
  GTN_ASSIGN_OR_RETURN(size_t ti, ds.tensor_index(options.neighbors));
  GTN_ASSIGN_OR_RETURN(TensorSpec spec, ds.tensor_spec(options.neighbors));
  if (spec.htype != "neighbors") {
    return Status::InvalidArgument("tensor '" + options.neighbors + "' has htype '" + spec.htype +
                                   "'; the CSR is read from a tensor of htype 'neighbors'");
  }
  const DType id_type = spec.dtype.value_or(DType::kInt64);
  const size_t id_size = dtype_size(id_type);
  g.indptr = Array::Zeros(DType::kInt64, {static_cast<int64_t>(n + 1)});
  auto* indptr = static_cast<int64_t*>(g.indptr.mutable_data());
  // Pass 1: the degrees, and whether every row lies back to back in one stretch of memory.
  std::vector<Dataset::BytesRows> parts;
  bool contiguous = true;
  const char* expect = nullptr;
  uint64_t v = 0;
  while (v < n) {
    GTN_ASSIGN_OR_RETURN(Dataset::BytesRows rows, ds.read_bytes_rows(ti, v, n));
    for (std::string_view item : rows.items) {
      indptr[v + 1] = indptr[v] + static_cast<int64_t>(item.size() / id_size);
      if (expect && item.data() != expect && !item.empty()) contiguous = false;
      if (!item.empty() || !expect) expect = item.data() + item.size();
      ++v;
    }
    parts.push_back(std::move(rows));
  }
  const uint64_t m = static_cast<uint64_t>(indptr[n]);
  const char* first = nullptr;
  for (const auto& p : parts) {
    for (std::string_view item : p.items) {
      if (!item.empty()) { first = item.data(); break; }
    }
    if (first) break;
  }
  if (contiguous && parts.size() == 1 && first) {
    GTN_ASSIGN_OR_RETURN(g.indices, Array::View(id_type, {static_cast<int64_t>(m)}, first, m * id_size, parts[0].owner));
    g.indices_zero_copy = true;
  } else {
    g.indices = Array::Zeros(id_type, {static_cast<int64_t>(m)});
    auto* dst = static_cast<char*>(g.indices.mutable_data());
    uint64_t at = 0;
    for (const auto& p : parts) {
      for (std::string_view item : p.items) {
        if (!item.empty()) std::memcpy(dst + at, item.data(), item.size());
        at += item.size();
      }
    }
  }
  parts.clear();
  // Ids past the node count would index out of bounds downstream: refuse them.
  auto check = [&](auto* ids) -> Status {
    for (uint64_t e = 0; e < m; ++e) {
      if (static_cast<uint64_t>(ids[e]) >= n) {
        const int64_t* row = std::upper_bound(indptr, indptr + n + 1, static_cast<int64_t>(e)) - 1;
        return Status::InvalidArgument("tensor '" + options.neighbors + "', row " + std::to_string(row - indptr) +
                                       ": neighbour id " + std::to_string(ids[e]) + " is not a row of this dataset (" +
                                       std::to_string(n) + " rows)");
      }
    }
    return Status::OK();
  };
  if (id_type == DType::kInt32) {
    GTN_RETURN_IF_ERROR(check(g.indices.data_as<int32_t>()));
  } else {
    GTN_RETURN_IF_ERROR(check(g.indices.data_as<int64_t>()));
  }
  bool zc = false;
  if (has_tensor(ds, options.x)) {
    GTN_ASSIGN_OR_RETURN(g.x, load_rows(ds, options.x, n, zc));
    g.x_zero_copy = zc;
  }
  if (has_tensor(ds, options.y)) {
    GTN_ASSIGN_OR_RETURN(g.y, load_rows(ds, options.y, n, zc));
  }
  if (has_tensor(ds, options.split)) {
    GTN_ASSIGN_OR_RETURN(g.split, load_rows(ds, options.split, n, zc));
  }
  return g;
}

}  // namespace gtn::graph
