// gtn._core.ingest: files on disk -> a dataset (see src/gtn/ingest/ingest.h).
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "gtn/ingest/ingest.h"
#include "module.h"

namespace gtn::py {
namespace {

// Ingests `src` into the dataset at `dst` (created if missing) and returns a report dict.
// `progress(done, total)` and `warn(message)` are called with the GIL held.
nb::dict ingest_path(const std::string& src, const std::string& dst, const std::string& format,
                     std::optional<std::string> image_compression, size_t batch_size, nb::object progress,
                     nb::object warn) {
  ingest::IngestOptions options;
  options.format = unwrap(ingest::parse_source_format(format));
  if (image_compression) options.image_compression = unwrap(parse_compression(*image_compression));
  options.batch_size = batch_size;
  std::vector<std::string> warnings;
  if (!progress.is_none()) {
    options.progress = [&progress](uint64_t done, uint64_t total) {
      nb::gil_scoped_acquire acquire;
      try {
        progress(done, total);
      } catch (nb::python_error& e) {
        e.discard_as_unraisable("gtn.ingest progress callback");
      }
    };
  }
  options.warn = [&warnings](const std::string& message) { warnings.push_back(message); };
  Result<ingest::IngestReport> report = Status::Internal("unset");
  {
    nb::gil_scoped_release release;
    Result<std::unique_ptr<Dataset>> ds = Dataset::Open(dst);
    if (!ds.ok()) {
      report = ds.status();
    } else {
      report = ingest::ingest(src, **ds, options);
    }
  }
  ingest::IngestReport r = unwrap(std::move(report));
  if (!warn.is_none()) {
    for (const std::string& w : warnings) warn(w);
  }
  nb::dict out;
  out["format"] = std::string(ingest::source_format_name(r.format));
  out["samples"] = r.samples;
  out["skipped_files"] = r.skipped_files;
  out["tensors"] = r.tensors;
  out["warnings"] = warnings;
  return out;
}

void bind(nb::module_& m) {
  m.def("ingest", &ingest_path, nb::arg("src"), nb::arg("dst"), nb::arg("format") = "auto",
        nb::arg("image_compression") = nb::none(), nb::arg("batch_size") = 256, nb::arg("progress") = nb::none(),
        nb::arg("warn") = nb::none());
}

RegisterBinding reg(20, bind);

}  // namespace
}  // namespace gtn::py
