#include "gtn/ml/passes.h"

#include "gtn/ml/test_util.h"

namespace gtn::ml {
namespace {

using testing::random_array;

// z = X @ W + (b1 * b2); p = 1 - sigmoid(z * 2 + 0.5) clipped; unused = exp(X) (dead).
const char* kGraph = R"({
  "format": "gtn-ml-graph", "version": 1, "dtype": "float32",
  "inputs": [{"name": "X", "shape": [-1, 4]}],
  "outputs": {"predict_proba": "p", "decision_function": "z"},
  "nodes": [
    {"op": "Mul", "inputs": ["b1", "b2"], "outputs": ["b"]},
    {"op": "MatMul", "inputs": ["X", "W"], "outputs": ["xw"]},
    {"op": "Add", "inputs": ["xw", "b"], "outputs": ["z"]},
    {"op": "Exp", "inputs": ["X"], "outputs": ["unused"]},
    {"op": "Mul", "inputs": ["z", "two"], "outputs": ["z2"]},
    {"op": "Add", "inputs": ["z2", "half"], "outputs": ["z3"]},
    {"op": "Sigmoid", "inputs": ["z3"], "outputs": ["s"]},
    {"op": "Greater", "inputs": ["s", "half"], "outputs": ["big"]},
    {"op": "Sub", "inputs": ["one", "s"], "outputs": ["q"]},
    {"op": "Where", "inputs": ["big", "q", "s"], "outputs": ["w"]},
    {"op": "Clip", "inputs": ["w"], "outputs": ["p"], "attrs": {"min": 0.1, "max": 0.45}}
  ]
})";

std::map<std::string, Array> constants(std::mt19937& rng) {
  return {{"W", random_array(rng, DType::kFloat64, {4, 3})}, {"b1", random_array(rng, DType::kFloat64, {3})},
          {"b2", random_array(rng, DType::kFloat64, {3})}, {"two", Array::Scalar<double>(DType::kFloat64, 2.0)},
          {"half", Array::Scalar<double>(DType::kFloat64, 0.5)}, {"one", Array::Scalar<double>(DType::kFloat64, 1.0)},
          {"never_read", random_array(rng, DType::kFloat64, {2})}};
}

TEST(Passes, FoldFuseAndDropDeadNodes) {
  std::mt19937 rng(1);
  auto g = parse_graph(kGraph, constants(rng));
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  std::vector<std::string> notes;
  auto opt = optimize_graph(*g, {}, notes);
  ASSERT_TRUE(opt.ok()) << opt.status().ToString();
  std::vector<std::string> ops;
  for (const auto& n : opt->nodes) ops.push_back(n.op);
  EXPECT_EQ(ops, (std::vector<std::string>{"Gemm", "FusedElementwise"}));
  EXPECT_TRUE(opt->constants.count("b"));           // folded b1 * b2
  EXPECT_FALSE(opt->constants.count("never_read"));  // dead constant
  EXPECT_FALSE(opt->constants.count("b1"));
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0], "passes: 1 nodes constant-folded, 1 MatMul+Add -> Gemm, 6 elementwise nodes fused, 4 dead nodes/constants removed");
  EXPECT_TRUE(validate_graph(*opt).ok());
}

TEST(Passes, OptimizedGraphMatchesReference) {
  std::mt19937 rng(2);
  auto consts = constants(rng);
  Array X = random_array(rng, DType::kFloat32, {300, 4}, -2, 2, 0.03);
  testing::expect_backends_agree(kGraph, consts, X, 2e-6, "optimized");
  testing::expect_backends_agree(kGraph, consts, X, 2e-6, "unoptimized", {{"optimize", "0"}});
}

}  // namespace
}  // namespace gtn::ml
