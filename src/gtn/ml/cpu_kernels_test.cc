// Every CPU kernel against the reference interpreter on random inputs.
#include "gtn/ml/test_util.h"

// Cases list only the OneNode fields they need.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace gtn::ml {
namespace {

using testing::expect_backends_agree;
using testing::random_array;

struct OneNode {
  std::string op;
  std::vector<std::string> inputs;  // "X", "X2" (= X*X - 1, batched) or constant names
  Json attrs = Json::object();
  std::map<std::string, Shape> constants;  // float constants of these shapes
  int n_outputs = 1;
  int64_t features = 5;
  DType const_dtype = DType::kFloat64;
};

void check(const OneNode& c, DType dt, uint32_t seed, double rtol = 1e-5) {
  std::mt19937 rng(seed);
  Json nodes = Json::array();
  nodes.push_back({{"op", "Mul"}, {"inputs", {"X", "X"}}, {"outputs", {"XX"}}});
  nodes.push_back({{"op", "Sub"}, {"inputs", {"XX", "one"}}, {"outputs", {"X2"}}});
  std::vector<std::string> outs;
  for (int i = 0; i < c.n_outputs; ++i) outs.push_back(std::string("out").append(std::to_string(i)));
  nodes.push_back({{"op", c.op}, {"inputs", c.inputs}, {"outputs", outs}, {"attrs", c.attrs.is_null() ? Json::object() : c.attrs}});
  Json outputs = Json::object();
  for (int i = 0; i < c.n_outputs; ++i) outputs[std::string("m").append(std::to_string(i))] = outs[i];
  Json g = {{"format", "gtn-ml-graph"}, {"version", 1}, {"dtype", dt == DType::kFloat32 ? "float32" : "float64"},
            {"inputs", {{{"name", "X"}, {"shape", {-1, c.features}}}}}, {"outputs", outputs}, {"nodes", nodes}};
  std::map<std::string, Array> consts = {{"one", Array::Scalar<double>(DType::kFloat64, 1.0)}};
  for (const auto& [name, shape] : c.constants) consts[name] = random_array(rng, c.const_dtype, shape, -2, 2);
  for (int64_t rows : {1, 3, 50}) {
    Array X = random_array(rng, dt, {rows, c.features}, -3, 3, 0.02);
    expect_backends_agree(g.dump(), consts, X, rtol, c.op + " " + std::string(dtype_name(dt)) + " rows " + std::to_string(rows));
  }
}

void check_both(const OneNode& c, uint32_t seed) {
  check(c, DType::kFloat64, seed, 1e-10);
  check(c, DType::kFloat32, seed + 1000, 2e-5);
}

TEST(CpuKernels, Unary) {
  uint32_t seed = 1;
  for (const char* op : {"Identity", "Neg", "Abs", "Sqrt", "Square", "Exp", "Log", "Log1p", "Reciprocal", "Sign",
                         "Floor", "Sigmoid", "Tanh", "Relu", "Softplus", "IsNaN"})
    check_both({op, {"X"}}, seed++);
  check_both({"Clip", {"X"}, {{"min", -0.5}, {"max", 1.25}}}, seed++);
  check_both({"Clip", {"X"}, {{"max", 0.0}}}, seed++);
  check_both({"Cast", {"X"}, {{"to", "int64"}}}, seed++);
}

TEST(CpuKernels, BinaryWithBroadcasting) {
  uint32_t seed = 100;
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Greater", "GreaterEqual", "Less",
                         "LessEqual", "Equal"}) {
    check_both({op, {"X", "X2"}}, seed++);
    check_both({op, {"X", "row"}, {}, {{"row", {5}}}}, seed++);
    check_both({op, {"col", "X"}, {}, {{"col", {1, 1}}}}, seed++);
    check_both({op, {"X2", "one"}}, seed++);
  }
}

TEST(CpuKernels, Logic) {
  std::mt19937 rng(6);
  Json g = {{"format", "gtn-ml-graph"}, {"version", 1}, {"dtype", "float64"},
            {"inputs", {{{"name", "X"}, {"shape", {-1, 5}}}}},
            {"outputs", {{"and", "a"}, {"or", "o"}, {"not", "n"}}},
            {"nodes", {{{"op", "Greater"}, {"inputs", {"X", "zero"}}, {"outputs", {"p"}}},
                       {{"op", "Less"}, {"inputs", {"X", "row"}}, {"outputs", {"q"}}},
                       {{"op", "And"}, {"inputs", {"p", "q"}}, {"outputs", {"a"}}},
                       {{"op", "Or"}, {"inputs", {"p", "q"}}, {"outputs", {"o"}}},
                       {{"op", "Not"}, {"inputs", {"p"}}, {"outputs", {"n"}}}}}};
  std::map<std::string, Array> consts = {{"zero", Array::Scalar<double>(DType::kFloat64, 0.0)},
                                         {"row", random_array(rng, DType::kFloat64, {5})}};
  expect_backends_agree(g.dump(), consts, random_array(rng, DType::kFloat64, {40, 5}, -2, 2, 0.1), 0, "logic");
}

TEST(CpuKernels, TopKWithTiesAndNaN) {
  std::mt19937 rng(8);
  for (bool largest : {true, false}) {
    Json g = {{"format", "gtn-ml-graph"}, {"version", 1}, {"dtype", "float32"},
              {"inputs", {{{"name", "X"}, {"shape", {-1, 9}}}}}, {"outputs", {{"top", {"v", "i"}}}},
              {"nodes", {{{"op", "Floor"}, {"inputs", {"X"}}, {"outputs", {"fx"}}},  // many ties
                         {{"op", "TopK"}, {"inputs", {"fx"}}, {"outputs", {"v", "i"}},
                          {"attrs", {{"k", 4}, {"largest", largest}}}}}}};
    expect_backends_agree(g.dump(), {}, random_array(rng, DType::kFloat32, {60, 9}, -3, 3, 0.1), 0, "topk");
  }
}

TEST(CpuKernels, Where) {
  OneNode w{"Where", {"cond", "X", "row"}, {}, {{"row", {5}}}};
  // cond = X > X2, built in the graph through a Greater node: use a two-node graph.
  std::mt19937 rng(5);
  Json g = {{"format", "gtn-ml-graph"}, {"version", 1}, {"dtype", "float32"},
            {"inputs", {{{"name", "X"}, {"shape", {-1, 5}}}}}, {"outputs", {{"m", "w"}}},
            {"nodes", {{{"op", "Greater"}, {"inputs", {"X", "zero"}}, {"outputs", {"cond"}}},
                       {{"op", "Where"}, {"inputs", {"cond", "X", "row"}}, {"outputs", {"w"}}}}}};
  std::map<std::string, Array> consts = {{"zero", Array::Scalar<double>(DType::kFloat64, 0.0)},
                                         {"row", random_array(rng, DType::kFloat64, {5})}};
  expect_backends_agree(g.dump(), consts, random_array(rng, DType::kFloat32, {40, 5}), 1e-6, "Where");
}

// predict_proba's [1 - p, p]: Concat of one-column inputs takes the strided path.
TEST(CpuKernels, ConcatOfColumns) {
  std::mt19937 rng(31);
  for (const char* dtype : {"float32", "float64"}) {
    Json g = {{"format", "gtn-ml-graph"}, {"version", 1}, {"dtype", dtype},
              {"inputs", {{{"name", "X"}, {"shape", {-1, 5}}}}}, {"outputs", {{"m", "c"}}},
              {"nodes", {{{"op", "Slice"}, {"inputs", {"X"}}, {"outputs", {"a"}},
                          {"attrs", {{"axis", 1}, {"start", 1}, {"end", 2}}}},
                         {{"op", "Slice"}, {"inputs", {"X"}}, {"outputs", {"b"}},
                          {"attrs", {{"axis", 1}, {"start", 4}, {"end", 5}}}},
                         {{"op", "Concat"}, {"inputs", {"b", "a", "b"}}, {"outputs", {"c"}}, {"attrs", {{"axis", 1}}}}}}};
    DType dt = std::string(dtype) == "float32" ? DType::kFloat32 : DType::kFloat64;
    expect_backends_agree(g.dump(), {}, random_array(rng, dt, {37, 5}), 0, std::string("Concat columns ") + dtype);
  }
}

TEST(CpuKernels, LinearAlgebra) {
  check_both({"MatMul", {"X", "W"}, {}, {{"W", {5, 7}}}}, 1);
  check_both({"MatMul", {"X", "W"}, {{"transpose_b", true}}, {{"W", {7, 5}}}}, 2);
  check_both({"Gemm", {"X", "W", "b"}, {{"alpha", 0.5}, {"beta", 2.0}}, {{"W", {5, 3}}, {"b", {3}}}}, 3);
  check_both({"Gemm", {"X", "W", "b"}, {{"transpose_b", true}}, {{"W", {4, 5}}, {"b", {1, 4}}}}, 4);
  check_both({"Gemm", {"X", "W"}, {}, {{"W", {5, 2}}}}, 5);
  // One output column runs as GEMV.
  check_both({"MatMul", {"X", "W"}, {}, {{"W", {5, 1}}}}, 7);
  check_both({"Gemm", {"X", "W", "b"}, {{"alpha", 0.5}, {"beta", 2.0}}, {{"W", {5, 1}}, {"b", {1}}}}, 8);
  check_both({"Gemm", {"X", "W", "b"}, {{"transpose_b", true}}, {{"W", {1, 5}}, {"b", {1}}}}, 9);
  check_both({"SquaredDistance", {"X", "S"}, {}, {{"S", {9, 5}}}}, 6);
  // Narrow float32 GEMMs (AVX-512 kernel where the CPU has it): 1-4 vectors per row, a
  // masked last vector, 4-row blocks and remainder rows, alpha and beta.
  for (int64_t m : {2, 16, 33, 64}) {
    check_both({"MatMul", {"X", "W"}, {}, {{"W", {28, m}}}, 1, 28}, 10 + static_cast<uint32_t>(m));
    check_both({"Gemm", {"X", "W", "b"}, {{"alpha", 0.5}, {"beta", 2.0}}, {{"W", {28, m}}, {"b", {m}}}, 1, 28},
               20 + static_cast<uint32_t>(m));
  }
}

TEST(CpuKernels, Reductions) {
  uint32_t seed = 200;
  for (const char* op : {"Softmax", "LogSoftmax"}) {
    check_both({op, {"X"}, {{"axis", 1}}}, seed++);
    check_both({op, {"X"}, {{"axis", 0}}}, seed++);
  }
  for (const char* op : {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceLogSumExp",
                         "ArgMax", "ArgMin"}) {
    check_both({op, {"X"}, {{"axis", -1}}}, seed++);
    check_both({op, {"X"}, {{"axis", 1}, {"keepdims", true}}}, seed++);
    check_both({op, {"X"}, {{"axis", 0}}}, seed++);
  }
  for (const char* norm : {"l1", "l2", "max"}) check_both({"Normalize", {"X"}, {{"norm", norm}}}, seed++);
  check_both({"TopK", {"X"}, {{"k", 2}, {"axis", 1}}, {}, 2}, seed++);
}

TEST(CpuKernels, ShapeOps) {
  check_both({"Reshape", {"X"}, {{"shape", {0, 5, 1}}}}, 1);
  check_both({"Reshape", {"X"}, {{"shape", {-1}}}}, 2);
  check_both({"Concat", {"X", "X2", "X"}, {{"axis", 1}}}, 3);
  check_both({"Concat", {"X", "X2"}, {{"axis", 0}}}, 4);
  check_both({"Slice", {"X"}, {{"axis", 1}, {"start", 1}, {"end", -1}}}, 5);
  check_both({"Slice", {"X"}, {{"axis", 0}, {"start", 1}}}, 6);
  check_both({"Transpose", {"X"}, {{"perm", {1, 0}}}}, 7);
  OneNode gather{"Gather", {"X", "idx"}, {{"axis", 1}}, {{"idx", {3}}}};
  gather.const_dtype = DType::kInt64;  // random ints in [-2, 2): negative indices too
  check_both(gather, 8);
  OneNode onehot{"OneHot", {"idx"}, {{"depth", 3}}, {{"idx", {4}}}};
  onehot.const_dtype = DType::kInt64;
  check_both(onehot, 9);
}

TEST(CpuKernels, GatherOfArgMaxAndOneHot) {
  // predict = classes[argmax(X)], the usual classifier tail, plus OneHot of the index.
  std::mt19937 rng(11);
  Json g = {{"format", "gtn-ml-graph"}, {"version", 1}, {"dtype", "float64"},
            {"inputs", {{{"name", "X"}, {"shape", {-1, 4}}}}}, {"outputs", {{"predict", "label"}, {"onehot", "oh"}}},
            {"nodes", {{{"op", "ArgMax"}, {"inputs", {"X"}}, {"outputs", {"idx"}}, {"attrs", {{"axis", 1}}}},
                       {{"op", "Gather"}, {"inputs", {"classes", "idx"}}, {"outputs", {"label"}}},
                       {{"op", "OneHot"}, {"inputs", {"idx"}}, {"outputs", {"oh"}}, {"attrs", {{"depth", 4}}}}}}};
  std::vector<int64_t> classes = {3, 5, 7, 11};
  std::map<std::string, Array> consts = {{"classes", testing::array_of(DType::kInt64, {4}, classes)}};
  expect_backends_agree(g.dump(), consts, random_array(rng, DType::kFloat64, {33, 4}), 0, "argmax-gather");
}

TEST(CpuKernels, SvmProbability) {
  // dec [N, P] for k classes (P = k(k-1)/2 = features), Platt coefficients as constants.
  uint32_t seed = 400;
  for (int64_t k : {2, 3, 4, 6}) {
    OneNode c{"SvmProbability", {"X", "prob_a", "prob_b"}, {{"n_classes", k}},
              {{"prob_a", {k * (k - 1) / 2}}, {"prob_b", {k * (k - 1) / 2}}}};
    c.features = k * (k - 1) / 2;
    check(c, DType::kFloat64, seed++, 0);  // the same code on both backends: identical bits
    check(c, DType::kFloat32, seed++, 0);
  }
}

}  // namespace
}  // namespace gtn::ml
