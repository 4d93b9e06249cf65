#include "gtn/ingest.h"
#include "gtn/layout.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>

#include "gtn/codec/image_codec.h"
#include "gtn/ingest/column.h"
#include "gtn/ingest/file_util.h"
#include "gtn/ingest/image_file.h"
#include "gtn/ingest/table.h"
#include "gtn/npy.h"

namespace gtn::ingest {
namespace fs = std::filesystem;

namespace {

// One tensor's value for one item: pixels/values, or an image file's bytes kept as they are.
struct Value {
  Array array;
  bool is_encoded = false;
  std::string encoded;
  Shape encoded_shape;
};
using Row = std::vector<Value>;  // one Value per tensor, in spec order

// A source read far enough to know its tensors and items; items are read one by one.
struct Plan {
  SourceFormat format = SourceFormat::kAuto;
  std::string source;  // for messages
  std::vector<TensorSpec> specs;
  size_t num_items = 0;
  uint64_t skipped_files = 0;
  std::function<std::string(size_t)> item_name;
  // Reads item i for tensors of `specs` (the dataset's actual specs).
  std::function<Result<Row>(size_t, const std::vector<TensorSpec>&)> read;
};

std::string join(const std::vector<std::string>& names) {
  std::string out = "[";
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
  return out + "]";
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

// --- images ---

// Turns an image file's bytes into the value of an image tensor of `spec`.
Result<Value> load_image_bytes(std::string bytes, const TensorSpec& spec, ImageMode mode) {
  GTN_ASSIGN_OR_RETURN(ImageFile image, probe_image(std::move(bytes)));
  DType dtype = spec.dtype.value_or(DType::kUInt8);
  if (image.header.dtype != dtype) {
    return Status::InvalidArgument(
        "is a " + std::to_string(image.header.bit_depth) + "-bit " + std::string(compression_name(image.header.format)) +
        " image (" + std::string(dtype_name(image.header.dtype)) + ") but tensor '" + spec.name + "' holds " +
        std::string(dtype_name(dtype)) + " images (as most of the images are); ingest 8-bit and 16-bit images separately");
  }
  GTN_ASSIGN_OR_RETURN(Array pixels, decode_image_file(image));  // checks the whole file decodes
  int decoded = static_cast<int>(image.header.shape[2]);
  int channels = mode_channels(mode, decoded);
  Value v;
  if (channels == decoded && image.header.format == spec.sample_compression) {
    v.is_encoded = true;
    v.encoded = std::move(image.bytes);
    v.encoded_shape = image.header.shape;
    return v;
  }
  v.array = channels == decoded ? std::move(pixels) : convert_channels(pixels, channels);
  return v;
}

// Reads an image file into the value of an image tensor of `spec`.
Result<Value> load_image(const std::string& path, const TensorSpec& spec, ImageMode mode) {
  GTN_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  return load_image_bytes(std::move(bytes), spec, mode);
}

// The sample compression of an image tensor whose files have these extensions.
Compression pick_image_compression(const std::vector<std::string>& paths, DType dtype, const IngestOptions& options) {
  if (options.image_compression) return *options.image_compression;
  if (dtype == DType::kUInt16) return Compression::kPng;
  size_t png = 0;
  for (const std::string& p : paths) png += lower_extension(p) == ".png";
  return png * 2 > paths.size() ? Compression::kPng : Compression::kJpeg;
}

// The dtype of an image tensor: uint16 when most of `paths` are 16-bit PNGs, else uint8.
// Only the first 26 bytes of each .png file are read (the PNG signature and IHDR's bit
// depth); JPEGs are always 8-bit.
DType majority_image_dtype(const std::vector<std::string>& paths) {
  size_t deep = 0, narrow = 0;
  for (const std::string& p : paths) {
    if (lower_extension(p) != ".png") {
      ++narrow;
      continue;
    }
    std::ifstream in(p, std::ios::binary);
    char head[26];
    if (!in.read(head, sizeof(head)) || std::string_view(head, 8) != "\x89PNG\r\n\x1A\n" ||
        std::string_view(head + 12, 4) != "IHDR") {
      continue;  // not a PNG: its own item fails later
    }
    (head[24] == 16 ? deep : narrow) += 1;
  }
  return deep > narrow ? DType::kUInt16 : DType::kUInt8;
}

// --- writing ---

// Creates the tensors on a dataset without tensors (returning their names), or checks
// that an existing one has exactly them. `specs` becomes the dataset's actual specs.
Result<std::vector<std::string>> prepare_tensors(Dataset& dst, std::vector<TensorSpec>& specs,
                                                 const IngestOptions& options) {
  std::vector<std::string> have = dst.tensor_names();
  std::vector<std::string> want;
  for (const TensorSpec& s : specs) want.push_back(s.name);
  std::vector<std::string> created;
  if (have.empty()) {
    for (TensorSpec& s : specs) {
      Status st = dst.create_tensor(s);
      if (!st.ok()) {
        for (const std::string& name : created) (void)dst.delete_tensor(name);
        return st;
      }
      created.push_back(s.name);
    }
    return created;
  }
  if (std::set<std::string>(have.begin(), have.end()) != std::set<std::string>(want.begin(), want.end())) {
    return Status::InvalidArgument("the destination dataset has tensors " + join(have) + " but the source yields " +
                                   join(want) + "; ingest into a new dataset or one with the same tensors");
  }
  for (TensorSpec& s : specs) {
    GTN_ASSIGN_OR_RETURN(s, dst.tensor_spec(s.name));
  }
  return created;
}

Status rollback(Dataset& dst, uint64_t size_before, const std::vector<std::string>& created) {
  Status st = dst.size() > size_before ? dst.truncate(size_before) : Status::OK();
  for (auto it = created.rbegin(); it != created.rend(); ++it) {
    Status d = dst.delete_tensor(*it);
    if (st.ok()) st = d;
  }
  Status f = dst.flush();
  return st.ok() ? f : st;
}

Result<Array> decode_value(const Value& v, const TensorSpec& spec) {
  DType dtype = spec.dtype.value_or(DType::kUInt8);
  Array a = Array::Zeros(dtype, v.encoded_shape);
  GTN_RETURN_IF_ERROR(codec::decode_image(spec.sample_compression, dtype, v.encoded, v.encoded_shape, a.mutable_data()));
  return a;
}

// Writes rows whose tensors are each all encoded or all decoded.
Status write_uniform(Dataset& dst, const std::vector<TensorSpec>& specs, const std::vector<const Row*>& rows,
                     uint64_t* kept) {
  bool any_encoded = false;
  for (size_t t = 0; t < specs.size(); ++t) any_encoded = any_encoded || (*rows.front())[t].is_encoded;
  if (any_encoded) {
    ColumnBatch cb;
    bool columnar = true;
    for (size_t t = 0; t < specs.size() && columnar; ++t) {
      Column& col = cb[specs[t].name];
      const Value& first = (*rows.front())[t];
      if (first.is_encoded) {
        for (const Row* r : rows) {
          col.items.push_back((*r)[t].encoded);
          col.encoded_shapes.push_back((*r)[t].encoded_shape);
        }
      } else if (dtype_is_bytes_like(first.array.dtype())) {
        for (const Row* r : rows) col.items.push_back((*r)[t].array.as_string_view());
      } else {
        const Array& a0 = first.array;
        for (const Row* r : rows) {
          if ((*r)[t].array.shape() != a0.shape() || (*r)[t].array.dtype() != a0.dtype()) columnar = false;
        }
        if (!columnar) break;
        Shape shape = a0.shape();
        shape.insert(shape.begin(), static_cast<int64_t>(rows.size()));
        Array all = Array::Zeros(a0.dtype(), shape);
        auto* out = static_cast<uint8_t*>(all.mutable_data());
        for (const Row* r : rows) {
          const Array& a = (*r)[t].array;
          if (a.nbytes()) std::memcpy(out, a.data(), a.nbytes());
          out += a.nbytes();
        }
        col.rows = std::move(all);
      }
    }
    if (columnar) {
      GTN_RETURN_IF_ERROR(dst.extend_columns(cb));
      for (size_t t = 0; t < specs.size(); ++t) {
        if ((*rows.front())[t].is_encoded) *kept += rows.size();
      }
      return Status::OK();
    }
  }
  SampleBatch b;
  for (size_t t = 0; t < specs.size(); ++t) {
    auto& out = b[specs[t].name];
    for (const Row* r : rows) {
      const Value& v = (*r)[t];
      if (v.is_encoded) {
        GTN_ASSIGN_OR_RETURN(Array a, decode_value(v, specs[t]));
        out.push_back(std::move(a));
      } else {
        out.push_back(v.array);
      }
    }
  }
  return dst.extend(b);
}

// Writes rows, in runs whose tensors are each all encoded or all decoded.
Status write_rows(Dataset& dst, const std::vector<TensorSpec>& specs, const std::vector<const Row*>& rows,
                  uint64_t* kept) {
  size_t begin = 0;
  while (begin < rows.size()) {
    size_t end = begin + 1;
    auto same = [&](const Row& a, const Row& b) {
      for (size_t t = 0; t < specs.size(); ++t) {
        if (a[t].is_encoded != b[t].is_encoded) return false;
      }
      return true;
    };
    while (end < rows.size() && same(*rows[begin], *rows[end])) ++end;
    GTN_RETURN_IF_ERROR(write_uniform(dst, specs, {rows.begin() + begin, rows.begin() + end}, kept));
    begin = end;
  }
  return Status::OK();
}

// The data-driven layout of each tensor from the first batch of rows (gtn/layout.h): chunk
// size and byte compression. Image tensors keep their image codec (explicit or the files').
void plan_specs(std::vector<TensorSpec>& specs, const std::vector<const Row*>& rows, size_t items,
                const IngestOptions& options) {
  (void)options;
  for (size_t t = 0; t < specs.size(); ++t) {
    layout::SampleSet set;
    set.dtype = specs[t].dtype.value_or(DType::kUInt8);
    std::vector<Array> decoded;  // keeps decoded images alive for `raw`
    decoded.reserve(rows.size());
    for (const Row* r : rows) {
      const Value& v = (*r)[t];
      if (v.is_encoded) {
        Result<Array> a = decode_value(v, specs[t]);
        if (!a.ok()) return;  // the write reports it
        decoded.push_back(std::move(*a));
        set.raw.emplace_back(static_cast<const char*>(decoded.back().data()), decoded.back().nbytes());
        set.shapes.push_back(v.encoded_shape);
        set.encoded.push_back(v.encoded);
        set.image_codec = specs[t].sample_compression;
      } else {
        set.raw.emplace_back(static_cast<const char*>(v.array.data()), v.array.nbytes());
        set.shapes.push_back(v.array.shape());
      }
    }
    if (!set.encoded.empty() && set.encoded.size() != set.raw.size()) {
      set.encoded.clear();
      set.image_codec = Compression::kNone;
    }
    Result<layout::TensorPlan> p = layout::plan_tensor(specs[t], set, items);
    if (!p.ok()) continue;
    specs[t].chunk_target_bytes = p->chunk_target_bytes;
    bool image = specs[t].sample_compression == Compression::kJpeg || specs[t].sample_compression == Compression::kPng;
    if (!image) {
      specs[t].sample_compression = p->sample_compression;
      specs[t].chunk_compression = p->chunk_compression;
      specs[t].compression_level = p->compression_level;
    }
  }
}

Result<IngestReport> run(Plan& plan, Dataset& dst, const IngestOptions& options) {
  IngestReport report;
  report.format = plan.format;
  report.skipped_files = plan.skipped_files;
  for (const TensorSpec& s : plan.specs) report.tensors.push_back(s.name);
  const uint64_t size_before = dst.size();
  if (options.layout != "data" && options.layout != "fixed") {
    return Status::InvalidArgument("unknown ingest layout '" + options.layout + "'; expected data or fixed");
  }
  // A new dataset's tensors are created with the first batch, laid out by the data planner
  // from it (unless layout="fixed").
  const bool plan_layout = options.layout == "data" && dst.tensor_names().empty();
  std::vector<std::string> created;
  if (!plan_layout) {
    GTN_ASSIGN_OR_RETURN(created, prepare_tensors(dst, plan.specs, options));
  }
  bool tensors_ready = !plan_layout;
  const size_t n = plan.num_items;
  auto fail = [&](size_t i, const Status& st) {
    Status rb = rollback(dst, size_before, created);
    std::string msg = plan.source + ": item " + std::to_string(i + 1) + " of " + std::to_string(n) + " (" +
                      plan.item_name(i) + ") failed after " + std::to_string(i) + " item(s) were read: " + st.message();
    msg += rb.ok() ? "; nothing was ingested (the dataset is as it was before)"
                   : "; rolling the dataset back failed too: " + rb.message();
    return Status(st.code(), msg);
  };
  auto skip = [&](size_t i, const Status& st) {
    report.skipped.push_back({plan.item_name(i), st.message()});
  };
  const size_t batch = std::max<size_t>(1, options.batch_size);
  std::vector<std::pair<size_t, Row>> pending;
  bool rolled_back = false;  // write_pending already failed the ingest (and rolled back)
  auto write_pending = [&]() -> Status {
    if (pending.empty()) return Status::OK();
    std::vector<const Row*> rows;
    for (auto& p : pending) rows.push_back(&p.second);
    if (!tensors_ready) {
      plan_specs(plan.specs, rows, n, options);
      GTN_ASSIGN_OR_RETURN(created, prepare_tensors(dst, plan.specs, options));
      tensors_ready = true;
    }
    uint64_t before = dst.size();
    uint64_t kept = 0;
    Status st = write_rows(dst, plan.specs, rows, &kept);
    if (st.ok()) {
      report.samples += rows.size();
      report.kept_encoded += kept;
      pending.clear();
      return Status::OK();
    }
    // Find the item that the store refused: write the batch again one row at a time.
    if (dst.size() > before) GTN_RETURN_IF_ERROR(dst.truncate(before));
    for (auto& [i, row] : pending) {
      uint64_t row_before = dst.size();
      kept = 0;
      Status one = write_rows(dst, plan.specs, {&row}, &kept);
      if (one.ok()) {
        report.samples += 1;
        report.kept_encoded += kept;
        continue;
      }
      if (dst.size() > row_before) GTN_RETURN_IF_ERROR(dst.truncate(row_before));
      if (options.on_error == OnError::kSkip) {
        skip(i, one);
      } else {
        size_t failed = i;
        pending.clear();
        rolled_back = true;
        return fail(failed, one);
      }
    }
    pending.clear();
    return Status::OK();
  };
  for (size_t i = 0; i < n; ++i) {
    Result<Row> row = plan.read(i, plan.specs);
    if (!row.ok()) {
      if (options.on_error == OnError::kSkip) {
        skip(i, row.status());
      } else {
        return fail(i, row.status());
      }
    } else {
      pending.emplace_back(i, std::move(row).value());
    }
    if (pending.size() >= batch || i + 1 == n) {
      Status st = write_pending();
      if (!st.ok()) return rolled_back ? st : fail(i, st);
      if (options.progress) options.progress(i + 1, n);
    }
  }
  report.items = n;
  Status st = dst.flush();
  if (!st.ok()) return fail(n - 1, st);
  if (options.commit) {
    Result<std::string> id = dst.commit(*options.commit);
    if (!id.ok()) return id.status().WithContext("ingest: the samples are written, the commit failed");
    report.commit = *id;
  }
  return report;
}

// --- sources ---

Result<Plan> plan_folder(const std::string& src, const IngestOptions& options) {
  Plan plan;
  plan.format = SourceFormat::kFolder;
  plan.source = src;
  std::vector<std::string> class_names;
  auto files = std::make_shared<std::vector<std::pair<std::string, int64_t>>>();  // (path, class index)
  GTN_ASSIGN_OR_RETURN(std::vector<fs::path> top, sorted_entries(src));
  for (const fs::path& entry : top) {
    std::error_code ec;
    if (!fs::is_directory(entry, ec)) {
      ++plan.skipped_files;
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
        files->emplace_back(f.string(), label);
      } else {
        ++plan.skipped_files;
        warn(options, "skipped " + f.string() + ": not a .jpg/.jpeg/.png image");
      }
    }
  }
  if (files->empty()) {
    return Status::InvalidArgument("no .jpg/.jpeg/.png images found under " + src +
                                   "; expected a folder of class folders: SRC/<class>/<image>");
  }
  std::vector<std::string> paths;
  for (const auto& f : *files) paths.push_back(f.first);
  TensorSpec images;
  images.name = "images";
  images.htype = "image";
  images.dtype = majority_image_dtype(paths);
  images.sample_compression = pick_image_compression(paths, *images.dtype, options);
  TensorSpec labels;
  labels.name = "labels";
  labels.htype = "class_label";
  labels.dtype = DType::kInt64;
  labels.class_names = class_names;
  plan.specs = {images, labels};
  plan.num_items = files->size();
  fs::path base(src);
  plan.item_name = [files, base](size_t i) { return fs::path((*files)[i].first).lexically_relative(base).string(); };
  ImageMode mode = options.image_mode;
  plan.read = [files, mode](size_t i, const std::vector<TensorSpec>& specs) -> Result<Row> {
    Row row(2);
    GTN_ASSIGN_OR_RETURN(row[0], load_image((*files)[i].first, specs[0], mode));
    row[1].array = Array::Scalar<int64_t>(DType::kInt64, (*files)[i].second);
    return row;
  };
  return plan;
}

// How one output tensor of a table is made.
struct TableTensor {
  enum Kind { kPlain, kImage, kLabel, kStack } kind = kPlain;
  std::vector<size_t> columns;  // source columns (one, or the stacked ones)
  ColumnPlan plan;              // kPlain
  std::map<std::string, int64_t> label_index;  // kLabel: text -> class index
  bool label_ints = false;                     // kLabel: integer values are the index
  size_t num_classes = 0;
  DType stack_dtype = DType::kFloat64;
};

Result<size_t> column_index(const Table& t, const std::string& name, const std::string& what) {
  for (size_t c = 0; c < t.names.size(); ++c) {
    if (t.names[c] == name) return c;
  }
  return Status::InvalidArgument(what + " '" + name + "' is not a column; the columns are " + join(t.names));
}

Result<Plan> plan_table(std::shared_ptr<Table> table, const fs::path& base_dir, bool cells_are_text,
                        SourceFormat format, const std::string& source, const IngestOptions& options) {
  const TableOptions& topt = options.table;
  std::string label = topt.label_column;
  std::vector<std::string> class_names = topt.class_names;
  std::vector<std::string> stack = topt.stack_columns;
  std::string stack_name = topt.stack_name;
  // Columns kept, in order.
  std::vector<size_t> keep;
  if (topt.columns.empty()) {
    for (size_t c = 0; c < table->names.size(); ++c) keep.push_back(c);
  } else {
    for (const std::string& name : topt.columns) {
      GTN_ASSIGN_OR_RETURN(size_t c, column_index(*table, name, "the selected column"));
      keep.push_back(c);
    }
  }
  if (table->count_header) {
    // scikit-learn's layout: features stacked into "data", "target" a class label; only
    // for the kept columns, and only where the caller did not choose.
    const size_t target = table->names.size() - 1;
    bool target_kept = std::find(keep.begin(), keep.end(), target) != keep.end();
    if (label.empty() && target_kept) {
      label = "target";
      if (class_names.empty()) class_names = table->count_class_names;
    }
    if (stack.empty()) {
      for (size_t c : keep) {
        if (c != target) stack.push_back(table->names[c]);
      }
      if (stack_name == "features") stack_name = "data";
    }
  }
  std::vector<ColumnPlan> plans(table->names.size());
  for (size_t c : keep) plans[c] = infer_column(table->columns[c], cells_are_text);
  std::optional<size_t> label_col;
  if (!label.empty()) {
    GTN_ASSIGN_OR_RETURN(size_t c, column_index(*table, label, "the label column"));
    if (std::find(keep.begin(), keep.end(), c) == keep.end()) {
      return Status::InvalidArgument("the label column '" + label + "' is not among the selected columns " +
                                     join(topt.columns));
    }
    label_col = c;
  }
  std::vector<size_t> stacked;  // in the order given
  auto is_stacked = [&stacked](size_t c) { return std::find(stacked.begin(), stacked.end(), c) != stacked.end(); };
  if (stack.size() == 1 && stack[0] == "*") {
    for (size_t c : keep) {
      if (c != label_col && (plans[c].kind == ColumnKind::kInt64 || plans[c].kind == ColumnKind::kFloat64)) stacked.push_back(c);
    }
    if (stacked.empty()) return Status::InvalidArgument("stack='*' found no int64 or float64 column to stack");
  } else {
    for (const std::string& name : stack) {
      GTN_ASSIGN_OR_RETURN(size_t c, column_index(*table, name, "the stacked column"));
      if (c == label_col) return Status::InvalidArgument("the label column '" + name + "' cannot also be stacked");
      if (std::find(keep.begin(), keep.end(), c) == keep.end()) {
        return Status::InvalidArgument("the stacked column '" + name + "' is not among the selected columns");
      }
      ColumnKind k = plans[c].kind;
      if (k != ColumnKind::kInt64 && k != ColumnKind::kFloat64) {
        return Status::InvalidArgument("the stacked column '" + name + "' holds " +
                                       std::string(column_kind_name(k)) + " values; only numeric columns stack");
      }
      if (is_stacked(c)) return Status::InvalidArgument("the stacked column '" + name + "' is given twice");
      stacked.push_back(c);
    }
  }
  auto tensors = std::make_shared<std::vector<TableTensor>>();
  Plan plan;
  plan.format = format;
  plan.source = source;
  bool stack_added = false;
  for (size_t c : keep) {
    const std::string& name = table->names[c];
    if (is_stacked(c)) {
      if (stack_added) continue;
      stack_added = true;
      TableTensor t;
      t.kind = TableTensor::kStack;
      t.columns.assign(stacked.begin(), stacked.end());
      bool all_int = true;
      for (size_t s : stacked) all_int = all_int && plans[s].kind == ColumnKind::kInt64;
      t.stack_dtype = all_int ? DType::kInt64 : DType::kFloat64;
      TensorSpec spec;
      spec.name = stack_name;
      spec.dtype = t.stack_dtype;
      plan.specs.push_back(spec);
      tensors->push_back(std::move(t));
      continue;
    }
    TableTensor t;
    t.columns = {c};
    TensorSpec spec;
    if (label_col && c == *label_col) {
      t.kind = TableTensor::kLabel;
      spec.name = name;
      spec.htype = "class_label";
      spec.dtype = DType::kInt64;
      const auto& cells = table->columns[c];
      bool ints = true;
      int64_t max_int = -1;
      for (const auto& cell : cells) {
        if (cell.is_null()) continue;
        int64_t v;
        std::string s = cell_text(cell);
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc() || p != s.data() + s.size() || v < 0) {
          ints = false;
        } else {
          max_int = std::max(max_int, v);
        }
      }
      if (!class_names.empty()) {
        for (size_t k = 0; k < class_names.size(); ++k) t.label_index.emplace(class_names[k], static_cast<int64_t>(k));
        t.label_ints = ints;
        spec.class_names = class_names;
      } else if (ints) {
        t.label_ints = true;
        for (int64_t k = 0; k <= max_int; ++k) spec.class_names.push_back(std::to_string(k));
      } else {
        std::set<std::string> distinct;
        for (const auto& cell : cells) {
          if (!cell.is_null()) distinct.insert(cell_text(cell));
        }
        spec.class_names.assign(distinct.begin(), distinct.end());
        for (size_t k = 0; k < spec.class_names.size(); ++k) t.label_index.emplace(spec.class_names[k], static_cast<int64_t>(k));
      }
      t.num_classes = spec.class_names.size();
    } else {
      t.plan = plans[c];
      spec = column_tensor_spec(name, t.plan);
      if (t.plan.kind == ColumnKind::kImagePath) {
        t.kind = TableTensor::kImage;
        std::vector<std::string> paths;
        for (const auto& cell : table->columns[c]) {
          fs::path p(cell.get<std::string>());
          paths.push_back((p.is_relative() ? base_dir / p : p).string());
        }
        spec.dtype = majority_image_dtype(paths);
        spec.sample_compression = pick_image_compression(paths, *spec.dtype, options);
      }
    }
    plan.specs.push_back(spec);
    tensors->push_back(std::move(t));
  }
  if (plan.specs.empty()) return Status::InvalidArgument(source + " has no columns");
  plan.num_items = table->num_rows();
  plan.item_name = [table](size_t i) { return table->row_names[i]; };
  ImageMode mode = options.image_mode;
  plan.read = [table, tensors, base_dir, mode](size_t r, const std::vector<TensorSpec>& specs) -> Result<Row> {
    if (!table->row_errors[r].empty()) return Status::InvalidArgument(table->row_errors[r]);
    Row row(tensors->size());
    for (size_t t = 0; t < tensors->size(); ++t) {
      const TableTensor& tt = (*tensors)[t];
      const std::string& cname = table->names[tt.columns[0]];
      auto in_column = [&](const Status& st) { return st.WithContext("column '" + cname + "'"); };
      const auto& cell = table->columns[tt.columns[0]][r];
      switch (tt.kind) {
        case TableTensor::kPlain: {
          Result<Array> v = cell_to_array(tt.plan, cell);
          if (!v.ok()) return in_column(v.status());
          row[t].array = std::move(v).value();
          break;
        }
        case TableTensor::kImage: {
          if (cell.is_null()) return in_column(Status::InvalidArgument("no image path"));
          fs::path p(cell.get<std::string>());
          if (p.is_relative()) p = base_dir / p;
          Result<Value> v = load_image(p.string(), specs[t], mode);
          if (!v.ok()) return in_column(v.status().WithContext(p.string()));
          row[t] = std::move(v).value();
          break;
        }
        case TableTensor::kLabel: {
          if (cell.is_null()) {
            row[t].array = Array::Zeros(DType::kInt64, {0});
            break;
          }
          std::string s = cell_text(cell);
          auto it = tt.label_index.find(s);
          int64_t v = -1;
          if (it != tt.label_index.end()) {
            v = it->second;
          } else if (tt.label_ints) {
            auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
            if (ec != std::errc() || p != s.data() + s.size()) v = -1;
          }
          if (v < 0 || static_cast<size_t>(v) >= tt.num_classes) {
            return in_column(Status::InvalidArgument("the label " + s + " is not one of the " +
                                                     std::to_string(tt.num_classes) + " class names (or their index)"));
          }
          row[t].array = Array::Scalar<int64_t>(DType::kInt64, v);
          break;
        }
        case TableTensor::kStack: {
          Array a = Array::Zeros(tt.stack_dtype, {static_cast<int64_t>(tt.columns.size())});
          for (size_t k = 0; k < tt.columns.size(); ++k) {
            const auto& sc = table->columns[tt.columns[k]][r];
            const std::string& sname = table->names[tt.columns[k]];
            if (tt.stack_dtype == DType::kInt64) {
              ColumnPlan p;
              p.kind = ColumnKind::kInt64;
              p.cells_are_text = true;
              if (sc.is_null()) {
                return Status::InvalidArgument("column '" + sname + "' has no value; an int64 stack cannot hold a missing value");
              }
              Result<Array> v = cell_to_array(p, sc);
              if (!v.ok()) return v.status().WithContext("column '" + sname + "'");
              static_cast<int64_t*>(a.mutable_data())[k] = *v->data_as<int64_t>();
            } else {
              Result<std::optional<double>> v = cell_to_double(sc, true);
              if (!v.ok()) return v.status().WithContext("column '" + sname + "'");
              static_cast<double*>(a.mutable_data())[k] = v->value_or(std::numeric_limits<double>::quiet_NaN());
            }
          }
          row[t].array = std::move(a);
          break;
        }
      }
    }
    return row;
  };
  return plan;
}

Result<Plan> plan_text_table(const std::string& src, SourceFormat format, const IngestOptions& options) {
  GTN_ASSIGN_OR_RETURN(std::string text, read_file(src));
  const TableOptions& topt = options.table;
  std::string enc = topt.encoding;
  std::transform(enc.begin(), enc.end(), enc.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (enc == "latin-1" || enc == "latin1" || enc == "iso-8859-1") {
    text = latin1_to_utf8(text);
  } else if (enc != "utf-8" && enc != "utf8") {
    return Status::InvalidArgument("unknown encoding '" + topt.encoding + "'; expected utf-8 or latin-1");
  }
  bool csv = format == SourceFormat::kCsv;
  char delim = topt.delimiter ? topt.delimiter : (lower_extension(src) == ".tsv" ? '\t' : ',');
  Result<Table> table = csv ? parse_csv(text, delim, topt.header) : parse_jsonl(text);
  if (!table.ok()) return table.status().WithContext(src);
  auto shared = std::make_shared<Table>(std::move(table).value());
  return plan_table(shared, fs::path(src).parent_path(), csv, format, src, options);
}

Result<Plan> plan_npy(const std::string& src, const IngestOptions& options) {
  Plan plan;
  plan.format = SourceFormat::kNpy;
  plan.source = src;
  std::vector<fs::path> files;
  std::error_code ec;
  if (fs::is_directory(src, ec)) {
    GTN_ASSIGN_OR_RETURN(std::vector<fs::path> entries, sorted_entries(src));
    for (const fs::path& p : entries) {
      if (lower_extension(p.string()) == ".npy") {
        files.push_back(p);
      } else {
        ++plan.skipped_files;
        warn(options, "skipped " + p.string() + ": not a .npy file");
      }
    }
    if (files.empty()) return Status::InvalidArgument("no .npy files found in " + src);
  } else {
    files.push_back(src);
  }
  auto arrays = std::make_shared<std::vector<Array>>();
  for (const fs::path& f : files) {
    GTN_ASSIGN_OR_RETURN(Array a, read_npy(f.string()));
    if (a.ndim() == 0) {
      return Status::InvalidArgument(f.string() + " holds a 0-d array; expected the first axis to be the samples");
    }
    if (!arrays->empty() && a.shape()[0] != arrays->front().shape()[0]) {
      return Status::InvalidArgument(f.string() + " has " + std::to_string(a.shape()[0]) + " samples but " +
                                     files.front().string() + " has " + std::to_string(arrays->front().shape()[0]) +
                                     "; every .npy file must have the same first axis");
    }
    TensorSpec spec;
    spec.name = f.stem().string();
    spec.dtype = a.dtype();
    plan.specs.push_back(spec);
    arrays->push_back(std::move(a));
  }
  plan.num_items = static_cast<size_t>(arrays->front().shape()[0]);
  plan.item_name = [](size_t i) { return "row " + std::to_string(i); };
  plan.read = [arrays](size_t r, const std::vector<TensorSpec>&) -> Result<Row> {
    Row row(arrays->size());
    for (size_t t = 0; t < arrays->size(); ++t) {
      const Array& a = (*arrays)[t];
      Shape sample_shape(a.shape().begin() + 1, a.shape().end());
      size_t sample_bytes = static_cast<size_t>(shape_numel(sample_shape)) * dtype_size(a.dtype());
      const auto* p = static_cast<const uint8_t*>(a.data()) + r * sample_bytes;
      GTN_ASSIGN_OR_RETURN(row[t].array, Array::View(a.dtype(), sample_shape, p, sample_bytes, a.owner()));
    }
    return row;
  };
  return plan;
}

Result<Plan> plan_source(const std::string& src, const IngestOptions& options) {
  SourceFormat format = options.format;
  std::error_code ec;
  if (!fs::exists(src, ec)) return Status::NotFound("no such file or folder: " + src);
  if (format == SourceFormat::kAuto) {
    GTN_ASSIGN_OR_RETURN(format, detect_source_format(src));
  }
  switch (format) {
    case SourceFormat::kFolder:
      if (!fs::is_directory(src, ec)) {
        return Status::InvalidArgument(src + " is not a folder; format 'folder' expects SRC/<class>/<image>");
      }
      return plan_folder(src, options);
    case SourceFormat::kJsonl:
    case SourceFormat::kCsv:
      return plan_text_table(src, format, options);
    case SourceFormat::kNpy:
      return plan_npy(src, options);
    case SourceFormat::kAuto:
      break;
  }
  return Status::Internal("unreachable source format");
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

Result<OnError> parse_on_error(std::string_view name) {
  if (name == "raise") return OnError::kRaise;
  if (name == "skip") return OnError::kSkip;
  return Status::InvalidArgument("unknown on_error '" + std::string(name) + "'; expected raise or skip");
}

namespace {
std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}
}  // namespace

Result<ImageMode> parse_image_mode(std::string_view name) {
  std::string n = lower(name);
  if (n == "keep" || n.empty()) return ImageMode::kKeep;
  if (n == "l") return ImageMode::kL;
  if (n == "la") return ImageMode::kLA;
  if (n == "rgb") return ImageMode::kRGB;
  if (n == "rgba") return ImageMode::kRGBA;
  return Status::InvalidArgument("unknown image mode '" + std::string(name) + "'; expected keep, L, LA, RGB or RGBA");
}

std::string_view image_mode_name(ImageMode mode) {
  switch (mode) {
    case ImageMode::kKeep: return "keep";
    case ImageMode::kL: return "L";
    case ImageMode::kLA: return "LA";
    case ImageMode::kRGB: return "RGB";
    case ImageMode::kRGBA: return "RGBA";
  }
  return "?";
}

Result<CsvHeader> parse_csv_header(std::string_view name) {
  std::string n = lower(name);
  if (n == "auto") return CsvHeader::kAuto;
  if (n == "yes" || n == "true") return CsvHeader::kYes;
  if (n == "no" || n == "false" || n == "none") return CsvHeader::kNo;
  if (n == "count") return CsvHeader::kCount;
  return Status::InvalidArgument("unknown CSV header mode '" + std::string(name) + "'; expected auto, yes, no or count");
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
  if (ext == ".csv" || ext == ".tsv") return SourceFormat::kCsv;
  if (ext == ".npy") return SourceFormat::kNpy;
  if (ext == ".parquet" || ext == ".pq") {
    return Status::Unsupported(src + ": Parquet files are ingested by the Python package (gtn.ingest, through "
                               "pyarrow); the C++ library and the gtn command do not link Arrow");
  }
  return Status::InvalidArgument("cannot tell the format of " + src +
                                 " from its name; expected a folder, .jsonl, .csv, .tsv or .npy (or pass the format)");
}

Result<IngestReport> ingest(const std::string& src, Dataset& dst, const IngestOptions& options) {
  GTN_ASSIGN_OR_RETURN(Plan plan, plan_source(src, options));
  return run(plan, dst, options);
}

namespace {

// Opens the dataset at `dst_path` only now that the source is known to be readable, and
// removes it again when this call created it and the ingest failed.
Result<IngestReport> run_into_path(Plan& plan, const std::string& dst_path, const IngestOptions& options,
                                   const OpenOptions& open_options) {
  std::error_code ec;
  bool existed = open_options.storage != nullptr || fs::exists(dst_path, ec);
  GTN_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> ds, Dataset::Open(dst_path, open_options));
  Result<IngestReport> report = run(plan, *ds, options);
  if (report.ok()) {
    GTN_RETURN_IF_ERROR(ds->close());
    return report;
  }
  if (!existed) {
    (void)ds->close();
    ds.reset();
    fs::remove_all(dst_path, ec);
  }
  return report;
}

}  // namespace

Result<IngestReport> ingest(const std::string& src, const std::string& dst_path, const IngestOptions& options,
                            const OpenOptions& open_options) {
  GTN_ASSIGN_OR_RETURN(Plan plan, plan_source(src, options));
  return run_into_path(plan, dst_path, options, open_options);
}

namespace {

Result<Plan> plan_columns(const std::vector<InputColumn>& columns, const std::string& source,
                          const IngestOptions& options) {
  if (columns.empty()) return Status::InvalidArgument(source + " has no columns");
  auto cols = std::make_shared<std::vector<InputColumn>>(columns);
  Plan plan;
  plan.format = SourceFormat::kAuto;
  plan.source = source;
  size_t n = 0;
  for (size_t c = 0; c < cols->size(); ++c) {
    const InputColumn& col = (*cols)[c];
    bool whole = col.samples.empty() && col.rows.ndim() > 0;
    size_t rows = whole ? static_cast<size_t>(col.rows.shape()[0]) : col.samples.size();
    if (!col.images.empty()) rows = col.images.size();
    if (c > 0 && rows != n) {
      return Status::InvalidArgument(source + ": column '" + col.spec.name + "' has " + std::to_string(rows) +
                                     " rows but '" + (*cols)[0].spec.name + "' has " + std::to_string(n));
    }
    n = rows;
    TensorSpec spec = col.spec;
    if (!col.images.empty()) {
      // An image column: dtype and compression from what most of the images are.
      spec.htype = "image";
      size_t png = 0, probed = 0, deep = 0;
      for (const std::string& b : col.images) {
        Result<codec::ImageHeader> h = codec::probe_image(b);
        if (!h.ok()) continue;
        ++probed;
        png += h->format == Compression::kPng;
        deep += h->dtype == DType::kUInt16;
      }
      spec.dtype = deep * 2 > probed ? DType::kUInt16 : DType::kUInt8;
      if (options.image_compression) {
        spec.sample_compression = *options.image_compression;
      } else if (spec.sample_compression == Compression::kNone) {
        spec.sample_compression = spec.dtype == DType::kUInt16 || png * 2 > probed ? Compression::kPng : Compression::kJpeg;
      }
    }
    plan.specs.push_back(spec);
  }
  plan.num_items = n;
  plan.item_name = [](size_t i) { return "row " + std::to_string(i); };
  ImageMode mode = options.image_mode;
  plan.read = [cols, mode](size_t r, const std::vector<TensorSpec>& specs) -> Result<Row> {
    Row row(cols->size());
    for (size_t c = 0; c < cols->size(); ++c) {
      const InputColumn& col = (*cols)[c];
      if (!col.images.empty()) {
        Result<Value> v = load_image_bytes(col.images[r], specs[c], mode);
        if (!v.ok()) return v.status().WithContext("column '" + col.spec.name + "'");
        row[c] = std::move(v).value();
        continue;
      }
      if (!col.samples.empty()) {
        row[c].array = col.samples[r];
        continue;
      }
      const Array& a = col.rows;
      Shape sample_shape(a.shape().begin() + 1, a.shape().end());
      size_t sample_bytes = static_cast<size_t>(shape_numel(sample_shape)) * dtype_size(a.dtype());
      const auto* p = static_cast<const uint8_t*>(a.data()) + r * sample_bytes;
      GTN_ASSIGN_OR_RETURN(row[c].array, Array::View(a.dtype(), sample_shape, p, sample_bytes, a.owner()));
    }
    return row;
  };
  return plan;
}

}  // namespace

Result<IngestReport> ingest_columns(const std::vector<InputColumn>& columns, const std::string& source, Dataset& dst,
                                    const IngestOptions& options) {
  GTN_ASSIGN_OR_RETURN(Plan plan, plan_columns(columns, source, options));
  return run(plan, dst, options);
}

Result<IngestReport> ingest_columns(const std::vector<InputColumn>& columns, const std::string& source,
                                    const std::string& dst_path, const IngestOptions& options,
                                    const OpenOptions& open_options) {
  GTN_ASSIGN_OR_RETURN(Plan plan, plan_columns(columns, source, options));
  return run_into_path(plan, dst_path, options, open_options);
}

}  // namespace gtn::ingest
