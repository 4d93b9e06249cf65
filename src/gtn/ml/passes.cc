// Optimization passes, each graph -> graph, run in this order:
//   fold_constants       nodes whose inputs are all constants are evaluated now (reference
//                        kernels) and become constants
//   fold_gemm_bias       MatMul followed by Add of a constant bias becomes one Gemm (BLAS
//                        adds the bias in the same pass over the output)
//   fuse_elementwise     chains of elementwise nodes whose intermediates have no other
//                        reader become one FusedElementwise node (one loop, no temporaries)
//   forward_identities   an Identity whose input has no other reader is dropped: the
//                        producer writes the Identity's output itself (no copy pass)
//   eliminate_dead_nodes nodes and constants no method needs are dropped
#include "gtn/ml/passes.h"

#include <algorithm>
#include <memory>
#include <set>
#include <variant>

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
    NodeContext ctx = make_node_context(g, types, i);
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

// One fused program under construction. Instructions live in a pool shared by the whole
// pass and are numbered in creation order, which is a topological order (a node's
// instructions are created when the node is reached, after all of its producers), so a
// group's instructions sorted by number form a valid program. An argument names either
// another instruction or a graph value; a value that is no longer an input of the group
// is the output of an instruction inside it (`result_of`).
struct PendingInstr {
  Json ins;  // op, dtype, attrs; "args" is rebuilt at the end
  std::vector<std::variant<int, std::string>> args;
};

struct Group {
  std::vector<int> instrs;  // pool indices, any order
  std::set<std::string> inputs;
  int result = -1;
  bool absorbed = false;  // merged with at least one producer
  bool consumer = false;  // has looked for producers to absorb
};

// Rebuilds the FusedElementwise node (inputs in order of first use, then instructions).
Node finish_group(Group& gr, const Node& tail, const std::vector<PendingInstr>& pool,
                  const std::map<std::string, int>& result_of) {
  std::sort(gr.instrs.begin(), gr.instrs.end());
  Node m;
  m.op = "FusedElementwise";
  m.outputs = tail.outputs;
  std::map<std::string, int> input_reg;
  for (int id : gr.instrs)
    for (const auto& a : pool[id].args)
      if (const auto* v = std::get_if<std::string>(&a); v && gr.inputs.count(*v) && !input_reg.count(*v)) {
        input_reg[*v] = static_cast<int>(m.inputs.size());
        m.inputs.push_back(*v);
      }
  std::map<int, int> instr_reg;
  int n_in = static_cast<int>(m.inputs.size());
  for (size_t k = 0; k < gr.instrs.size(); ++k) instr_reg[gr.instrs[k]] = n_in + static_cast<int>(k);
  Json prog = Json::array();
  for (int id : gr.instrs) {
    Json ins = pool[id].ins;
    Json args = Json::array();
    for (const auto& a : pool[id].args) {
      if (const auto* r = std::get_if<int>(&a)) {
        args.push_back(instr_reg.at(*r));
      } else {
        const std::string& v = std::get<std::string>(a);
        args.push_back(gr.inputs.count(v) ? input_reg.at(v) : instr_reg.at(result_of.at(v)));
      }
    }
    ins["args"] = args;
    prog.push_back(ins);
  }
  m.attrs = {{"program", prog}};
  return m;
}

// One pass over the nodes in (topological) order: each fusable node repeatedly absorbs
// the producers of its inputs that are fusable and read by it alone. Use counts are kept
// up to date as groups merge (a value read by both sides becomes one read).
Result<int> fuse_elementwise(Graph& g) {
  GTN_ASSIGN_OR_RETURN(auto types, validate_graph(g));
  auto uses = use_counts(g);
  auto ok_dtype = [&](DType d) { return d == g.dtype || d == DType::kBool; };
  std::map<std::string, size_t> producer_of;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& o : g.nodes[i].outputs) producer_of[o] = i;

  std::vector<PendingInstr> pool;
  std::map<std::string, int> result_of;  // value -> instruction computing it
  std::vector<std::unique_ptr<Group>> groups(g.nodes.size());
  std::vector<bool> removed(g.nodes.size(), false);
  auto inputs_ok = [&](const Node& n) {
    bool ok = ok_dtype(types.at(n.outputs[0]).dtype);
    for (const auto& in : n.inputs) ok &= ok_dtype(types.at(in).dtype);
    return ok;
  };
  auto make_group = [&](size_t i) {
    const Node& n = g.nodes[i];
    auto gr = std::make_unique<Group>();
    gr->inputs.insert(n.inputs.begin(), n.inputs.end());
    Node f = as_fused(n, types.at(n.outputs[0]).dtype);
    int base = static_cast<int>(pool.size());
    int n_in = static_cast<int>(f.inputs.size());
    for (const auto& ins : f.attrs["program"]) {
      PendingInstr p;
      p.ins = ins;
      p.ins.erase("args");
      for (const auto& a : ins["args"]) {
        int r = a.get<int>();
        if (r < n_in) p.args.emplace_back(f.inputs[r]);
        else p.args.emplace_back(base + (r - n_in));
      }
      gr->instrs.push_back(static_cast<int>(pool.size()));
      pool.push_back(std::move(p));
    }
    gr->result = static_cast<int>(pool.size()) - 1;
    result_of[n.outputs[0]] = gr->result;
    groups[i] = std::move(gr);
  };

  int fused = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& c = g.nodes[i];
    if ((!fusable(c.op) && c.op != "FusedElementwise") || !inputs_ok(c)) continue;
    make_group(i);  // now, so that instruction numbers follow the node order
    if (types.at(c.outputs[0]).dtype != g.dtype) continue;  // a producer only
    Group* cg = groups[i].get();
    cg->consumer = true;
    // Inputs whose producer may be absorbed: the node's own, then those a merge brings in
    // that were never looked at (a producer-only node's) or that became single-use.
    std::vector<std::string> todo(c.inputs.begin(), c.inputs.end());
    while (!todo.empty()) {
      std::string value = std::move(todo.back());
      todo.pop_back();
      auto pit = producer_of.find(value);
      if (pit == producer_of.end() || uses[value] != 1 || !cg->inputs.count(value)) continue;
      size_t pi = pit->second;
      if (!groups[pi] || pi == i) continue;  // not fusable
      std::unique_ptr<Group> pg = std::move(groups[pi]);
      removed[pi] = true;
      cg->inputs.erase(value);
      uses[value] = 0;
      if (!pg->consumer) todo.insert(todo.end(), pg->inputs.begin(), pg->inputs.end());
      // Inputs of both sides are read once by the merged node (small set into large).
      if (pg->inputs.size() > cg->inputs.size()) std::swap(cg->inputs, pg->inputs);
      for (const auto& v : pg->inputs) {
        if (cg->inputs.count(v)) {
          uses[v]--;
          todo.push_back(v);
        } else {
          cg->inputs.insert(v);
        }
      }
      if (pg->instrs.size() > cg->instrs.size()) std::swap(cg->instrs, pg->instrs);
      cg->instrs.insert(cg->instrs.end(), pg->instrs.begin(), pg->instrs.end());
      cg->absorbed = true;
      ++fused;
    }
  }
  if (fused == 0) return 0;
  std::vector<Node> kept;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (removed[i]) continue;
    Group* gr = groups[i].get();
    kept.push_back(gr && gr->absorbed ? finish_group(*gr, g.nodes[i], pool, result_of) : std::move(g.nodes[i]));
  }
  g.nodes = std::move(kept);
  GTN_RETURN_IF_ERROR(validate_graph(g).status());
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

int forward_identities(Graph& g) {
  int forwarded = 0;
  for (bool again = true; again;) {
    again = false;
    auto uses = use_counts(g);
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const Node& n = g.nodes[i];
      if (n.op != "Identity" || n.inputs.size() != 1 || n.outputs.size() != 1) continue;
      const std::string& v = n.inputs[0];
      size_t p = 0;
      if (uses[v] != 1 || g.constants.count(v) || !producer(g, v, &p)) continue;
      for (auto& o : g.nodes[p].outputs)
        if (o == v) o = n.outputs[0];
      g.nodes.erase(g.nodes.begin() + static_cast<std::ptrdiff_t>(i));
      ++forwarded;
      again = true;
      break;
    }
  }
  return forwarded;
}

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
  int identities = forward_identities(g);
  int dead = eliminate_dead_nodes(g);
  notes.push_back("passes: " + std::to_string(folded) + " nodes constant-folded, " + std::to_string(gemm) +
                  " MatMul+Add -> Gemm, " + std::to_string(fused) + " elementwise nodes fused, " +
                  std::to_string(identities) + " identities forwarded, " + std::to_string(dead) +
                  " dead nodes/constants removed");
  return g;
}

}  // namespace gtn::ml
