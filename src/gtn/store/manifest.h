// The per-version manifest (docs/format.md, "Manifest"): the schema as JSON plus, per
// tensor, the chunk table that maps sample ranges to immutable chunk files.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gtn/dataset.h"

namespace gtn::store {

inline constexpr uint16_t kManifestFormatVersion = 1;

// One chunk file as the manifest knows it.
struct ChunkFileRef {
  uint64_t id = 0;
  uint64_t size = 0;      // bytes of the file
  uint64_t checksum = 0;  // the file's trailer checksum (XXH3-64 of all bytes before it)
};

// A run of consecutive samples stored in one chunk file, or one sample tiled over several.
struct ChunkEntry {
  uint64_t first_sample = 0;
  uint32_t num_samples = 0;
  uint64_t raw_bytes = 0;            // bytes of the samples before any compression
  std::vector<ChunkFileRef> files;   // one file, or the tiles of one sample in order
  bool is_tiled() const { return files.size() > 1; }
};

// A tensor's schema entry.
struct TensorMeta {
  std::string name;
  std::string key;  // folder under chunks/ ("t0", "t1", ...); never reused
  std::string htype = "generic";
  DType dtype = DType::kFloat32;
  Compression sample_compression = Compression::kNone;
  Compression chunk_compression = Compression::kNone;
  uint64_t chunk_target_bytes = 8ull << 20;
  std::vector<std::string> class_names;
  int rank = -1;  // rank of its non-empty samples; -1 until the first one
};

struct Manifest {
  uint64_t version_id = 0;
  uint64_t parent_id = 0;  // 0: none
  uint64_t length = 0;     // number of complete rows
  uint64_t next_tensor_key = 0;  // schema "next_key": keys below it were used (0: unknown)
  std::vector<TensorMeta> tensors;
  std::vector<std::vector<ChunkEntry>> chunks;  // per tensor, in schema order
};

// "versions/<16 hex digits>.manifest".
std::string manifest_key(uint64_t version_id);
// "chunks/<tensor key>/<16 hex digits>.chunk".
std::string chunk_key(const std::string& tensor_key, uint64_t chunk_id);

std::string encode_manifest(const Manifest& m);
// Parses and validates a manifest: Corruption naming what is wrong.
Status decode_manifest(std::string_view bytes, Manifest* m);

// The schema JSON (the "tensors" list) of a manifest, and its inverse.
// `next_key`: the number of the next tensor key ("t<n>"); written when > 0.
std::string encode_schema(const std::vector<TensorMeta>& tensors, uint64_t next_key = 0);
Status decode_schema(std::string_view json, std::vector<TensorMeta>* tensors, uint64_t* next_key = nullptr);

}  // namespace gtn::store
