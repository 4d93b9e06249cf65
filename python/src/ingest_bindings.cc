// gtn._core.ingest / ingest_columns: files on disk or in-memory columns -> a dataset
// (include/gtn/ingest.h). The ingest runs without the GIL; `progress(done, total)` and
// `warn(message)` are called with it.
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "gtn/ingest.h"
#include "module.h"

namespace gtn::py {
namespace {

std::function<void(uint64_t, uint64_t)> progress_callback(nb::object& progress) {
  if (progress.is_none()) return nullptr;
  return [&progress](uint64_t done, uint64_t total) {
    nb::gil_scoped_acquire acquire;
    try {
      progress(done, total);
    } catch (nb::python_error& e) {
      e.discard_as_unraisable("gtn.ingest progress callback");
    }
  };
}

nb::dict report_dict(const ingest::IngestReport& r, const std::vector<std::string>& warnings) {
  nb::dict out;
  out["format"] = std::string(ingest::source_format_name(r.format));
  out["samples"] = r.samples;
  out["items"] = r.items;
  out["skipped_files"] = r.skipped_files;
  nb::list skipped;
  for (const ingest::SkippedItem& s : r.skipped) {
    nb::dict d;
    d["item"] = s.item;
    d["reason"] = s.reason;
    skipped.append(d);
  }
  out["skipped"] = skipped;
  out["kept_encoded"] = r.kept_encoded;
  out["tensors"] = r.tensors;
  out["warnings"] = warnings;
  out["commit"] = r.commit.empty() ? nb::object(nb::none()) : nb::object(nb::str(r.commit.c_str()));
  return out;
}

ingest::IngestOptions make_options(const std::string& format, std::optional<std::string> image_compression,
                                   const std::string& image_mode, const std::string& on_error,
                                   const std::string& header, std::optional<std::string> delimiter,
                                   const std::string& encoding, std::vector<std::string> columns,
                                   const std::string& label_column, std::vector<std::string> class_names,
                                   std::vector<std::string> stack, const std::string& stack_name, size_t batch_size) {
  ingest::IngestOptions options;
  options.format = unwrap(ingest::parse_source_format(format));
  if (image_compression) options.image_compression = unwrap(parse_compression(*image_compression));
  options.image_mode = unwrap(ingest::parse_image_mode(image_mode));
  options.on_error = unwrap(ingest::parse_on_error(on_error));
  options.table.header = unwrap(ingest::parse_csv_header(header));
  if (delimiter) {
    if (delimiter->size() != 1) throw nb::value_error(("delimiter must be one character, got '" + *delimiter + "'").c_str());
    options.table.delimiter = (*delimiter)[0];
  }
  options.table.encoding = encoding;
  options.table.columns = std::move(columns);
  options.table.label_column = label_column;
  options.table.class_names = std::move(class_names);
  options.table.stack_columns = std::move(stack);
  options.table.stack_name = stack_name;
  options.batch_size = batch_size;
  return options;
}

// Ingests `src` into the dataset at `dst` (created if missing, and removed again when the
// ingest fails) and returns a report dict.
nb::dict ingest_path(const std::string& src, const std::string& dst, const std::string& format,
                     std::optional<std::string> image_compression, const std::string& image_mode,
                     const std::string& on_error, const std::string& header, std::optional<std::string> delimiter,
                     const std::string& encoding, std::vector<std::string> columns, const std::string& label_column,
                     std::vector<std::string> class_names, std::vector<std::string> stack,
                     const std::string& stack_name, size_t batch_size, nb::object progress,
                     std::optional<std::string> commit, const std::string& layout) {
  ingest::IngestOptions options =
      make_options(format, image_compression, image_mode, on_error, header, delimiter, encoding, std::move(columns),
                   label_column, std::move(class_names), std::move(stack), stack_name, batch_size);
  options.commit = std::move(commit);
  options.layout = layout;
  std::vector<std::string> warnings;
  options.progress = progress_callback(progress);
  options.warn = [&warnings](const std::string& message) { warnings.push_back(message); };
  Result<ingest::IngestReport> report = Status::Internal("unset");
  {
    nb::gil_scoped_release release;
    report = ingest::ingest(src, dst, options, OpenOptions{});
  }
  return report_dict(unwrap(std::move(report)), warnings);
}

Result<DType> dtype_of(const nb::dlpack::dtype& t) {
  using nb::dlpack::dtype_code;
  auto code = static_cast<dtype_code>(t.code);
  if (code == dtype_code::Bool) return DType::kBool;
  if (code == dtype_code::Int) {
    switch (t.bits) {
      case 8: return DType::kInt8;
      case 16: return DType::kInt16;
      case 32: return DType::kInt32;
      case 64: return DType::kInt64;
    }
  }
  if (code == dtype_code::UInt) {
    switch (t.bits) {
      case 8: return DType::kUInt8;
      case 16: return DType::kUInt16;
      case 32: return DType::kUInt32;
      case 64: return DType::kUInt64;
    }
  }
  if (code == dtype_code::Float) {
    switch (t.bits) {
      case 16: return DType::kFloat16;
      case 32: return DType::kFloat32;
      case 64: return DType::kFloat64;
    }
  }
  return Status::InvalidArgument("unsupported array dtype (code " + std::to_string(t.code) + ", " +
                                 std::to_string(t.bits) + " bits)");
}

using CArray = nb::ndarray<nb::ro, nb::c_contig, nb::device::cpu>;

Array array_from(const CArray& a) {
  DType dtype = unwrap(dtype_of(a.dtype()));
  Shape shape;
  for (size_t k = 0; k < a.ndim(); ++k) shape.push_back(static_cast<int64_t>(a.shape(k)));
  return unwrap(Array::Copy(dtype, std::move(shape), a.data(), a.nbytes()));
}

// One sample of a per-row column: str (text, json), bytes, or a numpy array.
Array sample_from(nb::handle item, DType dtype) {
  if (nb::isinstance<nb::str>(item)) {
    Array a = Array::Text(nb::cast<std::string>(item));
    return dtype == DType::kBytes ? Array::Bytes(a.as_string_view()) : a;
  }
  if (nb::isinstance<nb::bytes>(item)) {
    nb::bytes b = nb::borrow<nb::bytes>(item);
    return Array::Bytes(std::string_view(b.c_str(), b.size()));
  }
  return array_from(nb::cast<CArray>(item));
}

// Columns: a list of dicts {"name", "htype", "dtype", "class_names", "sample_compression",
// and "rows" (a C-contiguous array, first axis = rows), "samples" (a list) or "images" (a
// list of JPEG/PNG file bytes)}.
nb::dict ingest_columns(nb::list columns, const std::string& dst, const std::string& source,
                        const std::string& on_error, std::optional<std::string> image_compression,
                        const std::string& image_mode, size_t batch_size, nb::object progress,
                        std::optional<std::string> commit, const std::string& layout) {
  std::vector<ingest::InputColumn> cols;
  for (nb::handle h : columns) {
    nb::dict d = nb::borrow<nb::dict>(h);
    ingest::InputColumn col;
    col.spec.name = nb::cast<std::string>(d["name"]);
    col.spec.htype = nb::cast<std::string>(d["htype"]);
    col.spec.dtype = unwrap(parse_dtype(nb::cast<std::string>(d["dtype"])));
    col.spec.class_names = nb::cast<std::vector<std::string>>(d["class_names"]);
    col.spec.sample_compression = unwrap(parse_compression(nb::cast<std::string>(d["sample_compression"])));
    if (d.contains("images")) {
      for (nb::handle item : nb::borrow<nb::list>(d["images"])) {
        nb::bytes b = nb::cast<nb::bytes>(item);
        col.images.emplace_back(b.c_str(), b.size());
      }
    } else if (d.contains("rows")) {
      col.rows = array_from(nb::cast<CArray>(d["rows"]));
    } else {
      for (nb::handle item : nb::borrow<nb::list>(d["samples"])) col.samples.push_back(sample_from(item, *col.spec.dtype));
    }
    cols.push_back(std::move(col));
  }
  ingest::IngestOptions options;
  options.on_error = unwrap(ingest::parse_on_error(on_error));
  if (image_compression) options.image_compression = unwrap(parse_compression(*image_compression));
  options.image_mode = unwrap(ingest::parse_image_mode(image_mode));
  options.batch_size = batch_size;
  options.progress = progress_callback(progress);
  options.commit = std::move(commit);
  options.layout = layout;
  Result<ingest::IngestReport> report = Status::Internal("unset");
  {
    nb::gil_scoped_release release;
    report = ingest::ingest_columns(cols, source, dst, options, OpenOptions{});
  }
  return report_dict(unwrap(std::move(report)), {});
}

void bind(nb::module_& m) {
  m.def("ingest", &ingest_path, nb::arg("src"), nb::arg("dst"), nb::arg("format") = "auto",
        nb::arg("image_compression") = nb::none(), nb::arg("image_mode") = "keep", nb::arg("on_error") = "raise",
        nb::arg("header") = "auto", nb::arg("delimiter") = nb::none(), nb::arg("encoding") = "utf-8",
        nb::arg("columns") = std::vector<std::string>{}, nb::arg("label_column") = "",
        nb::arg("class_names") = std::vector<std::string>{}, nb::arg("stack") = std::vector<std::string>{},
        nb::arg("stack_name") = "features", nb::arg("batch_size") = 256, nb::arg("progress") = nb::none(),
        nb::arg("commit") = nb::none(), nb::arg("layout") = "data");
  m.def("ingest_columns", &ingest_columns, nb::arg("columns"), nb::arg("dst"), nb::arg("source"),
        nb::arg("on_error") = "raise", nb::arg("image_compression") = nb::none(), nb::arg("image_mode") = "keep",
        nb::arg("batch_size") = 256, nb::arg("progress") = nb::none(), nb::arg("commit") = nb::none(),
        nb::arg("layout") = "data");
}

RegisterBinding reg(20, bind);

}  // namespace
}  // namespace gtn::py
