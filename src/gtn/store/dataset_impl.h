// DatasetImpl: the GTN-F dataset over a Storage backend (private to the store module).
// Its members are defined by concern:
//   dataset_open.cc    Open, create, close, the non-dataset folder guard
//   dataset_schema.cc  create/delete/rename tensor, tensor info and spec, summary
//   dataset_write.cc   append/extend, update, pop/truncate, flush, manifests, reclaiming files
//   dataset_read.cc    sample reads, mapping and verifying chunks on first touch
//   dataset_version.cc loading states, commit, branches, tags, checkout, reset, log
//   dataset_diff.cc    matching samples of two states by id; diff and status
//   dataset_merge.cc   three-way merge and cherry-pick
//   dataset_gc.cc      garbage collection and compaction
//   dataset_rechunk.cc rewriting tensors' chunks (layouts, row order) as one commit
// Reads resolve a sample through the tensor's chunk table (binary search) and the chunk's
// run-length sample index, then view the memory-mapped chunk bytes. Writes fill one
// pending chunk per tensor, seal it into an immutable chunk file at the tensor's target
// size, and publish the new chunk tables (trees of shared nodes, table_tree.h) by
// rewriting the branch's uncommitted manifest atomically; commit() freezes it.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "gtn/access_trace.h"
#include "gtn/dataset.h"
#include "gtn/store/chunk_cache.h"
#include "gtn/store/chunk_format.h"
#include "gtn/store/chunk_writer.h"
#include "gtn/store/manifest.h"
#include "gtn/store/expired_history.h"
#include "gtn/store/root_file.h"
#include "gtn/store/table_edit.h"
#include "gtn/store/table_tree.h"

namespace gtn::store {

// A chunk file mapped for reading, with its parsed header. Chunk format 2: each data
// block is verified against its checksum the first time a read touches it; `verified`
// holds one bit per block (set bits stay set; racing readers verify a block twice at worst).
struct LoadedChunk {
  uint64_t id = 0;
  std::string key;
  std::shared_ptr<const Bytes> file;
  ChunkHeader header;
  const uint8_t* data = nullptr;  // the stored data region inside `file`
  std::unique_ptr<std::atomic<uint64_t>[]> verified;
  size_t verified_words = 0;
};

// A chunk file as the entries of a table that slice it share it: `loaded` is set once
// (under the dataset's load mutex) and then read without locks, so the first read of any
// slice of a file warms every slice of it.
struct FileSlot {
  mutable std::atomic<const LoadedChunk*> loaded{nullptr};
  mutable std::shared_ptr<const LoadedChunk> holder;
};

// One entry of a tensor's in-memory chunk table.
struct TableEntry {
  explicit TableEntry(ChunkEntry e, std::shared_ptr<FileSlot> s = nullptr)
      : entry(std::move(e)), slot(s ? std::move(s) : std::make_shared<FileSlot>()) {}
  ChunkEntry entry;
  std::shared_ptr<FileSlot> slot;  // of entry.files[0]
};

struct TensorState {
  // What a read needs of entry k, back to back (one cache line for any entry).
  struct Hot {
    const FileSlot* slot = nullptr;
    uint32_t offset = 0;  // chunk_offset
    uint32_t count = 0;   // num_samples
    bool tiled = false;
  };
  TensorMeta meta;
  std::vector<std::unique_ptr<TableEntry>> entries;
  std::vector<uint64_t> firsts;  // entries[k]->entry.first_sample, for binary search
  std::vector<Hot> hot;          // parallel to entries
  std::unordered_map<uint64_t, std::shared_ptr<FileSlot>> slots;  // by first file id
  uint64_t committed = 0;        // samples held by chunk files
  PendingChunk pending;
  // The tensor's id in the attached access trace: (trace generation << 32) | id; read and
  // set through std::atomic_ref by concurrent readers (DatasetImpl::trace_id).
  mutable uint64_t trace_key = 0;          // samples [committed, committed + pending.size())

  void push_entry(ChunkEntry e) {
    committed = e.first_sample + e.num_samples;
    firsts.push_back(e.first_sample);
    auto& slot = slots[e.files[0].id];
    if (!slot) slot = std::make_shared<FileSlot>();
    hot.push_back(hot_of(e, slot.get()));
    entries.push_back(std::make_unique<TableEntry>(std::move(e), slot));
  }
  static Hot hot_of(const ChunkEntry& e, const FileSlot* slot) {
    return Hot{slot, e.chunk_offset, e.num_samples, e.is_tiled()};
  }
  size_t find(uint64_t index) const {
    return static_cast<size_t>(std::upper_bound(firsts.begin(), firsts.end(), index) - firsts.begin()) - 1;
  }
  // The chunk table as plain entries, and its replacement (pending samples unchanged).
  std::vector<ChunkEntry> table() const {
    std::vector<ChunkEntry> t;
    t.reserve(entries.size());
    for (const auto& e : entries) t.push_back(e->entry);
    return t;
  }
  // Replaces entries [from, to) by `repl` (positions are fixed by renumber_from).
  void splice(size_t from, size_t to, std::vector<ChunkEntry> repl) {
    std::vector<std::unique_ptr<TableEntry>> added;
    std::vector<Hot> added_hot;
    added.reserve(repl.size());
    for (auto& e : repl) {
      auto& slot = slots[e.files[0].id];
      if (!slot) slot = std::make_shared<FileSlot>();
      added_hot.push_back(hot_of(e, slot.get()));
      added.push_back(std::make_unique<TableEntry>(std::move(e), slot));
    }
    auto at = [from](auto& v) { return v.begin() + static_cast<std::ptrdiff_t>(from); };
    size_t n = to - from;
    entries.erase(at(entries), at(entries) + static_cast<std::ptrdiff_t>(n));
    entries.insert(at(entries), std::make_move_iterator(added.begin()), std::make_move_iterator(added.end()));
    hot.erase(at(hot), at(hot) + static_cast<std::ptrdiff_t>(n));
    hot.insert(at(hot), added_hot.begin(), added_hot.end());
  }
  // Recomputes the positions of entries [from, end).
  void renumber_from(size_t from) {
    uint64_t next = from == 0 ? 0 : entries[from - 1]->entry.first_sample + entries[from - 1]->entry.num_samples;
    firsts.resize(entries.size());
    for (size_t i = from; i < entries.size(); ++i) {
      entries[i]->entry.first_sample = next;
      firsts[i] = next;
      next += entries[i]->entry.num_samples;
    }
    committed = next;
  }
  void set_table(std::vector<ChunkEntry> t) {
    entries.clear();
    firsts.clear();
    hot.clear();
    committed = 0;
    renumber(&t);
    entries.reserve(t.size());
    firsts.reserve(t.size());
    hot.reserve(t.size());
    std::unordered_map<uint64_t, std::shared_ptr<FileSlot>> old;
    old.swap(slots);
    for (auto& e : t) {
      auto it = old.find(e.files[0].id);
      if (it != old.end()) slots.emplace(it->first, it->second);
      push_entry(std::move(e));
    }
  }
};

// Chunks resolved for reading many samples' stored bytes without copies (diff, merge).
struct ViewCache {
  struct Resolved {
    const LoadedChunk* chunk = nullptr;
    const uint8_t* base = nullptr;  // the (decompressed) data region
    std::shared_ptr<const std::string> keep;
  };
  std::unordered_map<uint64_t, Resolved> chunks;
  std::vector<std::unique_ptr<std::string>> tiled;  // joined tiles, kept for the views
};

// A state (a version's manifest and tables) loaded on its own, for diff and merge.
struct State {
  uint64_t version = 0;
  Manifest manifest;  // tables not included
  Tables tables;
};

// Sample i of one tensor's part of a batch: from extend() (an Array per sample) or from
// extend_columns() (rows of one array, or one string per sample), without copies.
struct ColumnReader {
  const std::vector<Array>* arrays = nullptr;  // extend()
  const Column* column = nullptr;              // extend_columns()
  DType dtype = DType::kFloat32;
  Shape row_shape;                             // column->rows: the shape of every sample
  size_t row_bytes = 0;

  size_t size() const;
  // Items are already compressed in the tensor's sample compression.
  bool encoded() const { return column && !column->encoded_shapes.empty(); }
  // The bytes of sample i before sample compression (or as encoded, see encoded()).
  std::string_view bytes(size_t i) const;
  // The shape of sample i (may be stored in *scratch).
  const Shape& shape(size_t i, Shape* scratch) const;
};

class Rechunker;  // dataset_rechunk.cc

class DatasetImpl final : public Dataset {
  friend class Rechunker;

 public:
  DatasetImpl(std::string path, std::shared_ptr<Storage> storage, const OpenOptions& options);
  ~DatasetImpl() override;
  Status init(bool create);

  // --- schema (dataset_schema.cc) ---
  Status create_tensor(const TensorSpec& spec) override;
  Status delete_tensor(const std::string& name) override;
  Status rename_tensor(const std::string& name, const std::string& new_name) override;
  std::vector<std::string> tensor_names() const override;
  Result<size_t> tensor_index(const std::string& name) const override;
  Result<TensorInfo> tensor_info(const std::string& name) const override;
  Result<TensorSpec> tensor_spec(const std::string& name) const override;
  uint64_t size() const override { return length_; }
  bool read_only() const override { return options_.read_only || detached_; }
  std::string summary() const override;

  // --- writes (dataset_write.cc) ---
  Status append(const Sample& sample) override;
  Status extend(const SampleBatch& batch) override;
  Status extend_columns(const ColumnBatch& batch) override;
  Status update(const std::string& tensor, uint64_t index, const Array& value) override;
  Status update(const std::string& tensor, const std::vector<uint64_t>& indices,
                const std::vector<Array>& values) override;
  Status pop() override;
  Status truncate(uint64_t length) override;
  Status flush() override;
  Status close() override;  // dataset_open.cc

  // --- reads (dataset_read.cc) ---
  Result<Array> read(const std::string& tensor, uint64_t index) const override;
  Result<Array> read(size_t t, uint64_t index) const override;
  Result<Shape> sample_shape(size_t t, uint64_t index) const override;
  Result<Shape> read_into(size_t t, uint64_t index, void* dst, size_t capacity) const override;
  Result<uint64_t> read_rows_into(size_t t, uint64_t begin, uint64_t end, const Shape& shape, void* dst,
                                  size_t capacity) const override;
  Result<Array> read_rows_view(size_t t, uint64_t begin, uint64_t end, const Shape& shape) const override;
  Result<std::vector<ChunkSpan>> chunk_spans(size_t t) const override;
  Result<BytesRows> read_bytes_rows(size_t t, uint64_t begin, uint64_t end) const override;
  Result<Sample> read_sample(uint64_t index) const override;
  Result<std::unique_ptr<Dataset>> open_version(const std::string& target) const override;  // dataset_views.cc
  Status save_view(const ViewRecord& view) override;
  Result<ViewRecord> load_view(const std::string& name) const override;
  Result<std::vector<ViewRecord>> views() const override;
  Status delete_view(const std::string& name) override;
  Result<std::vector<Sample>> read_batch(const std::vector<uint64_t>& indices) const override;
  Result<std::vector<Array>> read_range(const std::string& tensor, uint64_t begin, uint64_t end) const override;
  Status delete_samples(const std::vector<uint64_t>& indices) override;  // dataset_write.cc

  // --- version control (dataset_version.cc, dataset_diff.cc, dataset_merge.cc, dataset_gc.cc) ---
  Result<std::string> commit(const std::string& message, const std::string& author) override;
  Result<std::vector<CommitInfo>> log(const std::string& target) const override;
  Status branch(const std::string& name, const std::string& target) override;
  Status checkout(const std::string& target, const CheckoutOptions& options) override;
  Status delete_branch(const std::string& name) override;
  Status tag(const std::string& name, const std::string& target) override;
  Status delete_tag(const std::string& name) override;
  Result<std::vector<std::string>> branches() const override;
  Result<std::vector<std::pair<std::string, std::string>>> tags() const override;
  std::string current_branch() const override { return branch_; }
  std::string head_commit() const override;
  bool has_uncommitted_changes() const override;
  Result<DatasetDiff> status() const override;
  Status reset(const std::string& target) override;
  Result<DatasetDiff> diff(const std::string& a, const std::string& b) const override;
  Result<MergeResult> merge(const std::string& source, MergePolicy policy, const std::string& message) override;
  Result<std::string> cherry_pick(const std::string& target) override;
  Result<GcStats> gc() override;
  Result<GcStats> expire_history(const std::string& keep_from) override;
  Result<CompactStats> compact() override;
  Result<RechunkStats> rechunk(const RechunkOptions& options) override;  // dataset_rechunk.cc
  void set_access_trace(std::shared_ptr<AccessTrace> trace) override;  // dataset_read.cc
  std::shared_ptr<AccessTrace> access_trace() const override { return access_trace_; }

 private:
  // dataset_version.cc
  // A branch, tag or commit id (or unique prefix): the version it names.
  Result<uint64_t> resolve(const std::string& target) const;
  Result<uint64_t> resolve_commit(const std::string& target) const;  // a committed version
  Result<uint64_t> target_or_head(const std::string& target, const std::string& what) const;
  Result<std::unique_ptr<State>> load_state(uint64_t version) const;
  Status load_manifest(uint64_t version, Manifest* m, std::shared_ptr<const Bytes>* keep) const;
  // Replaces the in-memory state by `version` (branch_ and detached flags set by callers).
  Status load_version(uint64_t version);
  Status install_state(State& st);
  Status write_ref(const std::string& key, uint64_t version);
  Status seal_all();
  Status register_read();
  std::string author_or_default(const std::string& author) const;
  Result<std::vector<uint64_t>> ancestors(uint64_t commit) const;  // commit first, breadth-first
  Result<uint64_t> merge_base(uint64_t a, uint64_t b) const;
  Status commit_now(const std::string& message, const std::string& author, std::vector<uint64_t> parents,
                    uint64_t* id);
  // dataset_diff.cc
  Result<DatasetDiff> diff_states(const State& a, const State& b) const;
  Result<std::unique_ptr<State>> current_state() const;
  Result<bool> same_sample(const TensorMeta& ma, const ChunkEntry& ea, uint32_t ja, const TensorMeta& mb,
                           const ChunkEntry& eb, uint32_t jb, ViewCache* cache) const;
  // The stored bytes of sample j of an entry's file (valid while *cache lives).
  Result<std::string_view> stored_view(const TensorMeta& meta, const ChunkEntry& e, uint32_t j, Shape* shape,
                                       ViewCache* cache) const;
  Status stored_sample(const TensorMeta& meta, const ChunkEntry& e, uint32_t j, std::string* bytes,
                       Shape* shape) const;
  // dataset_merge.cc: installs the merge of `theirs` into `ours` (the current state) from
  // `base`; `dry`: only lists the conflicts (writes and installs nothing).
  Status merge_states(const State& base, const State& ours, const State& theirs, MergePolicy policy, bool dry,
                      MergeResult* result);
  // dataset_gc.cc
  Status compact_tensor(TensorState& ts, uint64_t max_bytes, bool automatic, CompactStats* stats);
  Status auto_compact();
  void nodes_holders(const NodeIndex& nodes, std::unordered_set<uint64_t>* versions) const;

 private:
  // dataset_open.cc
  Status open_or_create(bool create);
  Status create_new();
  Status upgrade_root();

  // dataset_write.cc
  bool every_chunk() const { return options_.durability == Durability::kEveryChunk; }
  Status add_rows(const SampleBatch& batch, bool single);
  Status write_rows(const std::vector<ColumnReader>& columns, const std::vector<int>& ranks, size_t n);
  Status check_column(const TensorMeta& meta, ColumnReader* r, int* rank) const;
  Status write_manifest(bool durable, const CommitMeta* commit = nullptr);
  Status seal_pending(TensorState& ts);
  Status write_patch(TensorState& ts, const std::map<uint64_t, const Array*>& values);
  Status truncate(TensorState& ts, uint64_t n);
  void reclaim_superseded();
  void forget_dead_files(const std::vector<std::pair<uint64_t, std::string>>& dead);
  Status new_working_version();
  void append_ids(uint64_t n);
  Status cut_ids(uint64_t n);
  // Raw bytes of samples [first, first + count) of an entry's file (for slicing entries).
  Result<uint64_t> slice_raw(const TensorState& ts, const ChunkEntry& e, uint32_t first, uint32_t count) const;
  RawBytesFn raw_fn(const TensorState& ts) const;

  // dataset_schema.cc and shared checks
  Status check_writable_now() const;
  Status check_open() const;
  Status check_index(uint64_t index) const;
  Status too_small(const TensorState& ts, uint64_t index, size_t need, size_t capacity) const;
  Status bad_tensor_index(size_t t) const;
  std::string known_tensors() const;
  Status length_mismatch(const std::string& a, size_t na, const std::string& b, size_t nb) const;
  template <typename Batch>
  Status check_batch_keys(const Batch& batch) const;

  // dataset_read.cc
  Status corrupt_chunk(const LoadedChunk& c, const Status& st) const;
  Result<std::shared_ptr<const LoadedChunk>> load_file(const TensorState& ts, const ChunkFileRef& ref) const;
  Result<const LoadedChunk*> loaded(const TensorState& ts, const TableEntry& e) const;
  // OutOfRange unless begin <= end <= size().
  Status check_range(uint64_t begin, uint64_t end) const;
  Status ensure_verified(const LoadedChunk& c, uint64_t off, uint64_t len) const;
  // The start of a chunk's (decompressed) data region, ready for reading bytes [off, off +
  // len): chunk-compressed chunks are decompressed (held by *keep), others verified there.
  Result<const uint8_t*> data_for(const LoadedChunk& c, uint64_t off, uint64_t len,
                                  std::shared_ptr<const std::string>* keep) const;
  Result<std::shared_ptr<const std::string>> decompressed(const LoadedChunk& c) const;
  Result<std::string> tiled_bytes(const TensorState& ts, const TableEntry& e, Shape* shape) const;
  Result<Array> read_tiled(const TensorState& ts, const TableEntry& e) const;
  template <typename Fn>
  Status gather(const TensorState& ts, const TableEntry& e, Fn fn) const;
  // The id of tensor `ts` in access_trace_ (looked up once per trace).
  uint32_t trace_id(const TensorState& ts) const;

  std::string path_;
  std::shared_ptr<Storage> storage_;
  OpenOptions options_;
  std::shared_ptr<void> lock_;         // the writer lock
  std::shared_ptr<void> reader_lock_;  // read-only: registers this reader (Storage::register_reader)
  RootFile root_;
  uint64_t version_id_ = 0;
  CommitMeta commit_;        // of version_id_: committed (frozen) or the uncommitted state's base
  std::string branch_;       // the checked-out branch; empty: a tag or commit (read-only)
  bool detached_ = false;    // a tag or commit is checked out: no writes
  std::vector<ChunkEntry> ids_;  // the sample id table: one id per row [0, length_)
  uint64_t id_block_ = 0;        // ids of rows this writer appends: (id_block_, id_next_++)
  uint64_t id_next_ = 0;
  NodeIndex known_;              // table nodes of frozen manifests, to share
  std::shared_ptr<const Bytes> manifest_bytes_;  // the loaded manifest (its node section)
  uint64_t length_ = 0;
  uint64_t published_length_ = 0;  // the length in the last manifest written or opened
  uint64_t next_key_ = 0;
  bool dirty_ = false;
  bool ref_stale_ = false;  // the branch ref does not name version_id_ yet
  bool manifest_durable_ = true;  // the last manifest written was fsync'ed with its chunks
  bool ready_ = false;            // opened completely; only then does the destructor flush
  bool closed_ = false;
  std::vector<std::unique_ptr<TensorState>> tensors_;
  // Chunk files this writer wrote since its last manifest (id -> key): nothing else can
  // know them, so they are deleted as soon as they are superseded.
  std::unordered_map<uint64_t, std::string> unpublished_;
  // Chunk files written since the last commit (id -> key): only these may be deleted when
  // the state stops naming them (committed states keep theirs until gc).
  std::unordered_map<uint64_t, std::string> fresh_;
  // Fresh chunk files a published manifest of the uncommitted state named and the
  // current one no longer does: deleted after a durable manifest when no registered
  // reader reads this state.
  std::vector<std::string> superseded_;
  mutable std::mutex load_mu_;
  mutable std::mutex files_mu_;
  mutable std::unordered_map<uint64_t, std::shared_ptr<const LoadedChunk>> files_;
  mutable ChunkCache cache_;
  std::mt19937_64 rng_;
  std::shared_ptr<AccessTrace> access_trace_;  // null: reads are not recorded
  uint32_t trace_gen_ = 0;                      // bumped by set_access_trace
  // Commits whose history expire_history() cut (read as roots) and unreachable commits gc
  // kept manifests of (never opened): expired.json.
  ExpiredHistory expired_;
  ChunkWriter writer_;
};

// Calls fn(stored bytes, shape) for every sample of a table entry (its slice of the chunk), in order.
template <typename Fn>
Status DatasetImpl::gather(const TensorState& ts, const TableEntry& e, Fn fn) const {
  if (e.entry.is_tiled()) {
    Shape shape;
    GTN_ASSIGN_OR_RETURN(std::string stored, tiled_bytes(ts, e, &shape));
    fn(std::string_view(stored), shape);
    return Status::OK();
  }
  GTN_ASSIGN_OR_RETURN(const LoadedChunk* c, loaded(ts, e));
  std::shared_ptr<const std::string> region;
  GTN_ASSIGN_OR_RETURN(const uint8_t* base, data_for(*c, 0, c->header.stored_data_bytes, &region));
  uint32_t end = e.entry.chunk_offset + e.entry.num_samples;
  for (uint32_t j = e.entry.chunk_offset; j < end; ++j) {
    uint64_t off, len;
    c->header.positions.locate(j, &off, &len);
    fn(std::string_view(reinterpret_cast<const char*>(base + off), len), c->header.shapes.shape(j));
  }
  return Status::OK();
}

template <typename Batch>
Status DatasetImpl::check_batch_keys(const Batch& batch) const {
  if (tensors_.empty()) return Status::InvalidArgument("dataset " + path_ + " has no tensors; create one first");
  for (const auto& ts : tensors_) {
    if (!batch.count(ts->meta.name)) {
      return Status::InvalidArgument("missing tensor '" + ts->meta.name + "'; every tensor must be given");
    }
  }
  for (const auto& column : batch) {
    const std::string& name = column.first;
    bool known = std::any_of(tensors_.begin(), tensors_.end(), [&](const auto& ts) { return ts->meta.name == name; });
    if (!known) return Status::InvalidArgument("unknown tensor '" + name + "'" + known_tensors());
  }
  return Status::OK();
}

}  // namespace gtn::store
