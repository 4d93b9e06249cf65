// Ingest: turns files on disk into tensors of a GTN dataset.
//
//   folder  SRC/<class>/<image files>  -> "images" (htype image) + "labels" (class_label,
//           class_names = the sub-folder names, sorted). Files that are not .jpg/.jpeg/.png
//           images (and files directly in SRC) are skipped, counted and reported through
//           `warn`: one stray README must not stop a large ingest.
//   jsonl   one JSON object per line; csv: a header line then rows. Each column becomes a
//           tensor of the column's name, its type inferred (see column.h); a column of
//           image paths (relative to the file's folder) becomes an image tensor.
//   npy     a .npy file -> one tensor named after the file; a folder of .npy files -> one
//           tensor per file, all with the same first axis (the samples).
//
// Images keep their source format as sample compression (JPEG files -> jpeg, PNG -> png;
// the most common one when they are mixed) unless `image_compression` says otherwise.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gtn/dataset.h"
#include "gtn/result.h"

namespace gtn::ingest {

enum class SourceFormat { kAuto, kFolder, kJsonl, kCsv, kNpy };

std::string_view source_format_name(SourceFormat f);
// "auto", "folder", "jsonl", "csv", "npy".
Result<SourceFormat> parse_source_format(std::string_view name);
// What kAuto means for `src`: .jsonl/.ndjson -> jsonl, .csv -> csv, .npy or a folder of
// only .npy files -> npy, any other folder -> folder.
Result<SourceFormat> detect_source_format(const std::string& src);

struct IngestOptions {
  SourceFormat format = SourceFormat::kAuto;
  // Sample compression of image tensors; unset = the source files' own format.
  std::optional<Compression> image_compression;
  // Samples per extend() call.
  size_t batch_size = 256;
  // Called after each batch with (samples written, samples in total).
  std::function<void(uint64_t done, uint64_t total)> progress;
  // Called once per skipped file with a one-line reason.
  std::function<void(const std::string& message)> warn;
};

struct IngestReport {
  SourceFormat format = SourceFormat::kAuto;
  uint64_t samples = 0;        // samples appended
  uint64_t skipped_files = 0;  // non-image files skipped in a folder source
  std::vector<std::string> tensors;
};

// Appends the samples of `src` to `dst`. `dst` must have no tensors (they are created) or
// exactly the tensors the source yields. Flushes `dst` at the end.
Result<IngestReport> ingest(const std::string& src, Dataset& dst, const IngestOptions& options = {});

}  // namespace gtn::ingest
