// Summaries in Python: gtn._core.summarize() and gtn._core.Summary, the engine behind
// gtn.Summary (python/gtn/summary.py). The statistics are computed without the GIL.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "gtn/summary.h"
#include "module.h"

namespace gtn::py {
namespace {

using RowArray = nb::ndarray<const int64_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

DatasetSummary summarize_py(nb::handle dataset, std::optional<RowArray> rows,
                            std::optional<std::vector<std::string>> tensors, int threads, int bins) {
  Dataset& ds = dataset_of(dataset);
  SummaryOptions options;
  options.n_threads = threads;
  options.histogram_bins = bins;
  if (tensors) options.tensors = *tensors;
  std::vector<uint64_t> row_list;
  if (rows) {
    row_list.resize(rows->shape(0));
    const int64_t* p = rows->data();
    for (size_t k = 0; k < row_list.size(); ++k) {
      if (p[k] < 0) {
        throw_if_error(Status::OutOfRange("row " + std::to_string(p[k]) + " (position " + std::to_string(k) +
                                          " of the rows given) is negative; rows are positions 0.." +
                                          std::to_string(ds.size()) + " - 1"));
      }
      row_list[k] = static_cast<uint64_t>(p[k]);
    }
  }
  Result<DatasetSummary> r = Status::Internal("unset");
  {
    nb::gil_scoped_release release;
    r = summarize(ds, rows ? &row_list : nullptr, options);
  }
  return unwrap(std::move(r));
}

void bind(nb::module_& m) {
  nb::class_<DatasetSummary>(m, "Summary")
      .def("to_json", [](const DatasetSummary& s) { return summary_to_json(s, -1); })
      .def("to_text", &summary_to_text)
      .def(
          "plot",
          [](const DatasetSummary& s, const std::string& path) {
            Status st;
            {
              nb::gil_scoped_release release;
              st = plot_summary(s, path);
            }
            throw_if_error(st);
          },
          nb::arg("path"));
  m.def("summarize", &summarize_py, nb::arg("dataset"), nb::arg("rows") = nb::none(),
        nb::arg("tensors") = nb::none(), nb::arg("threads") = 0, nb::arg("bins") = 32,
        "Per-tensor statistics of a dataset's rows, or of `rows` (a view's rows: int64 positions)");
}

RegisterBinding reg(30, bind);

}  // namespace
}  // namespace gtn::py
