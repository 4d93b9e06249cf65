// The per-version manifest (docs/format.md, "Manifest"): commit metadata, the schema as
// JSON and, per tensor, the root of the chunk table that maps sample ranges to slices of
// immutable chunk files. Format 1 held the tables inline; format 2 stores them as trees
// of nodes (table_tree.h) shared between versions.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gtn/dataset.h"

namespace gtn::store {

inline constexpr uint16_t kManifestFormatVersion = 2;

// One chunk file as the manifest knows it.
struct ChunkFileRef {
  uint64_t id = 0;
  uint64_t size = 0;      // bytes of the file
  uint64_t checksum = 0;  // the file's trailer checksum (XXH3-64 of all bytes before it)
  // What the file holds (ChunkStats in dataset.h), stored beside the reference in leaf
  // encoding 2; null when unknown. A property of the file: every slice shares it.
  std::shared_ptr<const ChunkStats> stats;
};

// A run of consecutive samples stored back to back in one chunk file (samples
// [chunk_offset, chunk_offset + num_samples) of it), or one sample tiled over several.
struct ChunkEntry {
  uint64_t first_sample = 0;  // in memory only: format 2 stores counts, not positions
  uint32_t num_samples = 0;
  uint32_t chunk_offset = 0;
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
  // zstd level or lz4 acceleration the writer compresses with (0: the codec's default);
  // in the schema only when non-zero. Decoding never needs it.
  int compression_level = 0;
  std::vector<std::string> class_names;
  int rank = -1;  // rank of its non-empty samples; -1 until the first one
};

// Where a table tree node lives and what it holds (table_tree.h).
struct NodeRef {
  uint64_t hash_lo = 0, hash_hi = 0;  // XXH3-128 of the node's content (not its location)
  uint64_t version = 0;               // the manifest whose node section stores it
  uint64_t offset = 0;                // byte offset in that node section
  uint32_t size = 0;                  // encoded bytes; 0: the empty table
  uint32_t level = 0;                 // 0: a leaf of entries
  uint64_t samples = 0;               // samples under it
  uint64_t raw_bytes = 0;             // raw bytes of those samples
  bool empty() const { return size == 0; }
  bool same_content(const NodeRef& o) const { return hash_lo == o.hash_lo && hash_hi == o.hash_hi; }
};

// Commit metadata of a version (format 2).
struct CommitMeta {
  bool committed = false;         // frozen: never rewritten
  std::vector<uint64_t> parents;  // committed parents; an uncommitted state names its base
  std::string message;
  std::string author;
  int64_t time_ms = 0;
};

struct Manifest {
  uint16_t format = kManifestFormatVersion;
  uint64_t version_id = 0;
  uint64_t length = 0;     // number of complete rows
  uint64_t next_tensor_key = 0;  // schema "next_key": keys below it were used (0: unknown)
  CommitMeta commit;
  std::vector<TensorMeta> tensors;
  // Format 1: the tables, per tensor in schema order. Format 2: empty after decoding
  // (load the trees from `roots`).
  std::vector<std::vector<ChunkEntry>> chunks;
  // Format 2: the roots of the sample id table (first) and of each tensor's table.
  std::vector<NodeRef> roots;
  // Format 2: the node section (a view into the decoded bytes) and where it starts.
  std::string_view nodes;
  uint64_t nodes_offset = 0;
};

class ByteReader;
void put_node_ref(std::string* out, const NodeRef& r);
NodeRef get_node_ref(ByteReader& in);
// A chunk file reference: u64 id, u64 size, u64 checksum.
void put_file_ref(std::string* out, const ChunkFileRef& f);
ChunkFileRef get_file_ref(ByteReader& in);

// "versions/<16 hex digits>.manifest".
std::string manifest_key(uint64_t version_id);
// "chunks/<tensor key>/<16 hex digits>.chunk".
std::string chunk_key(const std::string& tensor_key, uint64_t chunk_id);

// Format 2, with `nodes` as the node section (m.chunks is ignored).
std::string encode_manifest(const Manifest& m, std::string_view nodes);
// Format 1 (inline tables), for tests and golden files of the old format.
std::string encode_manifest_v1(const Manifest& m, uint64_t parent_id);
// Parses and validates a manifest of either format: Corruption naming what is wrong.
// m->nodes views `bytes`, which must outlive its use.
Status decode_manifest(std::string_view bytes, Manifest* m);
// Just the node section of a format-2 manifest (for reading nodes of other versions).
Status manifest_nodes(std::string_view bytes, std::string_view* nodes);

// The schema JSON (the "tensors" list) of a manifest, and its inverse.
// `next_key`: the number of the next tensor key ("t<n>"); written when > 0.
std::string encode_schema(const std::vector<TensorMeta>& tensors, uint64_t next_key = 0);
Status decode_schema(std::string_view json, std::vector<TensorMeta>* tensors, uint64_t* next_key = nullptr);

}  // namespace gtn::store
