// Queries and saved views (gtn/query.h, docs/query.md): module functions taking the
// dataset object; python/gtn/view.py builds gtn.View on them.
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "gtn/query.h"
#include "module.h"

namespace gtn::py {
namespace {

// A numpy array owning `a` (moved to the heap; freed with the array).
nb::object to_numpy(Array a) {
  auto* held = new Array(std::move(a));
  nb::capsule owner(held, [](void* p) noexcept { delete static_cast<Array*>(p); });
  std::vector<size_t> shape(held->shape().begin(), held->shape().end());
  return nb::cast(nb::ndarray<nb::numpy>(const_cast<void*>(held->data()), shape.size(), shape.data(), owner, nullptr,
                                         dlpack_of(held->dtype())));
}

nb::object rows_to_numpy(std::vector<uint64_t> rows) {
  auto* held = new std::vector<uint64_t>(std::move(rows));
  nb::capsule owner(held, [](void* p) noexcept { delete static_cast<std::vector<uint64_t>*>(p); });
  size_t shape[1] = {held->size()};
  return nb::cast(nb::ndarray<nb::numpy, uint64_t>(held->data(), 1, shape, owner));
}

std::vector<uint64_t> rows_from(nb::ndarray<const uint64_t, nb::ndim<1>, nb::c_contig, nb::device::cpu> rows) {
  const uint64_t* p = rows.data();
  return std::vector<uint64_t>(p, p + rows.shape(0));
}

nb::dict query(nb::handle ds, const std::string& text, std::optional<nb::ndarray<const uint64_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>> rows,
               uint64_t seed, int n_threads, const std::string& model_dir) {
  const Dataset& d = dataset_of(ds);
  std::vector<uint64_t> row_list;
  QueryOptions opts;
  opts.seed = seed;
  opts.n_threads = n_threads;
  opts.model_dir = model_dir;
  if (rows) {
    row_list = rows_from(*rows);
    opts.rows = &row_list;
  }
  Result<QueryResult> r = Status::Internal("unset");
  {
    nb::gil_scoped_release release;
    r = run_query(d, text, opts);
  }
  QueryResult q = unwrap(std::move(r));
  nb::dict out;
  out["rows"] = rows_to_numpy(std::move(q.rows));
  out["commit"] = q.commit;
  out["uncommitted"] = q.uncommitted;
  out["version"] = q.version;
  out["query"] = q.query;
  nb::list cols;
  for (auto& c : q.columns) {
    nb::object values = c.tensor.empty() ? to_numpy(std::move(c.values)) : nb::none();
    cols.append(nb::make_tuple(c.name, c.tensor, values));
  }
  out["columns"] = cols;
  out["group_keys"] = q.group_keys;
  out["group_offsets"] = q.group_offsets;
  nb::dict stats;
  stats["rows_scanned"] = q.stats.rows_scanned;
  stats["chunks_scanned"] = q.stats.chunks_scanned;
  stats["chunks_skipped"] = q.stats.chunks_skipped;
  stats["bytes_read"] = q.stats.bytes_read;
  out["stats"] = stats;
  return out;
}

nb::dict view_to_dict(ViewRecord v, bool with_rows) {
  nb::dict out;
  out["name"] = v.name;
  out["commit"] = v.commit;
  out["query"] = v.query;
  out["message"] = v.message;
  out["time_ms"] = v.time_ms;
  out["size"] = v.size;
  if (with_rows) out["rows"] = rows_to_numpy(std::move(v.rows));
  return out;
}

void bind(nb::module_& m) {
  m.def("_query", &query, nb::arg("ds"), nb::arg("text"), nb::arg("rows").none() = nb::none(), nb::arg("seed") = 0,
        nb::arg("n_threads") = 0, nb::arg("model_dir") = "");
  m.def("_query_functions", &query_functions);
  m.def("_save_view", [](nb::handle ds, const std::string& name, const std::string& commit, const std::string& query,
                         nb::ndarray<const uint64_t, nb::ndim<1>, nb::c_contig, nb::device::cpu> rows, const std::string& message) {
    ViewRecord v;
    v.name = name;
    v.commit = commit;
    v.query = query;
    v.rows = rows_from(rows);
    v.message = message;
    Dataset& d = dataset_of(ds);
    Status st;
    {
      nb::gil_scoped_release release;
      st = d.save_view(v);
    }
    throw_if_error(st);
  });
  m.def("_load_view", [](nb::handle ds, const std::string& name) {
    return view_to_dict(unwrap(dataset_of(ds).load_view(name)), true);
  });
  m.def("_views", [](nb::handle ds) {
    nb::list out;
    for (auto& v : unwrap(dataset_of(ds).views())) out.append(view_to_dict(std::move(v), false));
    return out;
  });
  m.def("_delete_view", [](nb::handle ds, const std::string& name) { throw_if_error(dataset_of(ds).delete_view(name)); });
}

RegisterBinding reg(30, bind);

}  // namespace
}  // namespace gtn::py
