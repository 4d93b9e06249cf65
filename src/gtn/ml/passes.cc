// Optimization passes, each graph -> graph, run in this order:
//   fold_constants       nodes whose inputs are all constants are evaluated now (reference
//                        kernels) and become constants
//   fold_gemm_bias       MatMul followed by Add of a constant bias becomes one Gemm (BLAS
//                        adds the bias in the same pass over the output)
//   fuse_elementwise     chains of elementwise nodes whose intermediates have no other
//                        reader become one FusedElementwise node (one loop, no temporaries)
//   eliminate_dead_nodes nodes and constants no method needs are dropped
#include "gtn/ml/passes.h"

#include <set>

#include "gtn/ml/op_registry.h"

namespace gtn::ml {
namespace {

std::map<std::string, int> use_counts(const Graph& g) {
  std::map<std::string, int> uses;
  for (const auto& n : g.nodes)
    for (const auto& in : n.inputs) uses[in]++;
  for (const auto& [m, outs] : g.outputs)
    for (const auto& o : outs) uses[o] += 1000;  // method outputs are never fused away
  return uses;
}

const Node* producer(const Graph& g, const std::string& value, size_t* index = nullptr) {
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& o : g.nodes[i].outputs)
      if (o == value) {
        if (index) *index = i;
        return &g.nodes[i];
      }
  return nullptr;
}

NodeContext context_for(const Graph& g, const std::map<std::string, ValueInfo>& types, size_t i) {
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

Result<int> fold_constants(Graph& g) {
  GTN_ASSIGN_OR_RETURN(auto types, validate_graph(g));
  int folded = 0;
  std::vector<Node> kept;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    bool all_const = !n.inputs.empty();
    for (const auto& in : n.inputs) all_const &= g.constants.count(in) > 0;
    if (!all_const || n.op == "TreeEnsemble") {
      kept.push_back(n);
      continue;
    }
    NodeContext ctx = context_for(g, types, i);
    const OpSchema* op = OpRegistry::Global().Find(n.op);
    GTN_ASSIGN_OR_RETURN(RefKernel k, op->reference(ctx));
    std::vector<RTensor> in_t;
    for (const auto& in : n.inputs) {
      RTensor t = to_rtensor(g.constants.at(in));
      t.dtype = runtime_dtype(t.dtype, g.dtype);
      for (double& v : t.v) v = round_to_dtype(v, t.dtype);
      in_t.push_back(std::move(t));
    }
    std::vector<const RTensor*> ptrs;
    for (const auto& t : in_t) ptrs.push_back(&t);
    std::vector<RTensor> out(n.outputs.size());
    Status st = k(ptrs, out);
    if (!st.ok()) return st.WithContext(ctx.label);
    for (size_t o = 0; o < out.size(); ++o) g.constants[n.outputs[o]] = from_rtensor(out[o]);
    ++folded;
  }
  g.nodes = std::move(kept);
  return folded;
}

Result<int> fold_gemm_bias(Graph& g) {
  GTN_ASSIGN_OR_RETURN(auto types, validate_graph(g));
  auto uses = use_counts(g);
  int folded = 0;
  std::set<size_t> removed;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& add = g.nodes[i];
    if (add.op != "Add") continue;
    for (int side = 0; side < 2; ++side) {
      const std::string& mm_out = add.inputs[side];
      const std::string& bias = add.inputs[1 - side];
      size_t mi = 0;
      const Node* mm = producer(g, mm_out, &mi);
      if (!mm || mm->op != "MatMul" || uses[mm_out] != 1 || removed.count(mi) || !g.constants.count(bias)) continue;
      const Shape& bs = types.at(bias).shape;
      const Shape& os = types.at(mm_out).shape;
      if (bs.size() > 2 || types.at(bias).dtype != g.dtype || types.at(add.outputs[0]).shape != os) continue;
      if (!(shape_numel(bs) == 1 || (bs.back() == os.back() && shape_numel(bs) == os.back()))) continue;
      Node gemm;
      gemm.op = "Gemm";
      gemm.inputs = {mm->inputs[0], mm->inputs[1], bias};
      gemm.outputs = add.outputs;
      gemm.attrs = {{"alpha", 1.0}, {"beta", 1.0}, {"transpose_b", mm->attrs.value("transpose_b", false)}};
      removed.insert(mi);
      g.nodes[i] = gemm;
      ++folded;
      break;
    }
  }
  std::vector<Node> kept;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (!removed.count(i)) kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
  return folded;
}

bool fusable(const std::string& op) {
  if (op == "Identity" || op == "Cast") return false;
  return op == "Where" || op == "Clip" || unary_function(op) || binary_function(op);
}

// The node as a FusedElementwise program (a fused node stays as it is).
Node as_fused(const Node& n, DType out_dtype) {
  if (n.op == "FusedElementwise") return n;
  Node f;
  f.op = "FusedElementwise";
  f.inputs = n.inputs;
  f.outputs = n.outputs;
  Json args = Json::array();
  for (size_t i = 0; i < n.inputs.size(); ++i) args.push_back(static_cast<int>(i));
  Json ins = {{"op", n.op}, {"args", args}, {"dtype", std::string(dtype_name(out_dtype))}};
  if (n.op == "Clip") ins["attrs"] = n.attrs;
  f.attrs = {{"program", Json::array({ins})}};
  return f;
}

// Inlines producer p (whose output is consumer input `value`) into consumer c.
Node merge(const Node& p, const Node& c, const std::string& value) {
  Node m;
  m.op = "FusedElementwise";
  m.outputs = c.outputs;
  m.inputs = p.inputs;
  std::vector<int> c_input_reg(c.inputs.size());
  for (size_t k = 0; k < c.inputs.size(); ++k) {
    if (c.inputs[k] == value) continue;
    auto it = std::find(m.inputs.begin(), m.inputs.end(), c.inputs[k]);
    if (it == m.inputs.end()) {
      m.inputs.push_back(c.inputs[k]);
      it = m.inputs.end() - 1;
    }
    c_input_reg[k] = static_cast<int>(it - m.inputs.begin());
  }
  int n_in = static_cast<int>(m.inputs.size());
  int p_in = static_cast<int>(p.inputs.size());
  const Json& pp = p.attrs["program"];
  const Json& cp = c.attrs["program"];
  Json prog = Json::array();
  // Producer registers: inputs keep their index; instruction i moves to n_in + i.
  auto p_reg = [&](int r) { return r < p_in ? r : n_in + (r - p_in); };
  for (const auto& ins : pp) {
    Json copy = ins;
    for (auto& a : copy["args"]) a = p_reg(a.get<int>());
    prog.push_back(copy);
  }
  int p_result = n_in + static_cast<int>(pp.size()) - 1;
  int c_in = static_cast<int>(c.inputs.size());
  auto c_reg = [&](int r) {
    if (r < c_in) return c.inputs[r] == value ? p_result : c_input_reg[r];
    return n_in + static_cast<int>(pp.size()) + (r - c_in);
  };
  for (const auto& ins : cp) {
    Json copy = ins;
    for (auto& a : copy["args"]) a = c_reg(a.get<int>());
    prog.push_back(copy);
  }
  m.attrs = {{"program", prog}};
  return m;
}

Result<int> fuse_elementwise(Graph& g) {
  int fused = 0;
  for (bool changed = true; changed;) {
    changed = false;
    GTN_ASSIGN_OR_RETURN(auto types, validate_graph(g));
    auto uses = use_counts(g);
    auto ok_dtype = [&](DType d) { return d == g.dtype || d == DType::kBool; };
    for (size_t i = 0; i < g.nodes.size() && !changed; ++i) {
      const Node& c = g.nodes[i];
      if (!fusable(c.op) && c.op != "FusedElementwise") continue;
      if (types.at(c.outputs[0]).dtype != g.dtype) continue;
      bool inputs_ok = true;
      for (const auto& in : c.inputs) inputs_ok &= ok_dtype(types.at(in).dtype);
      if (!inputs_ok) continue;
      for (const auto& in : c.inputs) {
        size_t pi = 0;
        const Node* p = producer(g, in, &pi);
        if (!p || uses[in] != 1 || (!fusable(p->op) && p->op != "FusedElementwise")) continue;
        bool p_ok = ok_dtype(types.at(p->outputs[0]).dtype);
        for (const auto& pin : p->inputs) p_ok &= ok_dtype(types.at(pin).dtype);
        if (!p_ok) continue;
        Node merged = merge(as_fused(*p, types.at(p->outputs[0]).dtype), as_fused(c, types.at(c.outputs[0]).dtype), in);
        g.nodes[i] = merged;
        g.nodes.erase(g.nodes.begin() + static_cast<std::ptrdiff_t>(pi));
        ++fused;
        changed = true;
        break;
      }
    }
  }
  return fused;
}

int eliminate_dead_nodes(Graph& g) {
  std::vector<std::string> outs;
  for (const auto& [m, o] : g.outputs) outs.insert(outs.end(), o.begin(), o.end());
  std::vector<size_t> keep = needed_nodes(g, outs);
  int removed = static_cast<int>(g.nodes.size() - keep.size());
  std::vector<Node> kept;
  for (size_t i : keep) kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
  std::set<std::string> used(outs.begin(), outs.end());
  for (const auto& n : g.nodes) {
    used.insert(n.inputs.begin(), n.inputs.end());
    for (const auto& [k, v] : n.attrs.items())
      if (v.is_string()) used.insert(v.get<std::string>());  // TreeEnsemble names its constants in attrs
  }
  for (auto it = g.constants.begin(); it != g.constants.end();) {
    if (!used.count(it->first)) {
      it = g.constants.erase(it);
      ++removed;
    } else {
      ++it;
    }
  }
  return removed;
}

}  // namespace

Result<Graph> optimize_graph(const Graph& graph, const Options& options, std::vector<std::string>& notes) {
  Graph g = graph;
  auto it = options.find("optimize");
  if (it != options.end() && it->second == "0") {
    notes.push_back("passes: off (optimize=0)");
    return g;
  }
  GTN_ASSIGN_OR_RETURN(int folded, fold_constants(g));
  GTN_ASSIGN_OR_RETURN(int gemm, fold_gemm_bias(g));
  GTN_ASSIGN_OR_RETURN(int fused, fuse_elementwise(g));
  int dead = eliminate_dead_nodes(g);
  notes.push_back("passes: " + std::to_string(folded) + " nodes constant-folded, " + std::to_string(gemm) +
                  " MatMul+Add -> Gemm, " + std::to_string(fused) + " elementwise nodes fused, " + std::to_string(dead) +
                  " dead nodes/constants removed");
  return g;
}

}  // namespace gtn::ml
