// Ingest: turns files on disk (or in-memory columns) into tensors of a GTN dataset.
// docs/ingest.md describes every source, option and rule; in short:
//
//   folder  SRC/<class>/<image files>  -> "images" (htype image) + "labels" (class_label,
//           class_names = the sub-folder names, sorted). Files that are not .jpg/.jpeg/.png
//           (and files directly in SRC) are skipped, counted and reported through `warn`.
//   jsonl   one JSON object per line; csv/tsv: rows of fields. Each column becomes a tensor
//           of the column's name, its type inferred; a column of image paths (relative to
//           the file's folder) becomes an image tensor. TableOptions select columns, name a
//           label column and stack numeric columns into one feature tensor.
//   npy     a .npy file -> one tensor named after the file; a folder of .npy files -> one
//           tensor per file, all with the same first axis (the samples).
//   columns in-memory columns (the Python package converts Parquet files, Arrow tables and
//           pandas DataFrames to these).
//
// All or nothing: when an item (an image file, a CSV record, a JSONL line, a row) cannot be
// read or stored, the ingest stops, the dataset is put back as it was before the call
// (rows appended by the call removed, tensors it created deleted) and the error says which
// item failed and how many were read before it. With OnError::kSkip such items are
// skipped instead and listed in IngestReport::skipped with the reason.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gtn/dataset.h"
#include "gtn/result.h"
#include "gtn/tensor.h"

namespace gtn::ingest {

enum class SourceFormat { kAuto, kFolder, kJsonl, kCsv, kNpy };

// "auto", "folder", "jsonl", "csv", "npy".
std::string_view source_format_name(SourceFormat f);
Result<SourceFormat> parse_source_format(std::string_view name);
// What kAuto means for `src`: .jsonl/.ndjson -> jsonl, .csv/.tsv -> csv, .npy or a folder of
// only .npy files -> npy, any other folder -> folder. NotFound when `src` does not exist.
Result<SourceFormat> detect_source_format(const std::string& src);

// What to do with an item that cannot be read or stored.
enum class OnError { kRaise, kSkip };
// "raise", "skip".
Result<OnError> parse_on_error(std::string_view name);

// How image pixels are stored. kKeep: as the file decodes (grey 1 channel, grey+alpha 2,
// RGB 3, RGBA 4; palettes expanded to RGB, or RGBA when they have transparency; 16-bit
// PNGs as uint16). The others convert every image to that many channels, as Pillow's
// Image.convert does (grey = (19595 R + 38470 G + 7471 B + 32768) >> 16; alpha dropped,
// or added fully opaque).
enum class ImageMode { kKeep, kL, kLA, kRGB, kRGBA };
// "keep", "L", "LA", "RGB", "RGBA" (case-insensitive).
Result<ImageMode> parse_image_mode(std::string_view name);
std::string_view image_mode_name(ImageMode mode);

// CSV header line: kAuto decides from the file (docs/ingest.md "CSV header rules").
// kCount is scikit-learn's format: a first line "n_rows,n_features,class names..." and rows
// of n_features numbers then an integer target.
enum class CsvHeader { kAuto, kYes, kNo, kCount };
// "auto", "yes"/"true", "no"/"false"/"none", "count".
Result<CsvHeader> parse_csv_header(std::string_view name);

struct TableOptions {
  // --- CSV only ---
  CsvHeader header = CsvHeader::kAuto;
  // Field delimiter; 0 = ',' (tab for .tsv files).
  char delimiter = 0;
  // Encoding of CSV and JSONL files: "utf-8" (invalid bytes are an error naming the line)
  // or "latin-1" (every byte is a character; converted to UTF-8).
  std::string encoding = "utf-8";
  // --- every tabular source (CSV, JSONL, in-memory columns) ---
  // Keep only these columns, in this order (empty: every column).
  std::vector<std::string> columns;
  // A column that becomes a class_label tensor of the same name.
  std::string label_column;
  // Its class names; empty: the sorted distinct string values, or "0".."max" for integers.
  std::vector<std::string> class_names;
  // Numeric columns stacked into one 1-d tensor `stack_name` per row; {"*"}: every int64 or
  // float64 column but the label. float64, or int64 when every stacked column is int64.
  std::vector<std::string> stack_columns;
  std::string stack_name = "features";
};

struct IngestOptions {
  SourceFormat format = SourceFormat::kAuto;
  // Sample compression of image tensors; unset = the source files' own format (16-bit
  // images: png when the store accepts uint16 PNG, else zstd).
  std::optional<Compression> image_compression;
  ImageMode image_mode = ImageMode::kKeep;
  OnError on_error = OnError::kRaise;
  TableOptions table;
  // Samples per extend() call.
  size_t batch_size = 256;
  // Called after each batch with (items done, items in total).
  std::function<void(uint64_t done, uint64_t total)> progress;
  // Called once per file that is not part of the source (non-image files in an image
  // folder), with a one-line message. Skipped items are listed in IngestReport::skipped.
  std::function<void(const std::string& message)> warn;
  // When set, the ingest ends with a commit with this message (IngestReport::commit), so
  // the ingested state has a name and a parent (docs/versions.md).
  std::optional<std::string> commit;
  // How new tensors are laid out: "data" (the default) plans each tensor's chunk size and
  // compression from the first batch of samples (gtn/layout.h, docs/layout.md); "fixed"
  // keeps the built-in defaults (8 MiB chunks, no byte compression). Settings the caller
  // gives explicitly (image_compression) always win. Existing tensors keep their layout.
  std::string layout = "data";
};

// An item skipped under OnError::kSkip.
struct SkippedItem {
  std::string item;    // e.g. "cats/3.png", "line 12"
  std::string reason;  // why it could not be read or stored
};

struct IngestReport {
  SourceFormat format = SourceFormat::kAuto;
  uint64_t samples = 0;        // samples appended
  uint64_t items = 0;          // items read from the source (samples + skipped)
  uint64_t skipped_files = 0;  // files that are not part of the source (not images)
  std::vector<SkippedItem> skipped;  // unreadable items skipped (OnError::kSkip)
  uint64_t kept_encoded = 0;   // images stored with their source file's bytes as they are
  std::vector<std::string> tensors;
  std::string commit;  // the commit made (IngestOptions::commit), else empty
};

// Appends the samples of `src` to `dst`. `dst` must have no tensors (they are created) or
// exactly the tensors the source yields. Flushes `dst` at the end. All or nothing (above).
Result<IngestReport> ingest(const std::string& src, Dataset& dst, const IngestOptions& options = {});

// Same into the dataset at `dst_path`, which is opened (created when missing) only after
// the source was found and read; a dataset this call created is removed again when the
// ingest fails, so a failed call never leaves a new folder behind.
Result<IngestReport> ingest(const std::string& src, const std::string& dst_path, const IngestOptions& options,
                            const OpenOptions& open_options);

// One in-memory column.
struct InputColumn {
  // The tensor: name, htype, dtype, class names, compressions.
  TensorSpec spec;
  // Either every row at once (fixed-shape numeric columns: first axis = rows) ...
  Array rows;
  // ... or one Array per row (ragged or text/json/bytes columns; an empty Array of the
  // tensor's dtype is a missing value) ...
  std::vector<Array> samples;
  // ... or the bytes of one JPEG/PNG file per row: an image tensor, as for image files
  // (dtype from most of the images, options.image_mode, the files' bytes kept when the
  // tensor's sample compression is their format; spec.sample_compression kNone = the most
  // common format of the images unless options.image_compression says otherwise).
  std::vector<std::string> images;
};

// Appends in-memory columns (equal lengths) to `dst`, all or nothing as ingest() (items
// are rows). `source` names them in messages (e.g. "data.parquet"). options.table does not
// apply: the caller decides each column's tensor (the Python package applies the table
// options to Arrow columns itself).
Result<IngestReport> ingest_columns(const std::vector<InputColumn>& columns, const std::string& source, Dataset& dst,
                                    const IngestOptions& options = {});
// Same into the dataset at `dst_path` (opened after the columns were checked; removed
// again when this call created it and the ingest fails).
Result<IngestReport> ingest_columns(const std::vector<InputColumn>& columns, const std::string& source,
                                    const std::string& dst_path, const IngestOptions& options,
                                    const OpenOptions& open_options);

}  // namespace gtn::ingest
