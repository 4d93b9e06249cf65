// The reference interpreter: runs the graph node by node with the ops' reference kernels,
// every element held as a double and rounded to its value's dtype after each op.
#include <set>

#include "gtn/ml/backend.h"
#include "gtn/ml/op_registry.h"

namespace gtn::ml {

std::vector<size_t> needed_nodes(const Graph& g, const std::vector<std::string>& outputs) {
  std::set<std::string> want(outputs.begin(), outputs.end());
  std::vector<size_t> order;
  for (size_t i = g.nodes.size(); i-- > 0;) {
    const Node& n = g.nodes[i];
    bool used = false;
    for (const auto& o : n.outputs) used |= want.count(o) > 0;
    if (!used) continue;
    order.push_back(i);
    for (const auto& in : n.inputs) want.insert(in);
  }
  return {order.rbegin(), order.rend()};
}

namespace {

class ReferenceExecutable : public Executable {
 public:
  Status Init(const Graph& g, const std::map<std::string, ValueInfo>& types) {
    graph_ = &g;
    input_ = g.inputs[0].name;
    for (const auto& [name, a] : g.constants) {
      RTensor t = to_rtensor(a);
      t.dtype = runtime_dtype(a.dtype(), g.dtype);
      for (double& v : t.v) v = round_to_dtype(v, t.dtype);
      constants_[name] = std::move(t);
    }
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const Node& n = g.nodes[i];
      NodeContext ctx = make_node_context(g, types, i);
      const OpSchema* op = OpRegistry::Global().Find(n.op);
      GTN_ASSIGN_OR_RETURN(RefKernel k, op->reference(ctx));
      kernels_.push_back(std::move(k));
      labels_.push_back(ctx.label);
    }
    for (const auto& [m, outs] : g.outputs) plans_[m] = needed_nodes(g, outs);
    return Status::OK();
  }

  Result<std::vector<Array>> Run(const std::string& method, const Array& X, int, const InputCheck& check) const override {
    if (check) GTN_RETURN_IF_ERROR(check(X, 0));
    std::map<std::string, RTensor> values;
    values[input_] = to_rtensor(X);
    auto lookup = [&](const std::string& name) -> const RTensor* {
      auto it = values.find(name);
      if (it != values.end()) return &it->second;
      return &constants_.at(name);
    };
    for (size_t i : plans_.at(method)) {
      const Node& n = graph_->nodes[i];
      std::vector<const RTensor*> in;
      for (const auto& name : n.inputs) in.push_back(lookup(name));
      std::vector<RTensor> out(n.outputs.size());
      Status st = kernels_[i](in, out);
      if (!st.ok()) return st.WithContext(labels_[i]);
      for (size_t k = 0; k < out.size(); ++k) values[n.outputs[k]] = std::move(out[k]);
    }
    std::vector<Array> result;
    for (const auto& name : graph_->outputs.at(method)) result.push_back(from_rtensor(*lookup(name)));
    return result;
  }

  std::vector<std::string> Describe() const override { return {"reference interpreter (float64 inside each op)"}; }

 private:
  const Graph* graph_ = nullptr;
  std::string input_;
  std::map<std::string, RTensor> constants_;
  std::vector<RefKernel> kernels_;
  std::vector<std::string> labels_;
  std::map<std::string, std::vector<size_t>> plans_;
};

class ReferenceBackend : public Backend {
 public:
  std::string name() const override { return "reference"; }
  Result<std::unique_ptr<Executable>> Compile(const Graph& g, const std::map<std::string, ValueInfo>& types,
                                              const Options&) const override {
    auto exe = std::make_unique<ReferenceExecutable>();
    GTN_RETURN_IF_ERROR(exe->Init(g, types));
    return std::unique_ptr<Executable>(std::move(exe));
  }
};

}  // namespace

const Backend& reference_backend() {
  static ReferenceBackend b;
  return b;
}

const Backend* find_backend(const std::string& name) {
  if (name == "reference") return &reference_backend();
  if (name == "cpu") return &cpu_backend();
  return nullptr;
}

std::vector<std::string> backend_names() { return {"cpu", "reference"}; }

}  // namespace gtn::ml
