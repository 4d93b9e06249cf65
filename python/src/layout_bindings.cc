// Access traces and layout plans in Python: gtn._core.AccessTrace, gtn._core.LayoutPlan,
// and the functions python/gtn/dataset.py and python/gtn/layout.py build on
// (ds.trace(), ds.layout_plan(), ds.rechunk(strategy=...), gtn.load_trace()).
#include <memory>
#include <optional>

#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "gtn/access_trace.h"
#include "gtn/layout.h"
#include "module.h"

namespace gtn::py {
namespace {

nb::dict summary_dict(const TraceSummary& s) {
  nb::dict d;
  d["events"] = s.events;
  d["calls"] = s.calls;
  d["rows_read"] = s.rows_read;
  d["distinct_rows"] = s.distinct_rows;
  d["reread_fraction"] = s.reread_fraction;
  d["tensor_rows"] = nb::cast(s.tensor_rows);
  d["tensor_calls"] = nb::cast(s.tensor_calls);
  nb::list together;
  for (const auto& [set, n] : s.read_together) together.append(nb::make_tuple(nb::cast(set), n));
  d["read_together"] = together;
  d["sequential_fraction"] = s.sequential_fraction;
  d["contiguous_fraction"] = s.contiguous_fraction;
  d["batch_mean"] = s.batch_mean;
  d["batch_p50"] = s.batch_p50;
  d["batch_p90"] = s.batch_p90;
  d["batch_max"] = s.batch_max;
  d["batch_sizes"] = nb::cast(s.batch_sizes);
  d["readers"] = s.readers;
  d["processes"] = s.processes;
  d["max_concurrent_readers"] = s.max_concurrent_readers;
  d["duration_s"] = s.duration_s;
  d["class_locality"] = nb::cast(s.class_locality);
  d["graph_locality"] = nb::cast(s.graph_locality);
  d["text"] = s.to_string();
  return d;
}

// A call scope opened by a Python `with` block (thread-local, like the C++ scope).
class PyCallScope {
 public:
  void enter() { scope_.emplace(); }
  void exit(nb::args) { scope_.reset(); }

 private:
  std::optional<AccessTrace::CallScope> scope_;
};

nb::dict layout_dict(const TensorLayout& l) {
  nb::dict d;
  if (l.chunk_target_bytes) d["chunk_bytes"] = *l.chunk_target_bytes;
  if (l.sample_compression) d["sample_compression"] = std::string(compression_name(*l.sample_compression));
  if (l.chunk_compression) d["chunk_compression"] = std::string(compression_name(*l.chunk_compression));
  if (l.compression_level) d["compression_level"] = *l.compression_level;
  return d;
}

void bind_layout(nb::module_& m) {
  nb::class_<AccessTrace>(m, "AccessTrace", "The reads made through datasets it is attached to (gtn/access_trace.h).")
      .def(nb::new_([]() { return std::make_shared<AccessTrace>(); }))
      .def("__len__", &AccessTrace::size)
      .def("tensor_names", &AccessTrace::tensor_names)
      .def("clear", &AccessTrace::clear)
      .def("merge", &AccessTrace::merge)
      .def("save", [](const AccessTrace& t, const std::string& path) { throw_if_error(t.save(path)); },
           nb::arg("path"))
      .def("summary",
           [](const AccessTrace& t, nb::object dataset) {
             const Dataset* ds = dataset.is_none() ? nullptr : &dataset_of(dataset);
             if (ds && !ds->read_only()) return summary_dict(t.summarize(ds));
             TraceSummary s;
             {
               nb::gil_scoped_release release;  // read-only datasets may be read concurrently
               s = t.summarize(ds);
             }
             return summary_dict(s);
           },
           nb::arg("dataset").none() = nb::none())
      .def("events", [](const AccessTrace& t) {
        // Columns: name -> list (time_ns, call, begin, rows, tensor, thread, process).
        nb::dict d;
        std::vector<uint64_t> time, call, begin, rows;
        std::vector<uint32_t> tensor, thread, process;
        for (const auto& e : t.events()) {
          time.push_back(e.time_ns);
          call.push_back(e.call);
          begin.push_back(e.begin);
          rows.push_back(e.rows);
          tensor.push_back(e.tensor);
          thread.push_back(e.thread);
          process.push_back(e.process);
        }
        d["time_ns"] = nb::cast(time);
        d["call"] = nb::cast(call);
        d["begin"] = nb::cast(begin);
        d["rows"] = nb::cast(rows);
        d["tensor"] = nb::cast(tensor);
        d["thread"] = nb::cast(thread);
        d["process"] = nb::cast(process);
        return d;
      });
  m.def("load_trace",
        [](const std::string& path) { return unwrap(AccessTrace::load_merged(path)); }, nb::arg("path"),
        "Loads a trace file, or merges every *.gtntrace file of a directory or prefix.");
  m.def("_set_access_trace",
        [](nb::handle dataset, std::shared_ptr<AccessTrace> trace) { dataset_of(dataset).set_access_trace(std::move(trace)); },
        nb::arg("dataset"), nb::arg("trace").none());

  nb::class_<PyCallScope>(m, "_TraceCall")
      .def(nb::init<>())
      .def("__enter__", &PyCallScope::enter)
      .def("__exit__", &PyCallScope::exit);

  nb::class_<layout::LayoutPlan>(m, "LayoutPlan")
      .def_ro("strategy", &layout::LayoutPlan::strategy)
      .def_ro("groups", &layout::LayoutPlan::groups)
      .def_ro("order_tensor", &layout::LayoutPlan::order_tensor)
      .def_ro("order_why", &layout::LayoutPlan::order_why)
      .def_prop_ro("order", [](const layout::LayoutPlan& p) { return p.order; })
      .def("explain", &layout::LayoutPlan::explain)
      .def("to_json", &layout::LayoutPlan::to_json)
      .def("_rechunk_args", [](const layout::LayoutPlan& p) {
        RechunkOptions r = p.to_rechunk_options();
        nb::dict layouts;
        for (const auto& [name, l] : r.layouts) layouts[nb::str(name.c_str())] = layout_dict(l);
        nb::dict out;
        out["layouts"] = layouts;
        out["order"] = r.order ? nb::cast(*r.order) : nb::none();
        out["order_tensor"] = r.order_tensor;
        out["message"] = r.message;
        return out;
      });
  m.def("_layout_plan",
        [](nb::handle dataset, const std::string& strategy, std::shared_ptr<AccessTrace> trace,
           std::vector<std::string> tensors, double read_bytes_per_s, uint64_t sample_bytes, bool reorder,
           const std::string& order_tensor) {
          layout::PlanOptions o;
          o.strategy = strategy;
          o.trace = std::move(trace);
          o.tensors = std::move(tensors);
          if (read_bytes_per_s > 0) o.model.read_bytes_per_s = read_bytes_per_s;
          if (sample_bytes) o.sample_budget_bytes = sample_bytes;
          o.reorder = reorder;
          o.order_tensor = order_tensor;
          const Dataset& ds = dataset_of(dataset);
          Result<layout::LayoutPlan> r = Status::Internal("unset");
          if (!ds.read_only()) {
            r = layout::plan(ds, o);
          } else {
            nb::gil_scoped_release release;
            r = layout::plan(ds, o);
          }
          return unwrap(std::move(r));
        },
        nb::arg("dataset"), nb::arg("strategy") = "data", nb::arg("trace").none() = nb::none(),
        nb::arg("tensors") = std::vector<std::string>{}, nb::arg("read_bytes_per_s") = 0.0,
        nb::arg("sample_bytes") = uint64_t{0}, nb::arg("reorder") = true, nb::arg("order_tensor") = "orig_index");
}

RegisterBinding reg(40, bind_layout);

}  // namespace
}  // namespace gtn::py
