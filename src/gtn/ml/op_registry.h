// The op registry: every op is one OpSchema (input counts, type inference, which
// backends may tile it by rows, the reference kernel), registered by its family's file
// (ops_*.cc). Backends register their own kernels per op (cpu_kernels.h).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gtn/ml/graph.h"

namespace gtn::ml {

// What type inference and kernel factories see of one node at compile time.
struct NodeContext {
  const Node* node = nullptr;
  std::string label;                      // "node 3 (Add -> 'z')" for error messages
  DType graph_dtype = DType::kFloat64;
  std::vector<ValueInfo> inputs;          // run-time types of the inputs
  std::vector<const Array*> constants;    // per input: the stored constant, or nullptr
  std::vector<ValueInfo> outputs;         // filled after inference
  const std::map<std::string, Array>* graph_constants = nullptr;  // every constant of the graph

  // InvalidArgument "<label>: <message>".
  Status error(const std::string& message) const;
  const Json& attrs() const { return node->attrs; }
  Result<int64_t> attr_int(const std::string& name, std::optional<int64_t> fallback = std::nullopt) const;
  Result<double> attr_float(const std::string& name, std::optional<double> fallback = std::nullopt) const;
  Result<bool> attr_bool(const std::string& name, std::optional<bool> fallback = std::nullopt) const;
  Result<std::string> attr_string(const std::string& name, std::optional<std::string> fallback = std::nullopt) const;
  Result<std::vector<int64_t>> attr_ints(const std::string& name) const;
  Result<std::vector<double>> attr_floats(const std::string& name) const;
  // Normalizes `axis` (may be negative) against rank; InvalidArgument if out of range.
  Result<int64_t> axis(int64_t axis, size_t rank) const;
};

// The context of node `i` of a validated graph, whose value types are `types`.
NodeContext make_node_context(const Graph& g, const std::map<std::string, ValueInfo>& types, size_t i);

// A value in the reference interpreter: every element held as a double.
struct RTensor {
  DType dtype = DType::kFloat64;
  Shape shape;
  std::vector<double> v;
};

using RefKernel = std::function<Status(const std::vector<const RTensor*>& in, std::vector<RTensor>& out)>;
using InferFn = Result<std::vector<ValueInfo>> (*)(const NodeContext& ctx);
using RefKernelFactory = Result<RefKernel> (*)(const NodeContext& ctx);
// True when output row i depends only on row i of each batched input (batched[k] says
// whether input k carries the batch dimension). Row-local graphs are run in row tiles.
using RowLocalFn = bool (*)(const NodeContext& ctx, const std::vector<bool>& batched);

struct OpSchema {
  std::string name;
  int min_inputs = 1;
  int max_inputs = 1;   // -1: any number
  int num_outputs = 1;
  InferFn infer = nullptr;
  RefKernelFactory reference = nullptr;
  RowLocalFn row_local = nullptr;  // nullptr: always row-local
};

class OpRegistry {
 public:
  static OpRegistry& Global();
  void Add(OpSchema schema);
  const OpSchema* Find(const std::string& name) const;
  std::vector<std::string> Names() const;

 private:
  OpRegistry();
  std::map<std::string, OpSchema> ops_;
};

// Families of ops (one file each) add their schemas here.
void register_elementwise_ops(OpRegistry& r);
void register_linalg_ops(OpRegistry& r);
void register_reduce_ops(OpRegistry& r);
void register_shape_ops(OpRegistry& r);
void register_tree_ensemble_op(OpRegistry& r);
void register_fused_elementwise_op(OpRegistry& r);
void register_svm_ops(OpRegistry& r);
void register_svm_kernel_op(OpRegistry& r);
void register_knn_op(OpRegistry& r);
void register_tree_categorical_op(OpRegistry& r);

// Helpers shared by op files.
// numpy broadcasting of two shapes (-1 = batch); InvalidArgument when incompatible.
Result<Shape> broadcast_shapes(const Shape& a, const Shape& b);
bool is_float(DType d);
// The dtype arithmetic on these inputs produces: the graph float dtype if any input is a
// float, otherwise int64.
DType arithmetic_dtype(const std::vector<ValueInfo>& in, DType graph_dtype);
// Rounds a double to what `dtype` can hold (float32 rounding, integer truncation, bool).
double round_to_dtype(double v, DType dtype);
// Converts between Arrays and reference tensors.
RTensor to_rtensor(const Array& a);
Array from_rtensor(const RTensor& t);
// Row-local rule shared by most ops: true unless a batched input is touched along `axis` 0.
bool row_local_axis_attr(const NodeContext& ctx, const std::vector<bool>& batched);
// Row-local rule of ops whose row input is input 0: true unless a later input is batched.
bool row_local_first_input_only(const NodeContext& ctx, const std::vector<bool>& batched);
// A negative axis counted from the end of a `rank`-d shape (numpy's rule).
inline int64_t norm_axis(int64_t axis, size_t rank) { return axis < 0 ? axis + static_cast<int64_t>(rank) : axis; }

}  // namespace gtn::ml

namespace gtn::ml {

// Reference broadcasting: out[i] = f(pointer to the n inputs' elements at i), numpy rules.
Status ref_broadcast(const std::vector<const RTensor*>& in, DType out_dtype,
                     const std::function<double(const double*)>& f, RTensor& out);
// The widest float dtype among the inputs, or the graph dtype when none is a float.
DType float_result_dtype(const std::vector<ValueInfo>& in, DType graph_dtype);

// Scalar definitions of the elementwise ops, shared by the reference kernels and the
// fused-elementwise op: nullptr when `op` is not such an op.
using UnaryFn = double (*)(double);
using BinaryFn = double (*)(double, double);
UnaryFn unary_function(const std::string& op);
BinaryFn binary_function(const std::string& op);
// The output dtype of elementwise op `op` on inputs `in`.
DType elementwise_dtype(const std::string& op, const std::vector<ValueInfo>& in, DType graph_dtype);

}  // namespace gtn::ml
