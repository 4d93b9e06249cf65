// GTN-F datasets: named tensors of equal length, stored in immutable chunks.
// Sample i of a dataset is row i of every tensor. See docs/format.md for the bytes.
//
// Thread-safety: a Dataset opened read-only may be read from many threads at once.
// A writable Dataset must be used from one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gtn/result.h"
#include "gtn/storage.h"
#include "gtn/tensor.h"
#include "gtn/version.h"

namespace gtn {

class AccessTrace;  // gtn/access_trace.h

// How sample or chunk bytes are compressed. Numeric values are on-disk: never renumber.
enum class Compression : uint8_t { kNone = 0, kLz4 = 1, kZstd = 2, kJpeg = 3, kPng = 4 };
std::string_view compression_name(Compression c);
// "none", "lz4", "zstd", "jpeg"/"jpg", "png" (case-insensitive).
Result<Compression> parse_compression(std::string_view name);

// What a user asks for when creating a tensor. Unset fields take the htype's defaults
// (e.g. htype "image" defaults to dtype uint8; "embedding" to float32; "class_label" to int64).
struct TensorSpec {
  std::string name;
  std::string htype = "generic";  // generic, image, text, json, embedding, class_label, bbox,
                                  // neighbors, edge_feature (docs/graph.md)
  std::optional<DType> dtype;
  Compression sample_compression = Compression::kNone;
  Compression chunk_compression = Compression::kNone;
  uint64_t chunk_target_bytes = 8ull << 20;  // target size of one chunk's sample bytes
  std::vector<std::string> class_names;      // class_label only
  // zstd level (1..22) or lz4 acceleration of the lz4/zstd compression (sample or chunk)
  // chunks are written with; 0 = codec default. Kept in the schema (docs/format.md).
  int compression_level = 0;
};

// What a tensor is and how it is stored, for summaries and tools.
struct TensorInfo {
  std::string name;
  std::string htype;
  DType dtype = DType::kFloat32;
  Compression sample_compression = Compression::kNone;
  Compression chunk_compression = Compression::kNone;
  uint64_t chunk_target_bytes = 0;
  std::vector<std::string> class_names;
  uint64_t length = 0;        // number of samples
  uint64_t num_chunks = 0;
  uint64_t stored_bytes = 0;  // bytes of chunk files (after compression)
  uint64_t raw_bytes = 0;     // bytes of samples before compression
  Shape min_shape, max_shape; // elementwise over non-empty samples; empty if none
};

// When a writer waits for the disk. Either way a writer killed at any point (SIGKILL, a
// crash) loses nothing that flush() returned for, nor any chunk sealed before it died:
// chunk files are complete before a manifest naming them is renamed into place, and the
// page cache outlives the process. The modes differ only on power loss (docs/format.md).
enum class Durability : uint8_t {
  // fsync at flush() and close: every chunk file written since the last flush is
  // fdatasync'ed, then the manifest is written, fsync'ed and renamed, and its directory
  // fsync'ed. Manifests published while extending are renamed into place without fsync.
  // After a power loss the dataset holds at least what the last flush() made durable.
  kFlush = 0,
  // Every chunk file and every manifest is fsync'ed as it is written (slow on small
  // chunks: several fsyncs per sealed chunk).
  kEveryChunk = 1,
};

struct OpenOptions {
  bool read_only = false;          // open only; never create, never write
  bool create_if_missing = true;   // ignored when read_only
  bool verify_checksums = true;    // verify each chunk's xxHash the first time it is read
  uint64_t chunk_cache_bytes = 256ull << 20;  // bound on decompressed chunks kept in memory
  std::shared_ptr<Storage> storage;           // null: the local directory at `path`
  Durability durability = Durability::kFlush;
  // The state to open: a branch (writable unless read_only), or a tag or commit id (a
  // read-only snapshot of the past; a writable open of one is refused). Empty: the
  // branch gtn.json names as head.
  std::string version;
  // Recorded in commits made through this handle when commit() gets no author. Empty:
  // $GTN_AUTHOR, else $USER, else "unknown".
  std::string author;
};

// Statistics of one chunk file, kept in the metadata (docs/format.md, "Chunk statistics")
// and written with every chunk: what a query's WHERE uses to skip chunks without reading
// them. They describe the whole file; a span (a slice of the file) holds a subset of its
// samples, so the bounds hold for the span too but may be loose.
struct ChunkStats {
  // False: nothing is known (rows not yet in a chunk file, files written before statistics
  // existed, tiled samples, samples compressed as images).
  bool known = false;
  uint64_t samples = 0;  // samples in the file
  uint64_t empty = 0;    // samples with no elements
  uint64_t nan = 0;      // NaN elements (floating-point tensors)
  // min/max over every non-NaN element, rounded outward to double (exact for integers up
  // to 2^53). has_range is false when the file holds no such element.
  bool has_range = false;
  double min = 0, max = 0;
  // class_label tensors with at most 64 distinct values in the file: all of them, sorted.
  bool has_classes = false;
  std::vector<int64_t> classes;
};

// Rows [begin, end) of a tensor that lie in one chunk file, or one sample tiled over
// several (or rows a writer still buffers: no files). Slices left by updates and deletions
// may share a file.
struct ChunkSpan {
  uint64_t begin = 0, end = 0;
  uint64_t raw_bytes = 0;  // bytes of those rows before compression
  std::vector<std::pair<uint64_t, uint64_t>> files;  // (file id, bytes of the file)
  ChunkStats stats;
};

// How rechunk() lays out one tensor. Unset fields keep the tensor's current setting.
struct TensorLayout {
  std::optional<uint64_t> chunk_target_bytes;
  std::optional<Compression> sample_compression;
  std::optional<Compression> chunk_compression;
  // zstd level (1..22) or lz4 acceleration level used when writing; 0 = codec default.
  // Decoding never needs it.
  std::optional<int> compression_level;
};

// What rechunk() rewrites (docs/layout.md).
struct RechunkOptions {
  // Tensor -> its new layout. Tensors not named keep their chunks as they are, unless
  // `order` is set (then every tensor is rewritten, the unnamed ones with their current
  // settings). Empty map without `order`: every tensor is rewritten with its settings.
  std::map<std::string, TensorLayout> layouts;
  // A new row order: row i of the result is row order[i] of the current state; must be
  // a permutation of [0, size()). Values of tensors of htype "neighbors" (row ids of this
  // dataset) are mapped to the rows' new positions, so the data keep their meaning.
  std::optional<std::vector<uint64_t>> order;
  // With `order`: a uint64 tensor of this name is written holding each row's position
  // before the reorder (empty: none).
  std::string order_tensor;
  // Bound on the memory the rewrite holds (read buffers, chunk cache, write buffers).
  uint64_t max_memory = 256ull << 20;
  // Called as rows are written: (bytes written so far, bytes in total).
  std::function<void(uint64_t done, uint64_t total)> progress;
  // Message of the commit the rechunk makes; empty: a message listing what changed.
  std::string message;
};

struct RechunkStats {
  std::vector<std::string> tensors;  // tensors rewritten
  uint64_t rows = 0;
  uint64_t chunks_before = 0, chunks_after = 0;  // chunk files of those tensors
  uint64_t bytes_read = 0, bytes_written = 0;    // stored bytes
  uint64_t peak_memory = 0;                       // largest memory held at once (bytes)
  std::string commit;                             // the commit made
};

// A saved view (docs/query.md, "Views"): rows of one committed state, kept under a name
// in the dataset, so that it reads the same rows after later commits.
struct ViewRecord {
  std::string name;
  std::string commit;          // the commit the rows are positions in (16 hex digits)
  std::string query;           // the query that made it; empty when made from indices
  std::vector<uint64_t> rows;  // positions in that commit, in view order (repeats allowed)
  std::string message;
  int64_t time_ms = 0;         // when it was saved (Unix ms); set by save_view
  uint64_t size = 0;           // rows.size(); views() fills it without reading the rows
};

// A batch of samples for extend(): tensor name -> one Array per sample.
using SampleBatch = std::map<std::string, std::vector<Array>>;
// One whole sample: tensor name -> value.
using Sample = std::map<std::string, Array>;

// One tensor's samples for extend_columns(), without an Array per sample.
struct Column {
  // Numeric tensors: one array whose first axis is the batch; sample i is rows[i], so
  // every sample has the shape rows.shape()[1:]. The array may be a view of the caller's
  // buffer: extend_columns() copies the bytes before it returns.
  Array rows;
  // Text, json and bytes tensors: one byte string per sample (viewed, not owned).
  std::vector<std::string_view> items;
  // Tensors with sample compression jpeg or png, when set: `items` hold samples already
  // compressed in that format (the bytes of a .jpg/.png file) and encoded_shapes[i] is
  // the shape item i decodes to. They are stored as they are (no decode, no re-encode)
  // after their headers are checked against those shapes and the tensor's rules.
  std::vector<Shape> encoded_shapes;
};
// A batch for extend_columns(): tensor name -> its samples.
using ColumnBatch = std::map<std::string, Column>;

class Dataset {
 public:
  virtual ~Dataset() = default;

  // Opens the dataset at `path` (a local directory unless options.storage is set),
  // creating an empty one when it does not exist and options allow.
  static Result<std::unique_ptr<Dataset>> Open(const std::string& path, const OpenOptions& options = {});

  // --- schema ---
  // Adds a tensor. Earlier rows of a non-empty dataset read as empty samples (docs/format.md).
  virtual Status create_tensor(const TensorSpec& spec) = 0;
  // Tensor names in creation order.
  virtual std::vector<std::string> tensor_names() const = 0;
  // Everything about a tensor, including shape bounds read from its chunk headers.
  virtual Result<TensorInfo> tensor_info(const std::string& name) const = 0;
  // The tensor's schema (htype, resolved dtype, compressions, chunk target, class names)
  // from the manifest alone: reads no chunk.
  virtual Result<TensorSpec> tensor_spec(const std::string& name) const = 0;
  // Removes a tensor from the dataset (its chunk files stay until nothing references them).
  virtual Status delete_tensor(const std::string& name) = 0;
  // Renames a tensor; no chunk file moves.
  virtual Status rename_tensor(const std::string& name, const std::string& new_name) = 0;
  // Number of samples (rows).
  virtual uint64_t size() const = 0;
  virtual bool read_only() const = 0;

  // --- writes ---
  // Durable after flush() (see Durability). extend/append seal full chunks as they go and
  // publish them in a new manifest, at most one per call, so a killed writer keeps them.
  // Appends one sample; every tensor must be given.
  virtual Status append(const Sample& sample) = 0;
  // Appends a batch; every tensor must be given, all with the same number of samples.
  virtual Status extend(const SampleBatch& batch) = 0;
  // Same as extend() with the samples given column-wise: one buffer per numeric tensor,
  // sliced here, and one string view per sample for text, json and bytes tensors.
  virtual Status extend_columns(const ColumnBatch& batch) = 0;
  // Replaces sample `index` of one tensor.
  virtual Status update(const std::string& tensor, uint64_t index, const Array& value) = 0;
  // Replaces samples `indices[k]` of one tensor by `values[k]`, every value checked first
  // (nothing is written if one is refused); each chunk touched is rewritten once. A
  // repeated index takes its last value.
  virtual Status update(const std::string& tensor, const std::vector<uint64_t>& indices,
                        const std::vector<Array>& values) = 0;
  // Removes the last sample of every tensor.
  virtual Status pop() = 0;
  // Removes samples [length, size()) of every tensor (OutOfRange if length > size()).
  virtual Status truncate(uint64_t length) = 0;
  // Writes buffered samples and the manifest atomically, and makes them durable: after
  // it returns they survive a power loss (see Durability).
  virtual Status flush() = 0;
  // Flushes (writable datasets) and releases the writer lock; reports a failed flush.
  // Later writes fail with InvalidArgument. The destructor closes too, but can only drop
  // an error.
  virtual Status close() = 0;

  // --- reads ---
  // Sample `index` of one tensor.
  virtual Result<Array> read(const std::string& tensor, uint64_t index) const = 0;
  // Sample `index` of every tensor.
  virtual Result<Sample> read_sample(uint64_t index) const = 0;
  // Samples at `indices` (any order, repeats allowed) of every tensor.
  virtual Result<std::vector<Sample>> read_batch(const std::vector<uint64_t>& indices) const = 0;
  // Samples [begin, end) of one tensor.
  virtual Result<std::vector<Array>> read_range(const std::string& tensor, uint64_t begin,
                                                uint64_t end) const = 0;

  // --- fast reads: resolve a tensor's position once, then read by position ---
  // Position of tensor `name` in tensor_names(); NotFound if there is none.
  virtual Result<size_t> tensor_index(const std::string& name) const = 0;
  // Sample `index` of the tensor at position `tensor_index`. A sample stored without
  // sample compression comes back as a zero-copy view whose owner keeps the chunk's
  // memory mapping alive; compressed samples are decoded into a new array.
  virtual Result<Array> read(size_t tensor_index, uint64_t index) const = 0;
  // The shape of a sample, without touching its bytes (only the chunk header).
  virtual Result<Shape> sample_shape(size_t tensor_index, uint64_t index) const = 0;
  // Decodes sample `index` into the `capacity` bytes at `dst` and returns its shape;
  // InvalidArgument if it needs more than `capacity` bytes.
  virtual Result<Shape> read_into(size_t tensor_index, uint64_t index, void* dst, size_t capacity) const = 0;

  // Copies samples [begin, end) of the tensor at `tensor_index` into `dst` back to back,
  // each `row_bytes` = numel(shape) x dtype size bytes, as long as they have shape
  // `shape`; returns how many were copied (fewer than end - begin: the next sample has
  // another shape). Samples that lie back to back in one chunk take one copy.
  // InvalidArgument if `capacity` is under (end - begin) x row_bytes.
  virtual Result<uint64_t> read_rows_into(size_t tensor_index, uint64_t begin, uint64_t end, const Shape& shape,
                                          void* dst, size_t capacity) const = 0;

  // Rows [begin, begin + k) of the tensor at `tensor_index` as one array of shape
  // {k} + `shape`, for the largest k <= end - begin whose samples all have `shape` and,
  // where they lie back to back in one uncompressed chunk, without a copy (the array views
  // the chunk's memory and keeps it alive). Elsewhere the samples are decoded into a new
  // array. k = 0 when sample `begin` has another shape.
  virtual Result<Array> read_rows_view(size_t tensor_index, uint64_t begin, uint64_t end, const Shape& shape) const = 0;
  // Rows [begin, begin + k) of a text, json or bytes tensor (or any tensor: their stored
  // bytes) as views, for the largest k <= end - begin that lie in one chunk: without a
  // copy from uncompressed chunks, decoded once per chunk from compressed ones. k >= 1
  // when begin < end. `owner` keeps the bytes alive.
  struct BytesRows {
    std::vector<std::string_view> items;
    std::shared_ptr<const void> owner;
  };
  virtual Result<BytesRows> read_bytes_rows(size_t tensor_index, uint64_t begin, uint64_t end) const = 0;
  // The tensor's rows split at chunk file boundaries, with each file's size and statistics,
  // in row order; reads only metadata.
  virtual Result<std::vector<ChunkSpan>> chunk_spans(size_t tensor_index) const = 0;

  // Deletes the rows at `indices` (any order, repeats allowed) from every tensor; later
  // rows move up. Costs what changed: no chunk file is rewritten.
  virtual Status delete_samples(const std::vector<uint64_t>& indices) = 0;

  // --- version control (gtn/version.h, docs/versions.md) ---
  // Every state has a name and a parent: a branch's head is either a commit or an
  // uncommitted state on top of one (what flush() publishes). Reads of any state never
  // walk history.
  //
  // Freezes the current branch's state as a commit (durably) and returns its id.
  // InvalidArgument ("nothing to commit") when nothing changed since the last commit.
  virtual Result<std::string> commit(const std::string& message, const std::string& author = "") = 0;
  // The commits reachable from `target` (empty: the current state), newest first; a commit
  // comes before its parents.
  virtual Result<std::vector<CommitInfo>> log(const std::string& target = "") const = 0;
  // Creates branch `name` at `target` (empty: the current commit). The current branch and
  // its uncommitted changes stay as they are.
  virtual Status branch(const std::string& name, const std::string& target = "") = 0;
  // Switches to branch `target` (writable), or to a tag or commit (read-only until a
  // branch is checked out again). Refused when the current branch has uncommitted
  // changes unless options.force (see CheckoutOptions).
  virtual Status checkout(const std::string& target, const CheckoutOptions& options = {}) = 0;
  virtual Status delete_branch(const std::string& name) = 0;
  // Names commit `target` (empty: the current commit). Tags never move.
  virtual Status tag(const std::string& name, const std::string& target = "") = 0;
  virtual Status delete_tag(const std::string& name) = 0;
  virtual Result<std::vector<std::string>> branches() const = 0;
  // (tag, commit id) pairs sorted by tag.
  virtual Result<std::vector<std::pair<std::string, std::string>>> tags() const = 0;
  // The checked-out branch; empty when a tag or commit is checked out.
  virtual std::string current_branch() const = 0;
  // The commit the current state is, or is based on; empty before the first commit.
  virtual std::string head_commit() const = 0;
  // True when the current state differs from head_commit() (or has unflushed samples).
  virtual bool has_uncommitted_changes() const = 0;
  // The uncommitted changes: diff(head_commit(), current state).
  virtual Result<DatasetDiff> status() const = 0;
  // Empty `target`: drops the uncommitted changes. Otherwise moves the current branch to
  // `target` and drops the uncommitted changes (git reset --hard).
  virtual Status reset(const std::string& target = "") = 0;
  // What changed from `a` to `b` (empty b: the current state).
  virtual Result<DatasetDiff> diff(const std::string& a, const std::string& b = "") const = 0;
  // Three-way merge of branch or commit `source` into the current branch (which must have
  // no uncommitted changes), from their common ancestor; commits the result.
  virtual Result<MergeResult> merge(const std::string& source, MergePolicy policy = MergePolicy::kFail,
                                    const std::string& message = "") = 0;
  // Applies what commit `target` changed relative to its first parent to the current
  // branch and commits it; conflicts fail (listed in the error).
  virtual Result<std::string> cherry_pick(const std::string& target) = 0;
  // Deletes files that no branch, tag, commit reachable from them, or registered reader
  // needs.
  virtual Result<GcStats> gc() = 0;
  // Cuts the history before commit `keep_from` (a branch, tag or commit): from then on it
  // reads as a root commit (no parents), and gc() runs, deleting the manifests and chunk
  // files that only its ancestors needed (a rechunk's old layout, old updates). Commits
  // still reached another way (another branch, a tag, a saved view, a reader) stay.
  // Cannot be undone. Returns what gc freed.
  virtual Result<GcStats> expire_history(const std::string& keep_from) = 0;
  // Rewrites runs of small chunk slices (left by updates and deletions) of the current
  // state into chunks of the target size. flush() and commit() do it on their own once a
  // tensor's table passes set bounds.
  virtual Result<CompactStats> compact() = 0;

  // Rewrites the chunks of tensors (new chunk sizes, compressions, row order) streaming,
  // within options.max_memory, and commits the result; the old layout stays readable at
  // its commit until gc frees it. Refused when the branch has uncommitted changes. A
  // rechunk killed at any point leaves the branch at its last commit.
  virtual Result<RechunkStats> rechunk(const RechunkOptions& options) = 0;

  // Records every read of this handle into `trace` (null: stop recording); see
  // gtn/access_trace.h. Opening a dataset with $GTN_TRACE set attaches a trace that is
  // saved to that path when the handle is closed.
  virtual void set_access_trace(std::shared_ptr<AccessTrace> trace) = 0;
  // The trace reads are recorded into, or null. A reader that serves its own rows from
  // bigger reads (a sampler caching chunks) records the rows it used through it.
  virtual std::shared_ptr<AccessTrace> access_trace() const = 0;

  // Opens state `target` (branch, tag, commit id, main~2, ...) of this dataset read-only,
  // as its own handle on the same storage.
  virtual Result<std::unique_ptr<Dataset>> open_version(const std::string& target) const = 0;

  // --- saved views (docs/query.md) ---
  // Saves `view` under view.name (replacing a view of that name). Its commit must exist
  // and every row must be below that commit's length; durable when it returns. gc keeps
  // the commits saved views name.
  virtual Status save_view(const ViewRecord& view) = 0;
  virtual Result<ViewRecord> load_view(const std::string& name) const = 0;
  // Every saved view, by name, without their rows (size set).
  virtual Result<std::vector<ViewRecord>> views() const = 0;
  virtual Status delete_view(const std::string& name) = 0;

  // --- tools ---
  // A human-readable multi-line summary (tensors, dtypes, shapes, sizes, chunks).
  virtual std::string summary() const = 0;
};

// One problem found by fsck.
struct FsckIssue {
  std::string object;  // e.g. "chunks/t0/00000000000000a1.chunk" or "versions/...manifest"
  std::string problem; // e.g. "checksum mismatch: stored 0x..., computed 0x..."
};

// Verifies every file of the dataset at `path`: manifest, every chunk's checksum and
// structure, and that the index agrees with the chunks. Empty result = healthy.
Result<std::vector<FsckIssue>> fsck(const std::string& path);

}  // namespace gtn
