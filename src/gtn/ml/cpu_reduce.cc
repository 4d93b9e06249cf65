// CPU kernels for Softmax/LogSoftmax, ArgMax/ArgMin, Reduce* and Normalize on floats.
#include <algorithm>
#include <cmath>
#include <limits>

#include "gtn/ml/cpu_kernels.h"
#include "gtn/ml/vec_math.h"

namespace gtn::ml {
namespace {

struct AxisView {
  int64_t outer = 1, len = 1, inner = 1;
};
AxisView view(const Shape& s, int64_t axis) {
  AxisView v;
  for (int64_t d = 0; d < axis; ++d) v.outer *= s[d];
  v.len = s[axis];
  for (size_t d = axis + 1; d < s.size(); ++d) v.inner *= s[d];
  return v;
}
Shape reduced(const Shape& s, int64_t axis, bool keepdims) {
  Shape out;
  for (size_t d = 0; d < s.size(); ++d) {
    if (static_cast<int64_t>(d) != axis) out.push_back(s[d]);
    else if (keepdims) out.push_back(1);
  }
  return out;
}

template <typename T>
CpuKernel make_softmax_t(DType dt, int64_t axis_attr, bool log) {
  return [=](const std::vector<const Array*>& in, std::vector<Array>& out) -> Status {
    const Array& x = *in[0];
    int64_t axis = axis_attr < 0 ? axis_attr + static_cast<int64_t>(x.ndim()) : axis_attr;
    AxisView v = view(x.shape(), axis);
    out[0] = Array::Zeros(dt, x.shape());
    const T* src = x.data_as<T>();
    T* dst = static_cast<T*>(out[0].mutable_data());
    for (int64_t o = 0; o < v.outer; ++o)
      for (int64_t i = 0; i < v.inner; ++i) {
        const T* p = src + o * v.len * v.inner + i;
        T* q = dst + o * v.len * v.inner + i;
        T m = -std::numeric_limits<T>::infinity();
        for (int64_t j = 0; j < v.len; ++j) m = std::max(m, p[j * v.inner]);
        T s = 0;
        for (int64_t j = 0; j < v.len; ++j) {
          T e = vexp(p[j * v.inner] - m);
          q[j * v.inner] = e;
          s += e;
        }
        if (log) {
          T ls = std::log(s);
          for (int64_t j = 0; j < v.len; ++j) q[j * v.inner] = p[j * v.inner] - m - ls;
        } else {
          T r = T(1) / s;
          for (int64_t j = 0; j < v.len; ++j) q[j * v.inner] *= r;
        }
      }
    return Status::OK();
  };
}

template <typename T>
CpuKernel make_reduce_t(DType out_dt, std::string op, int64_t axis_attr, bool keepdims) {
  return [=](const std::vector<const Array*>& in, std::vector<Array>& out) -> Status {
    const Array& x = *in[0];
    int64_t axis = axis_attr < 0 ? axis_attr + static_cast<int64_t>(x.ndim()) : axis_attr;
    AxisView v = view(x.shape(), axis);
    bool arg = op == "ArgMax" || op == "ArgMin";
    if (arg && v.len == 0) return Status::InvalidArgument(op + ": cannot take the arg-extremum of an empty axis");
    out[0] = Array::Zeros(out_dt, reduced(x.shape(), axis, keepdims));
    const T* src = x.data_as<T>();
    for (int64_t o = 0; o < v.outer; ++o)
      for (int64_t i = 0; i < v.inner; ++i) {
        const T* p = src + o * v.len * v.inner + i;
        int64_t at = o * v.inner + i;
        if (arg) {
          bool mx = op == "ArgMax";
          int64_t best = 0;
          T b = p[0];
          if (b == b) {
            for (int64_t j = 1; j < v.len; ++j) {
              T c = p[j * v.inner];
              if (c != c) {
                best = j;
                break;
              }
              if (mx ? c > b : c < b) b = c, best = j;
            }
          }
          static_cast<int64_t*>(out[0].mutable_data())[at] = best;
          continue;
        }
        T r;
        if (op == "ReduceSum" || op == "ReduceMean") {
          r = 0;
          for (int64_t j = 0; j < v.len; ++j) r += p[j * v.inner];
          if (op == "ReduceMean") r /= static_cast<T>(v.len);
        } else if (op == "ReduceProd") {
          r = 1;
          for (int64_t j = 0; j < v.len; ++j) r *= p[j * v.inner];
        } else if (op == "ReduceMax" || op == "ReduceMin") {
          bool mx = op == "ReduceMax";
          r = mx ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
          for (int64_t j = 0; j < v.len; ++j) {
            T c = p[j * v.inner];
            if (c != c) {
              r = c;
              break;
            }
            if (mx ? c > r : c < r) r = c;
          }
        } else {  // ReduceLogSumExp
          T m = -std::numeric_limits<T>::infinity();
          for (int64_t j = 0; j < v.len; ++j) m = std::max(m, p[j * v.inner]);
          if (std::isinf(m)) {
            r = m;
          } else {
            T s = 0;
            for (int64_t j = 0; j < v.len; ++j) s += std::exp(p[j * v.inner] - m);
            r = m + std::log(s);
          }
        }
        static_cast<T*>(out[0].mutable_data())[at] = r;
      }
    return Status::OK();
  };
}

template <typename T>
CpuKernel make_normalize_t(DType dt, std::string norm) {
  return [=](const std::vector<const Array*>& in, std::vector<Array>& out) -> Status {
    const Array& x = *in[0];
    int64_t n = x.shape()[0], f = x.shape()[1];
    out[0] = Array::Zeros(dt, x.shape());
    const T* src = x.data_as<T>();
    T* dst = static_cast<T*>(out[0].mutable_data());
    for (int64_t i = 0; i < n; ++i) {
      const T* p = src + i * f;
      T s = 0;
      if (norm == "l1") for (int64_t j = 0; j < f; ++j) s += std::fabs(p[j]);
      else if (norm == "l2") {
        for (int64_t j = 0; j < f; ++j) s += p[j] * p[j];
        s = std::sqrt(s);
      } else for (int64_t j = 0; j < f; ++j) s = std::max(s, std::fabs(p[j]));
      if (s == 0) s = 1;
      for (int64_t j = 0; j < f; ++j) dst[i * f + j] = p[j] / s;
    }
    return Status::OK();
  };
}

// TopK along the last axis: a partial sort of indices per row; ties -> lower index first.
template <typename T>
CpuKernel make_topk_t(DType dt, int64_t k, bool largest) {
  return [=](const std::vector<const Array*>& in, std::vector<Array>& out) -> Status {
    const Array& x = *in[0];
    int64_t len = x.shape().back();
    if (k > len) return Status::InvalidArgument("TopK: k exceeds the axis length");
    int64_t rows = len ? x.numel() / len : 0;
    Shape s = x.shape();
    s.back() = k;
    out[0] = Array::Zeros(dt, s);
    out[1] = Array::Zeros(DType::kInt64, s);
    T* vals = static_cast<T*>(out[0].mutable_data());
    int64_t* idx = static_cast<int64_t*>(out[1].mutable_data());
    std::vector<int64_t> order(static_cast<size_t>(len));
    for (int64_t r = 0; r < rows; ++r) {
      const T* p = x.data_as<T>() + r * len;
      for (int64_t j = 0; j < len; ++j) order[j] = j;
      // NaN ranks above every number (as in the reference); ties keep index order.
      auto gt = [](T x, T y) { return x != x ? y == y : (y == y && x > y); };
      auto before = [&](int64_t a, int64_t b) {
        bool ab = largest ? gt(p[a], p[b]) : gt(p[b], p[a]);
        bool ba = largest ? gt(p[b], p[a]) : gt(p[a], p[b]);
        return ab || (!ba && a < b);
      };
      std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
      for (int64_t j = 0; j < k; ++j) {
        vals[r * k + j] = p[order[j]];
        idx[r * k + j] = order[j];
      }
    }
    return Status::OK();
  };
}

Result<CpuKernel> make_topk(const NodeContext& ctx, const Options&, std::vector<std::string>&) {
  DType dt = ctx.inputs[0].dtype;
  int64_t axis = *ctx.attr_int("axis", -1);
  int64_t rank = static_cast<int64_t>(ctx.inputs[0].shape.size());
  if (axis != -1 && axis != rank - 1) return Status::Unsupported("TopK not on the last axis");
  int64_t k = *ctx.attr_int("k");
  bool largest = *ctx.attr_bool("largest", true);
  if (dt == DType::kFloat32) return make_topk_t<float>(dt, k, largest);
  if (dt == DType::kFloat64) return make_topk_t<double>(dt, k, largest);
  return Status::Unsupported("non-float TopK");
}

Result<CpuKernel> make_reduce_family(const NodeContext& ctx, const Options&, std::vector<std::string>&) {
  DType in_dt = ctx.inputs[0].dtype;
  DType out_dt = ctx.outputs[0].dtype;
  if (in_dt != DType::kFloat32 && in_dt != DType::kFloat64) return Status::Unsupported("non-float input");
  const std::string& op = ctx.node->op;
  bool f32 = in_dt == DType::kFloat32;
  if (op == "Normalize") {
    if (out_dt != in_dt) return Status::Unsupported("dtype change");
    std::string norm = *ctx.attr_string("norm", std::string("l2"));
    return f32 ? make_normalize_t<float>(out_dt, norm) : make_normalize_t<double>(out_dt, norm);
  }
  int64_t axis = *ctx.attr_int("axis", -1);
  if (op == "Softmax" || op == "LogSoftmax") {
    if (out_dt != in_dt) return Status::Unsupported("dtype change");
    bool log = op == "LogSoftmax";
    return f32 ? make_softmax_t<float>(out_dt, axis, log) : make_softmax_t<double>(out_dt, axis, log);
  }
  bool keepdims = *ctx.attr_bool("keepdims", false);
  if (op != "ArgMax" && op != "ArgMin" && out_dt != in_dt) return Status::Unsupported("dtype change");
  return f32 ? make_reduce_t<float>(out_dt, op, axis, keepdims) : make_reduce_t<double>(out_dt, op, axis, keepdims);
}

}  // namespace

void register_cpu_reduce_kernels(CpuKernelRegistry& r) {
  for (const char* op : {"Softmax", "LogSoftmax", "ArgMax", "ArgMin", "ReduceSum", "ReduceMean", "ReduceMax",
                         "ReduceMin", "ReduceProd", "ReduceLogSumExp", "Normalize"})
    r.Add(op, make_reduce_family);
  r.Add("TopK", make_topk);
}

}  // namespace gtn::ml
