// FusedElementwise: a chain of elementwise ops evaluated in one pass over the data.
// Made by the fusion pass (passes.cc), not by converters. Attrs:
//   program: [{"op": "Mul", "args": [0, 2], "dtype": "float32", "attrs": {...}}, ...]
// Registers 0..n_inputs-1 hold the inputs; instruction i writes register n_inputs + i;
// the last register is the output.
#include <cmath>
#include <limits>

#include "gtn/ml/fused_program.h"

namespace gtn::ml {

Result<FusedProgram> parse_fused_program(const NodeContext& ctx) {
  FusedProgram p;
  p.n_inputs = static_cast<int>(ctx.inputs.size());
  auto it = ctx.attrs().find("program");
  if (it == ctx.attrs().end() || !it->is_array() || it->empty())
    return ctx.error("needs attr 'program' (a non-empty list of instructions)");
  int regs = p.n_inputs;
  for (const auto& ji : *it) {
    FusedInstr ins;
    if (!ji.is_object() || !ji.contains("op") || !ji["op"].is_string() || !ji.contains("args") ||
        !ji["args"].is_array() || !ji.contains("dtype") || !ji["dtype"].is_string())
      return ctx.error("each program instruction needs op, args and dtype");
    ins.op = ji["op"].get<std::string>();
    for (const auto& a : ji["args"]) {
      if (!a.is_number_integer() || a.get<int64_t>() < 0 || a.get<int64_t>() >= regs)
        return ctx.error("instruction '" + ins.op + "' reads a register that is not yet written");
      ins.args.push_back(a.get<int>());
    }
    auto dt = parse_dtype(ji["dtype"].get<std::string>());
    if (!dt.ok()) return ctx.error(dt.status().message());
    ins.dtype = *dt;
    ins.unary = unary_function(ins.op);
    ins.binary = binary_function(ins.op);
    size_t want = 0;
    if (ins.op == "Where") want = 3;
    else if (ins.op == "Clip" || ins.op == "Cast") want = 1;
    else if (ins.unary) want = 1;
    else if (ins.binary) want = 2;
    else return ctx.error("op '" + ins.op + "' cannot be fused");
    if (ins.args.size() != want) return ctx.error("instruction '" + ins.op + "' needs " + std::to_string(want) + " args");
    if (ins.op == "Clip") {
      Json attrs = ji.value("attrs", Json::object());
      ins.lo = attrs.contains("min") && attrs["min"].is_number() ? attrs["min"].get<double>()
                                                                 : -std::numeric_limits<double>::infinity();
      ins.hi = attrs.contains("max") && attrs["max"].is_number() ? attrs["max"].get<double>()
                                                                 : std::numeric_limits<double>::infinity();
    }
    p.instrs.push_back(std::move(ins));
    ++regs;
  }
  return p;
}

double FusedInstr::eval(const double* r) const {
  if (op == "Where") return r[args[0]] != 0.0 ? r[args[1]] : r[args[2]];
  if (op == "Cast") return r[args[0]];
  if (op == "Clip") {
    double x = r[args[0]];
    return std::isnan(x) ? x : (x < lo ? lo : (x > hi ? hi : x));
  }
  if (unary) return unary(r[args[0]]);
  return binary(r[args[0]], r[args[1]]);
}

namespace {

Result<std::vector<ValueInfo>> infer_fused(const NodeContext& ctx) {
  GTN_ASSIGN_OR_RETURN(FusedProgram p, parse_fused_program(ctx));
  Shape shape;
  for (const auto& in : ctx.inputs) {
    auto s = broadcast_shapes(shape, in.shape);
    if (!s.ok()) return ctx.error(s.status().message());
    shape = *s;
  }
  return std::vector<ValueInfo>{{p.instrs.back().dtype, shape}};
}

Result<RefKernel> ref_fused(const NodeContext& ctx) {
  GTN_ASSIGN_OR_RETURN(FusedProgram prog, parse_fused_program(ctx));
  auto p = std::make_shared<FusedProgram>(std::move(prog));
  DType dt = ctx.outputs[0].dtype;
  return RefKernel([p, dt](const std::vector<const RTensor*>& in, std::vector<RTensor>& out) -> Status {
    std::vector<double> regs(p->n_inputs + p->instrs.size());
    return ref_broadcast(in, dt, [p, &regs](const double* a) {
      for (int i = 0; i < p->n_inputs; ++i) regs[i] = a[i];
      for (size_t i = 0; i < p->instrs.size(); ++i)
        regs[p->n_inputs + i] = round_to_dtype(p->instrs[i].eval(regs.data()), p->instrs[i].dtype);
      return regs.back();
    }, out[0]);
  });
}

bool fused_row_local(const NodeContext& ctx, const std::vector<bool>& batched) {
  size_t rank = ctx.outputs.empty() ? 0 : ctx.outputs[0].shape.size();
  for (size_t k = 0; k < batched.size(); ++k)
    if (batched[k] && ctx.inputs[k].shape.size() != rank) return false;
  return true;
}

}  // namespace

void register_fused_elementwise_op(OpRegistry& r) {
  r.Add({"FusedElementwise", 1, -1, 1, infer_fused, ref_fused, fused_row_local});
}

}  // namespace gtn::ml
