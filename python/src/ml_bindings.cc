// GTN-ML bindings: ml_compile / ml_load / ml_load_xgboost_json and CompiledModel.
#include <cstring>
#include <map>
#include <string>

#include <nanobind/ndarray.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "gtn/ml.h"
#include "module.h"

namespace gtn::py {
namespace {

using AnyArray = nb::ndarray<nb::ro, nb::device::cpu>;

Result<DType> dtype_of(const nb::dlpack::dtype& d) {
  using C = nb::dlpack::dtype_code;
  auto code = static_cast<C>(d.code);
  if (d.lanes != 1) return Status::InvalidArgument("vector dtypes are not supported");
  if (code == C::Float && d.bits == 32) return DType::kFloat32;
  if (code == C::Float && d.bits == 64) return DType::kFloat64;
  if (code == C::Float && d.bits == 16) return DType::kFloat16;
  if (code == C::Bool) return DType::kBool;
  if (code == C::Int) {
    switch (d.bits) {
      case 8: return DType::kInt8;
      case 16: return DType::kInt16;
      case 32: return DType::kInt32;
      case 64: return DType::kInt64;
    }
  }
  if (code == C::UInt) {
    switch (d.bits) {
      case 8: return DType::kUInt8;
      case 16: return DType::kUInt16;
      case 32: return DType::kUInt32;
      case 64: return DType::kUInt64;
    }
  }
  return Status::InvalidArgument("unsupported array dtype (code " + std::to_string(d.code) + ", " +
                                 std::to_string(d.bits) + " bits)");
}

// A C-ordered copy (or view, when already C-contiguous) of a numpy array.
Result<Array> to_array(const AnyArray& a, bool allow_view) {
  GTN_ASSIGN_OR_RETURN(DType dt, dtype_of(a.dtype()));
  Shape shape;
  for (size_t d = 0; d < a.ndim(); ++d) shape.push_back(static_cast<int64_t>(a.shape(d)));
  size_t item = a.dtype().bits / 8;
  size_t n = a.size();
  bool contiguous = true;
  int64_t expect = 1;
  for (size_t d = a.ndim(); d-- > 0;) {
    if (a.shape(d) != 1 && a.stride(d) != expect) contiguous = false;
    expect *= static_cast<int64_t>(a.shape(d));
  }
  if (contiguous) {
    if (allow_view) return Array::View(dt, shape, a.data(), n * item, nullptr);
    return Array::Copy(dt, shape, a.data(), n * item);
  }
  Array out = Array::Zeros(dt, shape);
  char* dst = static_cast<char*>(out.mutable_data());
  const char* src = static_cast<const char*>(a.data());
  std::vector<size_t> idx(a.ndim(), 0);
  for (size_t i = 0; i < n; ++i) {
    int64_t off = 0;
    for (size_t d = 0; d < a.ndim(); ++d) off += static_cast<int64_t>(idx[d]) * a.stride(d);
    std::memcpy(dst + i * item, src + off * static_cast<int64_t>(item), item);
    for (size_t d = a.ndim(); d-- > 0;) {
      if (++idx[d] < a.shape(d)) break;
      idx[d] = 0;
    }
  }
  return out;
}

nb::object to_numpy(const Array& a) {
  Array* held = nullptr;
  // Hand the buffer to numpy only when nothing else (a model constant, X) shares it.
  if (a.owns_buffer() && a.owner().use_count() == 1) {
    held = new Array(a);
  } else {
    held = new Array(*Array::Copy(a.dtype(), a.shape(), a.data(), a.nbytes()));
  }
  nb::capsule owner(held, [](void* p) noexcept { delete static_cast<Array*>(p); });
  std::vector<size_t> shape(held->shape().begin(), held->shape().end());
  nb::ndarray<nb::numpy> arr(const_cast<void*>(held->data()), shape.size(), shape.data(), owner, nullptr,
                             dlpack_of(held->dtype()));
  return arr.cast();
}

using ml::Model;

Model compile(const std::string& graph_json, nb::dict constants, const std::string& backend) {
  std::map<std::string, Array> consts;
  for (auto [k, v] : constants) {
    std::string name = nb::cast<std::string>(k);
    AnyArray a;
    if (!nb::try_cast(v, a)) {
      nb::object np = nb::module_::import_("numpy").attr("asarray")(v);
      if (!nb::try_cast(np, a)) throw_if_error(Status::InvalidArgument("constant '" + name + "' is not an array"));
    }
    auto arr = to_array(a, false);
    if (!arr.ok()) throw_if_error(arr.status().WithContext("constant '" + name + "'"));
    consts[name] = std::move(*arr);
  }
  Result<Model> r = Status::Internal("not compiled");
  {
    nb::gil_scoped_release release;
    r = Model::Compile(graph_json, std::move(consts), backend);
  }
  return unwrap(std::move(r));
}

nb::object run(const Model& m, const std::string& method, nb::object X, int n_threads) {
  AnyArray a;
  if (!nb::try_cast(X, a)) {
    nb::object np = nb::module_::import_("numpy").attr("asarray")(X);
    if (!nb::try_cast(np, a)) throw_if_error(Status::InvalidArgument("X must be a numpy array"));
  }
  Array x = unwrap(to_array(a, true));
  Result<std::vector<Array>> r = Status::Internal("not run");
  {
    nb::gil_scoped_release release;
    r = m.Run(method, x, n_threads);
  }
  std::vector<Array> outs = unwrap(std::move(r));
  if (outs.size() == 1) return to_numpy(outs[0]);
  nb::list l;
  for (const auto& o : outs) l.append(to_numpy(o));
  return nb::tuple(l);
}

void bind(nb::module_& m) {
  nb::class_<Model>(m, "CompiledModel", "A GTN-ML model compiled for a backend.")
      .def("methods", &Model::methods, "The method names this model answers.")
      .def("run", &run, nb::arg("method"), nb::arg("X"), nb::arg("n_threads") = 0,
           "Runs `method` on X (float32/float64, [n_rows, n_features]); an array, or a tuple for several outputs.")
      .def("save", [](const Model& self, const std::string& path) { throw_if_error(self.Save(path)); },
           nb::arg("path"))
      .def("serialize",
           [](const Model& self) {
             std::string s = self.SerializeToString();
             return nb::bytes(s.data(), s.size());
           },
           "The model file's bytes (what save() writes).")
      .def("graph_json", &Model::graph_json)
      .def("metadata_json", &Model::metadata_json)
      .def("describe", &Model::Describe)
      .def("set_option",
           [](Model& self, const std::string& name, const std::string& value) {
             throw_if_error(self.SetOption(name, value));
           },
           nb::arg("name"), nb::arg("value"))
      .def("options", [](const Model& self) { return self.options(); })
      .def_prop_ro("n_features", &Model::n_features)
      .def_prop_ro("backend", [](const Model& self) { return self.backend(); });
  m.def("ml_blas_info", &gtn::ml::BlasInfo,
        "The BLAS the CPU backend runs on: OpenBLAS's build configuration and its kernels for this CPU.");
  m.def("ml_compile", &compile, nb::arg("graph_json"), nb::arg("constants"), nb::arg("backend") = "cpu",
        "Compiles a GTN-ML graph (docs/ml/graph.md) with its constants.");
  m.def("ml_load",
        [](const std::string& path, const std::string& backend) {
          Result<Model> r = Status::Internal("not loaded");
          {
            nb::gil_scoped_release release;
            r = Model::Load(path, backend);
          }
          return unwrap(std::move(r));
        },
        nb::arg("path"), nb::arg("backend") = "cpu", "Loads a GTN model file or an XGBoost JSON model.");
  m.def("ml_load_bytes",
        [](nb::bytes data, const std::string& backend) {
          std::string bytes(static_cast<const char*>(data.data()), data.size());
          Result<Model> r = Status::Internal("not loaded");
          {
            nb::gil_scoped_release release;
            r = Model::LoadBytes(std::move(bytes), backend);
          }
          return unwrap(std::move(r));
        },
        nb::arg("data"), nb::arg("backend") = "cpu",
        "Loads a model from the bytes of a model file (CompiledModel.serialize) or an XGBoost model.");
  m.def("ml_load_xgboost_json",
        [](const std::string& src, const std::string& dtype, const std::string& backend) {
          Result<Model> r = Status::Internal("not loaded");
          {
            nb::gil_scoped_release release;
            r = Model::LoadXGBoostJson(src, dtype, backend);
          }
          return unwrap(std::move(r));
        },
        nb::arg("path_or_json_text"), nb::arg("dtype") = "float32", nb::arg("backend") = "cpu",
        "Loads an XGBoost Booster JSON model (a path or the JSON text).");
  m.def("ml_load_lightgbm",
        [](const std::string& src, const std::string& dtype, const std::string& backend,
           const std::string& metadata_json) {
          Result<Model> r = Status::Internal("not loaded");
          {
            nb::gil_scoped_release release;
            r = Model::LoadLightGBM(src, dtype, backend, metadata_json);
          }
          return unwrap(std::move(r));
        },
        nb::arg("path_or_text"), nb::arg("dtype") = "float64", nb::arg("backend") = "cpu",
        nb::arg("metadata_json") = "",
        "Loads a LightGBM text model (a path or the text); metadata_json is merged into the graph's metadata.");
}

RegisterBinding reg(50, bind);

}  // namespace

nb::dlpack::dtype dlpack_of(DType d) {
  switch (d) {
    case DType::kBool: return nb::dtype<bool>();
    case DType::kInt8: return nb::dtype<int8_t>();
    case DType::kInt16: return nb::dtype<int16_t>();
    case DType::kInt32: return nb::dtype<int32_t>();
    case DType::kInt64: return nb::dtype<int64_t>();
    case DType::kUInt8: return nb::dtype<uint8_t>();
    case DType::kUInt16: return nb::dtype<uint16_t>();
    case DType::kUInt32: return nb::dtype<uint32_t>();
    case DType::kUInt64: return nb::dtype<uint64_t>();
    case DType::kFloat32: return nb::dtype<float>();
    default: return nb::dtype<double>();
  }
}

}  // namespace gtn::py
