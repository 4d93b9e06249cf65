#include "gtn/ingest/ingest.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "gtn/ingest/column.h"
#include "gtn/ingest/file_util.h"
#include "gtn/ingest/image_file.h"
#include "gtn/npy.h"
#include "gtn/ingest/table.h"

namespace gtn::ingest {
namespace fs = std::filesystem;

namespace {

std::string join(const std::vector<std::string>& names) {
  std::string out = "[";
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
  return out + "]";
}

// Creates the tensors on an empty dataset, or checks that an existing one has exactly them.
Status prepare_tensors(Dataset& dst, const std::vector<TensorSpec>& specs) {
  std::vector<std::string> have = dst.tensor_names();
  std::vector<std::string> want;
  for (const TensorSpec& s : specs) want.push_back(s.name);
  if (have.empty()) {
    for (const TensorSpec& s : specs) GTN_RETURN_IF_ERROR(dst.create_tensor(s));
    return Status::OK();
  }
  if (std::set<std::string>(have.begin(), have.end()) != std::set<std::string>(want.begin(), want.end())) {
    return Status::InvalidArgument("the destination dataset has tensors " + join(have) + " but the source yields " +
                                   join(want) + "; ingest into a new dataset or one with the same tensors");
  }
  return Status::OK();
}

// The compression for an image tensor whose files have these extensions.
Compression pick_image_compression(const std::vector<std::string>& paths, const IngestOptions& options) {
  if (options.image_compression) return *options.image_compression;
  size_t png = 0;
  for (const std::string& p : paths) png += lower_extension(p) == ".png";
  return png * 2 > paths.size() ? Compression::kPng : Compression::kJpeg;
}

Result<Array> load_image(const std::string& path) {
  GTN_ASSIGN_OR_RETURN(ImageFile image, read_image_file(path));
  Result<Array> pixels = decode_image_file(image);
  if (!pixels.ok()) return pixels.status().WithContext(path);
  return pixels;
}

void report_progress(const IngestOptions& options, uint64_t done, uint64_t total) {
  if (options.progress) options.progress(done, total);
}

void warn(const IngestOptions& options, const std::string& message) {
  if (options.warn) options.warn(message);
}

Result<std::vector<fs::path>> sorted_entries(const fs::path& dir) {
  std::error_code ec;
  std::vector<fs::path> out;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) out.push_back(it->path());
  if (ec) return Status::IOError("cannot list " + dir.string() + ": " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

Result<IngestReport> ingest_folder(const std::string& src, Dataset& dst, const IngestOptions& options) {
  IngestReport report;
  report.format = SourceFormat::kFolder;
  std::vector<std::string> class_names;
  std::vector<std::pair<std::string, int64_t>> files;  // (path, class index)
  GTN_ASSIGN_OR_RETURN(std::vector<fs::path> top, sorted_entries(src));
  for (const fs::path& entry : top) {
    std::error_code ec;
    if (!fs::is_directory(entry, ec)) {
      ++report.skipped_files;
      warn(options, "skipped " + entry.string() + ": not inside a class folder (expected SRC/<class>/<image>)");
      continue;
    }
    auto label = static_cast<int64_t>(class_names.size());
    class_names.push_back(entry.filename().string());
    std::vector<fs::path> class_files;
    for (fs::recursive_directory_iterator it(entry, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->is_regular_file(ec)) class_files.push_back(it->path());
    }
    if (ec) return Status::IOError("cannot list " + entry.string() + ": " + ec.message());
    std::sort(class_files.begin(), class_files.end());
    for (const fs::path& f : class_files) {
      if (is_image_path(f.string())) {
        files.emplace_back(f.string(), label);
      } else {
        ++report.skipped_files;
        warn(options, "skipped " + f.string() + ": not a .jpg/.jpeg/.png image");
      }
    }
  }
  if (files.empty()) {
    return Status::InvalidArgument("no .jpg/.jpeg/.png images found under " + src +
                                   "; expected a folder of class folders: SRC/<class>/<image>");
  }
  std::vector<std::string> paths;
  for (const auto& f : files) paths.push_back(f.first);
  TensorSpec images;
  images.name = "images";
  images.htype = "image";
  images.dtype = DType::kUInt8;
  images.sample_compression = pick_image_compression(paths, options);
  TensorSpec labels;
  labels.name = "labels";
  labels.htype = "class_label";
  labels.dtype = DType::kInt64;
  labels.class_names = class_names;
  GTN_RETURN_IF_ERROR(prepare_tensors(dst, {images, labels}));
  report.tensors = {"images", "labels"};

  size_t batch = std::max<size_t>(1, options.batch_size);
  for (size_t begin = 0; begin < files.size(); begin += batch) {
    size_t end = std::min(files.size(), begin + batch);
    SampleBatch b;
    auto& img = b["images"];
    auto& lab = b["labels"];
    for (size_t i = begin; i < end; ++i) {
      GTN_ASSIGN_OR_RETURN(Array pixels, load_image(files[i].first));
      img.push_back(std::move(pixels));
      lab.push_back(Array::Scalar<int64_t>(DType::kInt64, files[i].second));
    }
    GTN_RETURN_IF_ERROR(dst.extend(b));
    report.samples = end;
    report_progress(options, end, files.size());
  }
  GTN_RETURN_IF_ERROR(dst.flush());
  return report;
}

Result<IngestReport> ingest_table(const Table& table, const fs::path& base_dir, bool cells_are_text,
                                  SourceFormat format, Dataset& dst, const IngestOptions& options) {
  IngestReport report;
  report.format = format;
  std::vector<ColumnPlan> plans;
  std::vector<TensorSpec> specs;
  for (size_t c = 0; c < table.names.size(); ++c) {
    ColumnPlan plan = infer_column(table.columns[c], cells_are_text);
    TensorSpec spec = column_tensor_spec(table.names[c], plan);
    if (plan.kind == ColumnKind::kImagePath) {
      std::vector<std::string> paths;
      for (const auto& cell : table.columns[c]) paths.push_back(cell.get<std::string>());
      spec.sample_compression = pick_image_compression(paths, options);
    }
    plans.push_back(plan);
    specs.push_back(spec);
    report.tensors.push_back(table.names[c]);
  }
  GTN_RETURN_IF_ERROR(prepare_tensors(dst, specs));
  size_t rows = table.num_rows();
  size_t batch = std::max<size_t>(1, options.batch_size);
  for (size_t begin = 0; begin < rows; begin += batch) {
    size_t end = std::min(rows, begin + batch);
    SampleBatch b;
    for (size_t c = 0; c < table.names.size(); ++c) {
      auto& out = b[table.names[c]];
      for (size_t r = begin; r < end; ++r) {
        const auto& cell = table.columns[c][r];
        Result<Array> value = Status::Internal("unset");
        if (plans[c].kind == ColumnKind::kImagePath) {
          fs::path p(cell.get<std::string>());
          if (p.is_relative()) p = base_dir / p;
          value = load_image(p.string());
          if (!value.ok()) value = value.status().WithContext("row " + std::to_string(r + 1));
        } else {
          value = cell_to_array(plans[c], cell, r);
        }
        if (!value.ok()) return value.status().WithContext("column '" + table.names[c] + "'");
        out.push_back(std::move(value).value());
      }
    }
    GTN_RETURN_IF_ERROR(dst.extend(b));
    report.samples = end;
    report_progress(options, end, rows);
  }
  GTN_RETURN_IF_ERROR(dst.flush());
  return report;
}

Result<IngestReport> ingest_npy(const std::string& src, Dataset& dst, const IngestOptions& options) {
  IngestReport report;
  report.format = SourceFormat::kNpy;
  std::vector<fs::path> files;
  std::error_code ec;
  if (fs::is_directory(src, ec)) {
    GTN_ASSIGN_OR_RETURN(std::vector<fs::path> entries, sorted_entries(src));
    for (const fs::path& p : entries) {
      if (lower_extension(p.string()) == ".npy") {
        files.push_back(p);
      } else {
        ++report.skipped_files;
        warn(options, "skipped " + p.string() + ": not a .npy file");
      }
    }
    if (files.empty()) return Status::InvalidArgument("no .npy files found in " + src);
  } else {
    files.push_back(src);
  }
  std::vector<std::string> names;
  std::vector<Array> arrays;
  std::vector<TensorSpec> specs;
  for (const fs::path& f : files) {
    GTN_ASSIGN_OR_RETURN(Array a, read_npy(f.string()));
    if (a.ndim() == 0) {
      return Status::InvalidArgument(f.string() + " holds a 0-d array; expected the first axis to be the samples");
    }
    if (!arrays.empty() && a.shape()[0] != arrays.front().shape()[0]) {
      return Status::InvalidArgument(f.string() + " has " + std::to_string(a.shape()[0]) + " samples but " +
                                     files.front().string() + " has " + std::to_string(arrays.front().shape()[0]) +
                                     "; every .npy file must have the same first axis");
    }
    TensorSpec spec;
    spec.name = f.stem().string();
    spec.dtype = a.dtype();
    specs.push_back(spec);
    names.push_back(spec.name);
    arrays.push_back(std::move(a));
  }
  GTN_RETURN_IF_ERROR(prepare_tensors(dst, specs));
  report.tensors = names;
  auto rows = static_cast<size_t>(arrays.front().shape()[0]);
  size_t batch = std::max<size_t>(1, options.batch_size);
  for (size_t begin = 0; begin < rows; begin += batch) {
    size_t end = std::min(rows, begin + batch);
    SampleBatch b;
    for (size_t t = 0; t < arrays.size(); ++t) {
      const Array& a = arrays[t];
      Shape sample_shape(a.shape().begin() + 1, a.shape().end());
      size_t sample_bytes = static_cast<size_t>(shape_numel(sample_shape)) * dtype_size(a.dtype());
      auto& out = b[names[t]];
      for (size_t r = begin; r < end; ++r) {
        const auto* p = static_cast<const uint8_t*>(a.data()) + r * sample_bytes;
        GTN_ASSIGN_OR_RETURN(Array view, Array::View(a.dtype(), sample_shape, p, sample_bytes, a.owner()));
        out.push_back(std::move(view));
      }
    }
    GTN_RETURN_IF_ERROR(dst.extend(b));
    report.samples = end;
    report_progress(options, end, rows);
  }
  GTN_RETURN_IF_ERROR(dst.flush());
  return report;
}

}  // namespace

std::string_view source_format_name(SourceFormat f) {
  switch (f) {
    case SourceFormat::kAuto: return "auto";
    case SourceFormat::kFolder: return "folder";
    case SourceFormat::kJsonl: return "jsonl";
    case SourceFormat::kCsv: return "csv";
    case SourceFormat::kNpy: return "npy";
  }
  return "?";
}

Result<SourceFormat> parse_source_format(std::string_view name) {
  for (SourceFormat f : {SourceFormat::kAuto, SourceFormat::kFolder, SourceFormat::kJsonl, SourceFormat::kCsv,
                         SourceFormat::kNpy}) {
    if (name == source_format_name(f)) return f;
  }
  return Status::InvalidArgument("unknown source format '" + std::string(name) +
                                 "'; expected auto, folder, jsonl, csv or npy");
}

Result<SourceFormat> detect_source_format(const std::string& src) {
  std::error_code ec;
  if (!fs::exists(src, ec)) return Status::NotFound("no such file or folder: " + src);
  if (fs::is_directory(src, ec)) {
    GTN_ASSIGN_OR_RETURN(std::vector<fs::path> entries, sorted_entries(src));
    bool any = false, all_npy = true;
    for (const fs::path& p : entries) {
      any = true;
      if (lower_extension(p.string()) != ".npy") all_npy = false;
    }
    return any && all_npy ? SourceFormat::kNpy : SourceFormat::kFolder;
  }
  std::string ext = lower_extension(src);
  if (ext == ".jsonl" || ext == ".ndjson") return SourceFormat::kJsonl;
  if (ext == ".csv") return SourceFormat::kCsv;
  if (ext == ".npy") return SourceFormat::kNpy;
  return Status::InvalidArgument("cannot tell the format of " + src +
                                 " from its name; expected a folder, .jsonl, .csv or .npy (or pass the format)");
}

Result<IngestReport> ingest(const std::string& src, Dataset& dst, const IngestOptions& options) {
  SourceFormat format = options.format;
  if (format == SourceFormat::kAuto) {
    GTN_ASSIGN_OR_RETURN(format, detect_source_format(src));
  }
  std::error_code ec;
  if (!fs::exists(src, ec)) return Status::NotFound("no such file or folder: " + src);
  switch (format) {
    case SourceFormat::kFolder:
      if (!fs::is_directory(src, ec)) return Status::InvalidArgument(src + " is not a folder; format 'folder' expects SRC/<class>/<image>");
      return ingest_folder(src, dst, options);
    case SourceFormat::kJsonl:
    case SourceFormat::kCsv: {
      GTN_ASSIGN_OR_RETURN(std::string text, read_file(src));
      bool csv = format == SourceFormat::kCsv;
      Result<Table> table = csv ? parse_csv(text) : parse_jsonl(text);
      if (!table.ok()) return table.status().WithContext(src);
      fs::path base = fs::path(src).parent_path();
      return ingest_table(*table, base, csv, format, dst, options);
    }
    case SourceFormat::kNpy:
      return ingest_npy(src, dst, options);
    case SourceFormat::kAuto:
      break;
  }
  return Status::Internal("unreachable source format");
}

}  // namespace gtn::ingest
