// The GTN-ML intermediate representation: a typed tensor graph in SSA form
// (docs/ml/graph.md), its JSON form, and shape/dtype inference over it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gtn/result.h"
#include "gtn/tensor.h"

namespace gtn::ml {

using Json = nlohmann::json;

// The static type of a value: dtype and shape; dimension 0 may be -1 (the batch).
struct ValueInfo {
  DType dtype = DType::kFloat64;
  Shape shape;
};

struct Node {
  std::string op;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  Json attrs = Json::object();
};

struct GraphInput {
  std::string name;
  Shape shape;  // [-1, n_features]
};

struct Graph {
  DType dtype = DType::kFloat64;  // compute precision: kFloat32 or kFloat64
  std::vector<GraphInput> inputs;
  // method name -> the values it returns (one or more)
  std::map<std::string, std::vector<std::string>> outputs;
  std::vector<Node> nodes;
  Json metadata = Json::object();
  std::map<std::string, Array> constants;
};

// Parses the graph JSON; structural checks only (see validate_graph for types).
Result<Graph> parse_graph(std::string_view json_text, std::map<std::string, Array> constants);
// The graph's JSON form (constants are not included).
Json graph_to_json(const Graph& graph);

// "node 3 (Add -> 'z')": how errors name a node.
std::string node_label(const Graph& graph, size_t index);

// The dtype a value has at run time: float constants take the graph dtype, integer
// constants become int64, bool stays bool.
DType runtime_dtype(DType stored, DType graph_dtype);

// Checks SSA, op names, input counts, attrs, and infers every value's type.
Result<std::map<std::string, ValueInfo>> validate_graph(const Graph& graph);

}  // namespace gtn::ml
