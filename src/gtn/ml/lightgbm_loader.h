// LightGBM text model (Booster.save_model("m.txt") / model_to_string(), LightGBM 3.x - 4.x)
// -> GTN-ML graph.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "gtn/result.h"
#include "gtn/tensor.h"

namespace gtn::ml {

struct LightGBMGraph {
  std::string graph_json;
  std::map<std::string, Array> constants;
};

// True when `text` starts like a LightGBM text model ("tree\nversion=v...").
bool looks_like_lightgbm_text(std::string_view text);

// Converts the model's trees into one TreeEnsemble (TreeEnsembleCategorical when the model
// has categorical or zero-as-missing splits) plus the objective's output transform.
// Methods: regression and ranking objectives give "predict" and "decision_function" (raw
// score); binary gives "predict" (class index), "predict_proba" ([N, 2]) and
// "decision_function" ([N]); multiclass / multiclassova give "predict", "predict_proba" and
// "decision_function" ([N, K]). Linear trees and custom objectives are Unsupported.
Result<LightGBMGraph> lightgbm_text_to_graph(std::string_view text, DType dtype);

}  // namespace gtn::ml
