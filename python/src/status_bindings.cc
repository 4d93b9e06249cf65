// Status -> Python exceptions. Every error carries the C++ message unchanged.
#include "module.h"

namespace gtn::py {
namespace {

PyObject* g_gtn_error = nullptr;
PyObject* g_corruption_error = nullptr;
PyObject* g_locked_error = nullptr;
PyObject* g_unsupported_error = nullptr;
PyObject* g_merge_conflict_error = nullptr;

PyObject* make_exception(nb::module_& m, const char* name, PyObject* base, const char* doc) {
  std::string qual = std::string("gtn.") + name;
  PyObject* exc = PyErr_NewExceptionWithDoc(qual.c_str(), doc, base, nullptr);
  m.attr(name) = nb::handle(exc);
  return exc;
}

void bind(nb::module_& m) {
  g_gtn_error = make_exception(m, "GTNError", PyExc_Exception, "Base class of GTN's errors.");
  PyObject* corr_bases = PyTuple_Pack(2, g_gtn_error, PyExc_ValueError);
  g_corruption_error = make_exception(m, "CorruptionError", corr_bases,
                                      "Stored bytes failed a checksum or did not parse.");
  Py_DECREF(corr_bases);
  g_locked_error = make_exception(m, "LockedError", g_gtn_error,
                                  "Another writer holds the dataset.");
  PyObject* unsup_bases = PyTuple_Pack(2, g_gtn_error, PyExc_NotImplementedError);
  g_unsupported_error = make_exception(m, "UnsupportedError", unsup_bases,
                                       "A valid request this version of GTN cannot serve.");
  Py_DECREF(unsup_bases);
  // Raised by gtn.Dataset.merge (python/gtn/dataset.py), which sets .conflicts.
  PyObject* merge_bases = PyTuple_Pack(2, g_gtn_error, PyExc_ValueError);
  g_merge_conflict_error = make_exception(m, "MergeConflictError", merge_bases,
                                          "merge(policy='fail') found samples both sides changed; nothing "
                                          "changed. .conflicts lists them.");
  Py_DECREF(merge_bases);
}

RegisterBinding reg(0, bind);

}  // namespace

void throw_if_error(const Status& status) {
  if (status.ok()) return;
  PyObject* type = PyExc_RuntimeError;
  switch (status.code()) {
    case StatusCode::kInvalidArgument: type = PyExc_ValueError; break;
    case StatusCode::kNotFound: type = PyExc_FileNotFoundError; break;
    case StatusCode::kAlreadyExists: type = PyExc_FileExistsError; break;
    case StatusCode::kOutOfRange: type = PyExc_IndexError; break;
    case StatusCode::kCorruption: type = g_corruption_error; break;
    case StatusCode::kIOError: type = PyExc_OSError; break;
    case StatusCode::kLocked: type = g_locked_error; break;
    case StatusCode::kUnsupported: type = g_unsupported_error; break;
    default: type = PyExc_RuntimeError; break;
  }
  PyErr_SetString(type, status.message().c_str());
  throw nb::python_error();
}

}  // namespace gtn::py
