// XGBoost JSON model (Booster.save_model("m.json"), XGBoost 1.6 - 3.x) -> GTN-ML graph.
#pragma once

#include <map>
#include <string>

#include "gtn/result.h"
#include "gtn/tensor.h"

namespace gtn::ml {

struct XGBoostGraph {
  std::string graph_json;
  std::map<std::string, Array> constants;
};

// Converts the model's trees into one TreeEnsemble plus the objective's post-transform.
// Methods: regression objectives give "predict"; binary:logistic gives "predict" (class
// index), "predict_proba" ([N, 2]) and "decision_function" (margin); multi:softprob /
// multi:softmax give "predict", "predict_proba" ([N, K]) and "decision_function" ([N, K]).
Result<XGBoostGraph> xgboost_json_to_graph(const std::string& json_text, DType dtype);

}  // namespace gtn::ml
