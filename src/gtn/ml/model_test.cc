#include "gtn/ml.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

namespace gtn::ml {
namespace {

Array matrix(std::vector<double> v, int64_t rows, int64_t cols) {
  return *Array::Copy(DType::kFloat64, {rows, cols}, v.data(), v.size() * sizeof(double));
}

// softmax(X @ W + b), argmax: a logistic-regression-shaped graph.
const char* kLinearGraph = R"({
  "format": "gtn-ml-graph", "version": 1, "dtype": "float64",
  "inputs": [{"name": "X", "shape": [-1, 3]}],
  "outputs": {"predict": "label", "predict_proba": "proba", "decision_function": "z"},
  "nodes": [
    {"op": "MatMul", "inputs": ["X", "W"], "outputs": ["xw"]},
    {"op": "Add", "inputs": ["xw", "b"], "outputs": ["z"]},
    {"op": "Softmax", "inputs": ["z"], "outputs": ["proba"], "attrs": {"axis": -1}},
    {"op": "ArgMax", "inputs": ["proba"], "outputs": ["label"], "attrs": {"axis": 1}}
  ],
  "metadata": {"source": "test"}
})";

std::map<std::string, Array> linear_constants() {
  return {{"W", matrix({1, -1, 0.5, 2, 0, -2}, 3, 2)}, {"b", *Array::Copy(DType::kFloat64, {2}, std::vector<double>{0.1, -0.1}.data(), 16)}};
}

TEST(Model, LinearGraphMatchesHandComputation) {
  for (const char* backend : {"reference", "cpu"}) {
    auto m = Model::Compile(kLinearGraph, linear_constants(), backend);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    EXPECT_EQ(m->n_features(), 3);
    EXPECT_EQ(m->methods(), (std::vector<std::string>{"decision_function", "predict", "predict_proba"}));
    Array X = matrix({1, 2, 3, -1, 0, 4}, 2, 3);
    auto z = m->Predict("decision_function", X);
    ASSERT_TRUE(z.ok()) << z.status().ToString();
    const double* zd = z->data_as<double>();
    // row 0: [1*1 + 2*0.5 + 3*0, 1*-1 + 2*2 + 3*-2] + b = [2.1, -3.1]
    EXPECT_NEAR(zd[0], 2.1, 1e-12);
    EXPECT_NEAR(zd[1], -3.1, 1e-12);
    // row 1: [-1 + 0 + 0, 1 + 0 - 8] + b = [-0.9, -7.1]
    EXPECT_NEAR(zd[2], -0.9, 1e-12);
    EXPECT_NEAR(zd[3], -7.1, 1e-12);
    auto p = m->Predict("predict_proba", X);
    ASSERT_TRUE(p.ok());
    EXPECT_NEAR(p->data_as<double>()[0], 1.0 / (1.0 + std::exp(-5.2)), 1e-12);
    auto label = m->Predict("predict", X);
    ASSERT_TRUE(label.ok());
    EXPECT_EQ(label->dtype(), DType::kInt64);
    EXPECT_EQ(label->data_as<int64_t>()[0], 0);
  }
}

TEST(Model, ErrorsNameTheProblem) {
  auto m = Model::Compile(kLinearGraph, linear_constants(), "cpu");
  ASSERT_TRUE(m.ok());
  auto r = m->Predict("predict", matrix({1, 2}, 1, 2));
  EXPECT_EQ(r.status().message(), "model expects 3 features, got 2");
  r = m->Predict("score_samples", matrix({1, 2, 3}, 1, 3));
  EXPECT_EQ(r.status().message(), "model has no method 'score_samples'; it has: decision_function, predict, predict_proba");
  Array ints = Array::Zeros(DType::kInt64, {1, 3});
  EXPECT_EQ(m->Predict("predict", ints).status().code(), StatusCode::kInvalidArgument);
  Array one_d = Array::Zeros(DType::kFloat64, {3});
  EXPECT_EQ(m->Predict("predict", one_d).status().code(), StatusCode::kInvalidArgument);

  std::string bad_op = kLinearGraph;
  bad_op.replace(bad_op.find("\"Softmax\""), 9, "\"Softmux\"");
  auto b = Model::Compile(bad_op, linear_constants());
  EXPECT_EQ(b.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(b.status().message().find("node 2 (Softmux -> 'proba'): unknown op 'Softmux'"), std::string::npos)
      << b.status().message();

  auto missing = Model::Compile(kLinearGraph, {{"W", matrix({1, 2, 3, 4, 5, 6}, 3, 2)}});
  EXPECT_NE(missing.status().message().find("input 'b' is not defined"), std::string::npos);
  auto shape = Model::Compile(kLinearGraph, {{"W", matrix({1, 2, 3, 4}, 2, 2)}, {"b", matrix({0, 0}, 1, 2)}});
  EXPECT_NE(shape.status().message().find("node 0 (MatMul -> 'xw'): inner dimensions differ"), std::string::npos)
      << shape.status().message();
  EXPECT_EQ(Model::Compile("{not json", {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Model::Compile(kLinearGraph, linear_constants(), "gpu").status().code(), StatusCode::kInvalidArgument);
}

std::string temp_path(const std::string& name) {
  return (::testing::TempDir() + "gtn_ml_" + name + "_" + std::to_string(::getpid()));
}

TEST(Model, SaveLoadRoundTripAndCorruption) {
  auto m = Model::Compile(kLinearGraph, linear_constants(), "cpu");
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(m->SetOption("tile_rows", "64").ok());
  std::string path = temp_path("roundtrip");
  ASSERT_TRUE(m->Save(path).ok());
  auto loaded = Model::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->options().at("tile_rows"), "64");
  Array X = matrix({1, 2, 3, -1, 0, 4}, 2, 3);
  auto a = m->Predict("predict_proba", X);
  auto b = loaded->Predict("predict_proba", X);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(0, std::memcmp(a->data(), b->data(), a->nbytes()));

  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto write = [&](const std::string& s) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(s.data(), static_cast<std::streamsize>(s.size()));
  };
  std::mt19937 rng(7);
  for (int trial = 0; trial < 50; ++trial) {
    std::string c = bytes;
    size_t at = rng() % c.size();
    c[at] = static_cast<char>(c[at] ^ (1 + rng() % 255));
    write(c);
    auto r = Model::Load(path);
    EXPECT_FALSE(r.ok()) << "flipped byte " << at;
    if (at >= 8) {
      EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
    }
  }
  for (size_t len : {size_t{0}, size_t{7}, size_t{20}, bytes.size() / 2, bytes.size() - 1}) {
    write(bytes.substr(0, len));
    auto r = Model::Load(path);
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << "truncated to " << len << ": " << r.status().ToString();
  }
  std::remove(path.c_str());
  EXPECT_EQ(Model::Load(path).status().code(), StatusCode::kNotFound);
}

std::string source_path(const std::string& rel) {
  const char* src = std::getenv("GTN_SOURCE_DIR");
  return std::string(src ? src : ".") + "/" + rel;
}

TEST(Model, ReadsGoldenVersion1Files) {
  auto m = Model::Load(source_path("tests/ml/golden/linear_v1.gtnml"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  auto z = m->Predict("decision_function", matrix({1, 2, 3, -1, 0, 4}, 2, 3));
  ASSERT_TRUE(z.ok());
  EXPECT_NEAR(z->data_as<double>()[0], 2.1, 1e-12);
  EXPECT_NEAR(z->data_as<double>()[3], -7.1, 1e-12);
  EXPECT_EQ(m->metadata_json(), R"({"source":"golden"})");

  auto x = Model::Load(source_path("tests/ml/golden/xgboost_binary_v1.gtnml"));
  ASSERT_TRUE(x.ok()) << x.status().ToString();
  EXPECT_EQ(x->options().at("tree_strategy"), "interleaved");
  auto fresh = Model::Load(source_path("tests/ml/xgboost/binary_logistic.json"));
  ASSERT_TRUE(fresh.ok());
  std::mt19937 rng(3);
  Array X = Array::Zeros(DType::kFloat32, {50, 6});
  for (int i = 0; i < 300; ++i) static_cast<float*>(X.mutable_data())[i] = std::normal_distribution<float>()(rng);
  auto a = x->Predict("predict_proba", X);
  auto b = fresh->Predict("predict_proba", X);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(0, std::memcmp(a->data(), b->data(), a->nbytes()));
}

TEST(Model, OptionsAreChecked) {
  auto m = Model::Compile(kLinearGraph, linear_constants(), "cpu");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->SetOption("tree_strategy", "magic").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(m->SetOption("colour", "red").code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(m->SetOption("tree_strategy", "gemm").ok());
  EXPECT_EQ(m->options().at("tree_strategy"), "gemm");
}


TEST(Model, PathsThatAreNotModelsAreClearErrors) {
  char dir_tmpl[] = "/tmp/gtn_ml_dirXXXXXX";
  ASSERT_NE(mkdtemp(dir_tmpl), nullptr);
  std::string dir = dir_tmpl;
  auto m = Model::Load(dir);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(m.status().message().find("is a directory; expected a model file"), std::string::npos)
      << m.status().message();
  std::string empty = dir + "/empty.gtnml";
  std::ofstream(empty).close();
  m = Model::Load(empty);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kCorruption);
  EXPECT_NE(m.status().message().find("is empty"), std::string::npos) << m.status().message();
  std::string text = dir + "/notes.txt";
  std::ofstream(text) << "hello";
  m = Model::Load(text);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("starts with \"hello\""), std::string::npos) << m.status().message();
  auto ok = Model::Compile(kLinearGraph, linear_constants());
  ASSERT_TRUE(ok.ok());
  EXPECT_FALSE(ok->Save(dir).ok());
  std::remove(empty.c_str());
  std::remove(text.c_str());
  rmdir(dir.c_str());
}

TEST(Model, GpuBackendIsAClearError) {
  for (const char* b : {"gpu", "cuda"}) {
    auto m = Model::Compile(kLinearGraph, linear_constants(), b);
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.status().message().find("no GPU backend yet"), std::string::npos) << m.status().message();
    auto l = Model::Load("/nonexistent/m.gtnml", b);
    ASSERT_FALSE(l.ok());
    EXPECT_NE(l.status().message().find("no GPU backend yet"), std::string::npos) << l.status().message();
  }
}

TEST(Model, BytesRoundTripKeepsOptions) {
  for (const char* backend : {"cpu", "reference"}) {
    auto m = Model::Compile(kLinearGraph, linear_constants(), backend);
    ASSERT_TRUE(m.ok());
    ASSERT_TRUE(m->SetOption("tile_rows", "7").ok());
    std::string bytes = m->SerializeToString();
    auto back = Model::LoadBytes(bytes, backend);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->options().at("tile_rows"), "7");
    Array X = matrix({1, 2, 3, -1, 0, 4}, 2, 3);
    auto a = m->Predict("predict_proba", X), b = back->Predict("predict_proba", X);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(std::memcmp(a->data(), b->data(), a->nbytes()), 0);
  }
  auto m = Model::Compile(kLinearGraph, linear_constants());
  ASSERT_TRUE(m.ok());
  std::string bytes = m->SerializeToString();
  auto cut = Model::LoadBytes(bytes.substr(0, bytes.size() / 2));
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.status().code(), StatusCode::kCorruption);
}

TEST(Model, NonFiniteInputsFollowTheSourceRule) {
  std::string graph = kLinearGraph;
  std::string all = graph, allow_nan = graph;
  all.replace(all.find("\"source\": \"test\""), 16, "\"source\": \"sklearn.x.Lin\", \"input_finite\": \"all\"");
  allow_nan.replace(allow_nan.find("\"source\": \"test\""), 16, "\"source\": \"t\", \"input_finite\": \"allow-nan\"");
  Array nan_x = matrix({1, 2, 3, -1, NAN, 4}, 2, 3);
  Array inf_x = matrix({1, 2, 3, -1, 0, INFINITY}, 2, 3);
  for (const char* backend : {"cpu", "reference"}) {
    auto none = Model::Compile(graph, linear_constants(), backend);
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->Predict("predict_proba", nan_x).ok());
    auto a = Model::Compile(all, linear_constants(), backend);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    auto r = a->Predict("predict_proba", nan_x);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("Input X contains NaN (row 1, feature 1). Lin does not accept"),
              std::string::npos) << r.status().message();
    r = a->Predict("predict", inf_x);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("Input X contains infinity"), std::string::npos);
    auto n = Model::Compile(allow_nan, linear_constants(), backend);
    ASSERT_TRUE(n.ok());
    EXPECT_TRUE(n->Predict("predict_proba", nan_x).ok());
    EXPECT_FALSE(n->Predict("predict_proba", inf_x).ok());
  }
}

}  // namespace
}  // namespace gtn::ml
