#include "gtn/ml/graph.h"

#include <set>

#include "gtn/ml/op_registry.h"

namespace gtn::ml {
namespace {

Status bad(const std::string& msg) { return Status::InvalidArgument("graph: " + msg); }

Result<std::vector<std::string>> string_list(const Json& j, const std::string& what) {
  if (!j.is_array()) return bad(what + " must be a list of value names");
  std::vector<std::string> out;
  for (const auto& e : j) {
    if (!e.is_string() || e.get<std::string>().empty()) return bad(what + " must hold non-empty strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

}  // namespace

DType runtime_dtype(DType stored, DType graph_dtype) {
  switch (stored) {
    case DType::kFloat16: case DType::kFloat32: case DType::kFloat64: return graph_dtype;
    case DType::kBool: return DType::kBool;
    default: return DType::kInt64;
  }
}

std::string node_label(const Graph& graph, size_t index) {
  const Node& n = graph.nodes[index];
  std::string s = "node " + std::to_string(index) + " (" + n.op;
  if (!n.outputs.empty()) s += " -> '" + n.outputs[0] + "'";
  return s + ")";
}

namespace {
Result<Graph> parse_graph_unchecked(std::string_view json_text, std::map<std::string, Array> constants) {
  Json j = Json::parse(json_text.begin(), json_text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return bad("the graph is not valid JSON");
  if (!j.is_object()) return bad("the graph JSON must be an object");
  Graph g;
  if (j.value("format", std::string()) != "gtn-ml-graph")
    return bad("\"format\" must be \"gtn-ml-graph\"");
  if (!j.contains("version") || !j["version"].is_number_integer() || j["version"].get<int64_t>() != 1)
    return Status::Unsupported("graph: \"version\" must be 1 (this GTN reads graph version 1)");
  std::string dtype = j.value("dtype", std::string("float64"));
  if (dtype == "float32") g.dtype = DType::kFloat32;
  else if (dtype == "float64") g.dtype = DType::kFloat64;
  else return bad("\"dtype\" must be \"float32\" or \"float64\", got \"" + dtype + "\"");

  if (!j.contains("inputs") || !j["inputs"].is_array() || j["inputs"].size() != 1)
    return bad("\"inputs\" must list exactly one input, e.g. [{\"name\": \"X\", \"shape\": [-1, 28]}]");
  for (const auto& in : j["inputs"]) {
    if (!in.is_object() || !in.contains("name") || !in["name"].is_string() || !in.contains("shape") ||
        !in["shape"].is_array())
      return bad("each input needs a \"name\" and a \"shape\"");
    GraphInput gi;
    gi.name = in["name"].get<std::string>();
    for (const auto& d : in["shape"]) {
      if (!d.is_number_integer()) return bad("input shape entries must be integers");
      gi.shape.push_back(d.get<int64_t>());
    }
    if (gi.shape.size() != 2 || gi.shape[0] != -1 || gi.shape[1] < 0)
      return bad("input '" + gi.name + "' must have shape [-1, n_features], got " + shape_to_string(gi.shape));
    g.inputs.push_back(std::move(gi));
  }

  if (!j.contains("outputs") || !j["outputs"].is_object() || j["outputs"].empty())
    return bad("\"outputs\" must map at least one method name to a value name");
  for (const auto& [method, v] : j["outputs"].items()) {
    std::vector<std::string> names;
    if (v.is_string()) {
      names.push_back(v.get<std::string>());
    } else {
      GTN_ASSIGN_OR_RETURN(names, string_list(v, "outputs of method '" + method + "'"));
      if (names.empty()) return bad("method '" + method + "' returns no value");
    }
    g.outputs[method] = std::move(names);
  }

  if (!j.contains("nodes") || !j["nodes"].is_array()) return bad("\"nodes\" must be a list");
  size_t index = 0;
  for (const auto& jn : j["nodes"]) {
    std::string where = "node " + std::to_string(index);
    if (!jn.is_object() || !jn.contains("op") || !jn["op"].is_string())
      return bad(where + " needs an \"op\" string");
    Node n;
    n.op = jn["op"].get<std::string>();
    where += " (" + n.op + ")";
    GTN_ASSIGN_OR_RETURN(n.inputs, string_list(jn.value("inputs", Json::array()), where + " inputs"));
    GTN_ASSIGN_OR_RETURN(n.outputs, string_list(jn.value("outputs", Json::array()), where + " outputs"));
    if (jn.contains("attrs")) {
      if (!jn["attrs"].is_object()) return bad(where + ": \"attrs\" must be an object");
      n.attrs = jn["attrs"];
    }
    g.nodes.push_back(std::move(n));
    ++index;
  }
  if (j.contains("metadata")) {
    if (!j["metadata"].is_object()) return bad("\"metadata\" must be an object");
    g.metadata = j["metadata"];
  }
  g.constants = std::move(constants);
  return g;
}
}  // namespace

Result<Graph> parse_graph(std::string_view json_text, std::map<std::string, Array> constants) {
  try {
    return parse_graph_unchecked(json_text, std::move(constants));
  } catch (const Json::exception& e) {
    return bad(std::string("malformed graph JSON: ") + e.what());
  }
}

Json graph_to_json(const Graph& g) {
  Json j;
  j["format"] = "gtn-ml-graph";
  j["version"] = 1;
  j["dtype"] = std::string(dtype_name(g.dtype));
  j["inputs"] = Json::array();
  for (const auto& in : g.inputs) j["inputs"].push_back({{"name", in.name}, {"shape", in.shape}});
  j["outputs"] = Json::object();
  for (const auto& [m, names] : g.outputs) {
    if (names.size() == 1) j["outputs"][m] = names[0];
    else j["outputs"][m] = names;
  }
  j["nodes"] = Json::array();
  for (const auto& n : g.nodes)
    j["nodes"].push_back({{"op", n.op}, {"inputs", n.inputs}, {"outputs", n.outputs}, {"attrs", n.attrs}});
  j["metadata"] = g.metadata;
  return j;
}

Result<std::map<std::string, ValueInfo>> validate_graph(const Graph& g) {
  std::map<std::string, ValueInfo> types;
  for (const auto& in : g.inputs) types[in.name] = {g.dtype, in.shape};
  for (const auto& [name, a] : g.constants) {
    if (types.count(name)) return bad("constant '" + name + "' has the same name as an input");
    if (dtype_is_bytes_like(a.dtype()) || a.dtype() == DType::kFloat16)
      return bad("constant '" + name + "' has unsupported dtype " + std::string(dtype_name(a.dtype())) +
                 "; expected a float32/float64/integer/bool tensor");
    types[name] = {runtime_dtype(a.dtype(), g.dtype), a.shape()};
  }
  const OpRegistry& reg = OpRegistry::Global();
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    NodeContext ctx;
    ctx.node = &n;
    ctx.label = node_label(g, i);
    ctx.graph_dtype = g.dtype;
    ctx.graph_constants = &g.constants;
    const OpSchema* op = reg.Find(n.op);
    if (!op) return ctx.error("unknown op '" + n.op + "'");
    int nin = static_cast<int>(n.inputs.size());
    if (nin < op->min_inputs || (op->max_inputs >= 0 && nin > op->max_inputs)) {
      std::string expect = op->max_inputs < 0 ? "at least " + std::to_string(op->min_inputs)
                           : op->min_inputs == op->max_inputs ? std::to_string(op->min_inputs)
                           : std::to_string(op->min_inputs) + " to " + std::to_string(op->max_inputs);
      return ctx.error("takes " + expect + " inputs, got " + std::to_string(nin));
    }
    if (static_cast<int>(n.outputs.size()) != op->num_outputs)
      return ctx.error("produces " + std::to_string(op->num_outputs) + " outputs, the graph names " +
                       std::to_string(n.outputs.size()));
    for (const auto& in : n.inputs) {
      auto it = types.find(in);
      if (it == types.end()) return ctx.error("input '" + in + "' is not defined before this node");
      ctx.inputs.push_back(it->second);
      auto c = g.constants.find(in);
      ctx.constants.push_back(c == g.constants.end() ? nullptr : &c->second);
    }
    GTN_ASSIGN_OR_RETURN(auto outs, op->infer(ctx));
    for (size_t k = 0; k < n.outputs.size(); ++k) {
      if (types.count(n.outputs[k])) return ctx.error("value '" + n.outputs[k] + "' is defined twice");
      types[n.outputs[k]] = outs[k];
    }
  }
  for (const auto& [m, names] : g.outputs)
    for (const auto& name : names)
      if (!types.count(name)) return bad("method '" + m + "' returns '" + name + "', which no node defines");
  return types;
}

}  // namespace gtn::ml
