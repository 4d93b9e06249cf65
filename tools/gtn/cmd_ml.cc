// gtn ml predict MODEL INPUT.npy -o OUTPUT.npy [--method M] [--threads N]
// gtn ml info MODEL
// MODEL is a GTN model file or an XGBoost JSON model.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>

#include "command.h"
#include "gtn/ml.h"
#include "gtn/npy.h"

namespace gtn::cli {
namespace {

struct MlArgs {
  std::string model, input, output, method, backend = "cpu", strategy;
  int threads = 0;
};

Result<ml::Model> load(const MlArgs& a) {
  GTN_ASSIGN_OR_RETURN(ml::Model m, ml::Model::Load(a.model, a.backend));
  if (!a.strategy.empty()) GTN_RETURN_IF_ERROR(m.SetOption("tree_strategy", a.strategy));
  return m;
}

Status predict(const MlArgs& a) {
  GTN_ASSIGN_OR_RETURN(ml::Model m, load(a));
  GTN_ASSIGN_OR_RETURN(Array X, read_npy(a.input));
  if (X.dtype() != DType::kFloat32 && X.dtype() != DType::kFloat64) {
    return Status::InvalidArgument(a.input + ": X must be float32 or float64, got " + std::string(dtype_name(X.dtype())));
  }
  std::string method = a.method;
  if (method.empty()) {
    auto ms = m.methods();
    method = std::find(ms.begin(), ms.end(), "predict") != ms.end() ? "predict" : ms.front();
  }
  auto t0 = std::chrono::steady_clock::now();
  GTN_ASSIGN_OR_RETURN(std::vector<Array> outs, m.Run(method, X, a.threads));
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  for (size_t i = 0; i < outs.size(); ++i) {
    std::string path = a.output;
    if (i > 0) {
      size_t dot = path.rfind(".npy");
      path = (dot == std::string::npos ? path : path.substr(0, dot)) + "_" + std::to_string(i) + ".npy";
    }
    GTN_RETURN_IF_ERROR(write_npy(path, outs[i]));
    std::cout << "wrote " << path << " " << dtype_name(outs[i].dtype()) << shape_to_string(outs[i].shape()) << "\n";
  }
  std::cout << method << ": " << X.shape()[0] << " rows in " << ms << " ms\n";
  return Status::OK();
}

Status info(const MlArgs& a) {
  GTN_ASSIGN_OR_RETURN(ml::Model m, load(a));
  std::cout << "model: " << a.model << "\n" << m.Describe();
  return Status::OK();
}

void add(CLI::App& app) {
  auto args = std::make_shared<MlArgs>();
  CLI::App* ml = app.add_subcommand("ml", "Run and inspect compiled ML models (GTN-ML)");
  ml->require_subcommand(1);

  CLI::App* p = ml->add_subcommand("predict", "Run a model method on a .npy matrix and write the result as .npy");
  p->add_option("model", args->model, "GTN model file or XGBoost .json")->required();
  p->add_option("input", args->input, "Input .npy, float32/float64 [n_rows, n_features]")->required();
  p->add_option("-o,--output", args->output, "Output .npy (more outputs: OUTPUT_1.npy, ...)")->required();
  p->add_option("-m,--method", args->method, "Method to run (default: predict)");
  p->add_option("-t,--threads", args->threads, "Threads (0 = all cores)")->capture_default_str();
  p->add_option("--backend", args->backend, "cpu or reference")->capture_default_str();
  p->add_option("--strategy", args->strategy, "Tree strategy override (auto, gemm, tree_traversal, ...)");
  p->callback([args] { exit_on_error(predict(*args)); });

  CLI::App* i = ml->add_subcommand("info", "Show a model's ops, tensors, methods, tree strategy and metadata");
  i->add_option("model", args->model, "GTN model file or XGBoost .json")->required();
  i->add_option("--backend", args->backend, "cpu or reference")->capture_default_str();
  i->add_option("--strategy", args->strategy, "Tree strategy override");
  i->callback([args] { exit_on_error(info(*args)); });
}

RegisterCommand reg(70, add);

}  // namespace
}  // namespace gtn::cli
