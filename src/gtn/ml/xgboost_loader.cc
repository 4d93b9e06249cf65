#include "gtn/ml/xgboost_loader.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "gtn/ml/loader_util.h"

namespace gtn::ml {
namespace {

using Json = nlohmann::json;
using loader::make_array;
using loader::node;

Status xgboost_error(const std::string& m) { return Status::InvalidArgument("XGBoost JSON model: " + m); }

// XGBoost writes numbers in strings ("28", "[5E-1]", "[1E0,2E0]").
std::vector<double> parse_number_list(const Json& j) {
  std::vector<double> out;
  if (j.is_number()) return {j.get<double>()};
  if (j.is_array()) {
    for (const auto& e : j) {
      auto v = parse_number_list(e);
      out.insert(out.end(), v.begin(), v.end());
    }
    return out;
  }
  if (!j.is_string()) return out;
  std::string s = j.get<std::string>();
  for (char& c : s)
    if (c == '[' || c == ']' || c == ',') c = ' ';
  const char* p = s.c_str();
  while (*p) {
    char* end = nullptr;
    double v = std::strtod(p, &end);
    if (end == p) {
      ++p;
      continue;
    }
    out.push_back(v);
    p = end;
  }
  return out;
}

int64_t parse_int(const Json& j, int64_t fallback) {
  auto v = parse_number_list(j);
  return v.empty() ? fallback : static_cast<int64_t>(v[0]);
}

// XGBoost casts X to float32 and goes left when float32(x) < t (t a float32). The returned
// double t' has (x < t') == (float32(x) < t) for every double x, so the graph decides like
// XGBoost in float64 mode with no cast (and, as t' lies in (prev float32, t], unchanged in
// float32 mode). float32(x) < t exactly when x rounds to the float32 below t or lower: x is
// below the midpoint m between them, or on it when m rounds down (ties go to even).
double float32_split_threshold(double split_condition) {
  float t = static_cast<float>(split_condition);
  if (!std::isfinite(t)) return t;
  float below = std::nextafter(t, -std::numeric_limits<float>::infinity());
  // Below -FLT_MAX the rounding boundary is -(2^128 - 2^103) (ties there round to -inf).
  double m = std::isinf(below) ? -(std::ldexp(1.0, 128) - std::ldexp(1.0, 103))
                               : (static_cast<double>(below) + static_cast<double>(t)) / 2;
  return static_cast<float>(m) == t ? m : std::nextafter(m, std::numeric_limits<double>::infinity());
}

Result<XGBoostGraph> convert(const Json& root, DType dtype) {
  if (!root.is_object() || !root.contains("learner")) return xgboost_error("no \"learner\" object (not an XGBoost JSON model)");
  const Json& learner = root["learner"];
  const Json& mp = learner.at("learner_model_param");
  int64_t n_features = parse_int(mp.at("num_feature"), -1);
  int64_t num_class = parse_int(mp.value("num_class", Json("0")), 0);
  int64_t num_target = parse_int(mp.value("num_target", Json("1")), 1);
  if (n_features < 1) return xgboost_error("num_feature must be >= 1");
  if (num_target > 1) return Status::Unsupported("XGBoost JSON model: multi-target models are not supported");
  std::vector<double> base_score = parse_number_list(mp.value("base_score", Json("0.5")));
  if (base_score.empty()) base_score = {0.5};
  std::string objective = learner.at("objective").at("name").get<std::string>();

  const Json* gb = &learner.at("gradient_booster");
  std::string booster = gb->at("name").get<std::string>();
  std::vector<double> weight_drop;
  if (booster == "dart") {
    if (gb->contains("weight_drop"))
      for (const auto& w : (*gb)["weight_drop"]) weight_drop.push_back(w.get<double>());
    gb = &gb->at("gbtree");
  } else if (booster != "gbtree") {
    return Status::Unsupported("XGBoost JSON model: booster '" + booster + "' is not supported (gbtree and dart are)");
  }
  const Json& model = gb->at("model");
  const Json& trees = model.at("trees");
  std::vector<int32_t> tree_info;
  for (const auto& t : model.at("tree_info")) tree_info.push_back(static_cast<int32_t>(t.get<int64_t>()));
  if (tree_info.size() != trees.size()) return xgboost_error("tree_info and trees differ in length");
  if (trees.empty()) return xgboost_error("the model has no trees");

  int64_t n_out = num_class > 1 ? num_class : 1;
  std::vector<int32_t> feature, left, right, roots, targets;
  std::vector<double> threshold, leaf;
  std::vector<uint8_t> missing_left;
  // Categorical splits (TreeEnsembleCategorical): the listed categories go right, any other
  // category (unlisted, negative, beyond the list) goes left, NaN the default way.
  std::vector<uint8_t> kind, other_left, directions;
  std::vector<int32_t> cat_offsets, cat_sizes;
  bool categorical = false;
  auto f32 = [](double v) { return static_cast<double>(static_cast<float>(v)); };
  for (size_t t = 0; t < trees.size(); ++t) {
    const Json& tr = trees[t];
    int64_t leaf_vec = parse_int(tr.at("tree_param").value("size_leaf_vector", Json("1")), 1);
    if (leaf_vec > 1) return Status::Unsupported("XGBoost JSON model: vector-leaf trees are not supported");
    const auto lc = tr.at("left_children").get<std::vector<int64_t>>();
    const auto rc = tr.at("right_children").get<std::vector<int64_t>>();
    const auto si = tr.at("split_indices").get<std::vector<int64_t>>();
    const auto sc = tr.at("split_conditions").get<std::vector<double>>();
    std::vector<int64_t> dl;
    for (const auto& d : tr.at("default_left")) dl.push_back(d.is_boolean() ? d.get<bool>() : d.get<int64_t>());
    size_t n = lc.size();
    if (rc.size() != n || si.size() != n || sc.size() != n || dl.size() != n || n == 0)
      return xgboost_error("tree " + std::to_string(t) + " has node arrays of different lengths");
    int32_t base = static_cast<int32_t>(feature.size());
    kind.resize(base + n, 0);
    other_left.resize(base + n, 0);
    cat_offsets.resize(base + n, 0);
    cat_sizes.resize(base + n, 0);
    if (tr.contains("categories_nodes") && !tr["categories_nodes"].empty()) {
      const auto cats = tr.at("categories").get<std::vector<int64_t>>();
      const auto cnodes = tr.at("categories_nodes").get<std::vector<int64_t>>();
      const auto segs = tr.at("categories_segments").get<std::vector<int64_t>>();
      const auto sizes = tr.at("categories_sizes").get<std::vector<int64_t>>();
      if (segs.size() != cnodes.size() || sizes.size() != cnodes.size())
        return xgboost_error("tree " + std::to_string(t) + " has categories_* arrays of different lengths");
      for (size_t c = 0; c < cnodes.size(); ++c) {
        int64_t nd = cnodes[c];
        if (nd < 0 || nd >= static_cast<int64_t>(n) || segs[c] < 0 || sizes[c] < 0 ||
            segs[c] + sizes[c] > static_cast<int64_t>(cats.size()))
          return xgboost_error("tree " + std::to_string(t) + " has a categorical node or segment out of range");
        int64_t top = 0;
        for (int64_t k = segs[c]; k < segs[c] + sizes[c]; ++k) {
          if (cats[k] < 0 || cats[k] > (1 << 24)) return xgboost_error("category " + std::to_string(cats[k]) + " out of range");
          top = std::max(top, cats[k] + 1);
        }
        size_t at = base + static_cast<size_t>(nd);
        kind[at] = 1;
        other_left[at] = 1;
        cat_offsets[at] = static_cast<int32_t>(directions.size());
        cat_sizes[at] = static_cast<int32_t>(top);
        if (directions.size() + static_cast<size_t>(top) > (size_t{1} << 28))
          return xgboost_error("categorical split tables exceed 256 MiB");
        size_t start = directions.size();
        directions.resize(start + static_cast<size_t>(top), 1);
        for (int64_t k = segs[c]; k < segs[c] + sizes[c]; ++k) directions[start + static_cast<size_t>(cats[k])] = 2;
        categorical = true;
      }
    }
    double w = t < weight_drop.size() ? weight_drop[t] : 1.0;
    for (size_t i = 0; i < n; ++i) {
      bool is_leaf = lc[i] == -1;
      if (!is_leaf && (lc[i] < 0 || lc[i] >= static_cast<int64_t>(n) || rc[i] < 0 || rc[i] >= static_cast<int64_t>(n)))
        return xgboost_error("tree " + std::to_string(t) + " node " + std::to_string(i) + " has a child id out of range");
      if (!is_leaf && (si[i] < 0 || si[i] >= n_features))
        return xgboost_error("tree " + std::to_string(t) + " splits on feature " + std::to_string(si[i]) + " of " +
                   std::to_string(n_features));
      feature.push_back(is_leaf ? -1 : static_cast<int32_t>(si[i]));
      threshold.push_back(is_leaf || kind[base + i] ? 0.0 : float32_split_threshold(sc[i]));
      left.push_back(is_leaf ? 0 : base + static_cast<int32_t>(lc[i]));
      right.push_back(is_leaf ? 0 : base + static_cast<int32_t>(rc[i]));
      missing_left.push_back(dl[i] ? 1 : 0);
      leaf.push_back(is_leaf ? f32(sc[i]) * w : 0.0);
    }
    roots.push_back(base);
    int32_t target = tree_info[t];
    if (target < 0 || target >= n_out) return xgboost_error("tree_info entry " + std::to_string(target) + " is not a class");
    targets.push_back(target);
  }

  // Base margin from base_score, by the objective's link.
  bool logistic = objective == "binary:logistic" || objective == "reg:logistic" || objective == "binary:logitraw";
  bool log_link = objective == "count:poisson" || objective == "reg:gamma" || objective == "reg:tweedie" ||
                  objective == "survival:cox" || objective == "survival:aft";
  std::vector<double> base(static_cast<size_t>(n_out));
  for (int64_t k = 0; k < n_out; ++k) {
    double b = base_score[std::min<size_t>(k, base_score.size() - 1)];
    if (logistic && objective != "binary:logitraw") {
      // XGBoost clamps the base probability into [1e-6, 1 - 1e-6]: a model fitted on one
      // class stores base_score 0 (or 1), whose logit would be infinite.
      double p = std::clamp(b, 1e-6, 1.0 - 1e-6);
      b = std::log(p / (1.0 - p));
    }
    else if (log_link) b = std::log(b);
    base[k] = b;
  }

  Json g;
  g["format"] = "gtn-ml-graph";
  g["version"] = 1;
  g["dtype"] = dtype == DType::kFloat32 ? "float32" : "float64";
  g["inputs"] = Json::array({{{"name", "X"}, {"shape", {-1, n_features}}}});
  Json nodes = Json::array();
  Json attrs = {{"n_outputs", n_out}, {"comparison", "lt"}, {"aggregate", "sum"}, {"base_values", base},
                {"nodes_feature", "nodes_feature"}, {"nodes_threshold", "nodes_threshold"},
                {"nodes_left", "nodes_left"}, {"nodes_right", "nodes_right"},
                {"nodes_missing_left", "nodes_missing_left"}, {"leaf_values", "leaf_values"},
                {"tree_roots", "tree_roots"}, {"tree_targets", "tree_targets"}};
  if (categorical) {
    for (const char* k : {"nodes_kind", "nodes_other_left", "cat_offsets", "cat_sizes", "cat_directions"}) attrs[k] = k;
    attrs["category_cast"] = "nonnegative";
  }
  nodes.push_back(node(categorical ? "TreeEnsembleCategorical" : "TreeEnsemble", {"X"}, {"margin"}, attrs));
  Json outputs;
  if (objective == "binary:logistic") {
    nodes.push_back(node("Sigmoid", {"margin"}, {"p1"}));
    nodes.push_back(node("Sub", {"one", "p1"}, {"p0"}));
    nodes.push_back(node("Concat", {"p0", "p1"}, {"proba"}, {{"axis", 1}}));
    nodes.push_back(node("ArgMax", {"proba"}, {"label"}, {{"axis", 1}}));
    nodes.push_back(node("Reshape", {"margin"}, {"margin_1d"}, {{"shape", {0}}}));
    outputs = {{"predict", "label"}, {"predict_proba", "proba"}, {"decision_function", "margin_1d"}};
  } else if (objective == "multi:softprob" || objective == "multi:softmax") {
    nodes.push_back(node("Softmax", {"margin"}, {"proba"}, {{"axis", 1}}));
    nodes.push_back(node("ArgMax", {"margin"}, {"label"}, {{"axis", 1}}));
    outputs = {{"predict", "label"}, {"predict_proba", "proba"}, {"decision_function", "margin"}};
  } else {
    std::string v = "margin";
    if (objective == "reg:logistic") {
      nodes.push_back(node("Sigmoid", {"margin"}, {"transformed"}));
      v = "transformed";
    } else if (log_link) {
      nodes.push_back(node("Exp", {"margin"}, {"transformed"}));
      v = "transformed";
    } else if (objective == "binary:hinge") {
      nodes.push_back(node("Greater", {"margin", "zero"}, {"positive"}));
      nodes.push_back(node("Cast", {"positive"}, {"transformed"}, {{"to", g["dtype"]}}));
      v = "transformed";
    }
    if (n_out == 1) {
      nodes.push_back(node("Reshape", {v}, {"prediction"}, {{"shape", {0}}}));
      v = "prediction";
    }
    outputs = {{"predict", v}, {"decision_function", "margin"}};
  }
  g["nodes"] = nodes;
  g["outputs"] = outputs;
  g["metadata"] = {{"source", "xgboost"}, {"objective", objective}, {"n_features", n_features},
                   {"n_trees", trees.size()}, {"num_class", num_class}, {"base_score", base_score}};
  if (root.contains("version")) g["metadata"]["xgboost_version"] = root["version"];
  if (learner.contains("feature_names") && !learner["feature_names"].empty())
    g["metadata"]["feature_names"] = learner["feature_names"];

  XGBoostGraph out;
  out.graph_json = g.dump();
  int64_t nn = static_cast<int64_t>(feature.size());
  int64_t nt = static_cast<int64_t>(roots.size());
  out.constants["nodes_feature"] = make_array(DType::kInt32, {nn}, feature);
  out.constants["nodes_threshold"] = make_array(DType::kFloat64, {nn}, threshold);
  out.constants["nodes_left"] = make_array(DType::kInt32, {nn}, left);
  out.constants["nodes_right"] = make_array(DType::kInt32, {nn}, right);
  out.constants["nodes_missing_left"] = make_array(DType::kUInt8, {nn}, missing_left);
  out.constants["leaf_values"] = make_array(DType::kFloat64, {nn, 1}, leaf);
  out.constants["tree_roots"] = make_array(DType::kInt32, {nt}, roots);
  out.constants["tree_targets"] = make_array(DType::kInt32, {nt}, targets);
  if (categorical) {
    if (directions.empty()) directions.push_back(0);
    out.constants["nodes_kind"] = make_array(DType::kUInt8, {nn}, kind);
    out.constants["nodes_other_left"] = make_array(DType::kUInt8, {nn}, other_left);
    out.constants["cat_offsets"] = make_array(DType::kInt32, {nn}, cat_offsets);
    out.constants["cat_sizes"] = make_array(DType::kInt32, {nn}, cat_sizes);
    out.constants["cat_directions"] = make_array(DType::kUInt8, {static_cast<int64_t>(directions.size())}, directions);
  }
  out.constants["one"] = Array::Scalar<double>(DType::kFloat64, 1.0);
  out.constants["zero"] = Array::Scalar<double>(DType::kFloat64, 0.0);
  return out;
}

}  // namespace

Result<XGBoostGraph> xgboost_json_to_graph(const std::string& json_text, DType dtype) {
  Json root = Json::parse(json_text, nullptr, false);
  if (root.is_discarded()) return Status::Corruption("XGBoost JSON model: the file is not valid JSON");
  try {
    return convert(root, dtype);
  } catch (const Json::exception& e) {
    return xgboost_error(std::string("unexpected structure: ") + e.what());
  }
}

}  // namespace gtn::ml
