// Reading a dataset's metadata files (gtn.json, the head ref, the manifest it names)
// without opening a Dataset: shared by fsck and dump.
#pragma once

#include <memory>
#include <string>

#include "gtn/storage.h"
#include "gtn/store/manifest.h"
#include "gtn/store/root_file.h"
#include "gtn/store/table_tree.h"

namespace gtn::store {

struct DatasetFiles {
  std::shared_ptr<Storage> storage;
  RootFile root;
  uint64_t version_id = 0;
  Manifest manifest;  // manifest.chunks: the tables, loaded from the trees (format 2)
  std::vector<ChunkEntry> ids;  // the sample id table
  std::shared_ptr<const Bytes> manifest_bytes;
};

// Opens the local dataset at `path` read-only and parses its metadata. The error names
// the file at fault (NotFound when `path` is not a dataset).
Status load_dataset_files(const std::string& path, DatasetFiles* out);

}  // namespace gtn::store
