// CPU kernels for ops that move bytes: Reshape (no copy), Concat, Slice, Gather, OneHot.
#include <algorithm>
#include <cstring>

#include "gtn/ml/cpu_kernels.h"

namespace gtn::ml {
namespace {

int64_t norm_axis(int64_t axis, size_t rank) { return axis < 0 ? axis + static_cast<int64_t>(rank) : axis; }

Result<CpuKernel> make_reshape(const NodeContext& ctx, const Options&, std::vector<std::string>&) {
  std::vector<int64_t> spec = *ctx.attr_ints("shape");
  return CpuKernel([spec](const std::vector<const Array*>& in, std::vector<Array>& out) -> Status {
    const Array& x = *in[0];
    Shape s(spec.size());
    int64_t known = 1, at = -1;
    for (size_t d = 0; d < spec.size(); ++d) {
      s[d] = spec[d] == 0 && d < x.ndim() ? x.shape()[d] : spec[d];
      if (s[d] == -1) at = static_cast<int64_t>(d);
      else known *= s[d];
    }
    if (at >= 0) {
      if (known == 0 || x.numel() % known != 0)
        return Status::InvalidArgument("Reshape: cannot reshape " + shape_to_string(x.shape()));
      s[at] = x.numel() / known;
    }
    if (shape_numel(s) != x.numel())
      return Status::InvalidArgument("Reshape: cannot reshape " + shape_to_string(x.shape()) + " into " + shape_to_string(s));
    GTN_ASSIGN_OR_RETURN(out[0], Array::View(x.dtype(), s, x.data(), x.nbytes(), x.owner()));
    return Status::OK();
  });
}

Result<CpuKernel> make_concat(const NodeContext& ctx, const Options&, std::vector<std::string>&) {
  DType dt = ctx.outputs[0].dtype;
  for (const auto& in : ctx.inputs)
    if (in.dtype != dt) return Status::Unsupported("mixed dtypes");
  int64_t axis_attr = *ctx.attr_int("axis", -1);
  return CpuKernel([dt, axis_attr](const std::vector<const Array*>& in, std::vector<Array>& out) -> Status {
    int64_t axis = norm_axis(axis_attr, in[0]->ndim());
    Shape s = in[0]->shape();
    s[axis] = 0;
    for (const Array* a : in) {
      if (a->ndim() != s.size()) return Status::InvalidArgument("Concat: ranks differ");
      for (size_t d = 0; d < s.size(); ++d)
        if (static_cast<int64_t>(d) != axis && a->shape()[d] != in[0]->shape()[d])
          return Status::InvalidArgument("Concat: shapes " + shape_to_string(a->shape()) + " and " +
                                         shape_to_string(in[0]->shape()) + " differ outside the axis");
      s[axis] += a->shape()[axis];
    }
    int64_t outer = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= s[d];
    out[0] = Array::Empty(dt, s);  // every input's bytes land in it
    char* dst = static_cast<char*>(out[0].mutable_data());
    // One element per input and row (predict_proba's [1 - p, p]): a strided loop per input,
    // not two memcpy calls per row.
    size_t es = dtype_size(dt);
    bool one_each = outer > 0 && (es == 4 || es == 8);
    for (const Array* a : in) one_each &= a->nbytes() == static_cast<size_t>(outer) * es;
    if (one_each) {
      size_t K = in.size();
      for (size_t k = 0; k < K; ++k) {
        if (es == 4) {
          const uint32_t* src = static_cast<const uint32_t*>(in[k]->data());
          uint32_t* d = reinterpret_cast<uint32_t*>(dst) + k;
          for (int64_t o = 0; o < outer; ++o) d[o * K] = src[o];
        } else {
          const uint64_t* src = static_cast<const uint64_t*>(in[k]->data());
          uint64_t* d = reinterpret_cast<uint64_t*>(dst) + k;
          for (int64_t o = 0; o < outer; ++o) d[o * K] = src[o];
        }
      }
      return Status::OK();
    }
    for (int64_t o = 0; o < outer; ++o)
      for (const Array* a : in) {
        size_t chunk = outer ? a->nbytes() / outer : 0;
        std::memcpy(dst, static_cast<const char*>(a->data()) + o * chunk, chunk);
        dst += chunk;
      }
    return Status::OK();
  });
}

Result<CpuKernel> make_slice(const NodeContext& ctx, const Options&, std::vector<std::string>&) {
  int64_t axis_attr = *ctx.attr_int("axis", 0);
  int64_t start0 = *ctx.attr_int("start", 0);
  int64_t end0 = *ctx.attr_int("end", INT64_MAX);
  return CpuKernel([=](const std::vector<const Array*>& in, std::vector<Array>& out) -> Status {
    const Array& x = *in[0];
    int64_t axis = norm_axis(axis_attr, x.ndim());
    int64_t len = x.shape()[axis], start = start0, end = end0;
    if (start < 0) start += len;
    if (end < 0) end += len;
    start = std::clamp<int64_t>(start, 0, len);
    end = std::clamp<int64_t>(end, start, len);
    int64_t outer = 1, inner = dtype_size(x.dtype());
    for (int64_t d = 0; d < axis; ++d) outer *= x.shape()[d];
    for (size_t d = axis + 1; d < x.ndim(); ++d) inner *= x.shape()[d];
    Shape s = x.shape();
    s[axis] = end - start;
    out[0] = Array::Zeros(x.dtype(), s);
    char* dst = static_cast<char*>(out[0].mutable_data());
    const char* src = static_cast<const char*>(x.data());
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(dst + o * (end - start) * inner, src + (o * len + start) * inner, (end - start) * inner);
    return Status::OK();
  });
}

Result<CpuKernel> make_gather(const NodeContext& ctx, const Options&, std::vector<std::string>&) {
  if (ctx.inputs[1].dtype != DType::kInt64) return Status::Unsupported("non-int64 indices");
  int64_t axis_attr = *ctx.attr_int("axis", 0);
  return CpuKernel([axis_attr](const std::vector<const Array*>& in, std::vector<Array>& out) -> Status {
    const Array& data = *in[0];
    const Array& idx = *in[1];
    int64_t axis = norm_axis(axis_attr, data.ndim());
    int64_t outer = 1, inner = dtype_size(data.dtype()), len = data.shape()[axis];
    for (int64_t d = 0; d < axis; ++d) outer *= data.shape()[d];
    for (size_t d = axis + 1; d < data.ndim(); ++d) inner *= data.shape()[d];
    Shape s(data.shape().begin(), data.shape().begin() + axis);
    s.insert(s.end(), idx.shape().begin(), idx.shape().end());
    s.insert(s.end(), data.shape().begin() + axis + 1, data.shape().end());
    out[0] = Array::Zeros(data.dtype(), s);
    char* dst = static_cast<char*>(out[0].mutable_data());
    const char* src = static_cast<const char*>(data.data());
    const int64_t* ix = idx.data_as<int64_t>();
    int64_t ni = idx.numel();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < ni; ++j) {
        int64_t i = ix[j] < 0 ? ix[j] + len : ix[j];
        if (i < 0 || i >= len)
          return Status::OutOfRange("Gather: index " + std::to_string(ix[j]) + " is out of range for an axis of length " +
                                    std::to_string(len));
        std::memcpy(dst, src + (o * len + i) * inner, inner);
        dst += inner;
      }
    return Status::OK();
  });
}

template <typename T>
CpuKernel make_onehot_t(DType dt, int64_t depth) {
  return [dt, depth](const std::vector<const Array*>& in, std::vector<Array>& out) -> Status {
    const Array& idx = *in[0];
    Shape s = idx.shape();
    s.push_back(depth);
    out[0] = Array::Zeros(dt, s);
    T* o = static_cast<T*>(out[0].mutable_data());
    const int64_t* ix = idx.data_as<int64_t>();
    for (int64_t i = 0; i < idx.numel(); ++i)
      if (ix[i] >= 0 && ix[i] < depth) o[i * depth + ix[i]] = T(1);
    return Status::OK();
  };
}

Result<CpuKernel> make_onehot(const NodeContext& ctx, const Options&, std::vector<std::string>&) {
  if (ctx.inputs[0].dtype != DType::kInt64) return Status::Unsupported("non-int64 indices");
  int64_t depth = *ctx.attr_int("depth");
  DType dt = ctx.outputs[0].dtype;
  if (dt == DType::kFloat32) return make_onehot_t<float>(dt, depth);
  return make_onehot_t<double>(dt, depth);
}

}  // namespace

void register_cpu_shape_kernels(CpuKernelRegistry& r) {
  r.Add("Reshape", make_reshape);
  r.Add("Concat", make_concat);
  r.Add("Slice", make_slice);
  r.Add("Gather", make_gather);
  r.Add("OneHot", make_onehot);
}

}  // namespace gtn::ml
