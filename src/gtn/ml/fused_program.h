// The decoded program of a FusedElementwise node (ops_fused_elementwise.cc).
#pragma once

#include <string>
#include <vector>

#include "gtn/ml/op_registry.h"

namespace gtn::ml {

struct FusedInstr {
  std::string op;
  std::vector<int> args;   // register indices
  DType dtype = DType::kFloat64;
  UnaryFn unary = nullptr;
  BinaryFn binary = nullptr;
  double lo = 0, hi = 0;   // Clip bounds
  // The instruction's value given the register file `r` (before rounding to dtype).
  double eval(const double* r) const;
};

struct FusedProgram {
  int n_inputs = 0;
  std::vector<FusedInstr> instrs;
};

Result<FusedProgram> parse_fused_program(const NodeContext& ctx);

}  // namespace gtn::ml
