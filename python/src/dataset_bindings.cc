// Datasets in Python: gtn._core.Dataset, the engine behind gtn.Dataset (python/gtn/dataset.py).
//
// Reads build numpy arrays with the numpy C API: arrays of more than kCopyBytes are
// read-only zero-copy views whose base object keeps the stored bytes (an mmap'ed chunk or
// a decoded buffer) alive; smaller ones are copied, which is cheaper than a view. Text
// samples become str, bytes samples bytes, json samples the parsed object (json.loads).
// Python values reach the bindings already converted to the tensor's dtype by dataset.py.
// extend() hands a numpy batch to C++ as one buffer (Dataset::extend_columns) and a list
// of strings as one buffer of bytes, and writes without the GIL.
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "gtn/dataset.h"
#include "gtn/access_trace.h"
#include "module.h"

namespace gtn::py {
namespace {

constexpr size_t kCopyBytes = 1024;

enum class ValueKind : uint8_t { kNumeric, kText, kJson, kBytes };

// Batch reads of a read-only dataset use up to kMaxReaders threads, each with at least
// kMinSamplesPerReader samples (fewer do not repay starting a thread).
constexpr size_t kMaxReaders = 4;
constexpr size_t kMinSamplesPerReader = 32;
constexpr size_t kMinBytesForReaders = 1 << 20;

struct TensorSlot {
  std::string name;
  std::string htype;
  std::vector<std::string> class_names;
  size_t index = 0;  // position in tensor_names(), for Dataset::read(size_t, uint64_t)
  nb::object key;  // interned str
  ValueKind kind = ValueKind::kNumeric;
  DType dtype = DType::kFloat32;
  int npy_type = NPY_FLOAT32;
};

PyObject* g_json_loads = nullptr;

int npy_type_of(DType d) {
  switch (d) {
    case DType::kBool: return NPY_BOOL;
    case DType::kInt8: return NPY_INT8;
    case DType::kInt16: return NPY_INT16;
    case DType::kInt32: return NPY_INT32;
    case DType::kInt64: return NPY_INT64;
    case DType::kUInt8: return NPY_UINT8;
    case DType::kUInt16: return NPY_UINT16;
    case DType::kUInt32: return NPY_UINT32;
    case DType::kUInt64: return NPY_UINT64;
    case DType::kFloat16: return NPY_FLOAT16;
    case DType::kFloat32: return NPY_FLOAT32;
    case DType::kFloat64: return NPY_FLOAT64;
    case DType::kText:
    case DType::kBytes: return NPY_UINT8;
  }
  return NPY_UINT8;
}

void owner_capsule_destructor(PyObject* capsule) {
  delete static_cast<std::shared_ptr<const void>*>(PyCapsule_GetPointer(capsule, nullptr));
}

// A numpy array of `a`'s values: a read-only view when large and aligned, else a copy.
PyObject* numeric_to_numpy(const Array& a, int npy_type) {
  npy_intp dims[NPY_MAXDIMS];
  int nd = static_cast<int>(a.ndim());
  if (nd > NPY_MAXDIMS) {
    PyErr_SetString(PyExc_ValueError, "sample has more dimensions than numpy supports");
    return nullptr;
  }
  for (int i = 0; i < nd; ++i) dims[i] = static_cast<npy_intp>(a.shape()[i]);
  size_t item = dtype_size(a.dtype());
  bool aligned = reinterpret_cast<uintptr_t>(a.data()) % item == 0;
  if (a.nbytes() <= kCopyBytes || !aligned || !a.owner()) {
    PyObject* arr = PyArray_SimpleNew(nd, dims, npy_type);
    if (arr && a.nbytes()) std::memcpy(PyArray_DATA(reinterpret_cast<PyArrayObject*>(arr)), a.data(), a.nbytes());
    return arr;
  }
  PyObject* arr = PyArray_New(&PyArray_Type, nd, dims, npy_type, nullptr, const_cast<void*>(a.data()), 0,
                              NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED, nullptr);
  if (!arr) return nullptr;
  auto* holder = new std::shared_ptr<const void>(a.owner());
  PyObject* capsule = PyCapsule_New(holder, nullptr, owner_capsule_destructor);
  if (!capsule) {
    delete holder;
    Py_DECREF(arr);
    return nullptr;
  }
  if (PyArray_SetBaseObject(reinterpret_cast<PyArrayObject*>(arr), capsule) < 0) {  // steals capsule
    Py_DECREF(arr);
    return nullptr;
  }
  return arr;
}

// The Python value of one sample (new reference; nullptr with a Python error set).
PyObject* to_python(const Array& a, const TensorSlot& slot) {
  switch (slot.kind) {
    case ValueKind::kNumeric:
      return numeric_to_numpy(a, slot.npy_type);
    case ValueKind::kText:
      return PyUnicode_DecodeUTF8(static_cast<const char*>(a.data()), static_cast<Py_ssize_t>(a.nbytes()), "replace");
    case ValueKind::kBytes:
      return PyBytes_FromStringAndSize(static_cast<const char*>(a.data()), static_cast<Py_ssize_t>(a.nbytes()));
    case ValueKind::kJson: {
      if (a.nbytes() == 0) Py_RETURN_NONE;  // an empty sample (a row added before the tensor)
      PyObject* text = PyUnicode_DecodeUTF8(static_cast<const char*>(a.data()), static_cast<Py_ssize_t>(a.nbytes()),
                                            "replace");
      if (!text) return nullptr;
      PyObject* value = PyObject_CallOneArg(g_json_loads, text);
      Py_DECREF(text);
      return value;
    }
  }
  return nullptr;
}

nb::object steal_or_throw(PyObject* o) {
  if (!o) throw nb::python_error();
  return nb::steal(o);
}

// Converts a Python value (already of the tensor's dtype, see dataset.py) to an Array.
Result<Array> from_python(nb::handle value, const TensorSlot& slot) {
  PyObject* v = value.ptr();
  if (slot.kind == ValueKind::kText || slot.kind == ValueKind::kJson) {
    if (!PyUnicode_Check(v)) return Status::InvalidArgument("tensor '" + slot.name + "' holds text; expected a str");
    Py_ssize_t n = 0;
    const char* s = PyUnicode_AsUTF8AndSize(v, &n);
    if (!s) throw nb::python_error();
    return Array::Text(std::string_view(s, static_cast<size_t>(n)));
  }
  if (slot.kind == ValueKind::kBytes) {
    char* s = nullptr;
    Py_ssize_t n = 0;
    if (!PyBytes_Check(v) || PyBytes_AsStringAndSize(v, &s, &n) < 0) {
      return Status::InvalidArgument("tensor '" + slot.name + "' holds bytes; expected a bytes object");
    }
    return Array::Bytes(std::string_view(s, static_cast<size_t>(n)));
  }
  if (!PyArray_Check(v)) return Status::InvalidArgument("tensor '" + slot.name + "': expected a numpy array");
  auto* arr = reinterpret_cast<PyArrayObject*>(v);
  if (!PyArray_EquivTypenums(PyArray_TYPE(arr), slot.npy_type) || !PyArray_IS_C_CONTIGUOUS(arr)) {
    return Status::InvalidArgument("tensor '" + slot.name + "': expected a C-contiguous array of " +
                                   std::string(dtype_name(slot.dtype)));
  }
  Shape shape(PyArray_DIMS(arr), PyArray_DIMS(arr) + PyArray_NDIM(arr));
  return Array::Copy(slot.dtype, std::move(shape), PyArray_DATA(arr), static_cast<size_t>(PyArray_NBYTES(arr)));
}

// The samples of a batch value: a numpy array whose first axis is the batch, or a sequence.
Result<std::vector<Array>> batch_from_python(nb::handle value, const TensorSlot& slot) {
  std::vector<Array> out;
  PyObject* v = value.ptr();
  if (slot.kind == ValueKind::kNumeric && PyArray_Check(v)) {
    auto* arr = reinterpret_cast<PyArrayObject*>(v);
    if (PyArray_NDIM(arr) < 1) return Status::InvalidArgument("tensor '" + slot.name + "': a batch needs a first axis");
    if (!PyArray_EquivTypenums(PyArray_TYPE(arr), slot.npy_type) || !PyArray_IS_C_CONTIGUOUS(arr)) {
      return Status::InvalidArgument("tensor '" + slot.name + "': expected a C-contiguous array of " +
                                     std::string(dtype_name(slot.dtype)));
    }
    Shape shape(PyArray_DIMS(arr) + 1, PyArray_DIMS(arr) + PyArray_NDIM(arr));
    npy_intp n = PyArray_DIMS(arr)[0];
    size_t bytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(slot.dtype);
    const auto* base = static_cast<const uint8_t*>(PyArray_DATA(arr));
    out.reserve(static_cast<size_t>(n));
    for (npy_intp i = 0; i < n; ++i) {
      GTN_ASSIGN_OR_RETURN(Array a, Array::Copy(slot.dtype, shape, base + static_cast<size_t>(i) * bytes, bytes));
      out.push_back(std::move(a));
    }
    return out;
  }
  if (!PyList_Check(v) && !PyTuple_Check(v)) {
    return Status::InvalidArgument("tensor '" + slot.name + "': a batch must be a list or a numpy array");
  }
  nb::sequence seq = nb::borrow<nb::sequence>(value);
  for (nb::handle item : seq) {
    GTN_ASSIGN_OR_RETURN(Array a, from_python(item, slot));
    out.push_back(std::move(a));
  }
  return out;
}

// One tensor's batch value as a Column for Dataset::extend_columns, without a Python
// object or an allocation per sample: a C-contiguous numpy array of the tensor's dtype
// with a batch axis becomes a view (its reference goes to `keep`, so it outlives the
// call without the GIL), a list of str (text, json) or bytes is copied into one buffer.
// False when the value has another form; the caller then takes the per-sample path.
bool column_from_python(nb::handle value, const TensorSlot& slot, Column* column, std::string* blob,
                        std::vector<nb::object>* keep) {
  PyObject* v = value.ptr();
  if (slot.kind == ValueKind::kNumeric) {
    if (!PyArray_Check(v)) return false;
    auto* arr = reinterpret_cast<PyArrayObject*>(v);
    if (PyArray_NDIM(arr) < 1 || !PyArray_EquivTypenums(PyArray_TYPE(arr), slot.npy_type) || !PyArray_IS_C_CONTIGUOUS(arr)) return false;
    Shape shape(PyArray_DIMS(arr), PyArray_DIMS(arr) + PyArray_NDIM(arr));
    column->rows = unwrap(Array::View(slot.dtype, std::move(shape), PyArray_DATA(arr),
                                      static_cast<size_t>(PyArray_NBYTES(arr)), nullptr));
    keep->push_back(nb::borrow(value));
    return true;
  }
  if (!PyList_Check(v)) return false;
  Py_ssize_t n = PyList_GET_SIZE(v);
  std::vector<size_t> ends;
  ends.reserve(static_cast<size_t>(n));
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* item = PyList_GET_ITEM(v, i);
    const char* s = nullptr;
    Py_ssize_t len = 0;
    if (slot.kind == ValueKind::kBytes) {
      if (!PyBytes_Check(item)) return false;
      s = PyBytes_AS_STRING(item);
      len = PyBytes_GET_SIZE(item);
    } else {
      if (!PyUnicode_Check(item)) return false;
      s = PyUnicode_AsUTF8AndSize(item, &len);
      if (!s) throw nb::python_error();
    }
    blob->append(s, static_cast<size_t>(len));
    ends.push_back(blob->size());
  }
  column->items.reserve(ends.size());
  size_t begin = 0;
  for (size_t end : ends) {
    column->items.emplace_back(blob->data() + begin, end - begin);
    begin = end;
  }
  return true;
}

uint64_t normalize_index(int64_t index, uint64_t size) {
  if (index < 0) index += static_cast<int64_t>(size);
  if (index < 0 || static_cast<uint64_t>(index) >= size) {
    throw_if_error(Status::OutOfRange("index " + std::to_string(index < 0 ? index - static_cast<int64_t>(size) : index) +
                                      " out of range for dataset of " + std::to_string(size) + " samples"));
  }
  return static_cast<uint64_t>(index);
}

// A numpy uint64 array that owns `v` (moved to the heap; no Python loop, no copy per item).
nb::object index_array(std::vector<uint64_t> v) {
  auto* heap = new std::vector<uint64_t>(std::move(v));
  if (heap->empty()) heap->reserve(1);  // a non-null data pointer
  nb::capsule owner(heap, [](void* p) noexcept { delete static_cast<std::vector<uint64_t>*>(p); });
  size_t shape[1] = {heap->size()};
  return nb::cast(nb::ndarray<nb::numpy, uint64_t, nb::ndim<1>>(heap->data(), 1, shape, owner));
}

nb::object str_or_none(const std::string& s) { return s.empty() ? nb::none() : nb::cast(s); }

// A DatasetDiff as dataset.py documents it: only the tensors that changed are listed.
nb::dict diff_to_python(DatasetDiff diff) {
  nb::dict out;
  out["a"] = str_or_none(diff.a);
  out["b"] = str_or_none(diff.b);
  out["rows_added"] = index_array(std::move(diff.rows_added));
  out["rows_deleted"] = index_array(std::move(diff.rows_deleted));
  nb::dict tensors;
  for (TensorDiff& t : diff.tensors) {
    if (t.empty()) continue;
    nb::dict d;
    d["old_name"] = str_or_none(t.old_name);
    d["schema_changes"] = nb::cast(t.schema_changes);
    d["detail"] = t.detail;
    d["added"] = index_array(std::move(t.added));
    d["updated"] = index_array(std::move(t.updated));
    d["deleted"] = index_array(std::move(t.deleted));
    tensors[nb::cast(t.name)] = d;
  }
  out["tensors"] = tensors;
  return out;
}

MergePolicy parse_policy(const std::string& policy) {
  if (policy == "fail") return MergePolicy::kFail;
  if (policy == "ours") return MergePolicy::kOurs;
  if (policy == "theirs") return MergePolicy::kTheirs;
  throw_if_error(Status::InvalidArgument("merge policy must be one of 'fail', 'ours', 'theirs', got '" + policy + "'"));
  return MergePolicy::kFail;  // unreachable
}

class PyDataset {
 public:
  PyDataset(std::shared_ptr<Dataset> ds, std::string path) : ds_(std::move(ds)), path_(std::move(path)) {
    refresh_slots();
  }

  static PyDataset open(const std::string& path, bool read_only, bool create_if_missing, bool verify_checksums,
                        const std::string& version, const std::string& author) {
    OpenOptions options;
    options.read_only = read_only;
    options.create_if_missing = create_if_missing;
    options.verify_checksums = verify_checksums;
    options.version = version;
    options.author = author;
    Result<std::unique_ptr<Dataset>> ds = Status::Internal("unset");
    {
      nb::gil_scoped_release release;
      ds = Dataset::Open(path, options);
    }
    return PyDataset(std::shared_ptr<Dataset>(unwrap(std::move(ds))), path);
  }

  Dataset& ds() const {
    if (!ds_) throw_if_error(Status::InvalidArgument("the dataset at " + path_ + " is closed"));
    return *ds_;
  }

  // Flushes and releases the dataset; a failed flush raises (the dataset is closed either
  // way, since its writer can no longer make progress).
  void close() {
    if (!ds_) return;
    Status st;
    {
      nb::gil_scoped_release release;
      st = ds_->close();
    }
    ds_.reset();
    throw_if_error(st);
  }

  bool closed() const { return ds_ == nullptr; }
  // Re-reads the tensor list after code outside these bindings changed the schema.
  void schema_changed() { refresh_slots(); }
  const std::string& path() const { return path_; }

  void create_tensor(const std::string& name, const std::string& htype, std::optional<std::string> dtype,
                     const std::string& sample_compression, const std::string& chunk_compression,
                     std::optional<uint64_t> chunk_size, std::vector<std::string> class_names) {
    TensorSpec spec;
    spec.name = name;
    spec.htype = htype;
    if (dtype) spec.dtype = unwrap(parse_dtype(*dtype));
    spec.sample_compression = unwrap(parse_compression(sample_compression));
    spec.chunk_compression = unwrap(parse_compression(chunk_compression));
    if (chunk_size) spec.chunk_target_bytes = *chunk_size;
    spec.class_names = std::move(class_names);
    throw_if_error(ds().create_tensor(spec));
    refresh_slots();
  }

  std::vector<std::string> tensor_names() const { return ds().tensor_names(); }

  // What converting a value needs to know of tensor `name`, without touching its chunks.
  nb::dict tensor_types(nb::handle name) const {
    const TensorSlot& slot = slot_of(name);
    nb::dict d;
    d["name"] = slot.name;
    d["htype"] = slot.htype;
    d["dtype"] = std::string(dtype_name(slot.dtype));
    d["class_names"] = slot.class_names;
    return d;
  }

  nb::dict tensor_info(const std::string& name) const {
    TensorInfo info = unwrap(ds().tensor_info(name));
    nb::dict d;
    d["name"] = info.name;
    d["htype"] = info.htype;
    d["dtype"] = std::string(dtype_name(info.dtype));
    d["sample_compression"] = std::string(compression_name(info.sample_compression));
    d["chunk_compression"] = std::string(compression_name(info.chunk_compression));
    d["chunk_size"] = info.chunk_target_bytes;
    d["compression_level"] = unwrap(ds().tensor_spec(name)).compression_level;
    d["class_names"] = info.class_names;
    d["length"] = info.length;
    d["num_chunks"] = info.num_chunks;
    d["stored_bytes"] = info.stored_bytes;
    d["raw_bytes"] = info.raw_bytes;
    d["min_shape"] = nb::tuple(nb::cast(info.min_shape));
    d["max_shape"] = nb::tuple(nb::cast(info.max_shape));
    return d;
  }

  uint64_t size() const { return ds().size(); }
  bool read_only() const { return ds().read_only(); }

  void append(nb::dict sample) {
    Sample s;
    for (auto [key, value] : sample) {
      const TensorSlot& slot = slot_of(key);
      s.emplace(slot.name, unwrap(from_python(value, slot)));
    }
    Status st;
    {
      nb::gil_scoped_release release;
      st = ds().append(s);
    }
    throw_if_error(st);
  }

  // One buffer per tensor (Dataset::extend_columns) when every value allows it, else one
  // Array per sample (Dataset::extend).
  void extend(nb::dict batch) {
    ColumnBatch columns;
    std::vector<std::string> blobs(batch.size());  // views into these are taken: no resizing
    std::vector<nb::object> keep;
    bool columnar = true;
    size_t k = 0;
    for (auto [key, value] : batch) {
      const TensorSlot& slot = slot_of(key);
      if (!column_from_python(value, slot, &columns[slot.name], &blobs[k++], &keep)) {
        columnar = false;
        break;
      }
    }
    if (columnar) {
      Status st;
      {
        nb::gil_scoped_release release;
        st = ds().extend_columns(columns);
      }
      throw_if_error(st);
      return;
    }
    SampleBatch b;
    for (auto [key, value] : batch) {
      const TensorSlot& slot = slot_of(key);
      b.emplace(slot.name, unwrap(batch_from_python(value, slot)));
    }
    Status st;
    {
      nb::gil_scoped_release release;
      st = ds().extend(b);
    }
    throw_if_error(st);
  }

  void update(const std::string& name, int64_t index, nb::handle value) {
    const TensorSlot& slot = slot_of(nb::str(name.c_str()));
    Array a = unwrap(from_python(value, slot));
    throw_if_error(ds().update(name, normalize_index(index, ds().size()), a));
  }

  // t[indices] = values: one call, every value checked before anything is written.
  void update_many(const std::string& name, const std::vector<int64_t>& indices, nb::handle values) {
    const TensorSlot& slot = slot_of(nb::str(name.c_str()));
    std::vector<Array> arrays = unwrap(batch_from_python(values, slot));
    std::vector<uint64_t> at;
    at.reserve(indices.size());
    for (int64_t i : indices) at.push_back(normalize_index(i, ds().size()));
    Status st;
    {
      nb::gil_scoped_release release;
      st = ds().update(name, at, arrays);
    }
    throw_if_error(st);
  }

  void pop() { throw_if_error(ds().pop()); }

  void delete_samples(const std::vector<int64_t>& indices) {
    std::vector<uint64_t> at = normalize_all(indices);
    Status st;
    {
      nb::gil_scoped_release release;
      st = ds().delete_samples(at);
    }
    throw_if_error(st);
  }

  // --- version control ---
  std::string commit(const std::string& message, const std::string& author) {
    Result<std::string> id = Status::Internal("unset");
    {
      nb::gil_scoped_release release;
      id = ds().commit(message, author);
    }
    return unwrap(std::move(id));
  }

  // time_ms stays an int here; dataset.py makes it a datetime.
  nb::list log(const std::string& target) const {
    Result<std::vector<CommitInfo>> commits = Status::Internal("unset");
    {
      nb::gil_scoped_release release;
      commits = ds().log(target);
    }
    nb::list out;
    for (const CommitInfo& c : unwrap(std::move(commits))) {
      nb::dict d;
      d["id"] = c.id;
      d["parents"] = nb::cast(c.parents);
      d["message"] = c.message;
      d["author"] = c.author;
      d["time_ms"] = c.time_ms;
      d["length"] = c.length;
      out.append(d);
    }
    return out;
  }

  void branch(const std::string& name, const std::string& target) { throw_if_error(ds().branch(name, target)); }

  void checkout(const std::string& target, bool create, bool force) {
    CheckoutOptions options;
    options.create = create;
    options.force = force;
    Status st;
    {
      nb::gil_scoped_release release;
      st = ds().checkout(target, options);
    }
    refresh_slots();  // the other state may have other tensors
    throw_if_error(st);
  }

  void delete_branch(const std::string& name) { throw_if_error(ds().delete_branch(name)); }
  void tag(const std::string& name, const std::string& target) { throw_if_error(ds().tag(name, target)); }
  void delete_tag(const std::string& name) { throw_if_error(ds().delete_tag(name)); }
  std::vector<std::string> branches() const { return unwrap(ds().branches()); }

  nb::dict tags() const {
    nb::dict out;
    for (auto& [name, id] : unwrap(ds().tags())) out[nb::cast(name)] = id;
    return out;
  }

  nb::object current_branch() const { return str_or_none(ds().current_branch()); }
  nb::object head_commit() const { return str_or_none(ds().head_commit()); }
  bool has_uncommitted_changes() const { return ds().has_uncommitted_changes(); }

  nb::dict status() const {
    Result<DatasetDiff> diff = Status::Internal("unset");
    {
      nb::gil_scoped_release release;
      diff = ds().status();
    }
    return diff_to_python(unwrap(std::move(diff)));
  }

  nb::dict diff(const std::string& a, const std::string& b) const {
    Result<DatasetDiff> diff = Status::Internal("unset");
    {
      nb::gil_scoped_release release;
      diff = ds().diff(a, b);
    }
    return diff_to_python(unwrap(std::move(diff)));
  }

  void reset(const std::string& target) {
    Status st;
    {
      nb::gil_scoped_release release;
      st = ds().reset(target);
    }
    refresh_slots();
    throw_if_error(st);
  }

  // The MergeResult as a dict; dataset.py raises MergeConflictError when conflicts stopped
  // the merge (empty commit).
  nb::dict merge(const std::string& source, const std::string& policy, const std::string& message) {
    MergePolicy p = parse_policy(policy);
    Result<MergeResult> result = Status::Internal("unset");
    {
      nb::gil_scoped_release release;
      result = ds().merge(source, p, message);
    }
    refresh_slots();
    MergeResult r = unwrap(std::move(result));
    nb::dict out;
    out["commit"] = str_or_none(r.commit);
    out["fast_forward"] = r.fast_forward;
    out["up_to_date"] = r.up_to_date;
    nb::list conflicts;
    for (const MergeConflict& c : r.conflicts) {
      nb::dict d;
      d["tensor"] = c.tensor;
      d["sample_id"] = c.sample_id;
      d["ours_index"] = c.ours_index < 0 ? nb::none() : nb::cast(c.ours_index);
      d["theirs_index"] = c.theirs_index < 0 ? nb::none() : nb::cast(c.theirs_index);
      d["kind"] = c.kind;
      conflicts.append(d);
    }
    out["conflicts"] = conflicts;
    out["rows_added"] = r.rows_added;
    out["rows_deleted"] = r.rows_deleted;
    out["samples_updated"] = r.samples_updated;
    return out;
  }

  std::string cherry_pick(const std::string& target) {
    Result<std::string> id = Status::Internal("unset");
    {
      nb::gil_scoped_release release;
      id = ds().cherry_pick(target);
    }
    refresh_slots();
    return unwrap(std::move(id));
  }

  nb::dict gc() {
    Result<GcStats> stats = Status::Internal("unset");
    {
      nb::gil_scoped_release release;
      stats = ds().gc();
    }
    return gc_stats(std::move(stats));
  }
  nb::dict expire_history(const std::string& keep_from) {
    Result<GcStats> stats = Status::Internal("unset");
    {
      nb::gil_scoped_release release;
      stats = ds().expire_history(keep_from);
    }
    return gc_stats(std::move(stats));
  }
  static nb::dict gc_stats(Result<GcStats> stats) {
    GcStats s = unwrap(std::move(stats));
    nb::dict out;
    out["files_deleted"] = s.files_deleted;
    out["bytes_freed"] = s.bytes_freed;
    out["files_kept_for_readers"] = s.files_kept_for_readers;
    out["versions_deleted"] = s.versions_deleted;
    return out;
  }

  // layouts: tensor -> {chunk_bytes, sample_compression, chunk_compression,
  // compression_level} (each optional); order: a 1-d integer array or None.
  nb::dict rechunk(nb::dict layouts, nb::object order, const std::string& order_tensor, uint64_t max_memory,
                   nb::object progress, const std::string& message) {
    RechunkOptions o;
    for (auto [key, value] : layouts) {
      std::string name = nb::cast<std::string>(key);
      if (!nb::isinstance<nb::dict>(value)) {
        throw nb::type_error(("rechunk: the layout of tensor '" + name + "' must be a dict").c_str());
      }
      TensorLayout& l = o.layouts[name];
      for (auto [field, v] : nb::cast<nb::dict>(value)) {
        std::string f = nb::cast<std::string>(field);
        if (v.is_none()) continue;
        if (f == "chunk_bytes") {
          int64_t n = nb::cast<int64_t>(v);
          if (n <= 0) throw nb::value_error(("rechunk: chunk_bytes of '" + name + "' must be > 0").c_str());
          l.chunk_target_bytes = static_cast<uint64_t>(n);
        } else if (f == "sample_compression") {
          l.sample_compression = unwrap(parse_compression(nb::cast<std::string>(v)));
        } else if (f == "chunk_compression") {
          l.chunk_compression = unwrap(parse_compression(nb::cast<std::string>(v)));
        } else if (f == "compression_level") {
          l.compression_level = nb::cast<int>(v);
        } else {
          throw nb::value_error(("rechunk: unknown layout key '" + f + "' for tensor '" + name +
                                 "'; expected chunk_bytes, sample_compression, chunk_compression, compression_level")
                                    .c_str());
        }
      }
    }
    if (!order.is_none()) {
      nb::object arr = nb::module_::import_("numpy").attr("asarray")(order);
      std::string kind = nb::cast<std::string>(arr.attr("dtype").attr("kind"));
      if (kind != "i" && kind != "u") throw nb::type_error("rechunk: order must be an array of integers");
      if (nb::cast<int>(arr.attr("ndim")) != 1) throw nb::value_error("rechunk: order must be 1-d");
      if (kind == "i" && PyObject_IsTrue(arr.attr("__lt__")(0).attr("any")().ptr()) == 1) {
        throw nb::value_error("rechunk: order holds a negative position");
      }
      nb::object u64 = arr.attr("astype")("uint64", nb::arg("copy") = false);
      auto view = nb::cast<nb::ndarray<const uint64_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>>(
          nb::module_::import_("numpy").attr("ascontiguousarray")(u64));
      o.order = std::vector<uint64_t>(view.data(), view.data() + view.shape(0));
    }
    o.order_tensor = order_tensor;
    o.max_memory = max_memory;
    o.message = message;
    if (!progress.is_none()) {
      o.progress = [progress](uint64_t done, uint64_t total) {
        nb::gil_scoped_acquire gil;
        progress(done, total);  // an exception (e.g. KeyboardInterrupt) cancels the rechunk
      };
    }
    Result<RechunkStats> stats = Status::Internal("unset");
    {
      nb::gil_scoped_release release;
      stats = ds().rechunk(o);
    }
    refresh_slots();
    RechunkStats s = unwrap(std::move(stats));
    nb::dict out;
    out["tensors"] = nb::cast(s.tensors);
    out["rows"] = s.rows;
    out["chunks_before"] = s.chunks_before;
    out["chunks_after"] = s.chunks_after;
    out["bytes_read"] = s.bytes_read;
    out["bytes_written"] = s.bytes_written;
    out["peak_memory"] = s.peak_memory;
    out["commit"] = s.commit;
    return out;
  }

  nb::dict compact() {
    Result<CompactStats> stats = Status::Internal("unset");
    {
      nb::gil_scoped_release release;
      stats = ds().compact();
    }
    CompactStats s = unwrap(std::move(stats));
    nb::dict out;
    out["samples_rewritten"] = s.samples_rewritten;
    out["entries_before"] = s.entries_before;
    out["entries_after"] = s.entries_after;
    return out;
  }

  void truncate(uint64_t length) {
    Status st;
    {
      nb::gil_scoped_release release;
      st = ds().truncate(length);
    }
    throw_if_error(st);
  }

  void delete_tensor(const std::string& name) {
    throw_if_error(ds().delete_tensor(name));
    refresh_slots();
  }

  void rename_tensor(const std::string& name, const std::string& new_name) {
    throw_if_error(ds().rename_tensor(name, new_name));
    refresh_slots();
  }

  void flush() {
    Status st;
    {
      nb::gil_scoped_release release;
      st = ds().flush();
    }
    throw_if_error(st);
  }

  // ds[i]: every tensor of sample i, in one call.
  nb::object sample(int64_t index) const {
    Dataset& d = ds();
    uint64_t i = normalize_index(index, d.size());
    PyObject* dict = PyDict_New();
    if (!dict) throw nb::python_error();
    nb::object out = nb::steal(dict);
    AccessTrace::CallScope one_call;  // one sample of every tensor: one call in a trace
    for (const TensorSlot& slot : slots_) {
      Result<Array> a = d.read(slot.index, i);
      throw_if_error(a.status());
      PyObject* value = to_python(*a, slot);
      if (!value) throw nb::python_error();
      int rc = PyDict_SetItem(dict, slot.key.ptr(), value);
      Py_DECREF(value);
      if (rc < 0) throw nb::python_error();
    }
    return out;
  }

  // ds[[i, j, ...]]: name -> stacked array (a list when ragged, text, bytes or json).
  nb::dict batch(const std::vector<int64_t>& indices) const {
    std::vector<uint64_t> idx = normalize_all(indices);
    nb::dict out;
    AccessTrace::CallScope one_call;  // one batch in an access trace
    for (const TensorSlot& slot : slots_) out[slot.key] = gather(slot, idx);
    return out;
  }

  // ds[a:b]: like batch() over the contiguous range [begin, end).
  nb::dict range(uint64_t begin, uint64_t end) const {
    std::vector<uint64_t> idx = range_indices(begin, end);
    nb::dict out;
    AccessTrace::CallScope one_call;  // one batch in an access trace
    for (const TensorSlot& slot : slots_) out[slot.key] = gather(slot, idx);
    return out;
  }

  nb::object read(const std::string& name, int64_t index) const {
    const TensorSlot& slot = slot_of(nb::str(name.c_str()));
    uint64_t i = normalize_index(index, ds().size());
    Array a = unwrap(ds().read(slot.index, i));
    return steal_or_throw(to_python(a, slot));
  }

  nb::object read_range(const std::string& name, uint64_t begin, uint64_t end) const {
    return gather(slot_of(nb::str(name.c_str())), range_indices(begin, end));
  }

  nb::object read_many(const std::string& name, const std::vector<int64_t>& indices) const {
    return gather(slot_of(nb::str(name.c_str())), normalize_all(indices));
  }

 private:
  std::vector<uint64_t> normalize_all(const std::vector<int64_t>& indices) const {
    uint64_t n = ds().size();
    std::vector<uint64_t> idx;
    idx.reserve(indices.size());
    for (int64_t i : indices) idx.push_back(normalize_index(i, n));
    return idx;
  }

  std::vector<uint64_t> range_indices(uint64_t begin, uint64_t end) const {
    end = std::min<uint64_t>(end, ds().size());
    begin = std::min(begin, end);
    std::vector<uint64_t> idx(end - begin);
    for (uint64_t k = 0; k < idx.size(); ++k) idx[k] = begin + k;
    return idx;
  }

  // Runs `fn` without the GIL when the dataset is read-only (safe to read concurrently).
  template <typename Fn>
  Status without_gil(Dataset& d, Fn&& fn) const {
    if (!d.read_only()) return fn();
    nb::gil_scoped_release release;
    return fn();
  }

  // Samples `idx` of one tensor: numeric samples of one shape are decoded straight into
  // one stacked array; anything else becomes a list.
  nb::object gather(const TensorSlot& slot, const std::vector<uint64_t>& idx) const {
    Dataset& d = ds();
    AccessTrace::CallScope one_call;  // the rows of one gather are one call in a trace
    if (slot.kind == ValueKind::kNumeric && idx.empty()) {
      npy_intp zero = 0;
      return steal_or_throw(PyArray_SimpleNew(1, &zero, slot.npy_type));
    }
    if (slot.kind == ValueKind::kNumeric) {
      // Decode straight into a stacked array shaped like the first sample; a sample of
      // another shape (read_into reports a different shape, or InvalidArgument when it
      // does not fit) sends the whole request to the list path below.
      Shape shape = unwrap(d.sample_shape(slot.index, idx[0]));
      if (shape.size() + 1 <= NPY_MAXDIMS) {
        npy_intp dims[NPY_MAXDIMS];
        dims[0] = static_cast<npy_intp>(idx.size());
        for (size_t i = 0; i < shape.size(); ++i) dims[i + 1] = static_cast<npy_intp>(shape[i]);
        nb::object out = steal_or_throw(PyArray_SimpleNew(static_cast<int>(shape.size() + 1), dims, slot.npy_type));
        auto* dst = static_cast<uint8_t*>(PyArray_DATA(reinterpret_cast<PyArrayObject*>(out.ptr())));
        size_t bytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(slot.dtype);
        bool same = true;
        bool contiguous = true;
        for (size_t k = 1; k < idx.size() && contiguous; ++k) contiguous = idx[k] == idx[0] + k;
        throw_if_error(without_gil(d, [&]() -> Status {
          if (contiguous) {
            // A range: runs of samples that lie back to back in a chunk take one copy each.
            GTN_ASSIGN_OR_RETURN(uint64_t n, d.read_rows_into(slot.index, idx[0], idx[0] + idx.size(), shape, dst,
                                                              idx.size() * bytes));
            same = n == idx.size();
            return Status::OK();
          }
          // Scattered samples: a read-only dataset reads from several threads (each
          // sample lands in its own slot of `out`); a large batch is bound by memory
          // latency, which more cores hide.
          size_t parts = 1;
          if (d.read_only() && idx.size() * bytes >= kMinBytesForReaders) {
            size_t cores = std::max<size_t>(1, std::thread::hardware_concurrency());
            parts = std::min({kMaxReaders, cores, idx.size() / kMinSamplesPerReader});
            parts = std::max<size_t>(parts, 1);
          }
          std::vector<Status> errors(parts);
          std::atomic<bool> all_same{true};
          auto read_part = [&](size_t p) {
            size_t end = (p + 1) * idx.size() / parts;
            for (size_t k = p * idx.size() / parts; k < end && all_same.load(std::memory_order_relaxed); ++k) {
              Result<Shape> got = d.read_into(slot.index, idx[k], dst + k * bytes, bytes);
              if (!got.ok() && got.status().code() != StatusCode::kInvalidArgument) {
                errors[p] = got.status();
                return;
              }
              if (!got.ok() || *got != shape) all_same.store(false, std::memory_order_relaxed);
            }
          };
          std::vector<std::thread> threads;
          const uint64_t call = AccessTrace::open_call();  // the batch stays one call in a trace
          for (size_t p = 1; p < parts; ++p) {
            threads.emplace_back([&read_part, call, p] {
              AccessTrace::CallScope join(call);
              read_part(p);
            });
          }
          read_part(0);
          for (auto& t : threads) t.join();
          for (const Status& st : errors) GTN_RETURN_IF_ERROR(st);
          same = all_same.load();
          return Status::OK();
        }));
        if (same) return out;
      }
    }
    std::vector<Array> arrays;
    arrays.reserve(idx.size());
    throw_if_error(without_gil(d, [&]() -> Status {
      for (uint64_t i : idx) {
        GTN_ASSIGN_OR_RETURN(Array a, d.read(slot.index, i));
        arrays.push_back(std::move(a));
      }
      return Status::OK();
    }));
    nb::object list = steal_or_throw(PyList_New(static_cast<Py_ssize_t>(arrays.size())));
    for (size_t i = 0; i < arrays.size(); ++i) {
      PyList_SET_ITEM(list.ptr(), static_cast<Py_ssize_t>(i), steal_or_throw(to_python(arrays[i], slot)).release().ptr());
    }
    return list;
  }

  const TensorSlot& slot_of(nb::handle key) const {
    if (!PyUnicode_Check(key.ptr())) throw_if_error(Status::InvalidArgument("tensor names are str"));
    for (const TensorSlot& s : slots_) {
      if (PyUnicode_Compare(s.key.ptr(), key.ptr()) == 0) return s;
    }
    std::string name = nb::cast<std::string>(key);
    std::string known;
    for (const TensorSlot& s : slots_) known += (known.empty() ? "" : ", ") + s.name;
    throw_if_error(Status::NotFound("no tensor named '" + name + "' (tensors: " + (known.empty() ? "none" : known) + ")"));
    return slots_.front();  // unreachable: throw_if_error threw
  }

  void refresh_slots() {
    slots_.clear();
    for (const std::string& name : ds_->tensor_names()) {
      // The schema only: opening reads no chunk.
      TensorSpec info = unwrap(ds_->tensor_spec(name));
      TensorSlot slot;
      slot.name = name;
      slot.htype = info.htype;
      slot.class_names = info.class_names;
      slot.index = slots_.size();
      slot.key = nb::steal(PyUnicode_InternFromString(name.c_str()));
      slot.dtype = *info.dtype;
      slot.npy_type = npy_type_of(slot.dtype);
      if (info.htype == "json") {
        slot.kind = ValueKind::kJson;
      } else if (slot.dtype == DType::kText) {
        slot.kind = ValueKind::kText;
      } else if (slot.dtype == DType::kBytes) {
        slot.kind = ValueKind::kBytes;
      }
      slots_.push_back(std::move(slot));
    }
  }

  std::shared_ptr<Dataset> ds_;
  std::string path_;
  std::vector<TensorSlot> slots_;
};

nb::list fsck_path(const std::string& path) {
  Result<std::vector<FsckIssue>> issues = Status::Internal("unset");
  {
    nb::gil_scoped_release release;
    issues = fsck(path);
  }
  nb::list out;
  for (const FsckIssue& issue : unwrap(std::move(issues))) out.append(nb::make_tuple(issue.object, issue.problem));
  return out;
}

void bind(nb::module_& m) {
  if (_import_array() < 0) throw nb::python_error();
  g_json_loads = nb::object(nb::module_::import_("json").attr("loads")).release().ptr();

  // gtn.Dataset (python/gtn/dataset.py) subclasses this class; the underscored methods
  // are its engine. ds[i] with an int goes straight to sample(); other keys to _getitem.
  nb::class_<PyDataset>(m, "Dataset")
      .def(
          "__init__",
          [](PyDataset* self, const std::string& path, bool read_only, bool create_if_missing,
             bool verify_checksums, const std::string& version, const std::string& author) {
            new (self) PyDataset(
                PyDataset::open(path, read_only, create_if_missing, verify_checksums, version, author));
          },
          nb::arg("path"), nb::arg("read_only") = false, nb::arg("create_if_missing") = true,
          nb::arg("verify_checksums") = true, nb::arg("version") = "", nb::arg("author") = "")
      .def("__getitem__",
           [](nb::handle self, nb::handle key) -> nb::object {
             if (PyLong_CheckExact(key.ptr())) {
               int overflow = 0;
               long long i = PyLong_AsLongLongAndOverflow(key.ptr(), &overflow);
               if (i == -1 && PyErr_Occurred()) throw nb::python_error();
               PyDataset* ds = nb::inst_ptr<PyDataset>(self);
               if (overflow) {
                 std::string text = nb::cast<std::string>(nb::str(key));
                 throw_if_error(Status::OutOfRange("index " + text + " out of range for dataset of " +
                                                   std::to_string(ds->size()) + " samples"));
               }
               return ds->sample(i);
             }
             return self.attr("_getitem")(key);
           },
           nb::arg("key").none())
      .def("__len__", &PyDataset::size)
      .def("_close", &PyDataset::close)
      .def_prop_ro("closed", &PyDataset::closed)
      .def_prop_ro("path", &PyDataset::path)
      .def_prop_ro("read_only", &PyDataset::read_only)
      .def("_create_tensor", &PyDataset::create_tensor, nb::arg("name"), nb::arg("htype") = "generic",
           nb::arg("dtype") = nb::none(), nb::arg("sample_compression") = "none",
           nb::arg("chunk_compression") = "none", nb::arg("chunk_size") = nb::none(),
           nb::arg("class_names") = std::vector<std::string>{})
      .def("_tensor_names", &PyDataset::tensor_names)
      .def("_tensor_info", &PyDataset::tensor_info)
      .def("_tensor_types", &PyDataset::tensor_types)
      .def("_append", &PyDataset::append)
      .def("_extend", &PyDataset::extend)
      .def("_update", &PyDataset::update)
      .def("_update_many", &PyDataset::update_many)
      .def("_pop", &PyDataset::pop)
      .def("_truncate", &PyDataset::truncate)
      .def("_delete_tensor", &PyDataset::delete_tensor)
      .def("_rename_tensor", &PyDataset::rename_tensor)
      .def("_flush", &PyDataset::flush)
      .def("_sample", &PyDataset::sample)
      .def("_batch", &PyDataset::batch)
      .def("_range", &PyDataset::range)
      .def("_read", &PyDataset::read)
      .def("_read_range", &PyDataset::read_range)
      .def("_read_many", &PyDataset::read_many)
      .def("_delete_samples", &PyDataset::delete_samples)
      // version control (gtn/version.h); "" stands for "not given" in every target.
      .def("_commit", &PyDataset::commit, nb::arg("message"), nb::arg("author") = "")
      .def("_log", &PyDataset::log, nb::arg("target") = "")
      .def("_branch", &PyDataset::branch, nb::arg("name"), nb::arg("target") = "")
      .def("_checkout", &PyDataset::checkout, nb::arg("target"), nb::arg("create") = false,
           nb::arg("force") = false)
      .def("_delete_branch", &PyDataset::delete_branch)
      .def("_tag", &PyDataset::tag, nb::arg("name"), nb::arg("target") = "")
      .def("_delete_tag", &PyDataset::delete_tag)
      .def("_branches", &PyDataset::branches)
      .def("_tags", &PyDataset::tags)
      .def("_current_branch", &PyDataset::current_branch)
      .def("_head_commit", &PyDataset::head_commit)
      .def("_has_uncommitted_changes", &PyDataset::has_uncommitted_changes)
      .def("_status", &PyDataset::status)
      .def("_diff", &PyDataset::diff, nb::arg("a"), nb::arg("b") = "")
      .def("_reset", &PyDataset::reset, nb::arg("target") = "")
      .def("_merge", &PyDataset::merge, nb::arg("source"), nb::arg("policy") = "fail", nb::arg("message") = "")
      .def("_cherry_pick", &PyDataset::cherry_pick)
      .def("_gc", &PyDataset::gc)
      .def("_expire_history", &PyDataset::expire_history)
      .def("_compact", &PyDataset::compact)
      .def("rechunk", &PyDataset::rechunk, nb::arg("layouts"), nb::arg("order").none() = nb::none(),
           nb::arg("order_tensor") = "", nb::arg("max_memory") = uint64_t{256} << 20,
           nb::arg("progress").none() = nb::none(), nb::arg("message") = "",
           "Rewrites tensors' chunks (layouts: tensor -> {chunk_bytes, sample_compression, chunk_compression, "
           "compression_level}) and optionally the row order, within max_memory bytes, as one commit; returns "
           "the statistics (Dataset::rechunk in gtn/dataset.h).")
      .def("_rechunk", &PyDataset::rechunk, nb::arg("layouts"), nb::arg("order").none() = nb::none(),
           nb::arg("order_tensor") = "", nb::arg("max_memory") = uint64_t{256} << 20,
           nb::arg("progress").none() = nb::none(), nb::arg("message") = "");
  m.def("fsck", &fsck_path, nb::arg("path"),
        "Verifies every file of the dataset at `path`; returns a list of (object, problem).");
}

RegisterBinding reg(10, bind);

}  // namespace

Dataset& dataset_of(nb::handle py_dataset) { return nb::cast<PyDataset&>(py_dataset).ds(); }

void dataset_schema_changed(nb::handle py_dataset) { nb::cast<PyDataset&>(py_dataset).schema_changed(); }

}  // namespace gtn::py
