// gtn::ml::Model: parse + validate + compile a graph for a backend; run, save, load.
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

#include "gtn/ml.h"
#include "gtn/ml/backend.h"
#include "gtn/ml/model_file.h"
#include "gtn/ml/op_registry.h"
#include "gtn/ml/lightgbm_loader.h"
#include "gtn/ml/xgboost_loader.h"

namespace gtn::ml {

Result<Model> compile_model(std::string_view graph_json, std::map<std::string, Array> constants,
                            std::string_view backend, const Options& options);

Status check_backend(std::string_view name) {
  if (find_backend(std::string(name))) return Status::OK();
  std::string n(name);
  if (n == "gpu" || n == "cuda")
    return Status::InvalidArgument("backend '" + n +
                                   "': GTN-ML has no GPU backend yet; expected \"cpu\" (the optimized "
                                   "executor) or \"reference\" (the interpreter)");
  return Status::InvalidArgument("unknown backend '" + n + "'; expected \"cpu\" or \"reference\"");
}

class CompiledGraph {
 public:
  Graph graph;
  std::map<std::string, ValueInfo> types;
  Options options;
  std::string backend_name;
  std::unique_ptr<Executable> exe;
  // A float32 graph whose metadata says "float64_input_exact": the same graph compiled in
  // float64, run on float64 X (the source decides on X's float64 values, as
  // HistGradientBoosting does: rounding X to float32 first would move rows across splits).
  // (Executables may keep references into the graph and types they were compiled from.)
  Graph graph64;
  std::map<std::string, ValueInfo> types64;
  std::unique_ptr<Executable> exe64;
  // The metadata's "input_finite" rule, read once here (Model::finite_rule).
  int finite_rule = 0;

  Status Build() {
    GTN_RETURN_IF_ERROR(check_backend(backend_name));
    finite_rule = 0;
    if (graph.metadata.is_object() && graph.metadata.contains("input_finite") &&
        graph.metadata["input_finite"].is_string()) {
      const std::string& rule = graph.metadata["input_finite"].get_ref<const std::string&>();
      finite_rule = rule == "all" ? 1 : rule == "allow-nan" ? 2 : 0;
    }
    const Backend* b = find_backend(backend_name);
    GTN_ASSIGN_OR_RETURN(exe, b->Compile(graph, types, options));
    exe64.reset();
    if (graph.dtype == DType::kFloat32 && graph.metadata.is_object() &&
        graph.metadata.value("float64_input_exact", false)) {
      graph64 = graph;
      graph64.dtype = DType::kFloat64;
      GTN_ASSIGN_OR_RETURN(types64, validate_graph(graph64));
      GTN_ASSIGN_OR_RETURN(exe64, b->Compile(graph64, types64, options));
    }
    return Status::OK();
  }
};

namespace {

const std::map<std::string, std::vector<std::string>>& known_options() {
  static const std::map<std::string, std::vector<std::string>> o = {
      {"tree_strategy", {"auto", "gemm", "tree_traversal", "perfect_tree_traversal", "interleaved",
                         "perfect_interleaved", "quickscorer"}},
      {"tree_isa", {"auto", "avx512", "avx2", "scalar"}},  // SIMD kernels of float32 tree walks
      {"optimize", {"0", "1"}},
      {"tile_rows", {}},  // a positive integer
  };
  return o;
}

Status check_option(const std::string& name, const std::string& value) {
  auto it = known_options().find(name);
  if (it == known_options().end()) {
    std::string names;
    for (const auto& [k, _] : known_options()) names += (names.empty() ? "" : ", ") + k;
    return Status::InvalidArgument("unknown option '" + name + "'; known options: " + names);
  }
  if (name == "tile_rows") {
    char* end = nullptr;
    long v = std::strtol(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || v < 1)
      return Status::InvalidArgument("option tile_rows must be a positive integer, got '" + value + "'");
    return Status::OK();
  }
  for (const auto& v : it->second)
    if (v == value) return Status::OK();
  std::string vals;
  for (const auto& v : it->second) vals += (vals.empty() ? "" : ", ") + v;
  return Status::InvalidArgument("option " + name + " must be one of " + vals + ", got '" + value + "'");
}

}  // namespace

Result<Model> Model::Compile(std::string_view graph_json, std::map<std::string, Array> constants,
                             std::string_view backend) {
  return compile_model(graph_json, std::move(constants), backend, {});
}

Result<Model> compile_model(std::string_view graph_json, std::map<std::string, Array> constants,
                            std::string_view backend, const Options& options) {
  for (const auto& [k, v] : options) GTN_RETURN_IF_ERROR(check_option(k, v));
  auto impl = std::make_shared<CompiledGraph>();
  GTN_ASSIGN_OR_RETURN(impl->graph, parse_graph(graph_json, std::move(constants)));
  GTN_ASSIGN_OR_RETURN(impl->types, validate_graph(impl->graph));
  impl->options = options;
  impl->backend_name = std::string(backend);
  GTN_RETURN_IF_ERROR(impl->Build());
  return Model::FromImpl(std::move(impl));
}

Model Model::FromImpl(std::shared_ptr<CompiledGraph> impl) {
  Model m;
  m.impl_ = std::move(impl);
  return m;
}

namespace {

constexpr const char* kExpected =
    "expected a GTN model file (written by Model.save / gtn.ml.Model.save) or an XGBoost model "
    "(Booster.save_model(\"model.json\") or \"model.ubj\") or a LightGBM text model "
    "(booster.save_model(\"model.txt\"))";

// XGBoost's UBJSON (Booster.save_model("m.ubj"), the default format of XGBoost >= 2): an
// object marker followed by a typed key length, where JSON text has '"' or whitespace.
bool is_ubjson(std::string_view b) {
  return b.size() >= 2 && b[0] == '{' && std::string_view("iUIlL$#}").find(b[1]) != std::string_view::npos;
}

std::string first_bytes(std::string_view b) {
  std::string s;
  for (size_t i = 0; i < b.size() && i < 8; ++i) {
    unsigned char c = static_cast<unsigned char>(b[i]);
    if (c >= 32 && c < 127 && c != '\\') {
      s += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      s += buf;
    }
  }
  return s;
}

Result<Model> load_bytes(std::string bytes, const std::string& name, std::string_view backend) {
  GTN_RETURN_IF_ERROR(check_backend(backend));
  if (bytes.size() < sizeof(kModelMagic) && std::string_view(kModelMagic, sizeof(kModelMagic)).substr(0, bytes.size()) == bytes)
    return Status::Corruption(name + (bytes.empty() ? " is empty (0 bytes)" : " is a truncated GTN model file") +
                              "; " + kExpected);
  if (is_model_file(bytes)) {
    auto contents = parse_model_file(std::move(bytes));
    if (!contents.ok()) return contents.status().WithContext(name);
    auto m = compile_model(contents->graph_json, std::move(contents->constants), backend, contents->options);
    if (!m.ok() && m.status().code() == StatusCode::kInvalidArgument)
      return Status::Corruption(name + ": stored graph is invalid: " + m.status().message());
    return m;
  }
  if (is_ubjson(bytes)) {
    Json j = Json::from_ubjson(bytes, true, false);
    if (j.is_discarded() || !j.is_object())
      return Status::InvalidArgument(name + " looks like an XGBoost UBJSON model (.ubj) but does not parse as "
                                     "UBJSON; save the booster as JSON instead: booster.save_model(\"model.json\")");
    auto m = Model::LoadXGBoostJson(j.dump(), "float32", backend);
    if (!m.ok())
      return m.status().WithContext(name + " (an XGBoost UBJSON model; if it does not load, save it as JSON: "
                                           "booster.save_model(\"model.json\"))");
    return m;
  }
  if (looks_like_lightgbm_text(bytes)) {
    auto m = Model::LoadLightGBM(bytes, "float64", backend);
    if (!m.ok()) return m.status().WithContext(name);
    return m;
  }
  size_t i = 0;
  while (i < bytes.size() && std::isspace(static_cast<unsigned char>(bytes[i]))) ++i;
  if (i < bytes.size() && bytes[i] == '{') {
    auto m = Model::LoadXGBoostJson(bytes, "float32", backend);
    if (!m.ok()) return m.status().WithContext(name);
    return m;
  }
  std::string what;
  if (bytes.size() >= 6 && bytes.compare(0, 6, "\x93NUMPY") == 0) what = " (it is a NumPy .npy file)";
  else if (bytes.size() >= 2 && bytes.compare(0, 2, "PK") == 0) what = " (it is a zip archive, e.g. a pickle or .npz)";
  else if (bytes.size() >= 1 && static_cast<unsigned char>(bytes[0]) == 0x80) what = " (it looks like a Python pickle: load it in Python and write it with gtn.ml.convert(model).save(path))";
  return Status::InvalidArgument(name + " is not a model file: it starts with \"" + first_bytes(bytes) + "\"" + what +
                                 "; " + kExpected);
}

}  // namespace

Result<Model> Model::Load(const std::string& path, std::string_view backend) {
  GTN_RETURN_IF_ERROR(check_backend(backend));
  GTN_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  return load_bytes(std::move(bytes), "'" + path + "'", backend);
}

Result<Model> Model::LoadBytes(std::string bytes, std::string_view backend) {
  return load_bytes(std::move(bytes), "model bytes", backend);
}

std::string Model::SerializeToString() const { return serialize_model_file(impl_->graph, impl_->options); }

Result<Model> Model::LoadXGBoostJson(std::string_view path_or_json, std::string_view dtype, std::string_view backend) {
  std::string text;
  size_t i = 0;
  while (i < path_or_json.size() && std::isspace(static_cast<unsigned char>(path_or_json[i]))) ++i;
  if (i < path_or_json.size() && path_or_json[i] == '{') {
    text = std::string(path_or_json);
  } else {
    GTN_ASSIGN_OR_RETURN(text, read_file(std::string(path_or_json)));
    if (is_ubjson(text)) {
      Json j = Json::from_ubjson(text, true, false);
      if (j.is_discarded() || !j.is_object())
        return Status::InvalidArgument("'" + std::string(path_or_json) +
                                       "' looks like an XGBoost UBJSON model (.ubj) but does not parse as UBJSON; "
                                       "save the booster as JSON instead: booster.save_model(\"model.json\")");
      text = j.dump();
    }
  }
  DType dt;
  if (dtype == "float32") dt = DType::kFloat32;
  else if (dtype == "float64") dt = DType::kFloat64;
  else return Status::InvalidArgument("dtype must be \"float32\" or \"float64\", got \"" + std::string(dtype) + "\"");
  GTN_ASSIGN_OR_RETURN(XGBoostGraph g, xgboost_json_to_graph(text, dt));
  return Compile(g.graph_json, std::move(g.constants), backend);
}

Result<Model> Model::LoadLightGBM(std::string_view path_or_text, std::string_view dtype, std::string_view backend,
                                  std::string_view metadata_json) {
  std::string text;
  if (looks_like_lightgbm_text(path_or_text)) {
    text = std::string(path_or_text);
  } else {
    GTN_ASSIGN_OR_RETURN(text, read_file(std::string(path_or_text)));
    if (!looks_like_lightgbm_text(text))
      return Status::InvalidArgument("'" + std::string(path_or_text) +
                                     "' is not a LightGBM text model (it does not start with a \"tree\" line); "
                                     "expected the file booster.save_model(\"model.txt\") writes");
  }
  DType dt;
  if (dtype == "float32") dt = DType::kFloat32;
  else if (dtype == "float64") dt = DType::kFloat64;
  else return Status::InvalidArgument("dtype must be \"float32\" or \"float64\", got \"" + std::string(dtype) + "\"");
  GTN_ASSIGN_OR_RETURN(LightGBMGraph g, lightgbm_text_to_graph(text, dt));
  if (!metadata_json.empty()) {
    Json extra = Json::parse(metadata_json, nullptr, false);
    if (extra.is_discarded() || !extra.is_object())
      return Status::InvalidArgument("metadata_json must be a JSON object");
    Json graph = Json::parse(g.graph_json);
    for (auto& [k, v] : extra.items()) graph["metadata"][k] = v;
    g.graph_json = graph.dump();
  }
  return Compile(g.graph_json, std::move(g.constants), backend);
}

Status Model::Save(const std::string& path) const { return write_model_file(path, impl_->graph, impl_->options); }

std::vector<std::string> Model::methods() const {
  std::vector<std::string> m;
  for (const auto& [k, _] : impl_->graph.outputs) m.push_back(k);
  return m;
}

Result<std::vector<Array>> Model::Run(std::string_view method, const Array& X, int n_threads) const {
  const Graph& g = impl_->graph;
  std::string m(method);
  if (!g.outputs.count(m)) {
    std::string have;
    for (const auto& [k, _] : g.outputs) have += (have.empty() ? "" : ", ") + k;
    return Status::InvalidArgument("model has no method '" + m + "'; it has: " + have);
  }
  if (X.dtype() != DType::kFloat32 && X.dtype() != DType::kFloat64)
    return Status::InvalidArgument("X must be float32 or float64, got " + std::string(dtype_name(X.dtype())));
  if (X.ndim() != 2)
    return Status::InvalidArgument("X must be 2-d [n_rows, n_features], got shape " + shape_to_string(X.shape()));
  int64_t nf = n_features();
  if (X.shape()[1] != nf)
    return Status::InvalidArgument("model expects " + std::to_string(nf) + " features, got " + std::to_string(X.shape()[1]));
  if (n_threads < 0) return Status::InvalidArgument("n_threads must be >= 0, got " + std::to_string(n_threads));
  // Inputs are checked tile by tile as the executable runs them (one read of X, in cache
  // for the run), not in a pass of their own.
  InputCheck check;
  if (int rule = finite_rule()) {
    check = [this, allow_nan = rule == 2](const Array& rows, int64_t first_row) {
      return check_finite(rows, first_row, allow_nan);
    };
  }
  if (X.dtype() == g.dtype) return impl_->exe->Run(m, X, n_threads, check);
  if (X.dtype() == DType::kFloat64 && impl_->exe64) {
    // Decide on the float64 values; return the float32 graph's output dtypes.
    GTN_ASSIGN_OR_RETURN(std::vector<Array> outs, impl_->exe64->Run(m, X, n_threads, check));
    const auto& names = g.outputs.at(m);
    for (size_t i = 0; i < outs.size(); ++i) {
      Array& o = outs[i];
      if (o.dtype() != DType::kFloat64 || impl_->types.at(names[i]).dtype != DType::kFloat32) continue;
      Array f = Array::Zeros(DType::kFloat32, o.shape());
      const double* s = o.data_as<double>();
      float* d = static_cast<float*>(f.mutable_data());
      for (int64_t i = 0, n = o.numel(); i < n; ++i) d[i] = static_cast<float>(s[i]);
      o = std::move(f);
    }
    return outs;
  }
  if (impl_->exe->CastsInput()) return impl_->exe->Run(m, X, n_threads, check);
  if (check) GTN_RETURN_IF_ERROR(check(X, 0));
  Array cast = Array::Zeros(g.dtype, X.shape());
  int64_t n = X.numel();
  if (g.dtype == DType::kFloat32) {
    const double* s = X.data_as<double>();
    float* d = static_cast<float*>(cast.mutable_data());
    for (int64_t i = 0; i < n; ++i) d[i] = static_cast<float>(s[i]);
  } else {
    const float* s = X.data_as<float>();
    double* d = static_cast<double*>(cast.mutable_data());
    for (int64_t i = 0; i < n; ++i) d[i] = s[i];
  }
  return impl_->exe->Run(m, cast, n_threads, {});
}

// The source model's own refusal of NaN / infinite inputs (metadata "input_finite":
// "all" refuses both, "allow-nan" refuses infinity; absent: no check).
namespace {

// True when no element is infinite (or NaN, unless allowed), by the exponent bits: a
// branch-free loop the compiler vectorizes, so checking costs far less than predicting.
template <typename Bits, typename T>
__attribute__((always_inline)) inline bool all_allowed(const T* p, int64_t n, bool allow_nan) {
  constexpr int kMant = std::numeric_limits<T>::digits - 1;
  constexpr Bits kExp = ((Bits(1) << (sizeof(T) * 8 - 1 - kMant)) - 1) << kMant;  // exponent all ones
  constexpr Bits kAbs = ~Bits(0) >> 1;
  Bits bad = 0;
  if (allow_nan) {
    for (int64_t i = 0; i < n; ++i) bad |= static_cast<Bits>((std::bit_cast<Bits>(p[i]) & kAbs) == kExp);  // +-inf
  } else {
    for (int64_t i = 0; i < n; ++i) bad |= static_cast<Bits>((std::bit_cast<Bits>(p[i]) & kExp) == kExp);  // inf, NaN
  }
  return bad == 0;
}

// The loops above compiled for AVX2 as well as the baseline, picked at load time (GCC and
// clang take target_clones on plain functions).
#if defined(__x86_64__)
#define GTN_SCAN_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define GTN_SCAN_CLONES
#endif
GTN_SCAN_CLONES bool all_allowed_f32(const float* p, int64_t n, bool allow_nan) {
  return all_allowed<uint32_t>(p, n, allow_nan);
}
GTN_SCAN_CLONES bool all_allowed_f64(const double* p, int64_t n, bool allow_nan) {
  return all_allowed<uint64_t>(p, n, allow_nan);
}

}  // namespace

int Model::finite_rule() const { return impl_->finite_rule; }

Status Model::check_finite(const Array& X, int64_t first_row, bool allow_nan) const {
  const Json& meta = impl_->graph.metadata;
  int64_t n = X.numel(), cols = X.shape()[1];
  if (X.dtype() == DType::kFloat32 ? all_allowed_f32(X.data_as<float>(), n, allow_nan)
                                   : all_allowed_f64(X.data_as<double>(), n, allow_nan))
    return Status::OK();
  auto scan = [&](auto* p) -> Status {  // names the first offending element
    for (int64_t i = 0; i < n; ++i) {
      double v = static_cast<double>(p[i]);
      if (std::isfinite(v) || (allow_nan && std::isnan(v))) continue;
      std::string src = meta.value("input_finite_refused_by", meta.value("source", std::string("the source model")));
      size_t dot = src.rfind('.');
      if (dot != std::string::npos) src = src.substr(dot + 1);
      std::string where =
          " (row " + std::to_string(first_row + i / cols) + ", feature " + std::to_string(i % cols) + ")";
      if (std::isnan(v))
        return Status::InvalidArgument("Input X contains NaN" + where + ". " + src +
                                       " does not accept missing values encoded as NaN natively; impute them "
                                       "first (e.g. sklearn.impute.SimpleImputer) or drop those rows");
      return Status::InvalidArgument("Input X contains infinity or a value too large for dtype('" +
                                     std::string(dtype_name(X.dtype())) + "')" + where + "; " + src +
                                     " accepts finite values only");
    }
    return Status::OK();
  };
  if (X.dtype() == DType::kFloat32) return scan(X.data_as<float>());
  return scan(X.data_as<double>());
}

Result<Array> Model::Predict(std::string_view method, const Array& X, int n_threads) const {
  GTN_ASSIGN_OR_RETURN(std::vector<Array> outs, Run(method, X, n_threads));
  if (outs.size() != 1)
    return Status::InvalidArgument("method '" + std::string(method) + "' returns " + std::to_string(outs.size()) +
                                   " values; use Run()");
  return std::move(outs[0]);
}

Status Model::SetOption(std::string_view name, std::string_view value) {
  std::string k(name), v(value);
  GTN_RETURN_IF_ERROR(check_option(k, v));
  auto next = std::make_shared<CompiledGraph>();
  next->graph = impl_->graph;
  next->types = impl_->types;
  next->options = impl_->options;
  next->options[k] = v;
  next->backend_name = impl_->backend_name;
  GTN_RETURN_IF_ERROR(next->Build());
  impl_ = std::move(next);
  return Status::OK();
}

const std::map<std::string, std::string>& Model::options() const { return impl_->options; }
std::string Model::graph_json() const { return graph_to_json(impl_->graph).dump(); }
std::string Model::metadata_json() const { return impl_->graph.metadata.dump(); }
int64_t Model::n_features() const { return impl_->graph.inputs[0].shape[1]; }
const std::string& Model::backend() const { return impl_->backend_name; }

std::string Model::Describe() const {
  const Graph& g = impl_->graph;
  std::ostringstream s;
  s << "backend: " << impl_->backend_name << "\n";
  s << "dtype: " << dtype_name(g.dtype) << "\n";
  s << "input: " << g.inputs[0].name << " " << shape_to_string(g.inputs[0].shape) << "\n";
  s << "methods:\n";
  for (const auto& [m, outs] : g.outputs) {
    s << "  " << m << " ->";
    for (const auto& o : outs) {
      const ValueInfo& t = impl_->types.at(o);
      s << " " << o << " " << dtype_name(t.dtype) << shape_to_string(t.shape);
    }
    s << "\n";
  }
  std::map<std::string, int> ops;
  for (const auto& n : g.nodes) ops[n.op]++;
  s << "ops (" << g.nodes.size() << " nodes):";
  for (const auto& [op, c] : ops) s << " " << op << "(" << c << ")";
  s << "\n";
  size_t bytes = 0;
  for (const auto& [_, a] : g.constants) bytes += a.nbytes();
  s << "tensors: " << g.constants.size() << " constants, " << bytes << " bytes\n";
  for (const auto& [name, a] : g.constants)
    s << "  " << name << " " << dtype_name(a.dtype()) << shape_to_string(a.shape()) << "\n";
  if (!impl_->options.empty()) {
    s << "options:";
    for (const auto& [k, v] : impl_->options) s << " " << k << "=" << v;
    s << "\n";
  }
  for (const auto& line : impl_->exe->Describe()) s << "compiled: " << line << "\n";
  if (impl_->exe64)
    s << "compiled: float64 X runs the graph compiled in float64 (float64_input_exact: the source decides on "
         "float64 values)\n";
  s << "metadata: " << g.metadata.dump() << "\n";
  return s.str();
}

}  // namespace gtn::ml
