#include "gtn/ml/lightgbm_loader.h"

#include <cmath>
#include <cstdlib>
#include <sstream>

#include <nlohmann/json.hpp>

#include "gtn/ml/loader_util.h"

namespace gtn::ml {
namespace {

using Json = nlohmann::json;
using loader::make_array;
using loader::node;

Status lightgbm_error(const std::string& m) { return Status::InvalidArgument("LightGBM text model: " + m); }

// "key=value" lines of one section.
using Section = std::map<std::string, std::string>;

Result<std::vector<double>> numbers(const Section& s, const std::string& key, size_t expect, const std::string& where) {
  auto it = s.find(key);
  if (it == s.end()) {
    if (expect == 0) return std::vector<double>{};
    return lightgbm_error(where + " has no '" + key + "' line");
  }
  std::vector<double> v;
  const char* p = it->second.c_str();
  while (*p) {
    while (*p == ' ') ++p;
    if (!*p) break;
    char* end = nullptr;
    double x = std::strtod(p, &end);
    if (end == p) return lightgbm_error(where + " line '" + key + "' holds a non-number near \"" + std::string(p).substr(0, 20) + "\"");
    v.push_back(x);
    p = end;
  }
  if (expect != static_cast<size_t>(-1) && v.size() != expect)
    return lightgbm_error(where + " line '" + key + "' has " + std::to_string(v.size()) + " entries, expected " +
               std::to_string(expect));
  return v;
}

int64_t int_value(const Section& s, const std::string& key, int64_t fallback) {
  auto it = s.find(key);
  if (it == s.end()) return fallback;
  char* end = nullptr;
  long long v = std::strtoll(it->second.c_str(), &end, 10);
  return end == it->second.c_str() ? fallback : static_cast<int64_t>(v);
}

// v as an integer in [lo, hi] (false for NaN, fractions are truncated, out of range).
bool to_int(double v, int64_t lo, int64_t hi, int64_t* out) {
  if (!(v >= static_cast<double>(lo) && v <= static_cast<double>(hi))) return false;
  *out = static_cast<int64_t>(v);
  return true;
}

// Objective line, e.g. "binary sigmoid:1", "multiclass num_class:3", "regression".
struct Objective {
  std::string name;
  double sigmoid = 1.0;
  bool sqrt = false;
};

Objective parse_objective(const std::string& line) {
  Objective o;
  std::istringstream in(line);
  in >> o.name;
  std::string tok;
  while (in >> tok) {
    if (tok.rfind("sigmoid:", 0) == 0) o.sigmoid = std::strtod(tok.c_str() + 8, nullptr);
    if (tok == "sqrt") o.sqrt = true;
  }
  return o;
}

constexpr uint8_t kCategoricalMask = 1, kDefaultLeftMask = 2;

struct Trees {
  std::vector<int32_t> feature, left, right, roots, targets, cat_offsets, cat_sizes;
  std::vector<double> threshold, leaf;
  std::vector<uint8_t> missing_left, kind, other_left, directions;
  bool special = false;  // categorical or zero-as-missing splits present
};

// Appends tree `t` (section `s`) to `out`.
Status add_tree(const Section& s, int64_t t, int64_t n_features, double leaf_scale, Trees& out) {
  std::string where = "Tree=" + std::to_string(t);
  int64_t n_leaves = int_value(s, "num_leaves", -1);
  if (n_leaves < 1) return lightgbm_error(where + " has no valid num_leaves");
  if (int_value(s, "is_linear", 0) != 0)
    return Status::Unsupported("LightGBM text model: " + where + " is a linear tree (linear_tree=True); not supported");
  size_t ni = static_cast<size_t>(n_leaves - 1), nl = static_cast<size_t>(n_leaves);
  GTN_ASSIGN_OR_RETURN(auto leaf_value, numbers(s, "leaf_value", nl, where));
  GTN_ASSIGN_OR_RETURN(auto split_feature, numbers(s, "split_feature", ni, where));
  GTN_ASSIGN_OR_RETURN(auto threshold, numbers(s, "threshold", ni, where));
  GTN_ASSIGN_OR_RETURN(auto decision_type, numbers(s, "decision_type", ni, where));
  GTN_ASSIGN_OR_RETURN(auto left_child, numbers(s, "left_child", ni, where));
  GTN_ASSIGN_OR_RETURN(auto right_child, numbers(s, "right_child", ni, where));
  int64_t n_cat = int_value(s, "num_cat", 0);
  std::vector<double> cat_boundaries, cat_threshold;
  if (n_cat > 0) {
    GTN_ASSIGN_OR_RETURN(cat_boundaries, numbers(s, "cat_boundaries", static_cast<size_t>(n_cat + 1), where));
    GTN_ASSIGN_OR_RETURN(cat_threshold, numbers(s, "cat_threshold", static_cast<size_t>(-1), where));
  }
  int32_t base = static_cast<int32_t>(out.feature.size());
  auto child = [&](double c, int32_t& id) -> Status {
    int64_t ci = 0;
    if (!to_int(c, -(n_leaves + 1), n_leaves, &ci)) return lightgbm_error(where + " has child id " + std::to_string(c) + " out of range");
    if (ci >= 0) {
      if (ci >= static_cast<int64_t>(ni)) return lightgbm_error(where + " has child " + std::to_string(ci) + " out of range");
      id = base + static_cast<int32_t>(ci);
    } else {
      int64_t leaf = ~ci;
      if (leaf >= n_leaves) return lightgbm_error(where + " has leaf " + std::to_string(leaf) + " out of range");
      id = base + static_cast<int32_t>(ni + leaf);
    }
    return Status::OK();
  };
  for (size_t i = 0; i < ni; ++i) {
    int64_t f = -1, dti = 0;
    if (!to_int(split_feature[i], 0, n_features - 1, &f))
      return lightgbm_error(where + " splits on feature " +
                 (std::fabs(split_feature[i]) < 1e15 ? std::to_string(static_cast<long long>(split_feature[i]))
                                                     : std::to_string(split_feature[i])) +
                 " of " + std::to_string(n_features));
    if (!to_int(decision_type[i], 0, 255, &dti)) return lightgbm_error(where + " has a decision_type outside [0, 255]");
    uint8_t dt = static_cast<uint8_t>(dti);
    int missing_type = (dt >> 2) & 3;
    bool default_left = dt & kDefaultLeftMask;
    int32_t l = 0, r = 0;
    GTN_RETURN_IF_ERROR(child(left_child[i], l));
    GTN_RETURN_IF_ERROR(child(right_child[i], r));
    out.feature.push_back(static_cast<int32_t>(f));
    out.left.push_back(l);
    out.right.push_back(r);
    out.cat_offsets.push_back(0);
    out.cat_sizes.push_back(0);
    out.other_left.push_back(0);
    if (dt & kCategoricalMask) {
      // LightGBM: category (int)x in the node's bitset goes left; anything else (NaN,
      // negative, unknown) goes right.
      out.special = true;
      int64_t ci = -1;
      if (!to_int(threshold[i], 0, n_cat - 1, &ci)) return lightgbm_error(where + " node " + std::to_string(i) + " names category set " + std::to_string(ci));
      int64_t lo = 0, hi = 0, n_words = static_cast<int64_t>(cat_threshold.size());
      if (!to_int(cat_boundaries[ci], 0, n_words, &lo) || !to_int(cat_boundaries[ci + 1], lo, n_words, &hi) ||
          hi - lo > (1 << 20))
        return lightgbm_error(where + " has cat_boundaries outside cat_threshold");
      size_t b0 = static_cast<size_t>(lo), b1 = static_cast<size_t>(hi);
      out.cat_offsets.back() = static_cast<int32_t>(out.directions.size());
      out.cat_sizes.back() = static_cast<int32_t>((b1 - b0) * 32);
      for (size_t w = b0; w < b1; ++w) {
        int64_t wv = 0;
        if (!to_int(cat_threshold[w], 0, 0xFFFFFFFFLL, &wv)) return lightgbm_error(where + " has a cat_threshold word outside uint32");
        uint32_t word = static_cast<uint32_t>(wv);
        for (int bit = 0; bit < 32; ++bit) out.directions.push_back(((word >> bit) & 1) ? 1 : 2);
      }
      out.kind.push_back(1);
      out.threshold.push_back(0.0);
      out.missing_left.push_back(0);
      continue;
    }
    if (!std::isfinite(threshold[i]) && !std::isinf(threshold[i])) return lightgbm_error(where + " has a NaN threshold");
    out.threshold.push_back(threshold[i]);
    if (missing_type == 1) {  // Zero: zero and NaN take the default direction
      out.special = true;
      out.kind.push_back(2);
      out.missing_left.push_back(default_left ? 1 : 0);
    } else if (missing_type == 2) {  // NaN takes the default direction
      out.kind.push_back(0);
      out.missing_left.push_back(default_left ? 1 : 0);
    } else {  // None: NaN is read as 0.0
      out.kind.push_back(0);
      out.missing_left.push_back(0.0 <= threshold[i] ? 1 : 0);
    }
  }
  for (size_t i = 0; i < nl; ++i) {
    out.feature.push_back(-1);
    out.left.push_back(0);
    out.right.push_back(0);
    out.threshold.push_back(0.0);
    out.missing_left.push_back(1);
    out.kind.push_back(0);
    out.other_left.push_back(0);
    out.cat_offsets.push_back(0);
    out.cat_sizes.push_back(0);
  }
  out.leaf.resize(out.feature.size(), 0.0);
  for (size_t i = 0; i < nl; ++i) out.leaf[base + ni + i] = leaf_value[i] * leaf_scale;
  out.roots.push_back(base);  // with one leaf, node `base` is that leaf
  return Status::OK();
}

Result<LightGBMGraph> convert(std::string_view text, DType dtype) {
  // Split into the header, the Tree= sections, and stop at "end of trees".
  Section header;
  std::vector<Section> trees;
  Section* cur = &header;
  bool ended = false;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line == "end of trees") {
      ended = true;
      break;
    }
    if (line.rfind("Tree=", 0) == 0) {
      trees.emplace_back();
      cur = &trees.back();
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      if (!line.empty()) (*cur)[std::string(line)] = "";
      continue;
    }
    (*cur)[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
  }
  if (!ended) return lightgbm_error("no \"end of trees\" line (truncated file?)");
  if (trees.empty()) return lightgbm_error("the model has no trees");
  int64_t max_feature = int_value(header, "max_feature_idx", -1);
  if (max_feature < 0) return lightgbm_error("no valid max_feature_idx line");
  int64_t n_features = max_feature + 1;
  int64_t num_class = int_value(header, "num_class", 1);
  int64_t per_iter = int_value(header, "num_tree_per_iteration", num_class);
  if (num_class < 1 || per_iter < 1) return lightgbm_error("num_class and num_tree_per_iteration must be >= 1");
  if (static_cast<int64_t>(trees.size()) % per_iter != 0)
    return lightgbm_error(std::to_string(trees.size()) + " trees is not a multiple of num_tree_per_iteration " +
               std::to_string(per_iter));
  Objective obj = parse_objective(header.count("objective") ? header["objective"] : "custom");
  bool average = header.count("average_output") > 0;
  double scale = average ? static_cast<double>(per_iter) / static_cast<double>(trees.size()) : 1.0;

  Trees tr;
  for (size_t t = 0; t < trees.size(); ++t) {
    GTN_RETURN_IF_ERROR(add_tree(trees[t], static_cast<int64_t>(t), n_features, scale, tr));
    tr.targets.push_back(static_cast<int32_t>(static_cast<int64_t>(t) % per_iter));
  }

  Json g;
  g["format"] = "gtn-ml-graph";
  g["version"] = 1;
  g["dtype"] = dtype == DType::kFloat32 ? "float32" : "float64";
  g["inputs"] = Json::array({{{"name", "X"}, {"shape", {-1, n_features}}}});
  Json attrs = {{"n_outputs", per_iter}, {"comparison", "le"}, {"aggregate", "sum"},
                {"base_values", std::vector<double>(static_cast<size_t>(per_iter), 0.0)},
                {"nodes_feature", "nodes_feature"}, {"nodes_threshold", "nodes_threshold"},
                {"nodes_left", "nodes_left"}, {"nodes_right", "nodes_right"},
                {"nodes_missing_left", "nodes_missing_left"}, {"leaf_values", "leaf_values"},
                {"tree_roots", "tree_roots"}, {"tree_targets", "tree_targets"}};
  if (tr.special) {
    attrs["nodes_kind"] = "nodes_kind";
    attrs["nodes_other_left"] = "nodes_other_left";
    attrs["cat_offsets"] = "cat_offsets";
    attrs["cat_sizes"] = "cat_sizes";
    attrs["cat_directions"] = "cat_directions";
    attrs["category_cast"] = "trunc";
  }
  Json nodes = Json::array();
  nodes.push_back(node(tr.special ? "TreeEnsembleCategorical" : "TreeEnsemble", {"X"}, {"margin"}, attrs));
  Json outputs;
  const std::string& o = obj.name;
  bool binary = o == "binary";
  bool multi = o == "multiclass" || o == "softmax" || o == "multiclassova" || o == "multiclass_ova" ||
               o == "ova" || o == "ovr";
  if (binary || o == "cross_entropy" || o == "xentropy" || multi) {
    if (per_iter != (multi ? num_class : 1)) return lightgbm_error("objective " + o + " with " + std::to_string(per_iter) + " trees per iteration");
  }
  if (o == "cross_entropy_lambda" || o == "xentlambda")
    return Status::Unsupported("LightGBM text model: objective " + o + " is not supported");
  if (binary) {
    nodes.push_back(node("Mul", {"margin", "sigmoid_scale"}, {"scaled"}));
    nodes.push_back(node("Sigmoid", {"scaled"}, {"p1"}));
    nodes.push_back(node("Sub", {"one", "p1"}, {"p0"}));
    nodes.push_back(node("Concat", {"p0", "p1"}, {"proba"}, {{"axis", 1}}));
    nodes.push_back(node("ArgMax", {"proba"}, {"label"}, {{"axis", 1}}));
    nodes.push_back(node("Reshape", {"margin"}, {"margin_1d"}, {{"shape", {-1}}}));
    outputs = {{"predict", "label"}, {"predict_proba", "proba"}, {"decision_function", "margin_1d"}};
  } else if (multi) {
    if (o == "multiclass" || o == "softmax") {
      nodes.push_back(node("Softmax", {"margin"}, {"proba"}, {{"axis", 1}}));
    } else {
      nodes.push_back(node("Mul", {"margin", "sigmoid_scale"}, {"scaled"}));
      nodes.push_back(node("Sigmoid", {"scaled"}, {"proba"}));
    }
    nodes.push_back(node("ArgMax", {"proba"}, {"label"}, {{"axis", 1}}));
    outputs = {{"predict", "label"}, {"predict_proba", "proba"}, {"decision_function", "margin"}};
  } else {
    std::string v = "margin";
    if (o == "cross_entropy" || o == "xentropy") {
      nodes.push_back(node("Sigmoid", {"margin"}, {"transformed"}));
      v = "transformed";
    } else if (o == "poisson" || o == "gamma" || o == "tweedie") {
      nodes.push_back(node("Exp", {"margin"}, {"transformed"}));
      v = "transformed";
    } else if (obj.sqrt) {  // regression sqrt: trained on sign(y)·sqrt|y|, predicts sign(m)·m²
      nodes.push_back(node("Abs", {"margin"}, {"abs_margin"}));
      nodes.push_back(node("Mul", {"margin", "abs_margin"}, {"transformed"}));
      v = "transformed";
    }
    std::string raw = "margin";
    if (per_iter == 1) {
      nodes.push_back(node("Reshape", {v}, {"prediction"}, {{"shape", {-1}}}));
      v = "prediction";
      nodes.push_back(node("Reshape", {"margin"}, {"margin_1d"}, {{"shape", {-1}}}));
      raw = "margin_1d";
    }
    outputs = {{"predict", v}, {"decision_function", raw}};
  }
  g["nodes"] = nodes;
  g["outputs"] = outputs;
  g["metadata"] = {{"source", "lightgbm"}, {"objective", header.count("objective") ? header["objective"] : "custom"},
                   {"n_features", n_features}, {"n_trees", trees.size()}, {"num_class", num_class},
                   // LightGBM compares the double value of X with double thresholds.
                   {"float64_input_exact", true}};
  if (header.count("version")) g["metadata"]["lightgbm_model_version"] = header["version"];
  if (header.count("feature_names")) {
    Json names = Json::array();
    std::istringstream in(header["feature_names"]);
    std::string name;
    while (in >> name) names.push_back(name);
    g["metadata"]["feature_names"] = names;
  }

  LightGBMGraph out;
  out.graph_json = g.dump();
  int64_t nn = static_cast<int64_t>(tr.feature.size());
  int64_t nt = static_cast<int64_t>(tr.roots.size());
  out.constants["nodes_feature"] = make_array(DType::kInt32, {nn}, tr.feature);
  out.constants["nodes_threshold"] = make_array(DType::kFloat64, {nn}, tr.threshold);
  out.constants["nodes_left"] = make_array(DType::kInt32, {nn}, tr.left);
  out.constants["nodes_right"] = make_array(DType::kInt32, {nn}, tr.right);
  out.constants["nodes_missing_left"] = make_array(DType::kUInt8, {nn}, tr.missing_left);
  out.constants["leaf_values"] = make_array(DType::kFloat64, {nn, 1}, tr.leaf);
  out.constants["tree_roots"] = make_array(DType::kInt32, {nt}, tr.roots);
  out.constants["tree_targets"] = make_array(DType::kInt32, {nt}, tr.targets);
  if (tr.special) {
    if (tr.directions.empty()) tr.directions.push_back(0);
    out.constants["nodes_kind"] = make_array(DType::kUInt8, {nn}, tr.kind);
    out.constants["nodes_other_left"] = make_array(DType::kUInt8, {nn}, tr.other_left);
    out.constants["cat_offsets"] = make_array(DType::kInt32, {nn}, tr.cat_offsets);
    out.constants["cat_sizes"] = make_array(DType::kInt32, {nn}, tr.cat_sizes);
    out.constants["cat_directions"] =
        make_array(DType::kUInt8, {static_cast<int64_t>(tr.directions.size())}, tr.directions);
  }
  out.constants["one"] = Array::Scalar<double>(DType::kFloat64, 1.0);
  out.constants["sigmoid_scale"] = Array::Scalar<double>(DType::kFloat64, obj.sigmoid);
  return out;
}

}  // namespace

bool looks_like_lightgbm_text(std::string_view text) {
  return text.rfind("tree\n", 0) == 0 || text.rfind("tree\r\n", 0) == 0;
}

Result<LightGBMGraph> lightgbm_text_to_graph(std::string_view text, DType dtype) {
  if (!looks_like_lightgbm_text(text))
    return lightgbm_error("the text does not start with a \"tree\" line (not a LightGBM text model)");
  try {
    return convert(text, dtype);
  } catch (const std::exception& e) {
    return lightgbm_error(std::string("unexpected structure: ") + e.what());
  }
}

}  // namespace gtn::ml
