// GTN-ML: trained classical ML models compiled into fast tensor programs.
//
// A model is a graph of tensor ops plus named constant tensors (docs/ml/graph.md). It is
// compiled for a backend ("cpu": the optimized, multithreaded executor; "reference": the
// simple interpreter every fast kernel is checked against) and run on a 2-d batch X.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gtn/result.h"
#include "gtn/tensor.h"

namespace gtn::ml {

class CompiledGraph;

class Model {
 public:
  // Validates `graph_json` (docs/ml/graph.md) with its constant tensors and compiles it for
  // `backend` ("cpu" or "reference"). InvalidArgument names the node at fault.
  static Result<Model> Compile(std::string_view graph_json, std::map<std::string, Array> constants,
                               std::string_view backend = "cpu");
  // Loads a GTN model file (docs/ml/model-format.md), an XGBoost JSON / UBJSON model or a
  // LightGBM text model (by content).
  // Corruption when the file is truncated or fails its checksum.
  static Result<Model> Load(const std::string& path, std::string_view backend = "cpu");
  // Loads an XGBoost Booster JSON model (`Booster.save_model("m.json")`), given as a path or
  // as the JSON text itself; `dtype` is the compute precision ("float32" or "float64").
  static Result<Model> LoadXGBoostJson(std::string_view path_or_json, std::string_view dtype = "float32",
                                       std::string_view backend = "cpu");

  // Loads a LightGBM text model (`Booster.save_model("m.txt")` / `model_to_string()`), given
  // as a path or as the text itself. `metadata_json` (a JSON object, may be empty) is merged
  // into the graph's metadata (e.g. the class labels of an LGBMClassifier).
  static Result<Model> LoadLightGBM(std::string_view path_or_text, std::string_view dtype = "float64",
                                    std::string_view backend = "cpu", std::string_view metadata_json = "");

  // Load() of a model held in memory: the bytes of a model file (SerializeToString), an
  // XGBoost JSON text or an XGBoost UBJSON model.
  static Result<Model> LoadBytes(std::string bytes, std::string_view backend = "cpu");

  // Writes the model (graph, constants, options) to `path` in the GTN model format.
  Status Save(const std::string& path) const;
  // The bytes Save() writes (for pickling and sending a model between processes).
  std::string SerializeToString() const;

  // The method names this model answers, e.g. {"predict", "predict_proba"}.
  std::vector<std::string> methods() const;
  // Runs `method` on X (float32/float64, shape [n_rows, n_features]); returns its outputs.
  // When the source model refuses NaN or infinite inputs (metadata "input_finite"), so
  // does Run: InvalidArgument "Input X contains NaN ...".
  // n_threads = 0 uses every core.
  Result<std::vector<Array>> Run(std::string_view method, const Array& X, int n_threads = 0) const;
  // Run() for a method with one output.
  Result<Array> Predict(std::string_view method, const Array& X, int n_threads = 0) const;

  // Sets an execution option and recompiles, e.g. ("tree_strategy", "gemm").
  Status SetOption(std::string_view name, std::string_view value);
  // The options set so far (name -> value).
  const std::map<std::string, std::string>& options() const;

  // The graph as JSON (after validation; the stored form, before optimization passes).
  std::string graph_json() const;
  // The graph's "metadata" object as JSON.
  std::string metadata_json() const;
  // A human-readable summary: ops, tensors, methods, chosen strategies, metadata.
  std::string Describe() const;
  // Number of input features (X's second dimension).
  int64_t n_features() const;
  // "cpu" or "reference".
  const std::string& backend() const;

 private:
  static Model FromImpl(std::shared_ptr<CompiledGraph> impl);
  // The model's rule for non-finite inputs (metadata "input_finite"): 0 none, 1 finite
  // values only, 2 finite or NaN. check_finite() applies it to rows of a batch.
  int finite_rule() const;
  Status check_finite(const Array& rows, int64_t first_row, bool allow_nan) const;
  friend Result<Model> compile_model(std::string_view, std::map<std::string, Array>, std::string_view,
                                     const std::map<std::string, std::string>&);
  std::shared_ptr<CompiledGraph> impl_;
};

// The BLAS the CPU backend's GEMMs run on: the linked OpenBLAS's build configuration and the
// kernel family it chose for this CPU, e.g. "OpenBLAS 0.3.34 DYNAMIC_ARCH ... / kernels: Haswell".
std::string BlasInfo();

}  // namespace gtn::ml
