// fsck: verifies every file of a dataset and names the exact broken object.
#include <algorithm>
#include <map>
#include <cstdint>
#include <set>
#include <vector>

#include "gtn/codec/compression.h"
#include "gtn/dataset.h"
#include "gtn/store/checksum.h"
#include "gtn/store/coding.h"
#include "gtn/store/chunk_format.h"
#include "gtn/store/dataset_files.h"
#include "gtn/store/expired_history.h"
#include "gtn/store/tensor_rules.h"

namespace gtn {
namespace store {
namespace {

struct Checker {
  Storage* storage;
  std::vector<FsckIssue>* issues;
  // Files checked already (slices of one chunk file share it): id -> (bytes, header), or
  // a null file when it is broken (reported once).
  std::map<uint64_t, std::pair<std::shared_ptr<const Bytes>, ChunkHeader>> checked;

  bool load_once(const TensorMeta& meta, const ChunkFileRef& ref, std::shared_ptr<const Bytes>* file, ChunkHeader* h) {
    auto it = checked.find(ref.id);
    if (it == checked.end()) {
      std::shared_ptr<const Bytes> f;
      ChunkHeader hh;
      if (!load(meta, ref, &f, &hh)) f.reset();
      it = checked.emplace(ref.id, std::make_pair(f, std::move(hh))).first;
    }
    if (!it->second.first) return false;
    *file = it->second.first;
    *h = it->second.second;
    return true;
  }

  void report(const std::string& object, const std::string& problem) { issues->push_back({object, problem}); }

  // Reads, checksums and parses one chunk file; false (with an issue) if it is broken.
  bool load(const TensorMeta& meta, const ChunkFileRef& ref, std::shared_ptr<const Bytes>* file, ChunkHeader* h) {
    std::string key = chunk_key(meta.key, ref.id);
    auto bytes = storage->read(key);
    if (!bytes.ok()) {
      report(key, bytes.status().code() == StatusCode::kNotFound ? "chunk file is missing" : bytes.status().message());
      return false;
    }
    *file = *bytes;
    std::string_view v = (*file)->view();
    if (v.size() != ref.size) {
      report(key, "size " + std::to_string(v.size()) + " bytes, the manifest says " + std::to_string(ref.size));
      return false;
    }
    auto sums = chunk_checksums(v);
    if (!sums.ok()) {
      report(key, sums.status().message());
      return false;
    }
    if (sums->stored != sums->computed) {
      report(key, "checksum mismatch: stored " + checksum_to_string(sums->stored) + ", computed " +
                      checksum_to_string(sums->computed));
      return false;
    }
    if (sums->stored != ref.checksum) {
      report(key, "checksum " + checksum_to_string(sums->stored) + " differs from the manifest's " +
                      checksum_to_string(ref.checksum));
      return false;
    }
    Status st = parse_chunk(v, h);
    if (!st.ok()) {
      report(key, st.message());
      return false;
    }
    // Chunk format 2: the header checksum covers the block checksums; check every block.
    st = verify_blocks(*h, reinterpret_cast<const uint8_t*>(v.data()) + h->data_offset, 0, h->stored_data_bytes);
    if (!st.ok()) {
      report(key, st.message());
      return false;
    }
    if (h->dtype != meta.dtype || h->sample_compression != meta.sample_compression ||
        (!h->is_tile() && h->chunk_compression != meta.chunk_compression)) {
      report(key, "dtype or compression differs from the tensor's schema");
      return false;
    }
    return true;
  }

  // Decodes one sample; false (with an issue) if it does not decode.
  bool decode(const std::string& key, const TensorMeta& meta, const Shape& shape, std::string_view stored,
              uint64_t* raw, uint64_t sample) {
    size_t n = static_cast<size_t>(shape_numel(shape)) * dtype_size(meta.dtype);
    Status st = check_decodable(meta.sample_compression, meta.dtype, shape, stored);
    if (!st.ok()) {
      report(key, "sample " + std::to_string(sample) + ": " + st.message());
      return false;
    }
    std::string out(n, '\0');
    st = decode_sample(meta.sample_compression, meta.dtype, shape, stored, out.data());
    if (!st.ok()) {
      report(key, "sample " + std::to_string(sample) + " does not decode: " + st.message());
      return false;
    }
    *raw += n;
    return true;
  }

  // The files of an entry exist, match their checksums and hold the entry's slice.
  void check_files(const TensorMeta& meta, const ChunkEntry& e) {
    for (const auto& f : e.files) {
      std::shared_ptr<const Bytes> file;
      ChunkHeader h;
      if (!load_once(meta, f, &file, &h)) return;
      if (!e.is_tiled() && h.num_samples < static_cast<uint64_t>(e.chunk_offset) + e.num_samples) {
        report(chunk_key(meta.key, f.id), "holds " + std::to_string(h.num_samples) + " samples, a version names samples " +
                                              std::to_string(e.chunk_offset) + " to " +
                                              std::to_string(e.chunk_offset + e.num_samples - 1));
      }
    }
  }

  void check_entry(const TensorMeta& meta, const ChunkEntry& e) {
    std::string key0 = chunk_key(meta.key, e.files[0].id);
    uint64_t raw = 0;
    if (e.is_tiled()) {
      std::string stored;
      Shape shape;
      for (size_t i = 0; i < e.files.size(); ++i) {
        std::shared_ptr<const Bytes> file;
        ChunkHeader h;
        if (!load_once(meta, e.files[i], &file, &h)) return;
        std::string key = chunk_key(meta.key, e.files[i].id);
        if (!h.is_tile() || h.tile.index != i || h.tile.count != e.files.size() || h.tile.offset != stored.size()) {
          report(key, "tile " + std::to_string(i) + " of sample " + std::to_string(e.first_sample) + " is out of place");
          return;
        }
        if (i == 0) shape = h.shapes.shape(0);
        stored.append(file->view().substr(h.data_offset, h.stored_data_bytes));
        if (i + 1 == e.files.size() && stored.size() != h.tile.total_bytes) {
          report(key, "tiles hold " + std::to_string(stored.size()) + " bytes, expected " + std::to_string(h.tile.total_bytes));
          return;
        }
      }
      if (!decode(key0, meta, shape, stored, &raw, e.first_sample)) return;
    } else {
      std::shared_ptr<const Bytes> file;
      ChunkHeader h;
      if (!load_once(meta, e.files[0], &file, &h)) return;
      if (h.is_tile()) {
        report(key0, "a tile where the manifest expects a whole chunk");
        return;
      }
      if (h.num_samples < static_cast<uint64_t>(e.chunk_offset) + e.num_samples) {
        report(key0, "holds " + std::to_string(h.num_samples) + " samples, the manifest names samples " +
                         std::to_string(e.chunk_offset) + " to " + std::to_string(e.chunk_offset + e.num_samples - 1));
        return;
      }
      std::string_view region = file->view().substr(h.data_offset, h.stored_data_bytes);
      std::string decompressed;
      if (h.chunk_compression != Compression::kNone) {
        decompressed.resize(h.raw_data_bytes);
        Status st = codec::decompress(h.chunk_compression, region, decompressed.data(), decompressed.size());
        if (!st.ok()) {
          report(key0, "data region does not decompress: " + st.message());
          return;
        }
        region = decompressed;
      }
      for (uint32_t j = e.chunk_offset; j < e.chunk_offset + e.num_samples; ++j) {
        uint64_t off, len;
        h.positions.locate(j, &off, &len);
        if (!decode(key0, meta, h.shapes.shape(j), region.substr(off, len), &raw, e.first_sample + j - e.chunk_offset)) {
          return;
        }
      }
    }
    if (raw != e.raw_bytes) {
      report(key0, "samples hold " + std::to_string(raw) + " raw bytes, the manifest says " + std::to_string(e.raw_bytes));
    }
  }
};

}  // namespace
}  // namespace store

Result<std::vector<FsckIssue>> fsck(const std::string& path) {
  std::vector<FsckIssue> issues;
  store::DatasetFiles files;
  Status st = store::load_dataset_files(path, &files);
  if (st.code() == StatusCode::kNotFound || (!st.ok() && !files.storage)) return st;
  if (!st.ok()) {
    // The message starts with the file at fault ("versions/....manifest: ...").
    const std::string& msg = st.message();
    size_t colon = msg.find(": ");
    issues.push_back({colon == std::string::npos ? "metadata" : msg.substr(0, colon),
                      colon == std::string::npos ? msg : msg.substr(colon + 2)});
    return issues;
  }
  store::Checker checker{files.storage.get(), &issues, {}};
  const store::Manifest& m = files.manifest;
  for (size_t t = 0; t < m.tensors.size(); ++t) {
    for (const auto& e : m.chunks[t]) checker.check_entry(m.tensors[t], e);
  }
  // The length is the rows complete in every tensor: more rows held by every tensor than
  // the manifest says means a writer published a length that drops samples.
  if (!m.tensors.empty()) {
    uint64_t held = UINT64_MAX;
    for (const auto& table : m.chunks) {
      uint64_t n = table.empty() ? 0 : table.back().first_sample + table.back().num_samples;
      held = std::min(held, n);
    }
    if (held > m.length) {
      issues.push_back({store::manifest_key(files.version_id),
                        "length " + std::to_string(m.length) + " but every tensor's chunks hold at least " +
                            std::to_string(held) + " samples: samples " + std::to_string(m.length) + " to " +
                            std::to_string(held - 1) + " are unreachable"});
    }
  }
  // Every branch and tag names a manifest that exists; the versions they reach (through
  // parents) load, and every chunk file they name is there, whole and holds its slices
  // (each file checked once; samples are decoded only for the current version).
  std::vector<uint64_t> to_visit;
  for (const char* prefix : {"refs/heads/", "refs/tags/"}) {
    auto refs = files.storage->list(prefix);
    if (!refs.ok()) return refs.status();
    for (const auto& key : *refs) {
      if (key.find(".tmp-") != std::string::npos) continue;
      auto bytes = files.storage->read(key);
      uint64_t v = 0;
      Status rs = bytes.ok() ? store::decode_ref((*bytes)->view(), &v) : bytes.status();
      if (rs.ok()) {
        auto there = files.storage->exists(store::manifest_key(v));
        if (!there.ok() || !*there) rs = Status::Corruption("names version " + store::hex_id(v) + ", whose manifest is missing");
      }
      if (!rs.ok()) {
        issues.push_back({key, rs.message()});
        continue;
      }
      to_visit.push_back(v);
    }
  }
  // Commits whose history was expired read as roots: their parents may be gone.
  auto expired = store::load_expired(*files.storage);
  if (!expired.ok()) {
    issues.push_back({store::kExpiredKey, expired.status().message()});
    expired = store::ExpiredHistory();
  }
  std::set<uint64_t> reached{files.version_id};
  if (!expired->commits.count(files.version_id)) {
    for (uint64_t p : m.commit.parents) to_visit.push_back(p);
  }
  while (!to_visit.empty()) {
    uint64_t v = to_visit.back();
    to_visit.pop_back();
    if (!reached.insert(v).second) continue;
    std::string key = store::manifest_key(v);
    auto bytes = files.storage->read(key);
    store::Manifest other;
    Status ms = bytes.ok() ? store::decode_manifest((*bytes)->view(), &other) : bytes.status();
    store::Tables tables;
    if (ms.ok()) ms = store::load_tables(*files.storage, other, &tables, nullptr);
    if (!ms.ok()) {
      issues.push_back({key, ms.message()});
      continue;
    }
    for (size_t t = 0; t < other.tensors.size(); ++t) {
      for (const auto& e : tables.tensors[t]) checker.check_files(other.tensors[t], e);
    }
    if (!expired->commits.count(v)) {
      for (uint64_t p : other.commit.parents) to_visit.push_back(p);
    }
  }
  // Manifests nothing reaches (left for gc) must still parse.
  auto manifests = files.storage->list("versions/");
  if (!manifests.ok()) return manifests.status();
  for (const auto& key : *manifests) {
    if (key.size() < 9 || key.compare(key.size() - 9, 9, ".manifest") != 0) continue;
    uint64_t v = 0;
    if (key.size() == 9 + 16 + 9 && store::parse_hex_id(key.substr(9, 16), &v) && reached.count(v)) continue;
    auto bytes = files.storage->read(key);
    store::Manifest other;
    Status ms = bytes.ok() ? store::decode_manifest((*bytes)->view(), &other) : bytes.status();
    if (!ms.ok()) issues.push_back({key, ms.message()});
  }
  return issues;
}

}  // namespace gtn
