// Registry of binding functions: each *_bindings.cc adds its concept to gtn._core.
#pragma once

#include <functional>
#include <utility>
#include <vector>

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include "gtn/dataset.h"
#include "gtn/result.h"
#include "gtn/tensor.h"

namespace gtn::py {

namespace nb = nanobind;

using BindFn = void (*)(nb::module_& m);

struct BindingRegistry {
  static std::vector<std::pair<int, BindFn>>& entries();
};

struct RegisterBinding {
  RegisterBinding(int order, BindFn fn) { BindingRegistry::entries().emplace_back(order, fn); }
};

}  // namespace gtn::py
namespace gtn {
class Dataset;
}
namespace gtn::py {

// The C++ dataset behind a gtn._core.Dataset object (raises if it is closed), for binding
// files other than dataset_bindings.cc.
Dataset& dataset_of(nb::handle py_dataset);

// The numpy element type of a GTN dtype (float64 for text and bytes).
nb::dlpack::dtype dlpack_of(DType d);

// Raises the Python exception that matches `status` (see status_bindings.cc) if not OK.
void throw_if_error(const Status& status);

// Tells that object that its tensors changed behind its back (tensors created in C++).
void dataset_schema_changed(nb::handle obj);

template <typename T>
T unwrap(Result<T>&& r) {
  throw_if_error(r.status());
  return std::move(r).value();
}

}  // namespace gtn::py
