// gtn ml predict MODEL INPUT.npy -o OUTPUT.npy [--method M] [--threads N] [--backend B]
// gtn ml info MODEL
// gtn ml convert MODEL -o OUT.gtnml [--dtype float32|float64]
// MODEL is a GTN model file, an XGBoost model (JSON or UBJSON) or a LightGBM text model. `predict` writes class
// labels, as Python's Model.predict does: the graph's class indices mapped through the
// model's "classes" metadata.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "command.h"
#include "gtn/ml.h"
#include "gtn/npy.h"

namespace gtn::cli {
namespace {

using Json = nlohmann::json;

struct MlArgs {
  std::string model, input, output, method, backend = "cpu", strategy, dtype;
  int threads = 0;
};

Result<ml::Model> load(const MlArgs& a) {
  GTN_ASSIGN_OR_RETURN(ml::Model m, ml::Model::Load(a.model, a.backend));
  if (!a.strategy.empty()) GTN_RETURN_IF_ERROR(m.SetOption("tree_strategy", a.strategy));
  return m;
}

// UTF-8 -> code points (invalid bytes become U+FFFD).
std::u32string utf32(const std::string& s) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > s.size()) {
      out += U'\uFFFD';
      ++i;
      continue;
    }
    char32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out += cp;
    i += len;
  }
  return out;
}

// A .npy (version 1.0) of fixed-width unicode strings ('<U{width}'), numpy's form of an
// array of str labels.
Status write_unicode_npy(const std::string& path, const std::vector<std::u32string>& v) {
  size_t width = 1;
  for (const auto& s : v) width = std::max(width, s.size());
  std::string header = "{'descr': '<U" + std::to_string(width) + "', 'fortran_order': False, 'shape': (" +
                       std::to_string(v.size()) + ",), }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string file = "\x93NUMPY";
  file += '\x01';
  file += '\x00';
  uint16_t hlen = static_cast<uint16_t>(header.size());
  file.append(reinterpret_cast<const char*>(&hlen), 2);
  file += header;
  for (const auto& s : v) {
    for (size_t k = 0; k < width; ++k) {
      uint32_t cp = k < s.size() ? static_cast<uint32_t>(s[k]) : 0;
      file.append(reinterpret_cast<const char*>(&cp), 4);
    }
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::IOError("cannot open '" + path + "' for writing");
  out.write(file.data(), static_cast<std::streamsize>(file.size()));
  if (!out) return Status::IOError("write to '" + path + "' failed");
  return Status::OK();
}

// Writes `out` to `path`; for a label method, the class labels instead of the indices.
Status write_output(const std::string& path, const Array& out, const Json& meta, bool labels, std::string& what) {
  what = std::string(dtype_name(out.dtype())) + shape_to_string(out.shape());
  if (!labels) return write_npy(path, out);
  const Json& classes = meta["classes"];
  int64_t n = out.numel(), k = static_cast<int64_t>(classes.size());
  if (out.dtype() != DType::kInt64)
    return Status::Internal("label method returned " + std::string(dtype_name(out.dtype())) + ", not int64");
  const int64_t* idx = out.data_as<int64_t>();
  for (int64_t i = 0; i < n; ++i)
    if (idx[i] < 0 || idx[i] >= k)
      return Status::Corruption("model produced class index " + std::to_string(idx[i]) + " but has " +
                                std::to_string(k) + " classes");
  bool strings = std::any_of(classes.begin(), classes.end(), [](const Json& c) { return c.is_string(); });
  if (strings) {
    std::vector<std::u32string> v;
    v.reserve(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      const Json& c = classes[static_cast<size_t>(idx[i])];
      v.push_back(utf32(c.is_string() ? c.get<std::string>() : c.dump()));
    }
    size_t width = 1;
    for (const auto& s : v) width = std::max(width, s.size());
    what = "<U" + std::to_string(width) + shape_to_string(out.shape()) + " class labels";
    return write_unicode_npy(path, v);
  }
  DType dt = DType::kInt64;
  std::string dts = meta.value("classes_dtype", std::string());
  if (auto p = parse_dtype(dts); p.ok() && !dtype_is_bytes_like(*p) && *p != DType::kFloat16) dt = *p;
  else if (std::any_of(classes.begin(), classes.end(), [](const Json& c) { return c.is_number_float(); }))
    dt = DType::kFloat64;
  Array lab = Array::Zeros(dt, out.shape());
  char* d = static_cast<char*>(lab.mutable_data());
  size_t item = dtype_size(dt);
  for (int64_t i = 0; i < n; ++i) {
    const Json& c = classes[static_cast<size_t>(idx[i])];
    double f = c.is_boolean() ? (c.get<bool>() ? 1.0 : 0.0) : c.is_number() ? c.get<double>() : 0.0;
    int64_t s = c.is_number_integer() ? c.get<int64_t>() : static_cast<int64_t>(f);
    uint64_t u = c.is_number_unsigned() ? c.get<uint64_t>() : static_cast<uint64_t>(s);
    char* at = d + static_cast<size_t>(i) * item;
    switch (dt) {
      case DType::kBool: { bool b = f != 0; std::memcpy(at, &b, 1); break; }
      case DType::kInt8: { int8_t x = static_cast<int8_t>(s); std::memcpy(at, &x, 1); break; }
      case DType::kInt16: { int16_t x = static_cast<int16_t>(s); std::memcpy(at, &x, 2); break; }
      case DType::kInt32: { int32_t x = static_cast<int32_t>(s); std::memcpy(at, &x, 4); break; }
      case DType::kUInt8: { uint8_t x = static_cast<uint8_t>(u); std::memcpy(at, &x, 1); break; }
      case DType::kUInt16: { uint16_t x = static_cast<uint16_t>(u); std::memcpy(at, &x, 2); break; }
      case DType::kUInt32: { uint32_t x = static_cast<uint32_t>(u); std::memcpy(at, &x, 4); break; }
      case DType::kUInt64: std::memcpy(at, &u, 8); break;
      case DType::kFloat32: { float x = static_cast<float>(f); std::memcpy(at, &x, 4); break; }
      case DType::kFloat64: std::memcpy(at, &f, 8); break;
      default: std::memcpy(at, &s, 8); break;
    }
  }
  what = std::string(dtype_name(dt)) + shape_to_string(out.shape()) + " class labels";
  return write_npy(path, lab);
}

Status check_output_path(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec))
    return Status::InvalidArgument("output '" + path + "' is a directory; expected a file path such as out.npy");
  fs::path parent = fs::path(path).parent_path();
  if (!parent.empty() && !fs::is_directory(parent, ec))
    return Status::NotFound("output folder '" + parent.string() + "' does not exist; create it first");
  return Status::OK();
}

Status predict(const MlArgs& a) {
  GTN_RETURN_IF_ERROR(check_output_path(a.output));
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
  Json meta = Json::parse(m.metadata_json(), nullptr, false);
  if (!meta.is_object()) meta = Json::object();
  bool label_method = false;
  if (meta.contains("classes") && meta["classes"].is_array() && meta.contains("label_methods"))
    for (const auto& l : meta["label_methods"])
      if (l.is_string() && l.get<std::string>() == method) label_method = true;
  auto t0 = std::chrono::steady_clock::now();
  GTN_ASSIGN_OR_RETURN(std::vector<Array> outs, m.Run(method, X, a.threads));
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  for (size_t i = 0; i < outs.size(); ++i) {
    std::string path = a.output;
    if (i > 0) {
      size_t dot = path.rfind(".npy");
      path = (dot == std::string::npos ? path : path.substr(0, dot)) + "_" + std::to_string(i) + ".npy";
    }
    std::string what;
    GTN_RETURN_IF_ERROR(write_output(path, outs[i], meta, label_method && outs.size() == 1, what));
    std::cout << "wrote " << path << " " << what << "\n";
  }
  std::cout << method << ": " << X.shape()[0] << " rows in " << ms << " ms\n";
  return Status::OK();
}

Status info(const MlArgs& a) {
  GTN_ASSIGN_OR_RETURN(ml::Model m, load(a));
  std::cout << "model: " << a.model << "\n" << m.Describe();
  return Status::OK();
}

// Compiles an XGBoost / LightGBM model file (at --dtype) or re-saves a GTN model file.
Status convert(const MlArgs& a) {
  GTN_RETURN_IF_ERROR(check_output_path(a.output));
  if (!a.dtype.empty() && a.dtype != "float32" && a.dtype != "float64")
    return Status::InvalidArgument("--dtype must be float32 or float64, got '" + a.dtype + "'");
  std::ifstream in(a.model, std::ios::binary);
  if (!in) return Status::NotFound("cannot open model '" + a.model + "'");
  char head[8] = {};
  in.read(head, sizeof head);
  std::string start(head, static_cast<size_t>(in.gcount()));
  std::string dtype = a.dtype.empty() ? "float64" : a.dtype;
  Result<ml::Model> m = Status::Internal("not loaded");
  size_t lead = start.find_first_not_of(" \t\r\n");
  if (start.rfind("tree\n", 0) == 0 || start.rfind("tree\r\n", 0) == 0) {
    m = ml::Model::LoadLightGBM(a.model, dtype, a.backend);
  } else if (lead != std::string::npos && start[lead] == '{') {
    m = ml::Model::LoadXGBoostJson(a.model, a.dtype.empty() ? "float32" : a.dtype, a.backend);
  } else if (a.model.size() >= 5 && a.model.compare(a.model.size() - 5, 5, ".onnx") == 0) {
    return Status::Unsupported("'" + a.model + "': ONNX models are read in Python: "
                               "python -c \"import gtn.ml; gtn.ml.load_onnx('" + a.model + "').save('" + a.output + "')\"");
  } else {
    if (!a.dtype.empty())
      return Status::InvalidArgument("--dtype applies to XGBoost and LightGBM models; '" + a.model +
                                     "' is compiled at the dtype it was saved with");
    m = ml::Model::Load(a.model, a.backend);
  }
  if (!m.ok()) return m.status();
  GTN_RETURN_IF_ERROR(m->Save(a.output));
  auto methods = m->methods();
  std::string list;
  for (const auto& s : methods) list += (list.empty() ? "" : ", ") + s;
  std::cout << "wrote " << a.output << " (" << m->n_features() << " features; methods: " << list << ")\n";
  return Status::OK();
}

// Runs a verb; anything thrown below becomes an error message, never a crash.
void run(Status (*verb)(const MlArgs&), const MlArgs& a) {
  Status s;
  try {
    s = verb(a);
  } catch (const std::exception& e) {
    s = Status::Internal(std::string("unexpected failure: ") + e.what());
  }
  exit_on_error(s);
}

void add(CLI::App& app) {
  auto args = std::make_shared<MlArgs>();
  CLI::App* ml = app.add_subcommand("ml", "Run and inspect compiled ML models (GTN-ML)");
  ml->require_subcommand(1);

  CLI::App* p = ml->add_subcommand("predict", "Run a model method on a .npy matrix and write the result as .npy");
  p->add_option("model", args->model, "GTN model file, XGBoost .json / .ubj, or LightGBM .txt")->required();
  p->add_option("input", args->input, "Input .npy, float32/float64 [n_rows, n_features]")->required();
  p->add_option("-o,--output", args->output, "Output .npy (more outputs: OUTPUT_1.npy, ...)")->required();
  p->add_option("-m,--method", args->method, "Method to run (default: predict, which writes class labels)");
  p->add_option("-t,--threads", args->threads, "Threads (0 = all cores)")->capture_default_str();
  p->add_option("--backend", args->backend, "cpu or reference")->capture_default_str();
  p->add_option("--strategy", args->strategy, "Tree strategy override (auto, gemm, tree_traversal, ...)");
  p->callback([args] { run(predict, *args); });

  CLI::App* c = ml->add_subcommand("convert", "Compile an XGBoost / LightGBM model file into a GTN model file");
  c->add_option("model", args->model, "XGBoost .json / .ubj, LightGBM .txt, or GTN model file")->required();
  c->add_option("-o,--output", args->output, "Output GTN model file")->required();
  c->add_option("--dtype", args->dtype, "Compute precision: float32 or float64 (default: float32 for XGBoost, "
                                        "float64 for LightGBM)");
  c->add_option("--backend", args->backend, "cpu or reference")->capture_default_str();
  c->callback([args] { run(convert, *args); });

  CLI::App* i = ml->add_subcommand("info", "Show a model's ops, tensors, methods, tree strategy and metadata");
  i->add_option("model", args->model, "GTN model file, XGBoost .json / .ubj, or LightGBM .txt")->required();
  i->add_option("--backend", args->backend, "cpu or reference")->capture_default_str();
  i->add_option("--strategy", args->strategy, "Tree strategy override");
  i->callback([args] { run(info, *args); });
}

RegisterCommand reg(70, add);

}  // namespace
}  // namespace gtn::cli
