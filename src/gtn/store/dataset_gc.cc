// Garbage collection of unreachable files and compaction of fragmented chunk tables
// (docs/versions.md; see dataset_impl.h for the other concerns).
#include <algorithm>
#include <queue>
#include <unordered_set>

#include "gtn/store/coding.h"
#include "gtn/store/dataset_impl.h"
#include "gtn/store/expired_history.h"
#include "gtn/store/root_file.h"

namespace gtn::store {
namespace {

// Automatic compaction rewrites a group of entries (up to the chunk target) once it holds
// at least this many entries, weighing (at about kEntryBytes each in table nodes) more
// than half its samples' raw bytes.
constexpr uint64_t kMinAutoGroup = 16;
constexpr uint64_t kEntryBytes = 48;
// Automatic compaction rewrites at most this many bytes per commit.
constexpr uint64_t kAutoCompactBytes = 64ull << 20;

bool is_tmp(const std::string& key) { return key.find(".tmp-") != std::string::npos; }

}  // namespace

Result<GcStats> DatasetImpl::gc() {
  GTN_RETURN_IF_ERROR(check_open());
  if (options_.read_only) return Status::InvalidArgument("dataset " + path_ + " is open read-only; gc needs the writer");
  if (!detached_) GTN_RETURN_IF_ERROR(flush());
  GcStats stats;
  // New readers wait while files are deleted; readers already open are in the registry.
  GTN_ASSIGN_OR_RETURN(auto registry, storage_->lock_registry(/*exclusive=*/true));
  std::vector<uint64_t> roots{version_id_};
  for (const char* prefix : {"refs/heads/", "refs/tags/"}) {
    GTN_ASSIGN_OR_RETURN(auto keys, storage_->list(prefix));
    for (const auto& k : keys) {
      if (is_tmp(k)) continue;
      GTN_ASSIGN_OR_RETURN(auto bytes, storage_->read(k));
      uint64_t v = 0;
      GTN_RETURN_IF_ERROR(decode_ref(bytes->view(), &v).WithContext(path_ + "/" + k));
      roots.push_back(v);
    }
  }
  // Saved views keep the commits they read.
  GTN_ASSIGN_OR_RETURN(auto saved, views());
  for (const auto& view : saved) {
    uint64_t v = 0;
    if (!parse_hex_id(view.commit, &v)) return Status::Corruption("view '" + view.name + "' names a bad commit id");
    roots.push_back(v);
  }
  GTN_ASSIGN_OR_RETURN(auto readers, storage_->live_reader_versions());
  bool reader_of_uncommitted = false;
  // Every version reachable from a ref, this state or a reader, and what each names.
  std::unordered_set<uint64_t> versions, holders;
  std::unordered_set<std::string> chunks;
  std::queue<std::pair<uint64_t, bool>> to_visit;  // (version, reached from readers only)
  // Refs first, then readers: what only readers reach is "kept for readers".
  std::unordered_set<std::string> from_refs;
  for (int phase = 0; phase < 2; ++phase) {
    if (phase == 0) {
      for (uint64_t v : roots) to_visit.push({v, false});
    } else {
      from_refs = chunks;
      for (uint64_t v : readers) to_visit.push({v, true});
    }
    while (!to_visit.empty()) {
      auto [v, reader_only] = to_visit.front();
      to_visit.pop();
      if (versions.count(v)) continue;
      Manifest m;
      std::shared_ptr<const Bytes> keep;
      Status st = load_manifest(v, &m, &keep);
      if (!st.ok()) {
        if (reader_only) {
          reader_of_uncommitted = true;  // its manifest was replaced: be safe
          continue;
        }
        return st.WithContext("gc found a broken reference; nothing was deleted");
      }
      versions.insert(v);
      if (reader_only && !m.commit.committed) reader_of_uncommitted = true;
      NodeIndex nodes;
      Tables tables;
      GTN_RETURN_IF_ERROR(load_tables(*storage_, m, &tables, &nodes).WithContext("gc; nothing was deleted"));
      for (size_t t = 0; t < m.tensors.size(); ++t) {
        for (const auto& e : tables.tensors[t]) {
          for (const auto& f : e.files) chunks.insert(chunk_key(m.tensors[t].key, f.id));
        }
      }
      for (uint64_t p : m.commit.parents) to_visit.push({p, reader_only});
      // Manifests holding this version's table nodes must stay.
      nodes_holders(nodes, &holders);
    }
  }
  // Unreachable commits whose manifests stay (their table nodes are shared) are recorded
  // before anything is deleted, so that nothing opens them once their chunks are gone.
  ExpiredHistory next = expired_;
  next.unreachable.clear();
  for (uint64_t v : holders) {
    if (!versions.count(v)) next.unreachable.insert(v);
  }
  if (next.unreachable != expired_.unreachable) {
    GTN_RETURN_IF_ERROR(save_expired(*storage_, next));
    expired_ = std::move(next);
  }
  // Manifests go first: a gc stopped midway never leaves a manifest naming deleted chunks.
  std::vector<std::string> doomed;
  GTN_ASSIGN_OR_RETURN(auto version_keys, storage_->list("versions/"));
  for (const auto& k : version_keys) {
    uint64_t v = 0;
    bool named = k.size() == 9 + 16 + 9 && parse_hex_id(k.substr(9, 16), &v);
    if (named && (versions.count(v) || holders.count(v))) continue;
    if (!named && !is_tmp(k)) continue;  // not ours to judge
    if (named) ++stats.versions_deleted;
    doomed.push_back(k);
  }
  GTN_ASSIGN_OR_RETURN(auto chunk_keys, storage_->list("chunks/"));
  for (const auto& k : chunk_keys) {
    if (chunks.count(k)) {
      if (!from_refs.count(k)) ++stats.files_kept_for_readers;
      continue;
    }
    if (reader_of_uncommitted && !is_tmp(k)) {
      ++stats.files_kept_for_readers;
      continue;
    }
    doomed.push_back(k);
  }
  GTN_ASSIGN_OR_RETURN(auto ref_keys, storage_->list("refs/"));
  for (const auto& k : ref_keys) {
    if (is_tmp(k)) doomed.push_back(k);
  }
  for (const auto& k : doomed) {
    uint64_t size = 0;
    {
      auto bytes = storage_->read(k);
      if (bytes.ok()) size = (*bytes)->size();
    }
    if (storage_->remove(k).ok()) {
      ++stats.files_deleted;
      stats.bytes_freed += size;
    }
  }
  superseded_.clear();
  return stats;
}

Result<GcStats> DatasetImpl::expire_history(const std::string& keep_from) {
  GTN_RETURN_IF_ERROR(check_open());
  if (options_.read_only) {
    return Status::InvalidArgument("dataset " + path_ + " is open read-only; expire_history needs the writer");
  }
  GTN_ASSIGN_OR_RETURN(uint64_t cut, resolve_commit(keep_from));
  if (!expired_.commits.count(cut)) {
    Manifest m;
    std::shared_ptr<const Bytes> keep;
    GTN_RETURN_IF_ERROR(load_manifest(cut, &m, &keep));
    if (!m.commit.parents.empty()) {
      // Readers must know the file before it matters: the feature goes into gtn.json first.
      if (add_reader_feature(&root_, kFeatureExpiredHistory)) {
        GTN_RETURN_IF_ERROR(storage_->write_atomic(kRootKey, encode_root(root_)));
      }
      ExpiredHistory next = expired_;
      next.commits.insert(cut);
      GTN_RETURN_IF_ERROR(save_expired(*storage_, next));
      expired_ = std::move(next);
      if (version_id_ == cut) commit_.parents.clear();
    }
  }
  return gc();
}

void DatasetImpl::nodes_holders(const NodeIndex& nodes, std::unordered_set<uint64_t>* versions) const {
  for (uint64_t v : nodes.versions()) versions->insert(v);
}

// Rewrites groups of consecutive entries of `ts` that hold small slices into chunks of the
// target size, up to `max_bytes` raw bytes.
Status DatasetImpl::compact_tensor(TensorState& ts, uint64_t max_bytes, bool automatic, CompactStats* stats) {
  uint64_t target = ts.meta.chunk_target_bytes;
  // The groups to rewrite: runs of consecutive untiled entries up to the target size.
  // Explicitly: any group holding small slices. On its own: only groups whose table entries
  // weigh about as much as their samples (~48 bytes an entry against half the raw bytes),
  // where rewriting saves more than it costs.
  std::vector<std::pair<size_t, size_t>> groups;
  uint64_t budget = max_bytes;
  const auto& entries = ts.entries;
  for (size_t i = 0; i < entries.size();) {
    size_t j = i;
    uint64_t raw = 0;
    bool small = false;
    while (j < entries.size() && !entries[j]->entry.is_tiled() &&
           (j == i || raw + entries[j]->entry.raw_bytes <= target)) {
      raw += entries[j]->entry.raw_bytes;
      small = small || entries[j]->entry.raw_bytes < target / 8;
      ++j;
    }
    uint64_t n = j - i;
    bool worth = automatic ? n >= kMinAutoGroup && n * kEntryBytes * 2 > raw : n >= 2 && small;
    if (worth && raw <= budget) {
      groups.emplace_back(i, j);
      budget -= raw;
    }
    i = std::max(j, i + 1);
  }
  if (groups.empty()) return Status::OK();
  std::vector<ChunkEntry> out;
  size_t next = 0;
  for (const auto& [i, j] : groups) {
    for (; next < i; ++next) append_entry(&out, entries[next]->entry);
    PendingChunk pending;
    uint64_t first = table_samples(out);
    std::vector<ChunkEntry> written;
    for (size_t k = i; k < j; ++k) {
      GTN_RETURN_IF_ERROR(gather(ts, *entries[k], [&](std::string_view s, const Shape& shape) {
        pending.add(s, shape, static_cast<uint64_t>(shape_numel(shape)) * dtype_size(ts.meta.dtype));
      }));
      stats->samples_rewritten += entries[k]->entry.num_samples;
    }
    GTN_RETURN_IF_ERROR(writer_.seal(ts.meta, &pending, &first, &written));
    for (auto& e : written) {
      for (const auto& f : e.files) {
        unpublished_[f.id] = chunk_key(ts.meta.key, f.id);
        fresh_[f.id] = chunk_key(ts.meta.key, f.id);
      }
      append_entry(&out, std::move(e));
    }
    next = j;
  }
  for (; next < entries.size(); ++next) append_entry(&out, entries[next]->entry);
  ts.set_table(std::move(out));
  return Status::OK();
}

Result<CompactStats> DatasetImpl::compact() {
  GTN_RETURN_IF_ERROR(check_writable_now());
  GTN_RETURN_IF_ERROR(seal_all());
  CompactStats stats;
  for (auto& ts : tensors_) {
    stats.entries_before += ts->entries.size();
    GTN_RETURN_IF_ERROR(compact_tensor(*ts, UINT64_MAX, /*automatic=*/false, &stats));
    stats.entries_after += ts->entries.size();
  }
  if (stats.samples_rewritten) {
    dirty_ = true;
    GTN_RETURN_IF_ERROR(write_manifest(/*durable=*/true));
  }
  return stats;
}

// Compacts the groups of entries whose metadata outweighs their data, within
// kAutoCompactBytes per call (commit).
Status DatasetImpl::auto_compact() {
  uint64_t budget = kAutoCompactBytes;
  for (auto& ts : tensors_) {
    CompactStats stats;
    GTN_RETURN_IF_ERROR(compact_tensor(*ts, budget, /*automatic=*/true, &stats));
    if (stats.samples_rewritten) dirty_ = true;
  }
  return Status::OK();
}

}  // namespace gtn::store
