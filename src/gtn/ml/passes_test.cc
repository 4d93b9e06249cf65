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
  EXPECT_EQ(notes[0], "passes: 1 nodes constant-folded, 1 MatMul+Add -> Gemm, 6 elementwise nodes fused, 0 identities forwarded, 4 dead nodes/constants removed");
  EXPECT_TRUE(validate_graph(*opt).ok());
}

// StandardScaler's shape: (X - mean) / scale, then Identity names the output. The Identity
// is forwarded (no copy kernel) unless its input is also read elsewhere.
TEST(Passes, ForwardIdentities) {
  const char* graph = R"({
    "format": "gtn-ml-graph", "version": 1, "dtype": "float32",
    "inputs": [{"name": "X", "shape": [-1, 3]}],
    "outputs": {"transform": "y", "both": ["d", "y2"]},
    "nodes": [
      {"op": "Sub", "inputs": ["X", "mean"], "outputs": ["c"]},
      {"op": "Div", "inputs": ["c", "scale"], "outputs": ["y0"]},
      {"op": "Identity", "inputs": ["y0"], "outputs": ["y"]},
      {"op": "Exp", "inputs": ["X"], "outputs": ["d"]},
      {"op": "Identity", "inputs": ["d"], "outputs": ["y2"]},
      {"op": "Identity", "inputs": ["X"], "outputs": ["x2"]}
    ]
  })";
  std::mt19937 rng(5);
  std::map<std::string, Array> consts = {{"mean", random_array(rng, DType::kFloat64, {3})},
                                         {"scale", random_array(rng, DType::kFloat64, {3}, 0.5, 2)}};
  auto g = parse_graph(graph, consts);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  std::vector<std::string> notes;
  auto opt = optimize_graph(*g, {}, notes);
  ASSERT_TRUE(opt.ok()) << opt.status().ToString();
  std::vector<std::string> ops;
  for (const auto& n : opt->nodes) ops.push_back(n.op);
  // y0 -> y forwarded; d is a method output itself, so its Identity stays; x2 is dead.
  EXPECT_EQ(ops, (std::vector<std::string>{"FusedElementwise", "Exp", "Identity"}));
  EXPECT_EQ(opt->nodes[0].outputs, std::vector<std::string>{"y"});
  EXPECT_NE(notes[0].find("1 identities forwarded"), std::string::npos) << notes[0];
  Array X = random_array(rng, DType::kFloat32, {50, 3}, -2, 2, 0.05);
  testing::expect_backends_agree(graph, consts, X, 2e-6, "identities");
}

TEST(Passes, OptimizedGraphMatchesReference) {
  std::mt19937 rng(2);
  auto consts = constants(rng);
  Array X = random_array(rng, DType::kFloat32, {300, 4}, -2, 2, 0.03);
  testing::expect_backends_agree(kGraph, consts, X, 2e-6, "optimized");
  testing::expect_backends_agree(kGraph, consts, X, 2e-6, "unoptimized", {{"optimize", "0"}});
}

// A 4,000-node chain with its own constant per node (the fused program's input list grows
// with it) and a 1,000-term sum of X * c_j (X is read by every term; the merged node reads
// it once) must fuse into one node per method output and agree with the reference backend.
TEST(Passes, FusesLongChainAndWideSum) {
  const int kChain = 4000, kWide = 1000;
  Json nodes = Json::array();
  std::map<std::string, Array> consts;
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(0.5, 0.9);
  std::string v = "X";
  for (int k = 0; k < kChain; ++k) {
    std::string c = "c" + std::to_string(k), out = "v" + std::to_string(k);
    consts[c] = Array::Scalar<double>(DType::kFloat64, u(rng));
    const char* op = k % 3 == 0 ? "Mul" : k % 3 == 1 ? "Add" : "Tanh";
    Json ins = k % 3 == 2 ? Json::array({v}) : Json::array({v, c});
    nodes.push_back({{"op", op}, {"inputs", ins}, {"outputs", {out}}});
    v = out;
  }
  std::string s = "X";
  for (int j = 0; j < kWide; ++j) {
    std::string c = "w" + std::to_string(j), t = "t" + std::to_string(j), out = "s" + std::to_string(j);
    consts[c] = Array::Scalar<double>(DType::kFloat64, u(rng) / kWide);
    nodes.push_back({{"op", "Mul"}, {"inputs", {"X", c}}, {"outputs", {t}}});
    nodes.push_back({{"op", "Add"}, {"inputs", {s, t}}, {"outputs", {out}}});
    s = out;
  }
  Json graph = {{"format", "gtn-ml-graph"}, {"version", 1}, {"dtype", "float64"},
                {"inputs", {{{"name", "X"}, {"shape", {-1, 3}}}}},
                {"outputs", {{"predict", v}, {"decision_function", s}}}, {"nodes", nodes}};
  std::string text = graph.dump();

  auto g = parse_graph(text, consts);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  std::vector<std::string> notes;
  auto opt = optimize_graph(*g, {}, notes);
  ASSERT_TRUE(opt.ok()) << opt.status().ToString();
  ASSERT_EQ(opt->nodes.size(), 2u);
  for (const auto& n : opt->nodes) EXPECT_EQ(n.op, "FusedElementwise");
  EXPECT_EQ(opt->nodes[1].inputs.size(), static_cast<size_t>(kWide + 1));  // X once, every w_j
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find(std::to_string(kChain - 1 + 2 * kWide - 1) + " elementwise nodes fused"), std::string::npos)
      << notes[0];

  Array X = random_array(rng, DType::kFloat64, {50, 3});
  testing::expect_backends_agree(text, consts, X, 1e-9, "long chain");
}

}  // namespace
}  // namespace gtn::ml
