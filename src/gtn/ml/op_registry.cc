#include "gtn/ml/op_registry.h"

#include <cmath>
#include <cstring>

namespace gtn::ml {

Status NodeContext::error(const std::string& message) const {
  return Status::InvalidArgument(label + ": " + message);
}

namespace {
template <typename T, typename Check>
Result<T> get_attr(const NodeContext& c, const std::string& name, std::optional<T> fallback, Check check,
                   const char* what) {
  const Json& a = c.attrs();
  auto it = a.find(name);
  if (it == a.end() || it->is_null()) {
    if (fallback) return *fallback;
    return c.error(std::string("needs attr '") + name + "' (" + what + ")");
  }
  if (!check(*it)) return c.error(std::string("attr '") + name + "' must be " + what);
  return it->template get<T>();
}
}  // namespace

Result<int64_t> NodeContext::attr_int(const std::string& name, std::optional<int64_t> fb) const {
  return get_attr<int64_t>(*this, name, fb, [](const Json& j) { return j.is_number_integer() || j.is_boolean(); },
                           "an integer");
}
Result<double> NodeContext::attr_float(const std::string& name, std::optional<double> fb) const {
  return get_attr<double>(*this, name, fb, [](const Json& j) { return j.is_number(); }, "a number");
}
Result<bool> NodeContext::attr_bool(const std::string& name, std::optional<bool> fb) const {
  const Json& a = attrs();
  auto it = a.find(name);
  if (it != a.end() && it->is_number_integer()) return it->get<int64_t>() != 0;
  return get_attr<bool>(*this, name, fb, [](const Json& j) { return j.is_boolean(); }, "a boolean");
}
Result<std::string> NodeContext::attr_string(const std::string& name, std::optional<std::string> fb) const {
  return get_attr<std::string>(*this, name, fb, [](const Json& j) { return j.is_string(); }, "a string");
}
Result<std::vector<int64_t>> NodeContext::attr_ints(const std::string& name) const {
  auto it = attrs().find(name);
  if (it == attrs().end() || !it->is_array()) return error("needs attr '" + name + "' (a list of integers)");
  std::vector<int64_t> v;
  for (const auto& e : *it) {
    if (!e.is_number_integer()) return error("attr '" + name + "' must be a list of integers");
    v.push_back(e.get<int64_t>());
  }
  return v;
}
Result<std::vector<double>> NodeContext::attr_floats(const std::string& name) const {
  auto it = attrs().find(name);
  if (it == attrs().end() || !it->is_array()) return error("needs attr '" + name + "' (a list of numbers)");
  std::vector<double> v;
  for (const auto& e : *it) {
    if (!e.is_number()) return error("attr '" + name + "' must be a list of numbers");
    v.push_back(e.get<double>());
  }
  return v;
}
Result<int64_t> NodeContext::axis(int64_t axis, size_t rank) const {
  int64_t r = static_cast<int64_t>(rank);
  if (axis < -r || axis >= r)
    return error("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(r));
  return axis < 0 ? axis + r : axis;
}

OpRegistry::OpRegistry() {
  register_elementwise_ops(*this);
  register_linalg_ops(*this);
  register_reduce_ops(*this);
  register_shape_ops(*this);
  register_tree_ensemble_op(*this);
  register_fused_elementwise_op(*this);
  register_svm_ops(*this);
  register_svm_kernel_op(*this);
  register_knn_op(*this);
  register_tree_categorical_op(*this);
}

OpRegistry& OpRegistry::Global() {
  static OpRegistry r;
  return r;
}
void OpRegistry::Add(OpSchema schema) { ops_[schema.name] = std::move(schema); }
const OpSchema* OpRegistry::Find(const std::string& name) const {
  auto it = ops_.find(name);
  return it == ops_.end() ? nullptr : &it->second;
}
std::vector<std::string> OpRegistry::Names() const {
  std::vector<std::string> v;
  for (const auto& [k, _] : ops_) v.push_back(k);
  return v;
}

Result<Shape> broadcast_shapes(const Shape& a, const Shape& b) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da == db) out[i] = da;
    else if (da == 1) out[i] = db;
    else if (db == 1) out[i] = da;
    else if (da == -1) out[i] = db;
    else if (db == -1) out[i] = da;
    else
      return Status::InvalidArgument("shapes " + shape_to_string(a) + " and " + shape_to_string(b) +
                                     " do not broadcast");
  }
  return out;
}

bool is_float(DType d) { return d == DType::kFloat32 || d == DType::kFloat64 || d == DType::kFloat16; }

DType arithmetic_dtype(const std::vector<ValueInfo>& in, DType graph_dtype) {
  for (const auto& v : in)
    if (is_float(v.dtype)) return graph_dtype;
  return DType::kInt64;
}

double round_to_dtype(double v, DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return static_cast<double>(static_cast<float>(v));
    case DType::kFloat64: return v;
    case DType::kBool: return v != 0.0 ? 1.0 : 0.0;
    default:
      if (std::isnan(v)) return 0.0;
      if (v >= 9.2e18) return 9.2e18;
      if (v <= -9.2e18) return -9.2e18;
      return std::trunc(v);
  }
}

namespace {
template <typename T>
void copy_to_double(const Array& a, std::vector<double>& v) {
  const T* p = a.data_as<T>();
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(p[i]);
}
template <typename T>
void copy_from_double(const std::vector<double>& v, Array& a) {
  T* p = static_cast<T*>(a.mutable_data());
  for (size_t i = 0; i < v.size(); ++i) p[i] = static_cast<T>(v[i]);
}
}  // namespace

RTensor to_rtensor(const Array& a) {
  RTensor t;
  t.dtype = a.dtype();
  t.shape = a.shape();
  t.v.resize(static_cast<size_t>(a.numel()));
  switch (a.dtype()) {
    case DType::kBool: case DType::kUInt8: copy_to_double<uint8_t>(a, t.v); break;
    case DType::kInt8: copy_to_double<int8_t>(a, t.v); break;
    case DType::kInt16: copy_to_double<int16_t>(a, t.v); break;
    case DType::kUInt16: copy_to_double<uint16_t>(a, t.v); break;
    case DType::kInt32: copy_to_double<int32_t>(a, t.v); break;
    case DType::kUInt32: copy_to_double<uint32_t>(a, t.v); break;
    case DType::kInt64: copy_to_double<int64_t>(a, t.v); break;
    case DType::kUInt64: copy_to_double<uint64_t>(a, t.v); break;
    case DType::kFloat32: copy_to_double<float>(a, t.v); break;
    case DType::kFloat64: copy_to_double<double>(a, t.v); break;
    default: break;
  }
  if (t.dtype == DType::kBool)
    for (double& x : t.v) x = x != 0.0 ? 1.0 : 0.0;
  return t;
}

Array from_rtensor(const RTensor& t) {
  Array a = Array::Zeros(t.dtype, t.shape);
  switch (t.dtype) {
    case DType::kBool: {
      uint8_t* p = static_cast<uint8_t*>(a.mutable_data());
      for (size_t i = 0; i < t.v.size(); ++i) p[i] = t.v[i] != 0.0;
      break;
    }
    case DType::kUInt8: copy_from_double<uint8_t>(t.v, a); break;
    case DType::kInt8: copy_from_double<int8_t>(t.v, a); break;
    case DType::kInt16: copy_from_double<int16_t>(t.v, a); break;
    case DType::kUInt16: copy_from_double<uint16_t>(t.v, a); break;
    case DType::kInt32: copy_from_double<int32_t>(t.v, a); break;
    case DType::kUInt32: copy_from_double<uint32_t>(t.v, a); break;
    case DType::kInt64: copy_from_double<int64_t>(t.v, a); break;
    case DType::kUInt64: copy_from_double<uint64_t>(t.v, a); break;
    case DType::kFloat32: copy_from_double<float>(t.v, a); break;
    case DType::kFloat64: copy_from_double<double>(t.v, a); break;
    default: break;
  }
  return a;
}

bool row_local_first_input_only(const NodeContext&, const std::vector<bool>& batched) {
  for (size_t k = 1; k < batched.size(); ++k)
    if (batched[k]) return false;
  return true;
}

bool row_local_axis_attr(const NodeContext& ctx, const std::vector<bool>& batched) {
  if (batched.empty() || !batched[0]) return true;
  auto it = ctx.attrs().find("axis");
  int64_t axis = (it != ctx.attrs().end() && it->is_number_integer()) ? it->get<int64_t>() : -1;
  int64_t rank = static_cast<int64_t>(ctx.inputs[0].shape.size());
  if (axis < 0) axis += rank;
  return axis != 0;
}

NodeContext make_node_context(const Graph& g, const std::map<std::string, ValueInfo>& types, size_t i) {
  const Node& n = g.nodes[i];
  NodeContext ctx;
  ctx.node = &n;
  ctx.label = node_label(g, i);
  ctx.graph_dtype = g.dtype;
  ctx.graph_constants = &g.constants;
  for (const auto& in : n.inputs) {
    ctx.inputs.push_back(types.at(in));
    auto c = g.constants.find(in);
    ctx.constants.push_back(c == g.constants.end() ? nullptr : &c->second);
  }
  for (const auto& o : n.outputs) ctx.outputs.push_back(types.at(o));
  return ctx;
}

}  // namespace gtn::ml
